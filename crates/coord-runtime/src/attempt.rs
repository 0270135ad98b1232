//! One attempt of one task, the same for a coordinator driving one run (`scheduler`) and a
//! worker serving every run (`worker`): the brief (filtered context, feedback of earlier
//! attempts, the idempotency key), the executor under a heartbeat that renews the lease (a lost
//! lease ends the attempt and nothing is recorded), the quality gates over the artifacts, and
//! the escalation policy's decision on a failure. [`Pending`] then records what finished
//! attempts decided, many in one transaction (group commit).

use crate::config::Config;
use crate::escalation::{Failure, Policy, Step};
use crate::executor::{FailureCategory, Job, Outcome};
use crate::now_ms;
use crate::scheduler::{AnyExecutor, Progress, ProgressEvent};
use crate::workspace::{Integrated, Prepared, WorkspaceError};
use coord_core::{COORDINATOR, ContextPolicy, Plan, Roster, Task, WorkflowStep, render_brief_delivered};
use coord_store::{Claim, Finish, Store, StoreError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything an attempt needs that does not depend on its run, shared by all attempts.
pub(crate) struct Engine<S> {
    pub(crate) store: S,
    pub(crate) roster: Roster,
    pub(crate) policy: Policy,
    pub(crate) executors: HashMap<String, Arc<AnyExecutor>>,
    pub(crate) config: Config,
    pub(crate) workspace: PathBuf,
    pub(crate) runs_dir: PathBuf,
    pub(crate) lease_ms: i64,
    /// The model for LLM-judged checklist items, when one is configured.
    pub(crate) llm: Option<Arc<coord_llm::LlmClient>>,
    /// Results this process recorded, for the briefs of their dependents.
    pub(crate) delivered: Delivered,
    /// Where attempts work, and the integration of their results.
    pub(crate) workspaces: Arc<crate::workspace::Workspaces>,
    /// The LLM spending caps of the runs this process drives, created at their first attempt.
    pub(crate) caps: tokio::sync::Mutex<HashMap<String, Arc<coord_llm::SpendCap>>>,
}

impl<S: Store> Engine<S> {
    /// The run's spending cap, when `[budget]` sets one: what the run spent so far (its
    /// `llm_usage` events) counts against it.
    pub(crate) async fn run_cap(&self, run: &str) -> Option<Arc<coord_llm::SpendCap>> {
        let b = &self.config.budget;
        if b.run_tokens.is_none() && b.run_cost_usd.is_none() {
            return None;
        }
        let mut caps = self.caps.lock().await;
        if let Some(c) = caps.get(run) {
            return Some(c.clone());
        }
        let spent = crate::metrics::run_spend(&self.store, run).await.unwrap_or_default();
        let cap = coord_llm::SpendCap::new(b.run_tokens, b.run_cost_usd, (spent.tokens, spent.cost_usd));
        caps.insert(run.to_string(), cap.clone());
        Some(cap)
    }
}

/// The accepted results (attempt detail JSON by run and task) this process recorded, so the
/// brief of a dependent needs no store read for what its dependencies delivered. Work recorded
/// elsewhere (another worker, a person) is read from the store instead.
#[derive(Default)]
pub(crate) struct Delivered(std::sync::Mutex<HashMap<(String, String), String>>);

impl Delivered {
    /// Results kept at most; past it the memory starts again empty (misses read the store).
    const MAX: usize = 100_000;

    fn remember(&self, claim: &Claim, detail: &str) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert((claim.run_id.clone(), claim.task_id.clone()), detail.to_string());
    }

    /// The detail of the accepted attempt of `task`, when this process recorded it.
    pub(crate) fn get(&self, run: &str, task: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&(run.to_string(), task.to_string())).cloned()
    }
}

/// A run's plan, indexed by task id.
pub(crate) struct RunPlan {
    pub(crate) plan: Plan,
    /// Task id → position in `plan.tasks`.
    index: HashMap<String, usize>,
}

impl RunPlan {
    pub(crate) fn new(plan: Plan) -> RunPlan {
        let index = plan.tasks.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        RunPlan { plan, index }
    }

