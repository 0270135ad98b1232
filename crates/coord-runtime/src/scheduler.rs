//! The scheduler: drives one run to the end it can reach. It claims ready tasks of automatic
//! specialists up to the concurrency limit (critical path first, by the rank the store keeps),
//! executes each under a lease renewed by a heartbeat, turns failures into the next step of the
//! escalation protocol, and writes results in batches (one transaction per tick: group
//! commit). Tasks of manual specialists wait for `coord task`; parked tasks wait for
//! `coord escalation resolve`.

use crate::config::{Config, ExecutorKind, IsolationKind};
use crate::escalation::{Failure, Policy, Step};
use crate::executor::bench::{NoopExecutor, SleepExecutor};
use crate::executor::command::{CommandExecutor, Isolation};
use crate::executor::{Executor, FailureCategory, Job, Outcome};
use crate::{now_ms, owner_is_dead};
use coord_core::{ContextPolicy, Plan, Roster, Task, TaskKind, render_brief, render_brief_with};
use coord_store::{Claim, Finish, RunState, Store, StoreError, TaskState};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Why a run could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored plan could not be read.
    #[error("the run's stored plan is unreadable: {0}")]
    Plan(String),
    /// A run could not be started: the objective could not be planned.
    #[error(transparent)]
    Planning(#[from] coord_plan::PlanningError),
    /// A run could not be started: the given plan is invalid (every problem, by task id).
    #[error("{0}")]
    InvalidPlan(coord_core::PlanErrors),
}

/// What the scheduler reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// An attempt started.
    Started {
        /// Task.
        task: String,
        /// Specialist.
        specialist: String,
        /// Attempt number.
        attempt: i64,
    },
    /// A task is done.
    Done {
        /// Task.
        task: String,
    },
    /// A task will be tried again (levels 1–3).
    Retrying {
        /// Task.
        task: String,
        /// Level of the step.
        level: i64,
        /// What happens.
        what: String,
    },
    /// A task was parked at level 4.
    Escalated {
        /// Task.
        task: String,
        /// Why.
        reason: String,
    },
}

/// Receives progress; the CLI draws bars or prints lines.
pub trait Progress: Send + Sync {
    /// One event.
    fn on_event(&self, event: &ProgressEvent);
}

/// A progress sink that ignores everything.
impl Progress for () {
    fn on_event(&self, _event: &ProgressEvent) {}
}

/// What a drive of a run reached.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunReport {
    /// The run.
    pub run_id: String,
    /// The run's state at the end of the drive.
    pub state: String,
    /// Tasks by state.
    pub tasks: HashMap<String, usize>,
    /// Attempts started in total.
    pub attempts: i64,
    /// Wall time of this drive, milliseconds.
    pub wall_ms: u64,
    /// Summed durations of the successful attempts of the plan's critical path, milliseconds.
    pub critical_path_ms: i64,
    /// Tasks that wait for a person: `(task, specialist)`.
    pub waiting_for_people: Vec<(String, String)>,
    /// Open escalations of the run.
    pub open_escalations: usize,
    /// LLM tokens and cost of the whole run so far.
    pub llm: crate::metrics::Spend,
}

enum AnyExecutor {
    Command(CommandExecutor),
    Noop(NoopExecutor),
    Sleep(SleepExecutor),
    Llm(crate::executor::llm::LlmExecutor),
}

impl AnyExecutor {
    async fn execute(&self, job: &Job) -> Outcome {
        match self {
            AnyExecutor::Command(e) => e.execute(job).await,
            AnyExecutor::Noop(e) => e.execute(job).await,
            AnyExecutor::Sleep(e) => e.execute(job).await,
            AnyExecutor::Llm(e) => e.execute(job).await,
        }
    }
}

/// Everything a spawned attempt needs, shared.
struct Shared<S> {
    store: S,
    roster: Roster,
    plan: Plan,
    /// Task id → position in `plan.tasks`.
    index: HashMap<String, usize>,
    policy: Policy,
    executors: HashMap<String, Arc<AnyExecutor>>,
    config: Config,
    workspace: PathBuf,
    runs_dir: PathBuf,
    lease_ms: i64,
    /// The model for LLM-judged checklist items, when one is configured.
    llm: Option<Arc<coord_llm::LlmClient>>,
}

