//! Running gates: which checkers a selection of gates needs, one walk of the tree, per-file
//! checkers split across threads, and the report.

use crate::ast::{AstChecker, RuleSet};
use crate::checker::{CheckOutput, Checker, Workspace};
use crate::checklist::{GATES, ITEMS};
use crate::cors::CorsChecker;
use crate::docs::DocsChecker;
use crate::finding::{Finding, Note, Severity};
use crate::logs::LogsChecker;
use crate::migrations::MigrationsChecker;
use crate::nplusone::NPlusOneChecker;
use crate::openapi::OpenApiChecker;
use crate::secrets::SecretsChecker;
use crate::testing::{CoverageChecker, TestsChecker};
use crate::walk::{WalkLimits, read_tree};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

/// Files a scanning thread takes at a time.
const FILES_PER_BATCH: usize = 16;

/// `[gates]` of `coord.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Run the project's test command (the `tests` checker). Off by default for `coord gate`
    /// because it executes code; `--gate testing` or `--run-tests` turns it on.
    #[serde(default)]
    pub run_tests: bool,
    /// The test command; detected when absent.
    #[serde(default)]
    pub test_command: Option<Vec<String>>,
    /// Timeout of the test command.
    #[serde(default = "default_test_timeout")]
    pub test_timeout_secs: u64,
    /// Minimum line coverage, percent.
    #[serde(default = "default_threshold")]
    pub coverage_threshold: f64,
    /// Paths (prefixes or substrings) where fake secrets are allowed: test fixtures.
    #[serde(default)]
    pub secrets_allow: Vec<String>,
    /// Files larger than this are skipped with a note.
    #[serde(default = "default_max_file")]
    pub max_file_bytes: u64,
    /// Findings at or above this severity fail (default `high`).
    #[serde(default = "default_fail_on")]
    pub fail_on: Severity,
    /// Do not run gates on task artifacts inside runs (`coord gate` still runs them).
    #[serde(default)]
    pub disabled_in_runs: bool,
    /// Folders of the project's own rule files (YAML, the format of the built-in rules; see
    /// docs/gates.md), relative to the repository. A rule with a built-in rule's id replaces it.
    #[serde(default)]
    pub rules: Vec<std::path::PathBuf>,
    /// Rule ids or whole categories (`weak-crypto`) not to run.
    #[serde(default)]
    pub disable_rules: Vec<String>,
    /// The field's own tools to run when installed (default: all of semgrep, bandit, gitleaks,
    /// osv-scanner, npm-audit, pip-audit); an empty list runs none.
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// Tools that must be installed: a missing one is an error, not a note.
    #[serde(default)]
    pub require_tools: Vec<String>,
    /// semgrep's `--config` values (default `auto`, which needs semgrep's registry; give a
    /// local rules folder to run offline).
    #[serde(default)]
    pub semgrep_config: Vec<String>,
    /// Timeout of each tool, seconds.
    #[serde(default = "default_tool_timeout")]
    pub tool_timeout_secs: u64,
    /// A baseline file (relative to the repository): findings it lists are accepted.
    #[serde(default)]
    pub baseline: Option<std::path::PathBuf>,
}

fn default_tool_timeout() -> u64 {
    300
}

fn default_fail_on() -> Severity {
    Severity::High
}

fn default_test_timeout() -> u64 {
    600
}
fn default_threshold() -> f64 {
    80.0
}
fn default_max_file() -> u64 {
    2 * 1024 * 1024
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            run_tests: false,
            test_command: None,
            test_timeout_secs: default_test_timeout(),
            coverage_threshold: default_threshold(),
            secrets_allow: Vec::new(),
            max_file_bytes: default_max_file(),
            fail_on: default_fail_on(),
            disabled_in_runs: false,
            rules: Vec::new(),
            disable_rules: Vec::new(),
            tools: None,
            require_tools: Vec::new(),
            semgrep_config: Vec::new(),
            tool_timeout_secs: default_tool_timeout(),
            baseline: None,
        }
    }
}

/// The result of running gates over a tree.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    /// The scanned root.
    pub root: String,
    /// The gates selected.
    pub gates: Vec<String>,
    /// The checkers that ran.
    pub checkers: Vec<String>,
    /// Findings, sorted by file, line and rule.
    pub findings: Vec<Finding>,
    /// What could not be checked.
    pub notes: Vec<Note>,
    /// Figures the checkers measured (`test_coverage`: percent of lines covered, the lowest
    /// over the coverage reports found); absent when none did.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub measures: std::collections::BTreeMap<String, f64>,
    /// Findings suppressed inline (`coord:allow <rule> <reason>`).
    pub suppressed: usize,
    /// Findings accepted by the baseline.
    pub baselined: usize,
    /// Files scanned.
    pub files: usize,
    /// Bytes scanned.
    pub bytes: u64,
    /// Wall time, milliseconds.
    pub millis: u64,
}