    pub(crate) fn task(&self, id: &str) -> Option<&Task> {
        self.index.get(id).and_then(|&i| self.plan.tasks.get(i))
    }
}

/// Finished attempts waiting to be written. `add` reports each to the progress sink; `flush`
/// writes the LLM usage events, then every result in one `finish_many` (group commit), then
/// sends the level-4 notices (only once their escalations are stored). A flush that fails
/// keeps what it could not write, so a caller that survives database outages can try again.
#[derive(Default)]
pub(crate) struct Pending {
    results: Vec<(Claim, Finish)>,
    usage: Vec<(Claim, serde_json::Value)>,
    notices: Vec<serde_json::Value>,
}

impl Pending {
    /// Takes a finished attempt.
    pub(crate) fn add(&mut self, attempted: Attempted, progress: &dyn Progress) {
        let Attempted { claim, finish, notice, usage } = attempted;
        // Nothing stored (and so nothing the API or MCP serves) holds a secret.
        let finish = finish.map(crate::redact::finish);
        if let Some(u) = usage {
            self.usage.push((claim.clone(), u));
        }
        if let Some(finish) = finish {
            report(progress, &claim, &finish);
            self.results.push((claim, finish));
        }
        if let Some(n) = notice {
            self.notices.push(n);
        }
    }

    /// Results waiting.
    pub(crate) fn results(&self) -> usize {
        self.results.len()
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.results.is_empty() && self.usage.is_empty() && self.notices.is_empty()
    }

    /// Writes everything and claims up to `limit` ready tasks of `run` (of any run with `None`)
    /// in the same transaction (a tick: one commit); returns the refused results and the claims.
    /// The engine gives the store, the configuration and the memory of delivered results.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn flush_and_claim<S: Store>(
        &mut self,
        engine: &Engine<S>,
        run: Option<&str>,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        specialists: &[String],
    ) -> Result<(Vec<(Claim, StoreError)>, Vec<Claim>), StoreError> {
        let (store, config, delivered) = (&engine.store, &engine.config, &engine.delivered);
        self.record_usage(store).await?;
        let (outcomes, claims) =
            store.finish_and_claim(&self.results, run, owner, limit, lease_ms, now_ms(), Some(specialists)).await?;
        let mut refused = Vec::new();
        for ((claim, finish), outcome) in std::mem::take(&mut self.results).into_iter().zip(outcomes) {
            match outcome {
                Err(e) => refused.push((claim, e)),
                Ok(()) => remember(delivered, &claim, &finish),
            }
        }
        for n in std::mem::take(&mut self.notices) {
            crate::notify::notify(&config.escalation, &n).await;
        }
        Ok((refused, claims))
    }

    async fn record_usage<S: Store>(&mut self, store: &S) -> Result<(), StoreError> {
        while let Some((claim, usage)) = self.usage.first() {
            store.record_event(&claim.run_id, Some(&claim.task_id), "llm_usage", usage.clone(), now_ms()).await?;
            self.usage.remove(0);
        }
        Ok(())
    }

    /// Writes everything; returns the results the store refused (their leases were lost: a
    /// stale worker's late result), with why.
    pub(crate) async fn flush<S: Store>(
        &mut self,
        store: &S,
        config: &Config,
        delivered: &Delivered,
    ) -> Result<Vec<(Claim, StoreError)>, StoreError> {
        self.record_usage(store).await?;
        let mut refused = Vec::new();
        if !self.results.is_empty() {
            let outcomes = store.finish_many(&self.results, now_ms()).await?;
            for ((claim, finish), outcome) in std::mem::take(&mut self.results).into_iter().zip(outcomes) {
                match outcome {
                    Err(e) => refused.push((claim, e)),
                    Ok(()) => remember(delivered, &claim, &finish),
                }
            }
        }
        for n in std::mem::take(&mut self.notices) {
            crate::notify::notify(&config.escalation, &n).await;
        }
        Ok(refused)
    }
}

fn remember(delivered: &Delivered, claim: &Claim, finish: &Finish) {
    if let Finish::Done { detail } = finish {
        delivered.remember(claim, detail);
    }
}