impl<S> Shared<S> {
    fn task(&self, id: &str) -> Option<&Task> {
        self.index.get(id).and_then(|&i| self.plan.tasks.get(i))
    }
}

/// The coordinator's engine for one store.
pub struct Runtime<S: Store + Clone + 'static> {
    store: S,
    roster: Roster,
    config: Config,
    workspace: PathBuf,
    runs_dir: PathBuf,
    owner: String,
}

impl<S: Store + Clone + 'static> Runtime<S> {
    /// A runtime over `store`, executing in `workspace` and keeping attempt files in `runs_dir`.
    pub fn new(store: S, roster: Roster, config: Config, workspace: PathBuf, runs_dir: PathBuf) -> Self {
        Runtime { store, roster, config, workspace, runs_dir, owner: crate::owner_id() }
    }

    /// Uses another lease owner name (tests run several coordinators in one process).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// The store this runtime works on.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The configuration (`coord.toml`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The project folder commands run in.
    pub fn workspace(&self) -> &std::path::Path {
        &self.workspace
    }

    /// Specialists whose tasks this runtime executes itself.
    pub fn automatic_specialists(&self) -> Vec<String> {
        let llm_ready = matches!(self.llm_client(), Ok(Some(_)));
        self.roster
            .names()
            .filter(|n| match self.config.specialist(n).executor {
                ExecutorKind::Manual => false,
                ExecutorKind::Llm => llm_ready,
                _ => true,
            })
            .map(String::from)
            .collect()
    }

    fn over_budget(&self, spent: &crate::metrics::Spend) -> bool {
        let b = &self.config.budget;
        b.run_tokens.is_some_and(|t| spent.tokens >= t) || b.run_cost_usd.is_some_and(|c| spent.cost_usd >= c)
    }

    /// Why LLM specialists are off, when some are configured but cannot run.
    pub fn llm_off_reason(&self) -> Option<String> {
        let wanted = self.roster.names().any(|n| self.config.specialist(n).executor == ExecutorKind::Llm);
        if !wanted {
            return None;
        }
        match self.llm_client() {
            Ok(Some(_)) => None,
            Ok(None) => Some(
                "LLM specialists are configured but there is no [llm] section in coord.toml: they wait for people"
                    .into(),
            ),
            Err(e) => Some(format!("LLM specialists are off ({e}): their tasks wait for people")),
        }
    }

    /// The model client, when `[llm]` is configured and its key is present; otherwise why not.
    pub fn llm_client(&self) -> Result<Option<Arc<coord_llm::LlmClient>>, String> {
        match &self.config.llm {
            None => Ok(None),
            Some(c) => coord_llm::LlmClient::new(c.clone()).map(|c| Some(Arc::new(c))).map_err(|e| e.to_string()),
        }
    }

    fn executors(&self) -> HashMap<String, Arc<AnyExecutor>> {
        let mut map = HashMap::new();
        let llm = self.llm_client();
        for name in self.roster.names() {
            let c = self.config.specialist(name);
            let exec = match c.executor {
                ExecutorKind::Manual => continue,
                ExecutorKind::Llm => match &llm {
                    Ok(Some(client)) => AnyExecutor::Llm(crate::executor::llm::LlmExecutor {
                        client: client.clone(),
                        persona: self.roster.get(name).map(|s| s.persona.clone()).unwrap_or_default(),
                        limits: coord_llm::agent::AgentLimits {
                            max_steps: c.max_steps.unwrap_or(30),
                            token_budget: c.token_budget.or(self.config.budget.task_tokens),
                            cost_budget: c.cost_budget.or(self.config.budget.task_cost_usd),
                            tools: coord_llm::tools::ToolLimits {
                                allow_commands: c.allow_commands.clone(),
                                ..Default::default()
                            },
                            ..Default::default()
                        },
                    }),
                    // No model or no key: the specialist waits for a person instead.
                    _ => continue,
                },
                ExecutorKind::Noop => AnyExecutor::Noop(NoopExecutor),
                ExecutorKind::Sleep => {
                    AnyExecutor::Sleep(SleepExecutor { ms_per_hour: c.sleep_ms_per_hour.unwrap_or(10) })
                }
                ExecutorKind::Command => {
                    let mut e = CommandExecutor::new(c.command.clone());
                    e.env = c.env.clone();
                    e.isolation = match c.isolation {
                        IsolationKind::None => Isolation::None,
                        IsolationKind::Worktree => Isolation::Worktree,
                    };
                    AnyExecutor::Command(e)
                }
            };
            map.insert(name.to_string(), Arc::new(exec));
        }
        map
    }

    /// Returns the tasks of coordinators that died (same host, process gone) to `ready`.
    pub async fn recover(&self) -> Result<usize, RuntimeError> {
        let mut released = 0;
        for owner in self.store.lease_owners().await? {
            if owner_is_dead(&owner) {
                released += self.store.release_owner(&owner, now_ms()).await?.len();
            }
        }
        Ok(released)
    }

    fn shared(&self, plan: Plan) -> Shared<S> {
        let index = plan.tasks.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        Shared {
            store: self.store.clone(),
            roster: self.roster.clone(),
            index,
            plan,
            policy: Policy::new(&self.config.escalation),
            executors: self.executors(),
            config: self.config.clone(),
            workspace: self.workspace.clone(),
            runs_dir: self.runs_dir.clone(),
            lease_ms: (self.config.run.lease_secs.max(1) * 1000) as i64,
            llm: self.llm_client().ok().flatten(),
        }
    }

    /// Records a failure reported by a person (`coord task fail`): the escalation protocol
    /// decides the next step exactly as for an executor's failure. Returns what was recorded.
    pub async fn record_failure(&self, claim: &Claim, failure: Failure) -> Result<Finish, RuntimeError> {
        let record = self.store.run(&claim.run_id).await?;
        let plan: Plan = serde_json::from_str(&record.plan_json).map_err(|e| RuntimeError::Plan(e.to_string()))?;
        let shared = self.shared(plan);
        let Some(task) = shared.plan.task(&claim.task_id).cloned() else {
            return Err(RuntimeError::Plan(format!("task `{}` is not in the run's plan", claim.task_id)));
        };
        let policy =
            shared.roster.get(&claim.specialist).map(|s| s.context.clone()).unwrap_or_else(ContextPolicy::everything);
        let brief = render_brief(&shared.plan, &task, &policy, &[]).markdown;
        let job = job_for(&shared, claim, brief, &format!("attempt-{}", claim.attempt), task.estimate_hours);
        let (finish, notice) = decide(&shared, claim, task.kind, &job, failure).await;
        self.store.finish(claim, &finish, now_ms()).await?;
        if let Some(n) = notice {
            crate::notify::notify(&self.config.escalation, &n).await;
        }
        Ok(finish)
    }

    /// Gates a manual completion (`coord task complete --artifact ...`): `Some(failure)` when
    /// a gate failed; the caller then records the failure through [`Runtime::record_failure`].
    pub async fn gate_manual(&self, claim: &Claim, artifacts: &[String]) -> Result<Option<Failure>, RuntimeError> {
        let record = self.store.run(&claim.run_id).await?;
        let plan: Plan = serde_json::from_str(&record.plan_json).map_err(|e| RuntimeError::Plan(e.to_string()))?;
        let shared = self.shared(plan);
        let Some(task) = shared.task(&claim.task_id).cloned() else {
            return Err(RuntimeError::Plan(format!("task `{}` is not in the run's plan", claim.task_id)));
        };
        let job = job_for(&shared, claim, String::new(), &format!("attempt-{}", claim.attempt), task.estimate_hours);
        Ok(gate(&shared, claim, task.kind, &job, artifacts).await?)
    }

    /// Drives a run until it is finished, cancelled, or waits only for people. Setting `cancel`
    /// to true stops every attempt (process groups are killed) and cancels the run.
    pub async fn drive(
        &self,
        run_id: &str,
        mut cancel: watch::Receiver<bool>,
        progress: &dyn Progress,
    ) -> Result<RunReport, RuntimeError> {
        let started = Instant::now();
        let record = self.store.run(run_id).await?;
        let plan: Plan = serde_json::from_str(&record.plan_json).map_err(|e| RuntimeError::Plan(e.to_string()))?;
        self.recover().await?;
        let automatic = self.automatic_specialists();
        let shared = Arc::new(self.shared(plan));
        let lease_ms = shared.lease_ms;
        let parallel = self.config.run.parallel.max(1);
        let mut running: JoinSet<Attempted> = JoinSet::new();
        let llm_specialists: Vec<String> =
            automatic.iter().filter(|n| self.config.specialist(n).executor == ExecutorKind::Llm).cloned().collect();
        let mut spent = crate::metrics::run_spend(&self.store, run_id).await?;
        let mut budget_hit = false;
        let mut last_expiry = Instant::now() - Duration::from_secs(10);
        let mut cancelled = false;
        loop {
            if *cancel.borrow() {
                cancelled = true;
                break;
            }
            let now = now_ms();
            if last_expiry.elapsed() >= Duration::from_secs(1) {
                self.store.expire_leases(now).await?;
                last_expiry = Instant::now();
                if self.store.run(run_id).await?.state != RunState::Running {
                    // Cancelled elsewhere (`coord cancel`) or finished: stop what still runs.
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    break;
                }
            }
            // Over the run's LLM budget: no new LLM work; what is ready is escalated instead.
            if !budget_hit && !llm_specialists.is_empty() && self.over_budget(&spent) {
                budget_hit = true;
                let why = format!(
                    "the run's LLM budget is reached ({} tokens, ${:.4} spent): no new LLM work is dispatched",
                    spent.tokens, spent.cost_usd
                );
                progress.on_event(&ProgressEvent::Escalated { task: "(run)".into(), reason: why.clone() });
                for claim in self
                    .store
                    .claim(run_id, &self.owner, usize::MAX >> 1, lease_ms, now, Some(&llm_specialists))
                    .await?
                {
                    let finish = Finish::Escalate {
                        error: why.clone(),
                        level: 4,
                        category: FailureCategory::Timeline.to_string(),
                    };
                    report(progress, &claim, &finish);
                    self.store.finish(&claim, &finish, now_ms()).await?;
                }
            }
            let claimable: Vec<String> = if budget_hit {
                automatic.iter().filter(|n| !llm_specialists.contains(n)).cloned().collect()
            } else {
                automatic.clone()
            };
            let free = parallel.saturating_sub(running.len());
            if free > 0 && !claimable.is_empty() {
                for claim in self.store.claim(run_id, &self.owner, free, lease_ms, now, Some(&claimable)).await? {
                    progress.on_event(&ProgressEvent::Started {
                        task: claim.task_id.clone(),
                        specialist: claim.specialist.clone(),
                        attempt: claim.attempt,
                    });
                    let shared = shared.clone();
                    running.spawn(async move { attempt(shared, claim).await });
                }
            }
            if running.is_empty() {
                // Nothing runs: wait for a backoff if one is pending, else stop.
                let tasks = self.store.tasks(run_id).await?;
                let next = tasks
                    .iter()
                    .filter(|t| {
                        matches!(t.state, TaskState::Retrying | TaskState::Ready) && automatic.contains(&t.specialist)
                    })
                    .map(|t| t.not_before)
                    .min();
                match next {
                    Some(at) => {
                        let wait = Duration::from_millis((at - now_ms()).clamp(1, 1000) as u64);
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = cancel.changed() => {}
                        }
                        continue;
                    }
                    None => break,
                }
            }
            let mut results = Vec::new();
            tokio::select! {
                joined = running.join_next() => {
                    if let Some(joined) = joined { results.push(joined); }
                }
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = cancel.changed() => {}
            }
            while let Some(joined) = running.try_join_next() {
                results.push(joined);
            }
            let mut batch = Vec::new();
            let mut notices = Vec::new();
            for joined in results {
                // A panicked attempt is a bug in an executor; its lease expires and it is retried.
                let Ok(Attempted { claim, finish, notice, usage }) = joined else { continue };
                if let Some(u) = usage {
                    spent.add(&u);
                    self.store.record_event(&claim.run_id, Some(&claim.task_id), "llm_usage", u, now_ms()).await?;
                }
                if let Some(finish) = finish {
                    report(progress, &claim, &finish);
                    batch.push((claim, finish));
                }
                if let Some(n) = notice {
                    notices.push(n);
                }
            }
            if !batch.is_empty() {
                self.store.finish_many(&batch, now_ms()).await?;
            }
            for n in notices {
                crate::notify::notify(&self.config.escalation, &n).await;
            }
        }
        if cancelled {
            running.abort_all();
            while running.join_next().await.is_some() {}
            self.store.cancel_run(run_id, now_ms()).await?;
        }
        self.report(run_id, &shared.plan, started).await
    }

    /// A report of the run as the store has it now.
    pub async fn report(&self, run_id: &str, plan: &Plan, started: Instant) -> Result<RunReport, RuntimeError> {
        let run = self.store.run(run_id).await?;
        let tasks = self.store.tasks(run_id).await?;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for t in &tasks {
            *counts.entry(t.state.to_string()).or_default() += 1;
        }
        let automatic = self.automatic_specialists();
        let waiting: Vec<(String, String)> = tasks
            .iter()
            .filter(|t| {
                matches!(t.state, TaskState::Ready | TaskState::Retrying | TaskState::Running)
                    && !automatic.contains(&t.specialist)
            })
            .map(|t| (t.task_id.clone(), t.specialist.clone()))
            .collect();
        let mut critical = 0;
        for id in &plan.critical_path {
            for a in self.store.attempts(run_id, id).await? {
                if a.outcome.as_deref() == Some("succeeded") {
                    critical += a.finished_at.unwrap_or(a.started_at) - a.started_at;
                }
            }
        }
        Ok(RunReport {
            run_id: run_id.to_string(),
            state: run.state.as_str().to_string(),
            tasks: counts,
            attempts: tasks.iter().map(|t| t.attempts).sum(),
            wall_ms: started.elapsed().as_millis() as u64,
            critical_path_ms: critical,
            waiting_for_people: waiting,
            open_escalations: self.store.escalations(Some(run_id), true).await?.len(),
            llm: crate::metrics::run_spend(&self.store, run_id).await?,
        })
    }
}

