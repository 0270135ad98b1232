//! The field's own tools as checkers, when installed: semgrep (SARIF), bandit, gitleaks, and
//! the dependency auditors osv-scanner, npm audit and pip-audit (JSON). Their results become
//! coord findings (`peer/<tool>/<their rule>`), deduplicated with coord's own by file, line and
//! CWE in the runner. A tool that is not installed is a note, never a failure, unless the
//! configuration requires it (`[gates] require_tools`), which the runner checks first.

use crate::checker::{CheckOutput, Checker, Workspace};
use crate::finding::{Finding, Note, Severity};
use crate::testing::run_tests;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every tool this checker knows, in the order they run.
pub const TOOLS: &[&str] = &["semgrep", "bandit", "gitleaks", "osv-scanner", "npm-audit", "pip-audit"];

/// The program a tool runs as.
pub fn program(tool: &str) -> &str {
    match tool {
        "npm-audit" => "npm",
        other => other,
    }
}

/// Whether a program is on PATH.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// The peer tools checker.
#[derive(Debug, Clone)]
pub struct PeerTools {
    /// The tools to run when installed.
    pub tools: Vec<String>,
    /// semgrep `--config` values (default `auto`).
    pub semgrep_config: Vec<String>,
    /// Timeout of each tool.
    pub timeout: Duration,
}

fn severity_of(s: &str) -> Severity {
    match s.to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" | "error" => Severity::High,
        "medium" | "moderate" | "warning" => Severity::Medium,
        _ => Severity::Low,
    }
}

#[allow(clippy::too_many_arguments)] // one field each of a Finding, named at every call
fn peer(
    tool: &str,
    rule: &str,
    severity: Severity,
    file: &str,
    line: usize,
    message: String,
    cwe: Option<String>,
    item: &str,
) -> Finding {
    Finding {
        rule: format!("peer/{tool}/{rule}"),
        severity,
        file: file.trim_start_matches("./").to_string(),
        line,
        message,
        fix: format!("see {tool}'s documentation of {rule}"),
        item: item.into(),
        cwe,
        fingerprint: String::new(),
    }
}

/// The first `CWE-<n>` in a text.
fn cwe_in(text: &str) -> Option<String> {
    let at = text.find("CWE-")?;
    let digits: String = text[at + 4..].chars().take_while(|c| c.is_ascii_digit()).collect();
    (!digits.is_empty()).then(|| format!("CWE-{digits}"))
}

/// Findings of a SARIF log (semgrep's, or any tool's).
pub fn from_sarif(tool: &str, log: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    for run in log["runs"].as_array().into_iter().flatten() {
        let rules: Vec<&Value> =
            run["tool"]["driver"]["rules"].as_array().map(|r| r.iter().collect()).unwrap_or_default();
        for r in run["results"].as_array().into_iter().flatten() {
            let id = r["ruleId"].as_str().unwrap_or("unknown");
            let rule = rules.iter().find(|x| x["id"] == id);
            let tags = rule.map(|x| x["properties"]["tags"].to_string()).unwrap_or_default();
            let loc = &r["locations"][0]["physicalLocation"];
            let level = r["level"]
                .as_str()
                .or_else(|| rule.and_then(|x| x["defaultConfiguration"]["level"].as_str()))
                .unwrap_or("warning");
            out.push(peer(
                tool,
                id.rsplit('.').next().unwrap_or(id),
                severity_of(level),
                loc["artifactLocation"]["uri"].as_str().unwrap_or(""),
                loc["region"]["startLine"].as_u64().unwrap_or(1) as usize,
                r["message"]["text"].as_str().unwrap_or(id).to_string(),
                cwe_in(&tags),
                "security.sql-injection",
            ));
        }
    }
    out
}

/// Findings of bandit's JSON report.
pub fn from_bandit(log: &Value) -> Vec<Finding> {
    log["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let cwe = r["issue_cwe"]["id"].as_u64().map(|n| format!("CWE-{n}"));
            let secret = cwe.as_deref().is_some_and(|c| c == "CWE-259" || c == "CWE-798");
            peer(
                "bandit",
                r["test_id"].as_str().unwrap_or("B000"),
                severity_of(r["issue_severity"].as_str().unwrap_or("low")),
                r["filename"].as_str().unwrap_or(""),
                r["line_number"].as_u64().unwrap_or(1) as usize,
                r["issue_text"].as_str().unwrap_or("").to_string(),
                cwe,
                if secret { "code.no-secrets" } else { "security.sql-injection" },
            )
        })
        .collect()
}