pub(crate) fn report(progress: &dyn Progress, claim: &Claim, finish: &Finish) {
    let task = claim.task_id.clone();
    let event = match finish {
        Finish::Done { .. } => ProgressEvent::Done { task },
        Finish::Retry { level, specialist, error, .. } => ProgressEvent::Retrying {
            task,
            level: *level,
            what: match (level, specialist) {
                (3, Some(to)) => format!("reassigned to @{to} after: {}", first_line(error)),
                (2, _) => format!("peer consulted after: {}", first_line(error)),
                _ => format!("retrying after: {}", first_line(error)),
            },
        },
        Finish::Escalate { error, level, .. } => {
            ProgressEvent::Escalated { task, reason: format!("level {level}: {}", first_line(error)) }
        }
        Finish::Fail { error } => ProgressEvent::Escalated { task, reason: first_line(error).to_string() },
    };
    progress.on_event(&event);
}

pub(crate) fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

pub(crate) fn job_for<S>(shared: &Engine<S>, claim: &Claim, brief: String, dir_name: &str, task: &Task) -> Job {
    let c = shared.config.specialist(&claim.specialist);
    Job {
        run_id: claim.run_id.clone(),
        task_id: claim.task_id.clone(),
        attempt: claim.attempt,
        specialist: claim.specialist.clone(),
        brief,
        workspace: shared.workspace.clone(),
        attempt_dir: shared.runs_dir.join(&claim.run_id).join(&claim.task_id).join(dir_name),
        idempotency_key: format!("{}/{}/{}", claim.run_id, claim.task_id, claim.attempt),
        timeout: Duration::from_secs(c.timeout_secs.unwrap_or(shared.config.run.task_timeout_secs).max(1)),
        estimate_hours: task.estimate_hours,
        workflow: task.workflow,
        readable: Vec::new(),
        run_cap: None,
    }
}

/// What one attempt hands back to the loop that spawned it.
pub(crate) struct Attempted {
    pub(crate) claim: Claim,
    /// What to record; `None` when the lease was lost (nothing may be recorded).
    pub(crate) finish: Option<Finish>,
    /// A level-4 escalation to send to the tech lead.
    pub(crate) notice: Option<serde_json::Value>,
    /// An LLM attempt's spending.
    pub(crate) usage: Option<serde_json::Value>,
}

/// One attempt: runs it, then attaches the LLM spending its transcript records.
pub(crate) async fn attempt<S: Store + Clone>(shared: Arc<Engine<S>>, plan: Arc<RunPlan>, claim: Claim) -> Attempted {
    let dir = shared.runs_dir.join(&claim.run_id).join(&claim.task_id).join(format!("attempt-{}", claim.attempt));
    let specialist = claim.specialist.clone();
    let is_llm = shared.config.specialist(&specialist).executor.spends_tokens();
    let (claim, finish, notice) = run_attempt(shared, plan, claim).await;
    let usage = if is_llm { crate::metrics::transcript_usage(&dir, &specialist) } else { None };
    Attempted { claim, finish, notice, usage }
}

