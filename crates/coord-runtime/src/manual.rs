//! Manual work on tasks: the one implementation behind `coord task`, the HTTP API
//! (`coord serve`) and the MCP server (`coord mcp`). A person or an agent host claims a ready
//! task, reads its brief (with the feedback of earlier attempts), and completes it — the
//! artifacts it names go through the task's quality gates first, exactly like an executor's —
//! or fails it, and the escalation protocol decides the next step.

use crate::escalation::Failure;
use crate::executor::FailureCategory;
use crate::scheduler::RuntimeError;
use crate::workspace::{Integrated, Prepared, WorkspaceError};
use crate::{Runtime, now_ms};
use coord_core::{ContextPolicy, Plan, Roster, render_brief_delivered};
use coord_store::{Claim, Finish, RunState, Store, StoreError, TaskRecord, TaskState};
use serde::Serialize;

fn ws_error(e: WorkspaceError) -> RuntimeError {
    RuntimeError::Workspace(e.to_string())
}

/// Manual leases last a week: a person's work is not timed like a program's.
pub const MANUAL_LEASE_MS: i64 = 7 * 24 * 3600 * 1000;

/// The lease owner name of a person or an agent host.
pub fn person(who: &str) -> String {
    format!("person:{who}")
}

/// The task's current claim when a person holds it, or a new claim for `who` to `action` it
/// ("completed", "failed"). A task leased by a coordinator's executor is refused: its result
/// belongs to that attempt.
pub async fn claim_for<S: Store>(
    store: &S,
    run: &str,
    task: &str,
    who: &str,
    action: &str,
) -> Result<Claim, RuntimeError> {
    if let Some(claim) = store.current_claim(run, task).await? {
        let owner = store.attempts(run, task).await?.into_iter().find(|a| a.attempt == claim.attempt).map(|a| a.owner);
        if let Some(owner) = owner.filter(|o| o.starts_with(coord_store::WORKER_OWNER_PREFIX)) {
            return Err(StoreError::WrongState {
                task: task.to_string(),
                state: "running".into(),
                what: format!("it is being executed by {owner}; only manual work can be completed by hand"),
            }
            .into());
        }
        return Ok(claim);
    }
    Ok(store.claim_task(run, task, &person(who), MANUAL_LEASE_MS, now_ms()).await.map_err(|e| refused(e, action))?)
}

/// A refused claim said in terms of what the person asked, with what the task waits for.
fn refused(e: StoreError, action: &str) -> StoreError {
    let StoreError::WrongState { task, state, .. } = e else { return e };
    let why = match state.as_str() {
        "escalated" => "it waits for a decision on its escalation (coord escalation list; then resolve)",
        "pending" => "it waits for its dependencies",
        "blocked" => "a dependency failed or is escalated",
        "done" | "failed" | "cancelled" => "it is finished",
        "running" | "gating" => "an attempt is under way",
        _ => "only a ready task can be taken",
    };
    StoreError::WrongState { task, state, what: format!("it cannot be {action} by hand now: {why}") }
}

/// The stored plan of a run.
pub async fn stored_plan<S: Store>(store: &S, run: &str) -> Result<Plan, RuntimeError> {
    let record = store.run(run).await?;
    serde_json::from_str(&record.plan_json).map_err(|e| RuntimeError::Plan(e.to_string()))
}

/// One task of a run as the store has it.
pub async fn task_record<S: Store>(store: &S, run: &str, task: &str) -> Result<TaskRecord, RuntimeError> {
    store
        .tasks(run)
        .await?
        .into_iter()
        .find(|t| t.task_id == task)
        .ok_or_else(|| StoreError::UnknownTask { run: run.to_string(), task: task.to_string() }.into())
}