fn report(progress: &dyn Progress, claim: &Claim, finish: &Finish) {
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

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn job_for<S>(shared: &Shared<S>, claim: &Claim, brief: String, dir_name: &str, estimate: f64) -> Job {
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
        estimate_hours: estimate,
    }
}

/// What one attempt hands back to the drive loop.
struct Attempted {
    claim: Claim,
    /// What to record; `None` when the lease was lost (nothing may be recorded).
    finish: Option<Finish>,
    /// A level-4 escalation to send to the tech lead.
    notice: Option<serde_json::Value>,
    /// An LLM attempt's spending.
    usage: Option<serde_json::Value>,
}

/// One attempt: runs it, then attaches the LLM spending its transcript records.
async fn attempt<S: Store + Clone>(shared: Arc<Shared<S>>, claim: Claim) -> Attempted {
    let dir = shared.runs_dir.join(&claim.run_id).join(&claim.task_id).join(format!("attempt-{}", claim.attempt));
    let specialist = claim.specialist.clone();
    let is_llm = shared.config.specialist(&specialist).executor == ExecutorKind::Llm;
    let (claim, finish, notice) = run_attempt(shared, claim).await;
    let usage = if is_llm { crate::metrics::transcript_usage(&dir, &specialist) } else { None };
    Attempted { claim, finish, notice, usage }
}