/// One attempt of one task: brief, execute under a heartbeat, decide what follows.
async fn run_attempt<S: Store + Clone>(
    shared: Arc<Engine<S>>,
    plan: Arc<RunPlan>,
    claim: Claim,
) -> (Claim, Option<Finish>, Option<serde_json::Value>) {
    let Some(task) = plan.task(&claim.task_id).cloned() else {
        let error = format!("task `{}` is not in the run's plan", claim.task_id);
        return (claim, Some(Finish::Fail { error }), None);
    };
    let feedback = if claim.attempt > 1 {
        shared.store.feedback(&claim.run_id, &claim.task_id).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let feedback: Vec<String> = feedback.into_iter().map(|(source, text)| format!("{source}: {text}")).collect();
    let mut assigned = task.clone();
    assigned.specialist = claim.specialist.clone();
    let policy =
        shared.roster.get(&claim.specialist).map(|s| s.context.clone()).unwrap_or_else(ContextPolicy::everything);
    let known = |dep: &str| shared.delivered.get(&claim.run_id, dep);
    let delivered = crate::upstream::delivered(&shared.store, &claim.run_id, &task, |id| plan.task(id), known).await;
    let mut brief =
        render_brief_delivered(&plan.plan, &assigned, &policy, &feedback, &delivered, |id| plan.task(id)).markdown;
    brief.push_str(&format!("\nIDEMPOTENCY KEY: {}/{}/{}\n", claim.run_id, claim.task_id, claim.attempt));
    let job = job_for(&shared, &claim, brief, &format!("attempt-{}", claim.attempt), &task);
    // The contract test needs a service to test; without one a person decides.
    if task.workflow == Some(WorkflowStep::ContractTest)
        && claim.specialist == COORDINATOR
        && !crate::workflow::contract_test_configured(&shared.config.workflows)
    {
        let error = crate::workflow::contract_test_unconfigured();
        let notice = park_notice(&claim, "configuration", &error);
        return (claim, Some(Finish::Escalate { error, level: 4, category: "configuration".into() }), Some(notice));
    }

    let Some(executor) = shared.executors.get(&claim.specialist).cloned() else {
        let error = format!("@{} has no executor configured (it is manual)", claim.specialist);
        return (claim, Some(Finish::Fail { error }), None);
    };
    let mut job = job;
    if shared.config.specialist(&claim.specialist).executor.spends_tokens() {
        job.run_cap = shared.run_cap(&claim.run_id).await;
    }
    let section = shared.config.specialist(&claim.specialist);
    // A specialist that only reads (`writes = false`) needs no turn in a folder without git: it
    // works in the project folder as it is, beside the others, read-only in its sandbox. In git
    // it still gets its worktree: the code with its dependencies' results.
    let writes = section.executor.writes_files() && (section.writes() || shared.workspaces.is_git());
    // The lease is renewed from here on: waiting for the folder's turn or checking out a large
    // worktree can take longer than a lease.
    let (beat_store, beat_claim, lease_ms) = (shared.store.clone(), claim.clone(), shared.lease_ms);
    let heartbeat = async move { heartbeat(&beat_store, &beat_claim, lease_ms).await };
    tokio::pin!(heartbeat);
    let prepared = if writes {
        let preparing = tokio::select! {
            p = shared.workspaces.prepare(&shared.store, &claim, &plan.plan) => p,
            _ = &mut heartbeat => return (claim, None, None),
        };
        match preparing {
            Ok(Prepared::Recovered { detail }) => return (claim, Some(Finish::Done { detail }), None),
            Ok(p) => Some(p),
            // The lease is lost, or the store does not answer: nothing can be recorded; the
            // lease expires and the task is tried again.
            Err(WorkspaceError::Store(_)) => return (claim, None, None),
            Err(e) => {
                let failure = Failure {
                    error: format!("cannot prepare the task's workspace: {e}"),
                    category: FailureCategory::General,
                    retryable: true,
                    park: false,
                };
                let (finish, notice) = decide(&shared, &plan, &claim, &task, &job, failure).await;
                return (claim, Some(finish), notice);
            }
        }
    } else {
        None
    };
    if let Some(Prepared::Ready { dir, folder }) = &prepared {
        job.workspace = dir.clone();
        // Its commands read the repository's objects through the worktree.
        if let (None, Some(repo)) = (folder, &shared.workspaces.repo) {
            job.readable.push(repo.git_dir.clone());
        }
    }
    let grace = job.timeout + Duration::from_secs(5);
    let mut outcome = tokio::select! {
        outcome = tokio::time::timeout(grace, executor.execute(&job)) => match outcome {
            Ok(o) => o,
            Err(_) => Outcome::Failed { error: format!("timed out after {}s", job.timeout.as_secs()), category: FailureCategory::General, retryable: true },
        },
        lost = &mut heartbeat => {
            // The lease is gone (cancelled run, or another coordinator took over): stop and
            // record nothing; the store would refuse it.
            let _ = lost;
            return (claim, None, None);
        }
    };
    // What the attempt left is committed whatever its outcome: a retry continues from it and
    // nothing is lost. Its artifacts are the task's whole diff against its base.
    let mut delivered = None;
    let allow_ci = shared.config.specialist(&claim.specialist).allow_ci;
    let protected = move |p: &str| coord_sandbox::is_protected(p, allow_ci);
    if let Some(p) = &prepared {
        match shared.workspaces.commit(&shared.store, &claim, p, outcome_label(&outcome), &protected).await {
            Ok(c) if !c.refused.is_empty() => {
                outcome = Outcome::Failed {
                    error: format!(
                        "the attempt changed files no specialist may change ({}); the changes were not kept",
                        c.refused.join(", ")
                    ),
                    category: FailureCategory::General,
                    retryable: true,
                };
                delivered = Some(c);
            }
            Ok(c) => delivered = Some(c),
            // What the attempt left stays in its worktree; the next attempt commits it.
            Err(WorkspaceError::Store(_)) => return (claim, None, None),
            Err(e) => {
                outcome = Outcome::Failed { error: e.to_string(), category: FailureCategory::General, retryable: true }
            }
        }
    }
    let failure = match outcome {
        Outcome::Succeeded { artifacts, summary } => {
            let artifacts = delivered.map(|c| c.artifacts).unwrap_or(artifacts);
            match accept(&shared, &plan, &claim, &task, &job, prepared.as_ref(), artifacts, summary).await {
                Err(()) => return (claim, None, None), // the lease was lost
                Ok(Ok(detail)) => return (claim, Some(Finish::Done { detail }), None),
                Ok(Err(failure)) => failure,
            }
        }
        Outcome::Failed { error, category, retryable } => Failure { error, category, retryable, park: false },
        Outcome::EscalationRequested { category, reason } => {
            let park = reason.starts_with(crate::executor::RUN_BUDGET_REACHED);
            Failure { error: reason, category, retryable: true, park }
        }
    };
    let (finish, notice) = decide(&shared, &plan, &claim, &task, &job, failure).await;
    (claim, Some(finish), notice)
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded { .. } => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::EscalationRequested { .. } => "asked to escalate",
    }
}