/// A task's brief as its current specialist receives it: the delegation template, context
/// filtered by the specialist's policy, and the feedback of earlier attempts.
pub async fn brief<S: Store>(store: &S, roster: &Roster, run: &str, task: &str) -> Result<String, RuntimeError> {
    let plan = stored_plan(store, run).await?;
    let record = task_record(store, run, task).await?;
    let mut planned = plan
        .task(task)
        .cloned()
        .ok_or_else(|| RuntimeError::Plan(format!("task `{task}` is not in the run's plan")))?;
    planned.specialist = record.specialist.clone();
    let policy = roster.get(&record.specialist).map(|s| s.context.clone()).unwrap_or_else(ContextPolicy::everything);
    let feedback: Vec<String> =
        store.feedback(run, task).await?.into_iter().map(|(s, x)| format!("{s}: {x}")).collect();
    let delivered = crate::upstream::delivered(store, run, &planned, |id| plan.task(id), |_| None).await;
    Ok(render_brief_delivered(&plan, &planned, &policy, &feedback, &delivered, |id| plan.task(id)).markdown)
}

/// What the escalation protocol does next with a task, for people and agent hosts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextStep {
    /// `done`, `retry` (level 1), `consult` (level 2), `reassign` (level 3), `escalated`
    /// (parked for a decision) or `failed`.
    pub action: String,
    /// The escalation level the task is at (0 when done).
    pub level: i64,
    /// The specialist the task goes to next, on reassignment.
    pub specialist: Option<String>,
    /// When the task is ready again (unix ms), for retries.
    pub retry_at: Option<i64>,
    /// One sentence saying what happens.
    pub what: String,
}

/// The next step a recorded finish means.
pub fn next_step(finish: &Finish) -> NextStep {
    match finish {
        Finish::Done { .. } => NextStep {
            action: "done".into(),
            level: 0,
            specialist: None,
            retry_at: None,
            what: "accepted; its dependents may start".into(),
        },
        Finish::Retry { level, specialist, retry_at, .. } => {
            let (action, what) = match (level, specialist) {
                (3, Some(to)) => {
                    ("reassign", format!("level 3, coordinator review: reassigned to @{to} with the attempt history"))
                }
                (2, _) => ("consult", "level 2, peer consultation: the peer's answer joins the next brief".to_string()),
                _ => ("retry", "level 1, self-recovery: fix what the feedback says and complete it again".to_string()),
            };
            NextStep {
                action: action.into(),
                level: *level,
                specialist: specialist.clone(),
                retry_at: Some(*retry_at),
                what,
            }
        }
        Finish::Escalate { level, category, .. } => NextStep {
            action: "escalated".into(),
            level: *level,
            specialist: None,
            retry_at: None,
            what: match level {
                4 => format!(
                    "level 4, strategic escalation ({category}): parked for @tech-lead-orchestrator; dependents are blocked until the escalation is resolved"
                ),
                l => format!("level {l} ({category}): parked until a person answers by resolving the escalation"),
            },
        },
        Finish::Fail { .. } => NextStep {
            action: "failed".into(),
            level: 0,
            specialist: None,
            retry_at: None,
            what: "failed for good; its dependents are blocked".into(),
        },
    }
}

/// One stored gate report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateReport {
    /// The attempt it checked.
    pub attempt: i64,
    /// The gate (`security`, `api`...).
    pub gate: String,
    /// Whether it passed.
    pub passed: bool,
    /// The report: findings, files scanned, artifacts.
    pub report: serde_json::Value,
}

/// The gate reports of a task, oldest first; of one attempt when given.
pub async fn gate_reports<S: Store>(
    store: &S,
    run: &str,
    task: &str,
    attempt: Option<i64>,
) -> Result<Vec<GateReport>, RuntimeError> {
    Ok(store
        .gate_results(run, task)
        .await?
        .into_iter()
        .filter(|(a, ..)| attempt.is_none_or(|want| *a == want))
        .map(|(attempt, gate, passed, json)| GateReport {
            attempt,
            gate,
            passed,
            report: serde_json::from_str(&json).unwrap_or(serde_json::Value::String(json)),
        })
        .collect())
}