/// One attempt of one task: brief, execute under a heartbeat, decide what follows.
async fn run_attempt<S: Store + Clone>(
    shared: Arc<Shared<S>>,
    claim: Claim,
) -> (Claim, Option<Finish>, Option<serde_json::Value>) {
    let Some(task) = shared.task(&claim.task_id).cloned() else {
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
    let mut brief = render_brief_with(&shared.plan, &assigned, &policy, &feedback, |id| shared.task(id)).markdown;
    brief.push_str(&format!("\nIDEMPOTENCY KEY: {}/{}/{}\n", claim.run_id, claim.task_id, claim.attempt));
    let job = job_for(&shared, &claim, brief, &format!("attempt-{}", claim.attempt), task.estimate_hours);

    let Some(executor) = shared.executors.get(&claim.specialist).cloned() else {
        let error = format!("@{} has no executor configured (it is manual)", claim.specialist);
        return (claim, Some(Finish::Fail { error }), None);
    };
    let grace = job.timeout + Duration::from_secs(5);
    let heartbeat = heartbeat(&shared.store, &claim, shared.lease_ms);
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(grace, executor.execute(&job)) => match outcome {
            Ok(o) => o,
            Err(_) => Outcome::Failed { error: format!("timed out after {}s", job.timeout.as_secs()), category: FailureCategory::General, retryable: true },
        },
        lost = heartbeat => {
            // The lease is gone (cancelled run, or another coordinator took over): stop and
            // record nothing; the store would refuse it.
            let _ = lost;
            return (claim, None, None);
        }
    };
    let failure = match outcome {
        Outcome::Succeeded { artifacts, summary } => {
            match gate(&shared, &claim, task.kind, &job, &artifacts).await {
                Err(_) => return (claim, None, None), // the lease was lost while gating
                Ok(Some(failure)) => failure,
                Ok(None) => {
                    let detail = serde_json::json!({ "artifacts": artifacts, "summary": summary }).to_string();
                    return (claim, Some(Finish::Done { detail }), None);
                }
            }
        }
        Outcome::Failed { error, category, retryable } => Failure { error, category, retryable },
        Outcome::EscalationRequested { category, reason } => Failure { error: reason, category, retryable: true },
    };
    let (finish, notice) = decide(&shared, &claim, task.kind, &job, failure).await;
    (claim, Some(finish), notice)
}