/// Findings of gitleaks' JSON report (an array of leaks). The secret itself is never copied.
pub fn from_gitleaks(log: &Value) -> Vec<Finding> {
    log.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            peer(
                "gitleaks",
                r["RuleID"].as_str().unwrap_or("secret"),
                Severity::High,
                r["File"].as_str().unwrap_or(""),
                r["StartLine"].as_u64().unwrap_or(1) as usize,
                format!("gitleaks: {}", r["Description"].as_str().unwrap_or("a secret")),
                Some("CWE-798".into()),
                "code.no-secrets",
            )
        })
        .collect()
}

/// The line of `name` in a manifest (1 when absent).
fn line_of_name(root: &Path, file: &str, name: &str) -> usize {
    std::fs::read_to_string(root.join(file))
        .ok()
        .and_then(|t| {
            t.lines().position(|l| {
                l.contains(&format!("\"{name}\""))
                    || l.trim_start().to_ascii_lowercase().starts_with(&name.to_ascii_lowercase())
            })
        })
        .map_or(1, |i| i + 1)
}

/// Findings of pip-audit's JSON report, on the requirements file's line of each package.
pub fn from_pip_audit(root: &Path, file: &str, log: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in log["dependencies"].as_array().into_iter().flatten() {
        let name = d["name"].as_str().unwrap_or("");
        for v in d["vulns"].as_array().into_iter().flatten() {
            let id = v["id"].as_str().unwrap_or("vulnerability");
            let fixed =
                v["fix_versions"].as_array().and_then(|a| a.first()).and_then(|x| x.as_str()).unwrap_or("none yet");
            out.push(peer(
                "pip-audit",
                id,
                Severity::High,
                file,
                line_of_name(root, file, name),
                format!("{name} {} has {id} (fixed in {fixed})", d["version"].as_str().unwrap_or("")),
                Some("CWE-1395".into()),
                "security.sql-injection",
            ));
        }
    }
    out
}

/// Findings of `npm audit --json` (npm 7+), on package.json's line of each package.
pub fn from_npm_audit(root: &Path, log: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, v) in log["vulnerabilities"].as_object().into_iter().flatten() {
        let via: Vec<String> =
            v["via"].as_array().into_iter().flatten().filter_map(|x| x["title"].as_str().map(str::to_string)).collect();
        if via.is_empty() {
            continue; // only pulled in by another vulnerable package, reported there
        }
        out.push(peer(
            "npm-audit",
            name,
            severity_of(v["severity"].as_str().unwrap_or("low")),
            "package.json",
            line_of_name(root, "package.json", name),
            format!("{name} ({}): {}", v["range"].as_str().unwrap_or(""), via.join("; ")),
            Some("CWE-1395".into()),
            "security.sql-injection",
        ));
    }
    out
}

/// Findings of osv-scanner's JSON report, on each lockfile's line of the package.
pub fn from_osv(root: &Path, log: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in log["results"].as_array().into_iter().flatten() {
        let path = r["source"]["path"].as_str().unwrap_or("");
        let file = Path::new(path)
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_else(|_| path.to_string());
        for p in r["packages"].as_array().into_iter().flatten() {
            let name = p["package"]["name"].as_str().unwrap_or("");
            for v in p["vulnerabilities"].as_array().into_iter().flatten() {
                let id = v["id"].as_str().unwrap_or("vulnerability");
                out.push(peer(
                    "osv-scanner",
                    id,
                    Severity::High,
                    &file,
                    line_of_name(root, &file, name),
                    format!(
                        "{name} {}: {}",
                        p["package"]["version"].as_str().unwrap_or(""),
                        v["summary"].as_str().unwrap_or(id)
                    ),
                    Some("CWE-1395".into()),
                    "security.sql-injection",
                ));
            }
        }
    }
    out
}

/// The JSON object in a tool's output (npm prints warnings around it).
fn json_in(output: &str) -> Option<Value> {
    let start = output.find(['{', '['])?;
    let end = output.rfind(['}', ']'])?;
    serde_json::from_str(output.get(start..=end)?).ok()
}

