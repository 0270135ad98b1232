//! The project's own tests and coverage. The `tests` checker runs the configured or detected
//! test command (`npm test`, `pytest`, `mvn test`, `cargo test`, `go test`) in its own process
//! group with a timeout and reads the runner's summary; the `coverage` checker reads lcov,
//! Cobertura or JaCoCo reports against a threshold (default 80%, the spec's).

use crate::checker::re;
use crate::checker::{CheckOutput, Checker, Workspace};
use crate::finding::{Finding, Note, Severity};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use regex::Regex;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Counts read from a test runner's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestCounts {
    /// Tests passed.
    pub passed: u64,
    /// Tests failed (failures and errors).
    pub failed: u64,
}

static PYTEST: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^=+ (.*\b(?:passed|failed|error|errors)\b.*) in [\d.]+s"));
static PYTEST_PART: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+) (passed|failed|errors?)"));
static JEST: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^Tests:\s+(.*)\b(\d+) total"));
static JEST_PART: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+) (passed|failed)"));
static MOCHA: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s+(\d+) (passing|failing)\b"));
static NODE_TEST: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^# (pass|fail) (\d+)$"));
static MAVEN: LazyLock<Regex> = LazyLock::new(|| re(r"Tests run: (\d+), Failures: (\d+), Errors: (\d+)"));
static CARGO: LazyLock<Regex> = LazyLock::new(|| re(r"test result: \w+\. (\d+) passed; (\d+) failed"));
static GO: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^(?:--- (PASS|FAIL):|(ok|FAIL)\s+\S+)"));

/// Reads the summary of any supported runner; `None` when no summary is recognised.
pub fn parse_test_output(out: &str) -> Option<TestCounts> {
    if let Some(line) = PYTEST.captures_iter(out).last().and_then(|c| c.get(1)) {
        let mut t = TestCounts::default();
        for p in PYTEST_PART.captures_iter(line.as_str()) {
            let n: u64 = p[1].parse().unwrap_or(0);
            if &p[2] == "passed" { t.passed += n } else { t.failed += n }
        }
        return Some(t);
    }
    if let Some(c) = JEST.captures_iter(out).last() {
        let mut t = TestCounts::default();
        for p in JEST_PART.captures_iter(c.get(1).map_or("", |m| m.as_str())) {
            let n: u64 = p[1].parse().unwrap_or(0);
            if &p[2] == "passed" { t.passed += n } else { t.failed += n }
        }
        return Some(t);
    }
    let mocha: Vec<_> = MOCHA.captures_iter(out).collect();
    if !mocha.is_empty() {
        let mut t = TestCounts::default();
        for c in mocha {
            let n: u64 = c[1].parse().unwrap_or(0);
            if &c[2] == "passing" { t.passed += n } else { t.failed += n }
        }
        return Some(t);
    }
    let node: Vec<_> = NODE_TEST.captures_iter(out).collect();
    if !node.is_empty() {
        let mut t = TestCounts::default();
        for c in node {
            let n: u64 = c[2].parse().unwrap_or(0);
            if &c[1] == "pass" { t.passed = n } else { t.failed = n }
        }
        return Some(t);
    }
    if let Some(c) = MAVEN.captures_iter(out).last() {
        let run: u64 = c[1].parse().unwrap_or(0);
        let failed = c[2].parse::<u64>().unwrap_or(0) + c[3].parse::<u64>().unwrap_or(0);
        return Some(TestCounts { passed: run.saturating_sub(failed), failed });
    }
    let cargo: Vec<_> = CARGO.captures_iter(out).collect();
    if !cargo.is_empty() {
        let mut t = TestCounts::default();
        for c in cargo {
            t.passed += c[1].parse::<u64>().unwrap_or(0);
            t.failed += c[2].parse::<u64>().unwrap_or(0);
        }
        return Some(t);
    }
    let go: Vec<_> = GO.captures_iter(out).collect();
    if !go.is_empty() {
        let mut t = TestCounts::default();
        for c in go {
            match c.get(1).or_else(|| c.get(2)).map(|m| m.as_str()) {
                Some("PASS") | Some("ok") => t.passed += 1,
                _ => t.failed += 1,
            }
        }
        return Some(t);
    }
    None
}