/// Runs the task's gates over its artifacts; `Ok(Some(failure))` when a gate failed.
async fn gate<S: Store>(
    shared: &Shared<S>,
    claim: &Claim,
    kind: TaskKind,
    job: &Job,
    artifacts: &[String],
) -> Result<Option<Failure>, StoreError> {
    if artifacts.is_empty() || shared.config.gates.disabled_in_runs {
        return Ok(None);
    }
    shared.store.start_gating(claim, now_ms()).await?;
    let worktree = job.attempt_dir.join("worktree");
    let root = if worktree.is_dir() { worktree } else { job.workspace.clone() };
    let verdict = crate::gating::judge(root.clone(), kind, artifacts.to_vec(), shared.config.gates.clone()).await;
    let mut results = verdict.results;
    let mut failure = verdict.failure;
    // The items no tool decides: the model judges them when there is one (else they wait for
    // a person's attestation and do not block).
    if let (None, Some(client)) = (&failure, &shared.llm) {
        let items = crate::judge::judged_items(crate::gating::gates_for(kind));
        let evidence = crate::judge::evidence(&root, artifacts, 24 * 1024);
        match crate::judge::judge(client, &items, &evidence).await {
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
                    failure = Some(Failure { error, category: FailureCategory::General, retryable: true });
                }
            }
            Err(e) => results.push((
                "llm-judge".into(),
                true,
                serde_json::json!({ "error": e, "status": "not judged; waiting for a person" }).to_string(),
            )),
        }
    }
    shared.store.record_gates(claim, &results, now_ms()).await?;
    Ok(failure)
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
async fn decide<S: Store + Clone>(
    shared: &Shared<S>,
    claim: &Claim,
    kind: TaskKind,
    job: &Job,
    failure: Failure,
) -> (Finish, Option<serde_json::Value>) {
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
            let consult_job =
                job_for(shared, &consult_claim, question, &format!("attempt-{}-consult-{peer}", claim.attempt), 0.0);
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
            let notice = serde_json::json!({
                "to": "tech-lead-orchestrator",
                "run": claim.run_id,
                "task": claim.task_id,
                "specialist": claim.specialist,
                "level": 4,
                "category": failure.category.as_str(),
                "reason": failure.error,
            });
            (Finish::Escalate { error: failure.error, level: 4, category: failure.category.to_string() }, Some(notice))
        }
    }
}