/// What a manual completion or failure led to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The task.
    pub task: String,
    /// The attempt that was recorded.
    pub attempt: i64,
    /// Whether the result was accepted (the task is done).
    pub accepted: bool,
    /// Why the result was refused (the gates' findings) or what failed.
    pub error: Option<String>,
    /// The gate reports of this attempt.
    pub gates: Vec<GateReport>,
    /// What the escalation protocol does next.
    pub next: NextStep,
    /// Tasks of the run that are ready now.
    pub ready: Vec<String>,
    /// The run's state afterwards.
    pub run_state: RunState,
}

/// The detail recorded for a task completed by hand.
pub fn done_detail(note: &str, artifacts: &[String]) -> String {
    serde_json::json!({ "artifacts": artifacts, "summary": note, "by": "manual" }).to_string()
}

/// Whether completing `task` by hand has anything to check: artifacts for the gates (unless
/// gates are off in runs), or a workflow step whose check the coordinator runs whoever did the
/// work. When not, [`Store::complete_by_hand`] records it (batched by `coord serve`).
pub fn needs_gate(plan: &Plan, task: &str, artifacts: &[String], gates_disabled: bool) -> bool {
    match plan.task(task) {
        Some(t) => {
            let (step, gates) = crate::gating::checks_for(t, artifacts, gates_disabled);
            step.is_some() || gates
        }
        // Not in the plan: the long way, which names the problem.
        None => true,
    }
}

/// The answer to a completion [`Store::complete_by_hand`] recorded: accepted, no gate ran,
/// with the run's tasks and state read after it.
pub fn done_by_hand(claim: &Claim, tasks: &[TaskRecord], run_state: RunState) -> Outcome {
    Outcome {
        task: claim.task_id.clone(),
        attempt: claim.attempt,
        accepted: true,
        error: None,
        gates: Vec::new(),
        next: next_step(&Finish::Done { detail: String::new() }),
        ready: tasks.iter().filter(|t| t.state == TaskState::Ready).map(|t| t.task_id.clone()).collect(),
        run_state,
    }
}

/// A task taken by a person or an agent host, and where to do it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualClaim {
    /// The claim (run, task, specialist, attempt).
    pub claim: Claim,
    /// The task's worktree, in a git repository: work there, leave the changes (committed or
    /// not); completing the task commits, gates and merges them.
    pub workspace: Option<std::path::PathBuf>,
    /// The task's branch, in a git repository.
    pub branch: Option<String>,
}

