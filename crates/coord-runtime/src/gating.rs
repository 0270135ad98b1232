//! Quality gates inside runs: when an attempt succeeds with artifacts, the gates relevant to
//! the task's kind run over the workspace, findings are kept for the files the attempt changed,
//! each gate's report is stored, and a failed gate turns the success into a failure whose
//! findings become the next brief's feedback (the escalation protocol takes it from there).

use crate::escalation::Failure;
use crate::executor::FailureCategory;
use coord_core::{TaskKind, WorkflowStep};
use coord_gates::{Finding, GateConfig};
use std::path::PathBuf;

/// What checking a result of `task` with `artifacts` involves: the workflow step whose check
/// the coordinator runs (whoever did the work), and whether the quality gates apply (there are
/// artifacts and gates are not off in runs). Neither: the result is only recorded.
pub fn checks_for(task: &coord_core::Task, artifacts: &[String], gates_disabled: bool) -> (Option<WorkflowStep>, bool) {
    (task.workflow.filter(|s| s.is_automated()), !artifacts.is_empty() && !gates_disabled)
}

/// The gates that apply to a kind of work.
pub fn gates_for(kind: TaskKind) -> &'static [&'static str] {
    match kind {
        TaskKind::ApiDesign => &["api", "documentation"],
        TaskKind::SchemaDesign | TaskKind::DataAccess | TaskKind::Optimization | TaskKind::DatabaseOperations => {
            &["database", "performance", "security"]
        }
        TaskKind::Implementation | TaskKind::Integration | TaskKind::Middleware | TaskKind::Observability => {
            &["code", "security", "performance"]
        }
        TaskKind::SecurityAudit => &["security"],
        TaskKind::PerformanceTest => &["performance"],
        TaskKind::Architecture | TaskKind::Documentation => &["documentation"],
    }
}

/// What the gates decided about one attempt.
#[derive(Debug, Clone)]
pub struct GateVerdict {
    /// `(gate, passed, report JSON)` for the store.
    pub results: Vec<(String, bool, String)>,
    /// The failure to escalate, when a gate failed.
    pub failure: Option<Failure>,
    /// The findings that failed it.
    pub blocking: Vec<Finding>,
    /// What the checkers measured (`test_coverage`), recorded as metric events.
    pub measures: std::collections::BTreeMap<String, f64>,
}

/// Runs the gates of `kind` over `root`, judging the files in `artifacts`. Runs on a blocking
/// thread: the checkers read files and may run the project's tests.
pub async fn judge(root: PathBuf, kind: TaskKind, artifacts: Vec<String>, config: GateConfig) -> GateVerdict {
    let gates: Vec<String> = gates_for(kind).iter().map(|g| g.to_string()).collect();
    let fail_on = config.fail_on;
    let selected = gates.clone();
    let changed: std::collections::HashSet<String> = artifacts.iter().cloned().collect();
    let report = tokio::task::spawn_blocking(move || {
        coord_gates::run_gates_on(&root, &selected, &config, false, Some(&changed))
    })
    .await;
    let report = match report {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return GateVerdict {
                results: Vec::new(),
                blocking: Vec::new(),
                failure: Some(Failure {
                    error: format!("the quality gates could not run: {e}"),
                    category: FailureCategory::General,
                    retryable: true,
                    park: false,
                }),
                measures: Default::default(),
            };
        }
        Err(e) => {
            return GateVerdict {
                results: Vec::new(),
                blocking: Vec::new(),
                failure: Some(Failure {
                    error: format!("the quality gates stopped: {e}"),
                    category: FailureCategory::General,
                    retryable: true,
                    park: false,
                }),
                measures: Default::default(),
            };
        }
    };
    let mine: Vec<&Finding> = report.findings.iter().filter(|f| artifacts.iter().any(|a| a == &f.file)).collect();
    let mut results = Vec::new();
    let mut failing: Vec<&Finding> = Vec::new();
    for gate in &gates {
        let of_gate: Vec<&Finding> =
            mine.iter().copied().filter(|f| f.item.split('.').next() == Some(gate.as_str())).collect();
        let blocking: Vec<&Finding> = of_gate.iter().copied().filter(|f| f.severity >= fail_on).collect();
        let json =
            serde_json::json!({ "gate": gate, "findings": of_gate, "files": report.files, "artifacts": artifacts })
                .to_string();
        results.push((gate.clone(), blocking.is_empty(), json));
        failing.extend(blocking);
    }
    failing.sort_by(|a, b| (&a.file, a.line, &a.rule).cmp(&(&b.file, b.line, &b.rule)));
    failing.dedup();
    let failure = (!failing.is_empty()).then(|| {
        let mut error = format!("quality gate failed: {} finding(s) at or above {}:", failing.len(), fail_on);
        for f in failing.iter().take(20) {
            error.push_str(&format!(
                "\n- [{}] {}:{} {} — {} (fix: {})",
                f.severity, f.file, f.line, f.rule, f.message, f.fix
            ));
        }
        Failure { error, category: FailureCategory::General, retryable: true, park: false }
    });
    let blocking = failing.into_iter().cloned().collect();
    GateVerdict { results, failure, blocking, measures: report.measures }
}