/// The test command a repository declares, if any.
pub fn detect_test_command(root: &Path) -> Option<Vec<String>> {
    let argv = |s: &[&str]| Some(s.iter().map(|x| x.to_string()).collect());
    if let Ok(text) = std::fs::read_to_string(root.join("package.json"))
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(test) = v.pointer("/scripts/test").and_then(|t| t.as_str())
        && !test.contains("no test specified")
    {
        return argv(&["npm", "test", "--silent"]);
    }
    if root.join("pytest.ini").exists()
        || root.join("conftest.py").exists()
        || std::fs::read_to_string(root.join("pyproject.toml")).is_ok_and(|t| t.contains("pytest"))
        || root.join("tests").is_dir()
            && std::fs::read_dir(root.join("tests"))
                .is_ok_and(|d| d.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().starts_with("test_")))
    {
        return argv(&["python3", "-m", "pytest", "-q"]);
    }
    if root.join("pom.xml").exists() {
        return argv(&["mvn", "-q", "-B", "test"]);
    }
    if root.join("build.gradle").exists() || root.join("build.gradle.kts").exists() {
        return argv(&["gradle", "test", "--console=plain"]);
    }
    if root.join("Cargo.toml").exists() {
        return argv(&["cargo", "test"]);
    }
    if root.join("go.mod").exists() {
        return argv(&["go", "test", "./..."]);
    }
    None
}

/// The outcome of running a test command.
#[derive(Debug, Clone)]
pub struct TestRun {
    /// The exit code (None when killed).
    pub code: Option<i32>,
    /// Whether it was stopped by the timeout.
    pub timed_out: bool,
    /// Combined output (capped).
    pub output: String,
}

/// Runs `argv` in `dir` in its own process group, killing the group after `timeout`.
pub fn run_tests(dir: &Path, argv: &[String], timeout: Duration) -> std::io::Result<TestRun> {
    let Some((program, args)) = argv.split_first() else {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty test command"));
    };
    let out_file = tempfile_in_tmp()?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out_file.try_clone()?)
        .stderr(out_file.try_clone()?)
        .process_group(0)
        .spawn()?;
    let started = Instant::now();
    let (code, timed_out) = loop {
        if let Some(status) = child.try_wait()? {
            break (status.code(), false);
        }
        if started.elapsed() >= timeout {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    let mut f = out_file;
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    f.take(4 * 1024 * 1024).read_to_end(&mut bytes)?;
    output.push_str(&String::from_utf8_lossy(&bytes));
    Ok(TestRun { code, timed_out, output })
}

/// An anonymous temporary file for a child's output (a file, not a pipe: a runner that floods
/// its output cannot block on a full pipe).
fn tempfile_in_tmp() -> std::io::Result<std::fs::File> {
    let path = std::env::temp_dir().join(format!("coord-tests-{}-{:?}", std::process::id(), Instant::now()));
    let f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs the project's tests.
#[derive(Debug, Clone)]
pub struct TestsChecker {
    /// The command; detected when `None`.
    pub command: Option<Vec<String>>,
    /// Timeout for the whole run.
    pub timeout: Duration,
}

impl Default for TestsChecker {
    fn default() -> Self {
        TestsChecker { command: None, timeout: Duration::from_secs(600) }
    }
}

fn finding(rule: &str, severity: Severity, message: String, fix: &str) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        file: String::new(),
        line: 0,
        message,
        fix: fix.into(),
        item: "code.tested".into(),
        cwe: None,
        fingerprint: String::new(),
    }
}

