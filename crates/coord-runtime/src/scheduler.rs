//! The scheduler: drives one run to the end it can reach. It claims ready tasks of automatic
//! specialists up to the concurrency limit (critical path first, by the rank the store keeps),
//! executes each under a lease renewed by a heartbeat, turns failures into the next step of the
//! escalation protocol, and writes results in batches (one transaction per tick: group
//! commit). Tasks of manual specialists wait for `coord task`; parked tasks wait for
//! `coord escalation resolve`. One attempt (brief, execute, gate, decide) is `attempt`'s, shared
//! with the workers of `worker`; tasks other owners hold (workers) are waited for. A drive ends
//! early when asked ([`Halt`]): to stop (a signal: attempts interrupted, their tasks ready again,
//! the run still running) or to cancel the run.

use crate::attempt::{Attempted, Engine, Pending, RunPlan, attempt, decide, gate, job_for, report};
use crate::config::{Config, ExecutorKind};
use crate::escalation::{Failure, Policy};
use crate::executor::bench::{NoopExecutor, SleepExecutor};
use crate::executor::command::CommandExecutor;
use crate::executor::{Executor, FailureCategory, Job, Outcome};
use crate::{RunReport, now_ms, owner_is_dead};
use coord_core::{ContextPolicy, Plan, Roster, render_brief};
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
    /// The configuration gives this process nothing to do.
    #[error("{0}")]
    NothingToDo(String),
    /// A run could not be started: the objective could not be planned.
    #[error(transparent)]
    Planning(#[from] coord_plan::PlanningError),
    /// A run could not be started: the given plan is invalid (every problem, by task id).
    #[error("{0}")]
    InvalidPlan(coord_core::PlanErrors),
    /// The run's workspace (its start commit and integration branch) could not be set up.
    #[error("workspace: {0}")]
    Workspace(String),
    /// `--planner llm` without `--fallback rules`: the model could not plan, so no run started.
    #[error("{0}; no run started (add --fallback rules to let the rule-based planner plan instead)")]
    PlannerFellBack(String),
}

/// What a drive is asked from outside, through its watch channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Halt {
    /// Go on.
    #[default]
    Go,
    /// Stop and leave the run to a later `coord resume`: running attempts are interrupted (their
    /// process groups killed), recorded as interrupted and their tasks returned to `ready`;
    /// results already in are recorded; the run stays `running`. What a signal asks for.
    Stop,
    /// Cancel the run: running attempts are killed and every unfinished task is cancelled
    /// (`POST /runs/{run}/cancel`, an `abort` decision).
    Cancel,
}

/// Waits until `halt` changes; forever once its sender is gone (nobody can halt the drive).
pub(crate) async fn halt_changed(halt: &mut watch::Receiver<Halt>) {
    if halt.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
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

pub(crate) enum AnyExecutor {
    Command(CommandExecutor),
    Noop(NoopExecutor),
    Sleep(SleepExecutor),
    Llm(Box<crate::executor::llm::LlmExecutor>),
    Workflow(crate::executor::workflow::WorkflowExecutor),
    Agent(Box<crate::executor::agent::AgentExecutor>),
}

impl AnyExecutor {
    pub(crate) async fn execute(&self, job: &Job) -> Outcome {
        match self {
            AnyExecutor::Command(e) => e.execute(job).await,
            AnyExecutor::Noop(e) => e.execute(job).await,
            AnyExecutor::Sleep(e) => e.execute(job).await,
            AnyExecutor::Llm(e) => e.execute(job).await,
            AnyExecutor::Workflow(e) => e.execute(job).await,
            AnyExecutor::Agent(e) => e.execute(job).await,
        }
    }
}

fn tracing_note(text: &str) {
    eprintln!("coord: {text}");
}

/// The coordinator's engine for one store.
pub struct Runtime<S: Store + Clone + 'static> {
    pub(crate) store: S,
    roster: Roster,
    pub(crate) config: Config,
    workspace: PathBuf,
    runs_dir: PathBuf,
    pub(crate) owner: String,
    pub(crate) workspaces: Arc<crate::workspace::Workspaces>,
}