impl GateReport {
    /// Whether no finding is at or above `fail_on`.
    pub fn passes(&self, fail_on: Severity) -> bool {
        !self.findings.iter().any(|f| f.severity >= fail_on)
    }

    /// Whether the findings of one gate pass.
    pub fn gate_passes(&self, gate: &str, fail_on: Severity) -> bool {
        !self.findings.iter().any(|f| f.severity >= fail_on && f.item.split('.').next() == Some(gate))
    }
}

/// Why gates could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Unknown gate name.
    #[error("unknown gate `{0}` (gates: api, code, security, performance, database, testing, documentation)")]
    UnknownGate(String),
    /// A rule file of the project (or a built-in one) is broken.
    #[error(transparent)]
    Rules(#[from] crate::ast::rule::RuleError),
    /// The baseline cannot be read.
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    /// A tool the configuration requires is missing or failed.
    #[error("{0}")]
    Tool(String),
    /// The root is not a readable folder.
    #[error("cannot scan {path}: {reason}")]
    Root {
        /// The root.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The checker ids the gates need. `run_tests` adds the test runner.
pub fn checkers_for(gates: &[String], run_tests: bool) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for item in ITEMS.iter().filter(|i| gates.iter().any(|g| g == i.gate)) {
        for c in item.checkers {
            if (*c != "tests" || run_tests) && !ids.contains(c) {
                ids.push(c);
            }
        }
    }
    ids
}

/// The checker with this id, configured.
pub fn build(id: &str, config: &GateConfig) -> Option<Box<dyn Checker>> {
    Some(match id {
        "secrets" => Box::new(SecretsChecker { allow: config.secrets_allow.clone() }),
        "ast-rules" => Box::new(AstChecker { rules: RuleSet::builtin().ok()? }),
        "sensitive-logs" => Box::new(LogsChecker),
        "cors" => Box::new(CorsChecker),
        "openapi" => Box::new(OpenApiChecker),
        "migrations" => Box::new(MigrationsChecker),
        "n-plus-one" => Box::new(NPlusOneChecker),
        "docs" => Box::new(DocsChecker),
        "tests" => Box::new(TestsChecker {
            command: config.test_command.clone(),
            timeout: Duration::from_secs(config.test_timeout_secs.max(1)),
        }),
        "coverage" => Box::new(CoverageChecker { threshold: config.coverage_threshold }),
        _ => return None,
    })
}

/// Runs the selected gates (all when `gates` is empty) over the tree at `root`.
pub fn run_gates(root: &Path, gates: &[String], config: &GateConfig, run_tests: bool) -> Result<GateReport, GateError> {
    run_gates_on(root, gates, config, run_tests, None)
}

/// [`run_gates`], with the per-file checkers (secrets, the AST rules, logs...) run only on the
/// files in `only` (relative paths) when given: a task's gates judge its changed files, and
/// parsing the rest of a large repository would only produce findings that are thrown away.
/// The checkers of the whole repository (OpenAPI, migrations, coverage, documentation, peer
/// tools) still see every file.
pub fn run_gates_on(
    root: &Path,
    gates: &[String],
    config: &GateConfig,
    run_tests: bool,
    only: Option<&std::collections::HashSet<String>>,
) -> Result<GateReport, GateError> {
    let started = Instant::now();
    for g in gates {
        if !GATES.contains(&g.as_str()) {
            return Err(GateError::UnknownGate(g.clone()));
        }
    }
    let meta = std::fs::metadata(root)
        .map_err(|e| GateError::Root { path: root.display().to_string(), reason: e.to_string() })?;
    if !meta.is_dir() {
        return Err(GateError::Root { path: root.display().to_string(), reason: "not a folder".into() });
    }
    let gates: Vec<String> =
        if gates.is_empty() { GATES.iter().map(|g| g.to_string()).collect() } else { gates.to_vec() };
    let run_tests = run_tests || config.run_tests;
    let ids = checkers_for(&gates, run_tests);
    for t in &config.require_tools {
        if !crate::peers::TOOLS.contains(&t.as_str()) {
            return Err(GateError::Tool(format!(
                "require_tools: unknown tool `{t}` (tools: {})",
                crate::peers::TOOLS.join(", ")
            )));
        }
        if !crate::peers::installed(crate::peers::program(t)) {
            return Err(GateError::Tool(format!("{t} is required by [gates] require_tools but is not installed")));
        }
    }
    let mut checkers: Vec<Box<dyn Checker>> = Vec::new();
    for id in &ids {
        if *id == "ast-rules" && (!config.rules.is_empty() || !config.disable_rules.is_empty()) {
            let dirs: Vec<std::path::PathBuf> = config.rules.iter().map(|d| root.join(d)).collect();
            let rules = std::sync::Arc::new(RuleSet::load(&dirs, &config.disable_rules)?);
            checkers.push(Box::new(AstChecker { rules }));
        } else if *id == "ast-rules" {
            checkers.push(Box::new(AstChecker { rules: RuleSet::builtin()? }));
        } else if *id == "peer-tools" {
            let mut tools: Vec<String> =
                config.tools.clone().unwrap_or_else(|| crate::peers::TOOLS.iter().map(|t| t.to_string()).collect());
            for t in &config.require_tools {
                if !tools.contains(t) {
                    tools.push(t.clone());
                }
            }
            if !tools.is_empty() {
                checkers.push(Box::new(crate::peers::PeerTools {
                    tools,
                    semgrep_config: config.semgrep_config.clone(),
                    timeout: Duration::from_secs(config.tool_timeout_secs.max(1)),
                }));
            }
        } else if let Some(c) = build(id, config) {
            checkers.push(c);
        }
    }
    let limits = WalkLimits { max_file_bytes: config.max_file_bytes, ..WalkLimits::default() };
    let tree = read_tree(root, &limits);

    let (per_file, whole): (Vec<&dyn Checker>, Vec<&dyn Checker>) =
        checkers.iter().map(|c| c.as_ref()).partition(|c| c.per_file());
    let threads = limits.threads.max(1);
    let selected: Vec<crate::SourceFile>;
    let per_file_files: &[crate::SourceFile] = match only {
        Some(set) => {
            selected = tree.files.iter().filter(|f| set.contains(&f.rel)).cloned().collect();
            &selected
        }
        None => &tree.files,
    };
    // Threads take small batches of files as they go, so one thread is not left with the
    // expensive files (a folder of Java that every AST rule parses) while the other idles.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut outputs: Vec<CheckOutput> = Vec::new();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for _ in 0..threads.min(per_file_files.len().max(1)) {
            let (per_file, next) = (&per_file, &next);
            handles.push(s.spawn(move || {
                let mut out = CheckOutput::default();
                loop {
                    let start = next.fetch_add(FILES_PER_BATCH, std::sync::atomic::Ordering::Relaxed);
                    if start >= per_file_files.len() {
                        break;
                    }
                    let part = &per_file_files[start..(start + FILES_PER_BATCH).min(per_file_files.len())];
                    let ws = Workspace { root, files: part };
                    for c in per_file.iter() {
                        let o = c.check(&ws);
                        out.findings.extend(o.findings);
                        out.notes.extend(o.notes);
                    }
                }
                out
            }));
        }
        for c in &whole {
            let ws = Workspace { root, files: &tree.files };
            outputs.push(c.check(&ws));
        }
        for h in handles {
            // A checker that panics is a bug; its chunk's findings are lost but the scan completes.
            if let Ok(o) = h.join() {
                outputs.push(o);
            }
        }
    });
    // Files over the size limit: every per-file checker sees them in chunks that end at line
    // ends, with the lines numbered as in the whole file.
    let mut notes = tree.notes;
    let (mut files_scanned, mut bytes) = (tree.files.len(), tree.bytes);
    for (path, len) in &tree.large {
        let rel = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
        if only.is_some_and(|set| !set.contains(&rel)) {
            continue;
        }
        let mut chunk_findings = Vec::new();
        let scanned = crate::walk::read_chunks(root, path, limits.max_file_bytes.max(1), |chunk, first_line| {
            let one = [chunk];
            let ws = Workspace { root, files: &one };
            for c in &per_file {
                for mut f in c.check(&ws).findings {
                    f.line += first_line;
                    chunk_findings.push(f);
                }
            }
        });
        match scanned {
            Ok(total) => {
                files_scanned += 1;
                bytes += total;
                let rel = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
                notes.push(Note {
                    file: rel,
                    message: format!(
                        "{len} bytes is over the {} byte limit: scanned in chunks (a rule sees one chunk at a time)",
                        limits.max_file_bytes
                    ),
                });
                outputs.push(CheckOutput { findings: chunk_findings, ..CheckOutput::default() });
            }
            Err(note) => notes.push(note),
        }
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut measures = std::collections::BTreeMap::<String, f64>::new();
    for o in outputs {
        findings.extend(o.findings);
        notes.extend(o.notes);
        for (name, value) in o.measures {
            let kept = measures.entry(name).or_insert(value);
            *kept = kept.min(value);
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, &a.rule).cmp(&(&b.file, b.line, &b.rule)));
    findings.dedup();
    crate::peers::dedupe(&mut findings);
    let by_path: std::collections::HashMap<&str, &crate::checker::SourceFile> =
        tree.files.iter().map(|f| (f.rel.as_str(), f)).collect();
    let suppressed = crate::baseline::apply_inline(&mut findings, &by_path, &mut notes);
    crate::baseline::set_fingerprints(&mut findings, &by_path);
    let baselined = match &config.baseline {
        Some(path) => crate::baseline::Baseline::load(&root.join(path))?.apply(&mut findings),
        None => 0,
    };
    Ok(GateReport {
        root: root.display().to_string(),
        gates,
        checkers: ids.iter().map(|s| s.to_string()).collect(),
        findings,
        notes,
        measures,
        suppressed,
        baselined,
        files: files_scanned,
        bytes,
        millis: started.elapsed().as_millis() as u64,
    })
}
