//! Where the workflow checks meet the scheduler: running a workflow task's check as its gate
//! (with what the run changed and approved so far, the events it records), and sending the work
//! back when the coordinator's own check fails — the spec's level 3, "coordinator review:
//! review work, provide guidance, reassign": the task goes to the specialist whose work the
//! check covers, with the findings, and the check runs again on their result.

use crate::attempt::{Engine, RunPlan};
use crate::escalation::Failure;
use crate::workflow::{CheckContext, CheckResult};
use crate::{now_ms, workflow};
use coord_core::{COORDINATOR, Task, TaskKind, WorkflowKind, WorkflowStep};
use coord_store::{Claim, Finish, Store, StoreError};
use std::path::Path;

/// Runs the check of `step` for an attempt whose result is `artifacts`, and records the
/// events it asks for.
pub(crate) async fn run<S: Store>(
    shared: &Engine<S>,
    plan: &RunPlan,
    claim: &Claim,
    step: WorkflowStep,
    root: &Path,
    attempt_dir: &Path,
    artifacts: &[String],
) -> Result<CheckResult, StoreError> {
    let ids: Vec<String> = plan.plan.tasks.iter().map(|t| t.id.clone()).collect();
    let mut review = workflow::review(&shared.store, &claim.run_id, &ids).await?;
    review.changed.extend(artifacts.iter().cloned());
    let rollout =
        plan.plan.workflows.iter().find(|w| w.kind == WorkflowKind::DatabaseChange).and_then(|w| w.rollout.clone());
    let ctx = CheckContext {
        root: root.to_path_buf(),
        config: shared.config.workflows.clone(),
        scratch: attempt_dir.to_path_buf(),
        changed: review.changed,
        approved: review.approved,
        rollout,
    };
    let result = workflow::check(step, &ctx).await;
    for (kind, data) in &result.events {
        shared.store.record_event(&claim.run_id, Some(&claim.task_id), kind, data.clone(), now_ms()).await?;
    }
    Ok(result)
}

/// The specialist whose work a workflow step checks: the schema's author for the replay, the
/// contract's for publishing, the implementation's for the contract test.
fn owner_kinds(step: WorkflowStep) -> &'static [TaskKind] {
    match step {
        WorkflowStep::MigrationReplay => &[TaskKind::SchemaDesign, TaskKind::DataAccess, TaskKind::Optimization],
        WorkflowStep::ContractPublish => &[TaskKind::ApiDesign],
        WorkflowStep::ContractTest => {
            &[TaskKind::Implementation, TaskKind::Middleware, TaskKind::Integration, TaskKind::DataAccess]
        }
        WorkflowStep::Deployment | WorkflowStep::ContractReview => &[],
    }
}

/// When the coordinator's own check failed with something a specialist can fix (not a
/// decision for the tech lead), the task goes back to the specialist of the work it checks.
pub(crate) async fn send_back<S: Store>(
    shared: &Engine<S>,
    plan: &RunPlan,
    claim: &Claim,
    task: &Task,
    failure: &Failure,
) -> Option<Finish> {
    let step = task.workflow.filter(|s| s.is_automated())?;
    if claim.specialist != COORDINATOR || shared.policy.level_for(failure.category) >= 4 {
        return None;
    }
    // The dependencies the step checks, nearest first, as the run has them assigned now.
    let records = shared.store.tasks(&claim.run_id).await.ok()?;
    let kinds = owner_kinds(step);
    let mut owners: Vec<(&str, String)> = Vec::new();
    let mut frontier: Vec<&str> = task.depends_on.iter().map(String::as_str).collect();
    let mut seen = std::collections::HashSet::new();
    while !frontier.is_empty() && owners.is_empty() {
        let mut next = Vec::new();
        for id in frontier {
            if !seen.insert(id) {
                continue;
            }
            let Some(dep) = plan.task(id) else { continue };
            let current =
                records.iter().find(|r| r.task_id == id).map_or(dep.specialist.clone(), |r| r.specialist.clone());
            if kinds.contains(&dep.kind) && dep.workflow.is_none() && current != COORDINATOR {
                owners.push((id, current));
            } else {
                next.extend(dep.depends_on.iter().map(String::as_str));
            }
        }
        frontier = next;
    }
    let (dep, to) = owners.into_iter().next()?;
    let title = plan.task(dep).map_or("", |t| t.title.as_str());
    let guidance = format!(
        "{}\n\nThe coordinator's {step} check covers the work of {dep} ({title}). Fix it in the repository so the check passes; when you finish, the coordinator runs the check again on your result.",
        failure.error
    );
    Some(Finish::Retry {
        error: failure.error.clone(),
        retry_at: now_ms(),
        level: 3,
        specialist: Some(to.clone()),
        feedback: vec![(format!("coordinator review: the {step} check failed; the work goes back to @{to}"), guidance)],
    })
}

/// A gate failure whose blocking findings are all data loss (`migrations/destructive` at high
/// severity) is a question for the tech lead, not work for the author: `Some(None)` when every
/// such file is approved in this run (the gate passes), `Some(Some(failure))` asking for the
/// approval (and the `approval_requested` event recorded), `None` when other findings block too.
pub(crate) async fn data_loss_approval<S: Store>(
    shared: &Engine<S>,
    plan: &RunPlan,
    claim: &Claim,
    root: &Path,
    blocking: &[coord_gates::Finding],
    artifacts: &[String],
) -> Result<Option<Option<Failure>>, StoreError> {
    let data_loss =
        |f: &coord_gates::Finding| f.rule == "migrations/destructive" && f.severity >= coord_gates::Severity::High;
    if blocking.is_empty() || !blocking.iter().all(data_loss) {
        return Ok(None);
    }
    let ids: Vec<String> = plan.plan.tasks.iter().map(|t| t.id.clone()).collect();
    let review = workflow::review(&shared.store, &claim.run_id, &ids).await?;
    let mut files: Vec<&str> = blocking.iter().map(|f| f.file.as_str()).collect();
    files.dedup();
    let mut items = Vec::new();
    let mut error = String::from(
        "these migrations lose data and need the tech lead's approval (coord escalation resolve ID --decision approve):",
    );
    for file in files {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        let sha = coord_workflows::data_loss::sha256_hex(&text);
        if review.approved.contains(&(file.to_string(), sha.clone())) {
            continue;
        }
        let what: Vec<String> =
            blocking.iter().filter(|f| f.file == file).map(|f| format!("line {}: {}", f.line, f.message)).collect();
        error.push_str(&format!("\n- {file}: {}", what.join("; ")));
        items.push(serde_json::json!({ "file": file, "sha256": sha, "what": what }));
    }
    if items.is_empty() {
        return Ok(Some(None));
    }
    let data = serde_json::json!({ "kind": "data-loss", "items": items, "artifacts": artifacts });
    shared.store.record_event(&claim.run_id, Some(&claim.task_id), "approval_requested", data, now_ms()).await?;
    let failure =
        Failure { error, category: crate::executor::FailureCategory::BreakingChange, retryable: true, park: false };
    Ok(Some(Some(failure)))
}