impl<S: Store + Clone + 'static> Runtime<S> {
    /// A runtime over `store`, executing in `workspace` and keeping attempt files in `runs_dir`.
    pub fn new(store: S, roster: Roster, config: Config, workspace: PathBuf, runs_dir: PathBuf) -> Self {
        let workspaces =
            Arc::new(crate::workspace::Workspaces::open(&workspace).with_remote(config.workspace.remote.clone()));
        let passed: Vec<String> = config.specialists.values().flat_map(|c| c.env_pass.iter().cloned()).collect();
        crate::redact::pass_also(&passed);
        Runtime { store, roster, config, workspace, runs_dir, owner: crate::owner_id(), workspaces }
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

    /// Where tasks work: their worktrees and branches, or turns in the project folder.
    pub fn workspaces(&self) -> &crate::workspace::Workspaces {
        &self.workspaces
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

    pub(crate) fn over_budget(&self, spent: &crate::metrics::Spend) -> bool {
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

    /// The client of an LLM specialist: the shared one, or one for the model its section or
    /// its agent file names (`model:`; Claude's aliases `sonnet`, `opus`, `haiku` resolve on the
    /// Anthropic wire format, `inherit` keeps `[llm] model`).
    fn specialist_client(
        &self,
        name: &str,
        c: &crate::config::SpecialistConfig,
        shared: &Arc<coord_llm::LlmClient>,
    ) -> Arc<coord_llm::LlmClient> {
        let base = shared.config();
        let wanted = c.model.clone().or_else(|| {
            let m = self.roster.get(name)?.model.clone()?;
            let m = m.trim().to_string();
            match (m.as_str(), base.provider) {
                ("inherit" | "", _) => None,
                (alias @ ("sonnet" | "opus" | "haiku"), coord_llm::ProviderKind::Anthropic) => {
                    Some(coord_llm::model_alias(alias).to_string())
                }
                // A Claude alias means nothing to another provider.
                ("sonnet" | "opus" | "haiku", _) => None,
                _ => Some(m),
            }
        });
        match wanted {
            Some(model) if model != base.model => {
                let mut config = base.clone();
                config.model = model;
                coord_llm::LlmClient::new(config).map(Arc::new).unwrap_or_else(|_| shared.clone())
            }
            _ => shared.clone(),
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
                    Ok(Some(client)) => AnyExecutor::Llm(Box::new(crate::executor::llm::LlmExecutor {
                        client: self.specialist_client(name, &c, client),
                        persona: self.roster.get(name).map(|s| s.persona.clone()).unwrap_or_default(),
                        limits: coord_llm::agent::AgentLimits {
                            max_steps: c.max_steps.unwrap_or(30),
                            max_tokens: c.max_output_tokens.unwrap_or_else(|| client.config().output_tokens()),
                            token_budget: c.token_budget.or(self.config.budget.task_tokens),
                            cost_budget: c.cost_budget.or(self.config.budget.task_cost_usd),
                            tools: coord_llm::tools::ToolLimits {
                                allow_commands: c.allow_commands.clone(),
                                read_only: !c.writes()
                                    || self
                                        .roster
                                        .get(name)
                                        .is_some_and(|s| crate::executor::agent::is_read_only(&s.tools)),
                                ..Default::default()
                            },
                            run_cap: None,
                            partial: None,
                        },
                        confinement: crate::executor::confine::Confinement::of(&c),
                    })),
                    // No model or no key: the specialist waits for a person instead.
                    _ => continue,
                },
                ExecutorKind::Workflow => AnyExecutor::Workflow(crate::executor::workflow::WorkflowExecutor),
                ExecutorKind::Noop => AnyExecutor::Noop(NoopExecutor),
                ExecutorKind::Sleep => {
                    AnyExecutor::Sleep(SleepExecutor { ms_per_hour: c.sleep_ms_per_hour.unwrap_or(10) })
                }
                ExecutorKind::Command => {
                    let mut e = CommandExecutor::new(c.command.clone());
                    e.confinement = crate::executor::confine::Confinement::of(&c);
                    AnyExecutor::Command(e)
                }
                ExecutorKind::ClaudeCode
                | ExecutorKind::Codex
                | ExecutorKind::Gemini
                | ExecutorKind::Aider
                | ExecutorKind::OpenCode => {
                    // Invariant: these five kinds are exactly the ones `agent_cli` names.
                    let Some(cli) = c.executor.agent_cli() else { continue };
                    let agent = self.roster.get(name);
                    AnyExecutor::Agent(Box::new(crate::executor::agent::AgentExecutor::new(
                        cli,
                        &c.command,
                        agent.map(|s| s.persona.clone()).unwrap_or_default(),
                        c.model.clone().or_else(|| agent.and_then(|s| s.model.clone())),
                        agent.map(|s| s.tools.clone()).unwrap_or_default(),
                        c.max_turns,
                        crate::executor::confine::Confinement::of(&c),
                    )))
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

    pub(crate) fn engine(&self) -> Engine<S> {
        Engine {
            store: self.store.clone(),
            roster: self.roster.clone(),
            policy: Policy::new(&self.config.escalation),
            executors: self.executors(),
            config: self.config.clone(),
            workspace: self.workspace.clone(),
            runs_dir: self.runs_dir.clone(),
            lease_ms: (self.config.run.lease_secs.max(1) * 1000) as i64,
            llm: self.llm_client().ok().flatten(),
            delivered: Default::default(),
            workspaces: self.workspaces.clone(),
            caps: Default::default(),
        }
    }

    /// Records a failure reported by a person (`coord task fail`): the escalation protocol
    /// decides the next step exactly as for an executor's failure. Returns what was recorded.
    pub async fn record_failure(&self, claim: &Claim, failure: Failure) -> Result<Finish, RuntimeError> {
        let record = self.store.run(&claim.run_id).await?;
        let plan: Plan = serde_json::from_str(&record.plan_json).map_err(|e| RuntimeError::Plan(e.to_string()))?;
        let shared = self.engine();
        let Some(task) = plan.task(&claim.task_id).cloned() else {
            return Err(RuntimeError::Plan(format!("task `{}` is not in the run's plan", claim.task_id)));
        };
        let policy =
            shared.roster.get(&claim.specialist).map(|s| s.context.clone()).unwrap_or_else(ContextPolicy::everything);
        let brief = render_brief(&plan, &task, &policy, &[]).markdown;
        let job = job_for(&shared, claim, brief, &format!("attempt-{}", claim.attempt), &task);
        let (finish, notice) = decide(&shared, &RunPlan::new(plan), claim, &task, &job, failure).await;
        let finish = crate::redact::finish(finish);
        self.store.finish(claim, &finish, now_ms()).await?;
        if let Some(n) = notice {
            crate::notify::notify(&self.config.escalation, &n).await;
        }
        Ok(finish)
    }

    /// Gates a manual completion (`coord task complete --artifact ...`): `Some(failure)` when
    /// a gate failed; the caller then records the failure through [`Runtime::record_failure`].
    pub async fn gate_manual(
        &self,
        claim: &Claim,
        artifacts: &[String],
        root: Option<&std::path::Path>,
    ) -> Result<Option<Failure>, RuntimeError> {
        let record = self.store.run(&claim.run_id).await?;
        let plan: Plan = serde_json::from_str(&record.plan_json).map_err(|e| RuntimeError::Plan(e.to_string()))?;
        let shared = self.engine();
        let plan = RunPlan::new(plan);
        let Some(task) = plan.task(&claim.task_id).cloned() else {
            return Err(RuntimeError::Plan(format!("task `{}` is not in the run's plan", claim.task_id)));
        };
        let mut job = job_for(&shared, claim, String::new(), &format!("attempt-{}", claim.attempt), &task);
        if let Some(root) = root {
            job.workspace = root.to_path_buf();
        }
        Ok(gate(&shared, &plan, claim, &task, &job, artifacts).await?.failure)
    }

    /// Drives a run until it is finished, cancelled, or waits only for people, or until `halt`
    /// asks it to stop or to cancel the run (see [`Halt`]).
    pub async fn drive(
        &self,
        run_id: &str,
        mut halt: watch::Receiver<Halt>,
        progress: &dyn Progress,
    ) -> Result<RunReport, RuntimeError> {
        let started = Instant::now();
        // The stored text is not kept beside the plan through the drive.
        let plan: Plan = {
            let record = self.store.run(run_id).await?;
            serde_json::from_str(&record.plan_json).map_err(|e| RuntimeError::Plan(e.to_string()))?
        };
        self.recover().await?;
        let parallel = self.config.run.parallel;
        if parallel == 0 {
            return self.watch(run_id, plan, halt, progress).await;
        }
        let automatic = self.automatic_specialists();
        let shared = Arc::new(self.engine());
        let run_plan = Arc::new(RunPlan::new(plan));
        let lease_ms = shared.lease_ms;
        let mut running: JoinSet<Attempted> = JoinSet::new();
        let start = |claim: Claim, running: &mut JoinSet<Attempted>, in_flight: &mut HashMap<String, Claim>| {
            progress.on_event(&ProgressEvent::Started {
                task: claim.task_id.clone(),
                specialist: claim.specialist.clone(),
                attempt: claim.attempt,
            });
            in_flight.insert(claim.task_id.clone(), claim.clone());
            let (shared, run_plan) = (shared.clone(), run_plan.clone());
            running.spawn(async move { attempt(shared, run_plan, claim).await });
        };
        let llm_specialists: Vec<String> =
            automatic.iter().filter(|n| self.config.specialist(n).executor.spends_tokens()).cloned().collect();
        let mut spent = crate::metrics::run_spend(&self.store, run_id).await?;
        let mut budget_hit = false;
        let mut last_expiry = Instant::now() - Duration::from_secs(10);
        // The claims of the attempts under way, by task: what a stop releases.
        let mut in_flight: HashMap<String, Claim> = HashMap::new();
        // The last tick claimed with its results (one transaction) and found fewer ready tasks
        // than free slots: claiming again before anything changes would find none.
        let mut claimed_with_results = false;
        let halted = loop {
            let halted = *halt.borrow();
            if halted != Halt::Go {
                break halted;
            }
            let now = now_ms();
            if last_expiry.elapsed() >= Duration::from_secs(1) {
                self.store.expire_leases(now).await?;
                last_expiry = Instant::now();
                if self.store.run(run_id).await?.state != RunState::Running {
                    // Cancelled elsewhere (`coord cancel`) or finished: stop what still runs.
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    break Halt::Go;
                }
            }
            // Over the run's LLM budget: no new LLM work; what is ready is escalated instead,
            // on every turn of the loop: a task waiting to retry becomes ready later, and would
            // otherwise wait for ever for a dispatch that never comes.
            // Once the run has a cap, it is the account: every call settles into it as it
            // ends (agent CLIs and the judge add theirs), before their attempts end.
            if let Some(cap) = shared.caps.lock().await.get(run_id) {
                let (tokens, cost) = cap.spent();
                spent = crate::metrics::Spend { tokens, cost_usd: cost };
            }
            if !budget_hit && !llm_specialists.is_empty() && self.over_budget(&spent) {
                budget_hit = true;
                let why = format!(
                    "the run's LLM budget is reached ({} tokens, ${:.4} spent): no new LLM work is dispatched",
                    spent.tokens, spent.cost_usd
                );
                progress.on_event(&ProgressEvent::Escalated { task: "(run)".into(), reason: why });
            }
            if budget_hit {
                let why = format!(
                    "the run's LLM budget is reached ({} tokens, ${:.4} spent): no new LLM work is dispatched",
                    spent.tokens, spent.cost_usd
                );
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
            if free > 0 && !claimable.is_empty() && !std::mem::take(&mut claimed_with_results) {
                for claim in self.store.claim(run_id, &self.owner, free, lease_ms, now, Some(&claimable)).await? {
                    start(claim, &mut running, &mut in_flight);
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
                let wait = match next {
                    Some(at) => Duration::from_millis((at - now_ms()).clamp(1, 1000) as u64),
                    None => {
                        // Tasks of this run that other coordinators or workers hold: wait for
                        // them (their leases expire if they die). People's leases are not.
                        let leases = self.store.leases().await?;
                        let held_elsewhere = leases
                            .iter()
                            .any(|l| l.run_id == run_id && l.owner != self.owner && !l.owner.starts_with("person:"));
                        if !held_elsewhere {
                            break Halt::Go;
                        }
                        Duration::from_millis(250)
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = halt_changed(&mut halt) => {}
                }
                continue;
            }
            let mut results = Vec::new();
            tokio::select! {
                joined = running.join_next() => {
                    if let Some(joined) = joined { results.push(joined); }
                }
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = halt_changed(&mut halt) => {}
            }
            while let Some(joined) = running.try_join_next() {
                results.push(joined);
            }
            let mut pending = Pending::default();
            for joined in results {
                // A panicked attempt is a bug in an executor; its lease expires and it is retried.
                let Ok(attempted) = joined else { continue };
                in_flight.remove(&attempted.claim.task_id);
                if let Some(u) = &attempted.usage {
                    spent.add(u);
                }
                pending.add(attempted, progress);
            }
            if !pending.is_empty() {
                // The results and the next claims in one transaction: a slot freed by a result
                // is refilled by the same commit that readies the result's dependents.
                let free = parallel.saturating_sub(running.len());
                if free > 0 && !claimable.is_empty() && *halt.borrow() == Halt::Go {
                    let (_, claims) =
                        pending.flush_and_claim(&shared, Some(run_id), &self.owner, free, lease_ms, &claimable).await?;
                    claimed_with_results = claims.len() < free;
                    for claim in claims {
                        start(claim, &mut running, &mut in_flight);
                    }
                } else {
                    pending.flush(&self.store, &self.config, &shared.delivered).await?;
                }
            }
        };
        let mut interrupted = 0;
        match halted {
            Halt::Go => {}
            Halt::Cancel => {
                running.abort_all();
                while running.join_next().await.is_some() {}
                self.store.cancel_run(run_id, now_ms()).await?;
            }
            Halt::Stop => {
                // Dropping an attempt kills its process group. Attempts that ended meanwhile
                // are recorded as they ended; the rest are interrupted and their tasks released.
                running.abort_all();
                let mut pending = Pending::default();
                while let Some(joined) = running.join_next().await {
                    if let Ok(attempted) = joined {
                        in_flight.remove(&attempted.claim.task_id);
                        pending.add(attempted, progress);
                    }
                }
                if !pending.is_empty() {
                    pending.flush(&self.store, &self.config, &shared.delivered).await?;
                }
                let claims: Vec<Claim> = in_flight.into_values().collect();
                let why = format!("interrupted: {} was stopped; the task is ready again", self.owner);
                interrupted = self.store.release_claims(&claims, &why, now_ms()).await?.len();
            }
        }
        self.tidy_workspaces(run_id).await;
        let mut report = self.report(run_id, &run_plan.plan, started).await?;
        report.stopped = halted == Halt::Stop;
        report.interrupted = interrupted;
        if report.state == "done" {
            report.delivered =
                match self.workspaces.deliver(&self.store, run_id, &self.config.deliver, &self.runs_dir).await {
                    Ok(crate::workspace::Delivered::Nothing) => None,
                    Ok(crate::workspace::Delivered::Done(what)) => Some(what),
                    Ok(crate::workspace::Delivered::Failed(why)) => Some(format!("delivery failed: {why}")),
                    Err(e) => Some(format!("delivery failed: {e}")),
                };
        }
        Ok(report)
    }

    /// After a drive: results a person approved are merged, and worktrees of tasks that are
    /// finished (and parked ones) are removed; tasks still to be retried keep theirs.
    pub async fn tidy_workspaces(&self, run_id: &str) {
        let ws = &self.workspaces;
        if let Err(e) = ws.merge_approved(&self.store, run_id).await {
            tracing_note(&format!("run {run_id}: approved results could not be merged: {e}"));
        }
        let keep: Vec<String> = match self.store.tasks(run_id).await {
            Ok(tasks) => tasks.into_iter().filter(|t| !t.state.is_final()).map(|t| t.task_id).collect(),
            Err(_) => return,
        };
        ws.remove_worktrees(run_id, &keep).await;
        ws.remove_idle().await;
    }
}