/// A successful attempt's result through its gates and into the integration branch: the
/// detail to record as done, or the failure (a gate, or a merge conflict). `Err(())` when the
/// lease was lost or the store did not answer (nothing can be recorded).
#[allow(clippy::too_many_arguments)]
async fn accept<S: Store + Clone>(
    shared: &Engine<S>,
    plan: &RunPlan,
    claim: &Claim,
    task: &Task,
    job: &Job,
    prepared: Option<&Prepared>,
    mut artifacts: Vec<String>,
    mut summary: String,
) -> Result<Result<String, Failure>, ()> {
    if prepared.is_some() {
        let left = crate::workspace::unresolved_markers(&job.workspace, &artifacts);
        if !left.is_empty() {
            let error =
                format!("unresolved conflict markers at {}: resolve them and remove the markers", left.join(", "));
            return Ok(Err(Failure { error, category: FailureCategory::General, retryable: true, park: false }));
        }
    }
    let checked = match gate(shared, plan, claim, task, job, &artifacts).await {
        Err(_) => return Err(()),
        Ok(checked) => checked,
    };
    // Files the coordinator's check wrote (a deployment note, contract versions, the changes
    // a person is asked to approve) are part of the task's result, accepted or not.
    if let Some(p) = prepared
        && !checked.artifacts.is_empty()
    {
        match shared
            .workspaces
            .commit(&shared.store, claim, p, "the coordinator's check", &crate::workspace::protect::nothing)
            .await
        {
            Ok(c) => artifacts = c.artifacts,
            Err(WorkspaceError::Store(_)) => return Err(()),
            Err(e) => return Ok(Err(workspace_failure(e))),
        }
    }
    if let Some(failure) = checked.failure {
        return Ok(Err(failure));
    }
    if let Some(s) = checked.summary {
        summary = s;
    }
    let mut detail = serde_json::json!({});
    if prepared.is_some() {
        match shared.workspaces.integrate(&shared.store, claim).await {
            Ok(Integrated::Merged(commit)) => {
                detail["branch"] = crate::workspace::task_branch(&claim.run_id, &claim.task_id).into();
                detail["merged"] = commit.into();
            }
            Ok(Integrated::NotGit) => {}
            Ok(Integrated::Conflict(feedback)) => {
                return Ok(Err(Failure {
                    error: feedback,
                    category: FailureCategory::MergeConflict,
                    retryable: true,
                    park: false,
                }));
            }
            Err(WorkspaceError::Store(_)) => return Err(()),
            Err(e) => return Ok(Err(workspace_failure(e))),
        }
    } else {
        artifacts.extend(checked.artifacts);
    }
    detail["artifacts"] = artifacts.into();
    detail["summary"] = summary.into();
    Ok(Ok(detail.to_string()))
}