impl Checker for TestsChecker {
    fn id(&self) -> &'static str {
        "tests"
    }
    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        let Some(argv) = self.command.clone().or_else(|| detect_test_command(ws.root)) else {
            out.findings.push(finding(
                "tests/none",
                Severity::Medium,
                "no test command was found (package.json scripts.test, pytest, Maven, Gradle, Cargo, Go)".into(),
                "add tests and a test command, or set [gates] test_command in coord.toml",
            ));
            return out;
        };
        let shown = argv.join(" ");
        match run_tests(ws.root, &argv, self.timeout) {
            Err(e) => out.findings.push(finding(
                "tests/cannot-run",
                Severity::High,
                format!("the test command `{shown}` could not be started: {e}"),
                "install the test runner or set [gates] test_command",
            )),
            Ok(run) if run.timed_out => out.findings.push(finding(
                "tests/timeout",
                Severity::High,
                format!("`{shown}` ran longer than {}s and was stopped", self.timeout.as_secs()),
                "find the hanging test (a server left listening, a missing mock) or raise [gates] test_timeout_secs",
            )),
            Ok(run) => {
                let counts = parse_test_output(&run.output);
                match (run.code, counts) {
                    (Some(0), Some(c)) if c.failed == 0 && c.passed == 0 => out.findings.push(finding(
                        "tests/no-tests-ran",
                        Severity::Medium,
                        format!("`{shown}` succeeded but ran no test"),
                        "write tests for the business logic",
                    )),
                    (Some(0), Some(c)) if c.failed == 0 => {
                        out.notes.push(Note { file: String::new(), message: format!("`{shown}`: {} passed", c.passed) })
                    }
                    (Some(0), None) => out.notes.push(Note {
                        file: String::new(),
                        message: format!("`{shown}` succeeded; its summary was not recognised"),
                    }),
                    (code, counts) => out.findings.push(finding(
                        "tests/failing",
                        Severity::High,
                        format!(
                            "`{shown}` failed{}{}:\n{}",
                            code.map(|c| format!(" (exit code {c})")).unwrap_or_default(),
                            counts.map(|c| format!(": {} failed, {} passed", c.failed, c.passed)).unwrap_or_default(),
                            tail(&run.output, 15)
                        ),
                        "fix the failing tests before the task can pass",
                    )),
                }
            }
        }
        out
    }
}

/// Reads a coverage report: `Some(percent of lines covered)`. lcov by its records; Cobertura
/// and JaCoCo XML with an XML reader (attributes in any order or quoting, comments and DOCTYPEs
/// are what real reports hold).
pub fn parse_coverage(name: &str, text: &str) -> Option<f64> {
    static LCOV: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^(LF|LH):(\d+)"));
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".info") || text.starts_with("TN:") || text.starts_with("SF:") {
        let (mut found, mut hit) = (0u64, 0u64);
        for c in LCOV.captures_iter(text) {
            let n: u64 = c[2].parse().unwrap_or(0);
            if &c[1] == "LF" { found += n } else { hit += n }
        }
        return (found > 0).then(|| 100.0 * hit as f64 / found as f64);
    }
    xml_coverage(text)
}

/// Cobertura (`<coverage lines-covered lines-valid line-rate>` at the root) or JaCoCo (the
/// `<counter type="LINE" missed covered>` that is a direct child of the root `<report>`: the
/// counters deeper down are per package, class and method).
fn xml_coverage(text: &str) -> Option<f64> {
    use quick_xml::events::{BytesStart, Event};
    let attrs = |e: &BytesStart| -> std::collections::HashMap<String, String> {
        e.attributes().flatten().map(|a| (a.key.as_ref().to_string(), a.value.to_string())).collect()
    };
    let number = |v: Option<&String>| v.and_then(|v| v.trim().parse::<f64>().ok());
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    let mut jacoco = false;
    loop {
        let (e, empty) = match reader.read_event().ok()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => return None,
            _ => continue,
        };
        let name = e.local_name().as_ref().to_string();
        if depth == 0 {
            match name.as_str() {
                "coverage" => {
                    let a = attrs(&e);
                    let (covered, valid) = (number(a.get("lines-covered")), number(a.get("lines-valid")));
                    return match (covered, valid) {
                        (Some(c), Some(v)) if v > 0.0 => Some(100.0 * c / v),
                        _ => number(a.get("line-rate")).map(|r| r * 100.0),
                    };
                }
                "report" => jacoco = true,
                _ => return None,
            }
        } else if jacoco && depth == 1 && name == "counter" {
            let a = attrs(&e);
            if a.get("type").map(String::as_str) == Some("LINE") {
                let (missed, covered) = (number(a.get("missed"))?, number(a.get("covered"))?);
                return (missed + covered > 0.0).then(|| 100.0 * covered / (missed + covered));
            }
        }
        if !empty {
            depth += 1;
        }
    }
}