impl<S: Store + Clone + 'static> Runtime<S> {
    /// Takes a ready task for `who`: in a git repository its worktree is prepared (on its
    /// branch, from its dependencies' results) and named in the answer.
    pub async fn claim_manual(&self, run: &str, task: &str, who: &str) -> Result<ManualClaim, RuntimeError> {
        let claim = self
            .store()
            .claim_task(run, task, &person(who), MANUAL_LEASE_MS, now_ms())
            .await
            .map_err(|e| refused(e, "claimed"))?;
        if !self.workspaces.is_git() {
            return Ok(ManualClaim { claim, workspace: None, branch: None });
        }
        let plan = stored_plan(self.store(), run).await?;
        let workspace = match self.workspaces.prepare(self.store(), &claim, &plan).await {
            Ok(Prepared::Ready { dir, .. }) => Some(dir),
            Ok(Prepared::Recovered { .. }) => None,
            Err(e) => return Err(RuntimeError::Workspace(e.to_string())),
        };
        let branch = Some(crate::workspace::task_branch(run, task));
        Ok(ManualClaim { claim, workspace, branch })
    }

    /// Completes a task by hand: claims it for `who` when nobody holds it, gates the named
    /// artifacts (paths relative to the project), and records the result — done, or the
    /// failure the gates found, which goes through the escalation protocol. When the claim
    /// prepared a worktree, what it holds is committed on the task's branch, the whole diff
    /// against its base is gated (with any named artifacts), and the result is merged.
    pub async fn complete_manual(
        &self,
        run: &str,
        task: &str,
        who: &str,
        note: &str,
        artifacts: &[String],
    ) -> Result<Outcome, RuntimeError> {
        let claim = claim_for(self.store(), run, task, who, "completed").await?;
        let prepared = self.workspaces.prepared_of(self.store(), &claim).await.map_err(ws_error)?;
        let mut artifacts = artifacts.to_vec();
        if let Some(p) = &prepared {
            let committed = match self
                .workspaces
                .commit(self.store(), &claim, p, &format!("completed by {who}"), &crate::workspace::protect::nothing)
                .await
            {
                Ok(c) => c,
                Err(e) => return self.refuse(&claim, format!("workspace: {e}"), FailureCategory::General).await,
            };
            for a in committed.artifacts {
                if !artifacts.contains(&a) {
                    artifacts.push(a);
                }
            }
        }
        let root = match &prepared {
            Some(Prepared::Ready { dir, .. }) => Some(dir.clone()),
            _ => None,
        };
        if let Some(dir) = &root {
            let left = crate::workspace::unresolved_markers(dir, &artifacts);
            if !left.is_empty() {
                let error =
                    format!("unresolved conflict markers at {}: resolve them and remove the markers", left.join(", "));
                return self.refuse(&claim, error, FailureCategory::General).await;
            }
        }
        // Without artifacts there is nothing for the gates to check (as for an executor), but
        // a workflow step's check runs whoever did the work.
        let verdict = self.gate_manual(&claim, &artifacts, root.as_deref()).await?;
        if let Some(failure) = verdict {
            let error = failure.error.clone();
            let finish = self.record_failure(&claim, failure).await?;
            return self.outcome(&claim, &finish, Some(error)).await;
        }
        let mut detail: serde_json::Value = serde_json::from_str(&done_detail(note, &artifacts)).unwrap_or_default();
        if prepared.is_some() {
            match self.workspaces.integrate(self.store(), &claim).await {
                Ok(Integrated::Merged(commit)) => {
                    detail["branch"] = crate::workspace::task_branch(run, task).into();
                    detail["merged"] = commit.into();
                }
                Ok(Integrated::NotGit) => {}
                Ok(Integrated::Conflict(feedback)) => {
                    return self.refuse(&claim, feedback, FailureCategory::MergeConflict).await;
                }
                Err(e) => return self.refuse(&claim, format!("workspace: {e}"), FailureCategory::General).await,
            }
        }
        let finish = Finish::Done { detail: crate::redact::redact(&detail.to_string()) };
        self.store().finish(&claim, &finish, now_ms()).await?;
        self.outcome(&claim, &finish, None).await
    }

    /// Records a result that cannot be accepted as a failure through the escalation protocol.
    async fn refuse(&self, claim: &Claim, error: String, category: FailureCategory) -> Result<Outcome, RuntimeError> {
        let failure = Failure { error: error.clone(), category, retryable: true, park: false };
        let finish = self.record_failure(claim, failure).await?;
        self.outcome(claim, &finish, Some(error)).await
    }

    /// Fails a task by hand (or an agent host asks for escalation): the escalation protocol
    /// decides the next step exactly as for an executor's failure.
    pub async fn fail_manual(
        &self,
        run: &str,
        task: &str,
        who: &str,
        failure: Failure,
    ) -> Result<Outcome, RuntimeError> {
        let claim = claim_for(self.store(), run, task, who, "failed").await?;
        let error = failure.error.clone();
        let finish = self.record_failure(&claim, failure).await?;
        self.outcome(&claim, &finish, Some(error)).await
    }

    async fn outcome(&self, claim: &Claim, finish: &Finish, error: Option<String>) -> Result<Outcome, RuntimeError> {
        let store = self.store();
        let tasks = store.tasks(&claim.run_id).await?;
        Ok(Outcome {
            task: claim.task_id.clone(),
            attempt: claim.attempt,
            accepted: matches!(finish, Finish::Done { .. }),
            error,
            gates: gate_reports(store, &claim.run_id, &claim.task_id, Some(claim.attempt)).await?,
            next: next_step(finish),
            ready: tasks.into_iter().filter(|t| t.state == TaskState::Ready).map(|t| t.task_id).collect(),
            run_state: store.run(&claim.run_id).await?.state,
        })
    }
}