fn workspace_failure(e: WorkspaceError) -> Failure {
    Failure { error: format!("workspace: {e}"), category: FailureCategory::General, retryable: true, park: false }
}

/// The escalation notice for the tech lead.
fn park_notice(claim: &Claim, category: &str, reason: &str) -> serde_json::Value {
    serde_json::json!({
        "to": "tech-lead-orchestrator",
        "run": claim.run_id,
        "task": claim.task_id,
        "specialist": claim.specialist,
        "level": 4,
        "category": category,
        "reason": reason,
    })
}

/// What gating an attempt decided.
pub(crate) struct GateOutcome {
    /// The failure, when a gate or the workflow check failed.
    pub(crate) failure: Option<Failure>,
    /// Files the workflow check wrote (the deployment note, contract versions).
    pub(crate) artifacts: Vec<String>,
    /// The workflow check's summary, for the record and the next briefs.
    pub(crate) summary: Option<String>,
}

/// Runs the task's gates over its artifacts, and the check of its workflow step; the outcome's
/// failure is set when one of them failed.
pub(crate) async fn gate<S: Store>(
    shared: &Engine<S>,
    plan: &RunPlan,
    claim: &Claim,
    task: &Task,
    job: &Job,
    artifacts: &[String],
) -> Result<GateOutcome, StoreError> {
    let (step, gates_apply) = crate::gating::checks_for(task, artifacts, shared.config.gates.disabled_in_runs);
    let mut outcome = GateOutcome { failure: None, artifacts: Vec::new(), summary: None };
    if !gates_apply && step.is_none() {
        return Ok(outcome);
    }
    shared.store.start_gating(claim, now_ms()).await?;
    let root = job.workspace.clone();
    let (mut results, mut failure) = if gates_apply {
        let verdict =
            crate::gating::judge(root.clone(), task.kind, artifacts.to_vec(), shared.config.gates.clone()).await;
        // A measured figure (the coverage a report states) is a metric of the run, passed or not.
        for (name, value) in &verdict.measures {
            let data = serde_json::json!({ "attempt": claim.attempt, "value": value });
            shared.store.record_event(&claim.run_id, Some(&claim.task_id), name, data, now_ms()).await?;
        }
        // Data loss is not the author's to fix or to approve: it needs the tech lead.
        let failure = match verdict.failure {
            Some(f) => {
                match crate::workflow_gate::data_loss_approval(shared, plan, claim, &root, &verdict.blocking, artifacts)
                    .await?
                {
                    Some(instead) => instead,
                    None => Some(f),
                }
            }
            None => None,
        };
        (verdict.results, failure)
    } else {
        (Vec::new(), None)
    };
    if let (Some(step), None) = (step, &failure) {
        let check = crate::workflow_gate::run(shared, plan, claim, step, &root, &job.attempt_dir, artifacts).await?;
        results.push((step.as_str().to_string(), check.passed, check.report.to_string()));
        outcome.artifacts = check.artifacts;
        outcome.summary = (!check.summary.is_empty()).then_some(check.summary);
        failure = check.failure;
    }
    // The items no tool decides: the model judges them when there is one (else they wait for
    // a person's attestation and do not block).
    if let (None, Some(client), true) = (&failure, &shared.llm, gates_apply) {
        let items = crate::judge::judged_items(crate::gating::gates_for(task.kind));
        let evidence = crate::judge::evidence(&root, artifacts, 24 * 1024);
        let judged = crate::judge::judge(client, &items, &evidence, artifacts).await;
        // The judge's tokens are the run's spending like any other (malformed answers too).
        if let Ok(j) = &judged
            && j.usage != coord_llm::Usage::default()
        {
            let usage = serde_json::json!({
                "specialist": "llm-judge",
                "model": client.config().model,
                "input_tokens": j.usage.input_tokens,
                "cached_input_tokens": j.usage.cached_input_tokens,
                "output_tokens": j.usage.output_tokens,
                "cost_usd": j.cost_usd,
            });
            // The cap first: made now, it reads the spending recorded so far, not this.
            let cap = shared.run_cap(&claim.run_id).await;
            shared.store.record_event(&claim.run_id, Some(&claim.task_id), "llm_usage", usage, now_ms()).await?;
            if let Some(cap) = cap {
                cap.add(j.usage.input_tokens + j.usage.cached_input_tokens + j.usage.output_tokens, j.cost_usd);
            }
        }
        // Fail closed: no usable verdict is a failed gate that waits for a person.
        let judged = match judged {
            Ok(j) => {
                j.verdicts.map_err(|e| format!("the LLM judge gave no usable verdict, even when asked again: {e}"))
            }
            Err(e) => Err(format!("the LLM judge could not be asked: {e}")),
        };
        match judged {
            Ok(verdicts) => {
                let failed: Vec<&crate::judge::Verdict> = verdicts.iter().filter(|v| v.verdict == "fail").collect();
                results.push((
                    "llm-judge".into(),
                    failed.is_empty(),
                    serde_json::json!({ "verdicts": verdicts }).to_string(),
                ));
                if !failed.is_empty() {
                    let mut error = format!("the LLM judge failed {} checklist item(s):", failed.len());
                    for v in &failed {
                        error.push_str(&format!("\n- {}: {}", v.item, v.reasons));
                    }
                    failure = Some(Failure { error, category: FailureCategory::General, retryable: true, park: false });
                }
            }
            Err(e) => {
                results.push((
                    "llm-judge".into(),
                    false,
                    serde_json::json!({ "error": e, "status": "not judged; waiting for a person" }).to_string(),
                ));
                failure = Some(Failure {
                    error: format!("{e}; a person decides (coord escalation resolve)"),
                    category: FailureCategory::General,
                    retryable: false,
                    park: true,
                });
            }
        }
    }
    let results: Vec<(String, bool, String)> =
        results.into_iter().map(|(gate, passed, report)| (gate, passed, crate::redact::redact(&report))).collect();
    shared.store.record_gates(claim, &results, now_ms()).await?;
    outcome.failure = failure;
    Ok(outcome)
}