/// Where coverage reports usually are (some under folders the walker skips).
const COVERAGE_PATHS: &[&str] = &[
    "coverage/lcov.info",
    "lcov.info",
    "coverage.xml",
    "coverage/cobertura-coverage.xml",
    "cobertura.xml",
    "target/site/jacoco/jacoco.xml",
    "build/reports/jacoco/test/jacocoTestReport.xml",
];

/// Reads coverage reports against a threshold.
#[derive(Debug, Clone, Copy)]
pub struct CoverageChecker {
    /// Minimum line coverage in percent.
    pub threshold: f64,
}

impl Default for CoverageChecker {
    fn default() -> Self {
        CoverageChecker { threshold: 80.0 }
    }
}

impl Checker for CoverageChecker {
    fn id(&self) -> &'static str {
        "coverage"
    }
    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        let mut reports: Vec<(String, String)> = COVERAGE_PATHS
            .iter()
            .filter_map(|p| std::fs::read_to_string(ws.root.join(p)).ok().map(|t| (p.to_string(), t)))
            .collect();
        for f in ws.files {
            let name = f.rel.rsplit('/').next().unwrap_or(&f.rel).to_ascii_lowercase();
            if (name == "lcov.info"
                || name.starts_with("jacoco") && name.ends_with(".xml")
                || name.starts_with("cobertura")
                || name == "coverage.xml")
                && !reports.iter().any(|(r, _)| *r == f.rel)
            {
                reports.push((f.rel.clone(), f.text.clone()));
            }
        }
        if reports.is_empty() {
            out.notes.push(Note {
                file: String::new(),
                message: "no coverage report found (lcov.info, Cobertura coverage.xml or JaCoCo jacoco.xml)".into(),
            });
        }
        for (rel, text) in reports {
            let pct = parse_coverage(&rel, &text);
            if let Some(pct) = pct {
                let lowest = out.measures.entry("test_coverage".into()).or_insert(pct);
                *lowest = lowest.min(pct);
            }
            match pct {
                Some(pct) if pct + 1e-9 < self.threshold => out.findings.push(Finding {
                    rule: "coverage/below-threshold".into(),
                    severity: Severity::Medium,
                    file: rel.clone(),
                    line: 0,
                    message: format!("line coverage is {pct:.1}%, below the {:.0}% threshold", self.threshold),
                    fix: "test the uncovered business logic and error paths".into(),
                    item: "code.tested".into(),
                    cwe: None,
                    fingerprint: String::new(),
                }),
                Some(pct) => out.notes.push(Note { file: rel, message: format!("line coverage {pct:.1}%") }),
                None => out.notes.push(Note { file: rel, message: "coverage report not recognised".into() }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_summaries() {
        assert_eq!(
            parse_test_output("==== 3 passed, 1 failed in 0.21s ===="),
            Some(TestCounts { passed: 3, failed: 1 })
        );
        assert_eq!(
            parse_test_output("Tests:       2 failed, 10 passed, 12 total"),
            Some(TestCounts { passed: 10, failed: 2 })
        );
        assert_eq!(parse_test_output("  5 passing (20ms)\n  1 failing\n"), Some(TestCounts { passed: 5, failed: 1 }));
        assert_eq!(parse_test_output("# pass 7\n# fail 0\n"), Some(TestCounts { passed: 7, failed: 0 }));
        assert_eq!(
            parse_test_output("Tests run: 12, Failures: 1, Errors: 1, Skipped: 0"),
            Some(TestCounts { passed: 10, failed: 2 })
        );
        assert_eq!(
            parse_test_output("test result: ok. 4 passed; 0 failed;\ntest result: FAILED. 1 passed; 2 failed;"),
            Some(TestCounts { passed: 5, failed: 2 })
        );
        assert_eq!(parse_test_output("nothing here"), None);
    }

    #[test]
    fn coverage_formats() {
        let lcov = "TN:\nSF:a.js\nLF:10\nLH:7\nend_of_record\nSF:b.js\nLF:10\nLH:9\nend_of_record\n";
        assert_eq!(parse_coverage("lcov.info", lcov), Some(80.0));
        assert_eq!(
            parse_coverage("coverage.xml", "<?xml?><coverage line-rate=\"0.655\" branch-rate=\"0\">"),
            Some(65.5)
        );
        let jacoco = "<report><package><counter type=\"LINE\" missed=\"1\" covered=\"1\"/></package><counter type=\"LINE\" missed=\"25\" covered=\"75\"/></report>";
        assert_eq!(parse_coverage("jacoco.xml", jacoco), Some(75.0));
        // As real tools write them: a DOCTYPE, other attribute orders and quotes, comments, the
        // report-level counters before the packages'.
        let jacoco = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="app"><sessioninfo id="x" start="1" dump="2"/><counter covered='30' type='LINE' missed='10'/><package name="a"><!-- <counter type="LINE" missed="0" covered="1"/> --><counter type="LINE" missed="9" covered="1"/></package></report>"#;
        assert_eq!(parse_coverage("jacoco.xml", jacoco), Some(75.0));
        let cobertura = r#"<?xml version="1.0" ?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<!-- Generated by coverage.py: https://coverage.readthedocs.io/ -->
<coverage version="7.4.0" timestamp="1" lines-valid="200" lines-covered="150" line-rate="0.75" branches-covered="0">"#;
        assert_eq!(parse_coverage("coverage.xml", cobertura), Some(75.0));
        assert_eq!(parse_coverage("coverage.xml", "<html><body>not a report</body></html>"), None);
        assert_eq!(parse_coverage("coverage.xml", "<coverage line-rate=\"0.5\""), None);
    }

    #[test]
    fn the_report_carries_the_lowest_coverage_measured() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("coverage")).unwrap();
        std::fs::write(dir.path().join("coverage/lcov.info"), "SF:a.js\nLF:10\nLH:9\nend_of_record\n").unwrap();
        std::fs::write(dir.path().join("coverage.xml"), "<coverage line-rate=\"0.7\">").unwrap();
        let config = crate::GateConfig::default();
        let report = crate::run_gates(dir.path(), &["code".to_string()], &config, false).unwrap();
        assert_eq!(report.measures.get("test_coverage"), Some(&70.0), "{:?}", report.measures);
        assert!(report.findings.iter().any(|f| f.rule == "coverage/below-threshold" && f.file == "coverage.xml"));
        // Nothing measured: nothing in the report, and nothing in its JSON.
        let empty = tempfile::tempdir().unwrap();
        let report = crate::run_gates(empty.path(), &["code".to_string()], &config, false).unwrap();
        assert!(report.measures.is_empty());
        assert!(!serde_json::to_string(&report).unwrap().contains("measures"));
    }

    #[test]
    fn a_hanging_test_command_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_tests(
            dir.path(),
            &["sh".into(), "-c".into(), "sleep 60 & sleep 60".into()],
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(run.timed_out);
        let run = run_tests(
            dir.path(),
            &["sh".into(), "-c".into(), "echo '==== 2 passed in 0.01s ===='; exit 0".into()],
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!((run.code, parse_test_output(&run.output)), (Some(0), Some(TestCounts { passed: 2, failed: 0 })));
    }
}