impl PeerTools {
    fn run(&self, tool: &str, root: &Path, out: &mut CheckOutput) -> Result<(), String> {
        let report: PathBuf = std::env::temp_dir().join(format!("coord-peer-{tool}-{}.json", std::process::id()));
        let rp = report.display().to_string();
        let argv: Vec<String> = match tool {
            "semgrep" => {
                let mut a = vec![
                    "semgrep".to_string(),
                    "scan".into(),
                    "--sarif".into(),
                    "--quiet".into(),
                    "--metrics=off".into(),
                    "--disable-version-check".into(),
                    "-o".into(),
                    rp.clone(),
                ];
                let configs =
                    if self.semgrep_config.is_empty() { vec!["auto".to_string()] } else { self.semgrep_config.clone() };
                for c in configs {
                    a.push("--config".into());
                    a.push(c);
                }
                a.push(".".into());
                a
            }
            "bandit" => {
                if !root.join("setup.py").exists() && !walk_has(root, "py") {
                    return Ok(());
                }
                ["bandit", "-q", "-r", ".", "-f", "json", "-o", &rp].map(String::from).to_vec()
            }
            "gitleaks" => [
                "gitleaks",
                "detect",
                "--no-git",
                "--no-banner",
                "--exit-code",
                "0",
                "--report-format",
                "json",
                "--report-path",
                &rp,
                "--source",
                ".",
            ]
            .map(String::from)
            .to_vec(),
            "osv-scanner" => ["osv-scanner", "--format", "json", "--output", &rp, "-r", "."].map(String::from).to_vec(),
            "npm-audit" => {
                if !root.join("package-lock.json").exists() {
                    return Ok(());
                }
                ["npm", "audit", "--json"].map(String::from).to_vec()
            }
            "pip-audit" => {
                if !root.join("requirements.txt").exists() {
                    return Ok(());
                }
                ["pip-audit", "-r", "requirements.txt", "-f", "json", "-o", &rp].map(String::from).to_vec()
            }
            other => return Err(format!("unknown tool `{other}` (tools: {})", TOOLS.join(", "))),
        };
        let _ = std::fs::remove_file(&report);
        let run = run_tests(root, &argv, self.timeout).map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
        if run.timed_out {
            return Err(format!("stopped after {} s", self.timeout.as_secs()));
        }
        let text =
            if tool == "npm-audit" { run.output.clone() } else { std::fs::read_to_string(&report).unwrap_or_default() };
        let _ = std::fs::remove_file(&report);
        let log = json_in(&text).ok_or_else(|| {
            let last = run.output.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
            format!("produced no report (exit {:?}): {last}", run.code)
        })?;
        out.findings.extend(match tool {
            "semgrep" => from_sarif("semgrep", &log),
            "bandit" => from_bandit(&log),
            "gitleaks" => from_gitleaks(&log),
            "osv-scanner" => from_osv(root, &log),
            "npm-audit" => from_npm_audit(root, &log),
            _ => from_pip_audit(root, "requirements.txt", &log),
        });
        Ok(())
    }
}

fn walk_has(root: &Path, ext: &str) -> bool {
    crate::walk::list_files(root, &mut Vec::new()).iter().any(|(p, _)| p.extension().is_some_and(|e| e == ext))
}

impl Checker for PeerTools {
    fn id(&self) -> &'static str {
        "peer-tools"
    }

    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        for tool in &self.tools {
            if !installed(program(tool)) {
                out.notes.push(Note {
                    file: String::new(),
                    message: format!("{tool} is not installed: its checks did not run"),
                });
                continue;
            }
            if let Err(e) = self.run(tool, ws.root, &mut out) {
                out.notes.push(Note { file: String::new(), message: format!("{tool}: {e}") });
            }
        }
        out
    }
}

/// Drops the tools' findings that repeat one of coord's: same file, same line, and the same
/// CWE (or the tool names none).
pub fn dedupe(findings: &mut Vec<Finding>) {
    let own: Vec<(String, usize, Option<String>)> = findings
        .iter()
        .filter(|f| !f.rule.starts_with("peer/"))
        .map(|f| (f.file.clone(), f.line, f.cwe.clone()))
        .collect();
    findings.retain(|f| {
        !f.rule.starts_with("peer/")
            || !own
                .iter()
                .any(|(file, line, cwe)| *file == f.file && *line == f.line && (f.cwe.is_none() || *cwe == f.cwe))
    });
}