/// Renews the lease every third of its length; returns when it is lost.
async fn heartbeat<S: Store>(store: &S, claim: &Claim, lease_ms: i64) -> StoreError {
    let every = Duration::from_millis((lease_ms / 3).max(50) as u64);
    loop {
        tokio::time::sleep(every).await;
        match store.heartbeat(claim, lease_ms, now_ms()).await {
            Ok(()) => {}
            Err(StoreError::LeaseLost { run, task, token }) => return StoreError::LeaseLost { run, task, token },
            Err(_) => {} // a passing database error: the next beat tries again before expiry
        }
    }
}

/// Applies the escalation policy to a failure.
pub(crate) async fn decide<S: Store + Clone>(
    shared: &Engine<S>,
    plan: &RunPlan,
    claim: &Claim,
    task: &Task,
    job: &Job,
    failure: Failure,
) -> (Finish, Option<serde_json::Value>) {
    let kind = task.kind;
    if failure.park {
        let notice = park_notice(claim, failure.category.as_str(), &failure.error);
        return (
            Finish::Escalate { error: failure.error, level: 4, category: failure.category.to_string() },
            Some(notice),
        );
    }
    if let Some(finish) = crate::workflow_gate::send_back(shared, plan, claim, task, &failure).await {
        return (finish, None);
    }
    let store = &shared.store;
    let record =
        store.tasks(&claim.run_id).await.ok().and_then(|ts| ts.into_iter().find(|t| t.task_id == claim.task_id));
    let (level, failures) = record.map_or((0, 0), |r| (r.escalation_level, r.failures_at_level));
    let mut tried = store.tried(&claim.run_id, &claim.task_id).await.unwrap_or_default();
    if !tried.contains(&claim.specialist) {
        tried.push(claim.specialist.clone());
    }
    let salt =
        claim.attempt as u64 ^ claim.task_id.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let step =
        shared.policy.next_step(level, failures, &failure, &claim.specialist, kind, &tried, &shared.roster, salt);
    let now = now_ms();
    let failed_line = (format!("attempt {} by @{} failed", claim.attempt, claim.specialist), failure.error.clone());
    match step {
        Step::Retry { delay_ms } => (
            Finish::Retry {
                error: failure.error,
                retry_at: now + delay_ms as i64,
                level: 1,
                specialist: None,
                feedback: vec![failed_line],
            },
            None,
        ),
        Step::Consult { peer } => {
            let Some(exec) = shared.executors.get(&peer).cloned() else {
                // The peer is a person: park at level 2 until they answer through a decision.
                let error = format!("consult @{peer}: {}", failure.error);
                return (Finish::Escalate { error, level: 2, category: failure.category.to_string() }, None);
            };
            let question = format!(
                "CONSULTATION REQUEST FOR: @{peer}\nFROM: @{} on task {} ({})\n\nThe attempt failed with:\n{}\n\nAnswer with concrete guidance for the next attempt.\n\nTHE TASK'S BRIEF:\n{}",
                claim.specialist, claim.task_id, failure.category, failure.error, job.brief
            );
            let mut consult_claim = claim.clone();
            consult_claim.specialist = peer.clone();
            let mut consult_job =
                job_for(shared, &consult_claim, question, &format!("attempt-{}-consult-{peer}", claim.attempt), task);
            // The peer reads the task's workspace as the attempt left it.
            consult_job.workspace = job.workspace.clone();
            let answer = match exec.execute(&consult_job).await {
                Outcome::Succeeded { summary, .. } => {
                    let out = std::fs::read_to_string(consult_job.attempt_dir.join("stdout.log")).unwrap_or_default();
                    let out: String = out.chars().take(8000).collect();
                    if out.trim().is_empty() { summary } else { out.trim().to_string() }
                }
                Outcome::Failed { error, .. } => format!("(the consultation failed: {error})"),
                Outcome::EscalationRequested { reason, .. } => format!("(the peer asked to escalate: {reason})"),
            };
            let feedback = vec![failed_line, (format!("consultation with @{peer}"), answer)];
            (Finish::Retry { error: failure.error, retry_at: now, level: 2, specialist: None, feedback }, None)
        }
        Step::Reassign { to } => {
            let attempts = store.attempts(&claim.run_id, &claim.task_id).await.unwrap_or_default();
            let mut history: Vec<String> = attempts
                .iter()
                .filter(|a| a.attempt < claim.attempt)
                .map(|a| {
                    format!(
                        "attempt {} by @{}: {} {}",
                        a.attempt,
                        a.specialist,
                        a.outcome.as_deref().unwrap_or("unfinished"),
                        a.detail.as_deref().map(first_line).unwrap_or("")
                    )
                })
                .collect();
            history.push(format!(
                "attempt {} by @{}: failed {}",
                claim.attempt,
                claim.specialist,
                first_line(&failure.error)
            ));
            let feedback = vec![(
                format!("coordinator review: reassigned from @{} to @{to}", claim.specialist),
                history.join("\n"),
            )];
            (Finish::Retry { error: failure.error, retry_at: now, level: 3, specialist: Some(to), feedback }, None)
        }
        Step::Park => {
            let notice = park_notice(claim, failure.category.as_str(), &failure.error);
            (Finish::Escalate { error: failure.error, level: 4, category: failure.category.to_string() }, Some(notice))
        }
    }
}
