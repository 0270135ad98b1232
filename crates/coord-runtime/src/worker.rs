//! A worker (`coord worker`): serves every running run of the store, so any number of them on
//! any number of machines share the work of one PostgreSQL database. It claims ready tasks of any
//! run (`FOR UPDATE SKIP LOCKED`: workers never take, nor wait for, each other's rows), runs each
//! attempt exactly as a coordinator does (`attempt`: brief, executor under a heartbeat, gates,
//! escalation), and records results in batches. Idle, it sleeps until a notification says tasks
//! became ready (`LISTEN/NOTIFY`), or until its poll interval passes (backoffs, lost
//! notifications). It registers itself and beats, so `coord workers` lists it with its leases.
//!
//! Faults: a database that stops answering (a restarted server) is waited out: claims pause,
//! results are kept and written once it answers, heartbeats retry before their lease expires. A
//! result whose lease was lost meanwhile (expired and taken over) is refused by the store and
//! dropped: fencing. A stop request (SIGTERM) ends claiming; attempts in flight get `grace` to
//! finish and be recorded, the rest are killed and their tasks released to `ready` at once.

use crate::attempt::{Attempted, Pending, RunPlan, attempt};
use crate::executor::FailureCategory;
use crate::metrics::Spend;
use crate::scheduler::{Progress, RuntimeError};
use crate::{Runtime, now_ms};
use coord_core::Plan;
use coord_store::{Claim, Finish, ReadySignal, Store, StoreError, WorkerInfo};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Attempts at once.
    pub concurrency: usize,
    /// The longest an idle worker sleeps between looks at the queue when no notification comes.
    pub poll: Duration,
    /// On a stop request, how long attempts in flight may take to finish before they are killed
    /// and their tasks released.
    pub grace: Duration,
    /// Tasks claimed beyond the free slots and kept in a local queue until a slot frees: bigger
    /// batches per transaction for many short tasks, at the cost of claim-to-start latency (and
    /// queued tasks' leases are renewed while they wait). The queue is refilled when it holds
    /// fewer tasks than `concurrency`, every place at once, and results wait up to 2 ms for that
    /// transaction. 0 claims only for free slots and records results at once.
    pub prefetch: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions { concurrency: 4, poll: Duration::from_secs(2), grace: Duration::from_secs(30), prefetch: 0 }
    }
}

/// The longest a finished attempt's result waits in a worker with a local queue for the
/// transaction that refills the queue.
const RESULT_DELAY: Duration = Duration::from_millis(2);

/// What a worker did, when it stops.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct WorkerReport {
    /// Its lease owner name.
    pub worker: String,
    /// Attempts it started.
    pub attempts: u64,
    /// Results the store accepted.
    pub recorded: u64,
    /// Results the store refused (the lease was lost first).
    pub refused: u64,
    /// Tasks released to `ready` when it stopped.
    pub released: usize,
    /// Ticks: transactions that recorded results or claimed tasks (one each).
    pub ticks: u64,
    /// Mean duration of a tick's transaction, milliseconds.
    pub tick_ms: f64,
}

/// Where a worker's notes go (troubles and what it does about them); the CLI prints them.
pub trait WorkerLog: Send + Sync {
    /// One line.
    fn note(&self, line: &str);
}

impl WorkerLog for () {
    fn note(&self, _line: &str) {}
}

/// The LLM budget of one run, as far as this worker knows it.
struct RunBudget {
    spent: Spend,
}

impl<S: Store + Clone + 'static> Runtime<S> {
    /// Serves every running run until `stop` turns true. Fails at once when the store cannot be
    /// reached at start, or when no specialist has an executor (the worker would claim nothing).
    pub async fn work(
        &self,
        options: &WorkerOptions,
        mut stop: watch::Receiver<bool>,
        progress: &dyn Progress,
        log: &dyn WorkerLog,
    ) -> Result<WorkerReport, RuntimeError> {
        let concurrency = options.concurrency.max(1);
        let automatic = self.automatic_specialists();
        // The coordinator's workflow checks alone are not a worker's job: every coordinator
        // (`coord run`, `resume`, `serve`) runs them.
        if automatic.iter().all(|n| n == coord_core::COORDINATOR) {
            return Err(RuntimeError::NothingToDo(
                "no specialist has an executor in coord.toml ([specialists.NAME] executor = \"command\"): this worker would claim nothing".into(),
            ));
        }
        let llm_specialists: Vec<String> =
            automatic.iter().filter(|n| self.config.specialist(n).executor.spends_tokens()).cloned().collect();
        let budgeted = !llm_specialists.is_empty()
            && (self.config.budget.run_tokens.is_some() || self.config.budget.run_cost_usd.is_some());
        let mut info = WorkerInfo {
            id: self.owner.clone(),
            host: crate::owner::hostname(),
            pid: std::process::id() as i64,
            concurrency: concurrency as i64,
            started_at: now_ms(),
            state: "running".into(),
        };
        self.store.worker_beat(&info, now_ms()).await?;
        self.recover().await?;
        let mut signal = match self.store.ready_signal().await {
            Ok(signal) => signal,
            Err(e) => {
                log.note(&format!("cannot listen for notifications ({e}); polling every {:?}", options.poll));
                ReadySignal::polling()
            }
        };
        let engine = Arc::new(self.engine());
        let lease_ms = engine.lease_ms;
        let mut report = WorkerReport { worker: self.owner.clone(), ..WorkerReport::default() };
        let mut plans: HashMap<String, Arc<RunPlan>> = HashMap::new();
        let mut budgets: HashMap<String, RunBudget> = HashMap::new();
        let mut running: JoinSet<Attempted> = JoinSet::new();
        // Claimed tasks waiting for a slot, with when their lease was last renewed.
        let mut queue: std::collections::VecDeque<(Claim, Arc<RunPlan>, Instant)> = std::collections::VecDeque::new();
        let mut pending = Pending::default();
        let mut troubled = false;
        let mut last_upkeep = Instant::now() - Duration::from_secs(10);
        let mut last_recover = Instant::now();
        let mut deadline: Option<Instant> = None;
        let mut tick_time = Duration::ZERO;
        // With a local queue (`prefetch`), claims wait until the queue runs low and then fill
        // every place at once, and results wait for that transaction unless they have waited
        // `RESULT_DELAY`: many short tasks share one transaction instead of one each.
        let capacity = concurrency + options.prefetch;
        let mut results_since: Option<Instant> = None;
        loop {
            if *stop.borrow() && deadline.is_none() {
                deadline = Some(Instant::now() + options.grace);
                info.state = "stopping".into();
                log.note(&format!(
                    "stopping: no new claims; {} attempt(s) in flight get {:?} to finish",
                    running.len(),
                    options.grace
                ));
                let _ = self.store.worker_beat(&info, now_ms()).await;
            }
            if let Some(at) = deadline
                && ((running.is_empty() && pending.is_empty()) || Instant::now() >= at)
            {
                // Queued claims never started: release_owner below returns them to ready.
                break;
            }
            if last_upkeep.elapsed() >= Duration::from_secs(1) {
                last_upkeep = Instant::now();
                // A queued claim's lease is renewed as a running attempt's is, before leases are
                // expired: a task that waits in the queue longer than its lease stays this
                // worker's instead of being taken by another and then run twice.
                let renew_after = Duration::from_millis((lease_ms / 3).max(1) as u64);
                let mut lost = Vec::new();
                for (i, (claim, _, renewed)) in queue.iter_mut().enumerate() {
                    if renewed.elapsed() < renew_after {
                        continue;
                    }
                    match self.store.heartbeat(claim, lease_ms, now_ms()).await {
                        Ok(()) => *renewed = Instant::now(),
                        Err(StoreError::LeaseLost { .. }) => lost.push(i),
                        Err(e) => {
                            trouble(log, &mut troubled, &e);
                            break;
                        }
                    }
                }
                for i in lost.into_iter().rev() {
                    if let Some((claim, _, _)) = queue.remove(i) {
                        log.note(&format!(
                            "the lease on queued {}/{} was lost before it started: not run",
                            claim.run_id, claim.task_id
                        ));
                    }
                }
                let recover_due = last_recover.elapsed() >= Duration::from_secs(5);
                let upkeep = async {
                    self.store.expire_leases(now_ms()).await?;
                    self.store.worker_beat(&info, now_ms()).await?;
                    if recover_due {
                        // Same-host workers and coordinators that died: their tasks go back now
                        // rather than when their leases expire.
                        self.recover().await.map_err(|e| match e {
                            RuntimeError::Store(s) => s,
                            other => StoreError::Corrupt(other.to_string()),
                        })?;
                    }
                    Ok::<(), StoreError>(())
                };
                match upkeep.await {
                    Ok(()) => {
                        if troubled {
                            log.note("the store answers again");
                            troubled = false;
                        }
                        if recover_due {
                            last_recover = Instant::now();
                        }
                    }
                    Err(e) => trouble(log, &mut troubled, &e),
                }
            }
            if let Some(t) = signal.take_trouble() {
                log.note(&t);
            }
            // One transaction per tick: the results of finished attempts and claims for the
            // free places (tasks those results freed included).
            let room = capacity.saturating_sub(running.len() + queue.len());
            let low = options.prefetch == 0 || queue.len() < concurrency;
            let free = if deadline.is_none() && !troubled && low { room } else { 0 };
            let results_due = options.prefetch == 0
                || free > 0
                || deadline.is_some()
                || (running.is_empty() && queue.is_empty())
                || results_since.is_some_and(|t| t.elapsed() >= RESULT_DELAY);
            let mut drained = true;
            if (!pending.is_empty() && results_due) || free > 0 {
                let count = pending.results();
                let timer = Instant::now();
                match pending.flush_and_claim(&engine, None, &self.owner, free, lease_ms, &automatic).await {
                    Ok((refused, claims)) => {
                        results_since = None;
                        if count > 0 || !claims.is_empty() {
                            tick_time += timer.elapsed();
                            report.ticks += 1;
                        }
                        report.recorded += (count - refused.len()) as u64;
                        for (claim, why) in refused {
                            report.refused += 1;
                            log.note(&format!("result of {}/{} refused: {why}", claim.run_id, claim.task_id));
                        }
                        drained = claims.len() < free;
                        for claim in claims {
                            report.attempts += 1;
                            match self.prepare(&claim, &mut plans, &mut budgets, budgeted, &llm_specialists).await {
                                Ok(plan) => queue.push_back((claim, plan, Instant::now())),
                                // Not executed (unreadable plan, budget reached): recorded as is.
                                Err(finish) => {
                                    pending.add(
                                        Attempted { claim, finish: Some(finish), notice: None, usage: None },
                                        progress,
                                    );
                                    results_since.get_or_insert_with(Instant::now);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        trouble(log, &mut troubled, &e);
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                            _ = stop.changed() => {}
                        }
                        continue;
                    }
                }
            }
            while running.len() < concurrency
                && deadline.is_none()
                && let Some((claim, plan, _)) = queue.pop_front()
            {
                progress.on_event(&crate::scheduler::ProgressEvent::Started {
                    task: claim.task_id.clone(),
                    specialist: claim.specialist.clone(),
                    attempt: claim.attempt,
                });
                let engine = engine.clone();
                running.spawn(async move { attempt(engine, plan, claim).await });
            }
            if running.is_empty() {
                if pending.is_empty() && drained {
                    let wait = if troubled { options.poll.min(Duration::from_secs(1)) } else { options.poll };
                    tokio::select! {
                        _ = signal.wait(wait) => {}
                        _ = stop.changed() => {}
                    }
                }
                continue;
            }
            let idle = deadline.is_none() && running.len() + queue.len() < concurrency && drained && !troubled;
            let held = results_since.map(|t| t + RESULT_DELAY);
            let mut finished = Vec::new();
            tokio::select! {
                joined = running.join_next() => finished.extend(joined),
                _ = signal.wait(options.poll), if idle => {}
                _ = stop.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = tokio::time::sleep_until(held.unwrap_or_else(Instant::now).into()), if held.is_some() => {}
            }
            // The rest of a burst: attempts that end within a millisecond of each other share
            // the next commit.
            loop {
                while let Some(joined) = running.try_join_next() {
                    finished.push(joined);
                }
                if finished.is_empty() || running.is_empty() {
                    break;
                }
                match tokio::time::timeout(Duration::from_millis(1), running.join_next()).await {
                    Ok(Some(joined)) => finished.push(joined),
                    _ => break,
                }
            }
            for joined in finished {
                // A panicked attempt is a bug in an executor; its lease expires and it is retried.
                let Ok(attempted) = joined else { continue };
                if let (Some(usage), Some(b)) = (&attempted.usage, budgets.get_mut(&attempted.claim.run_id)) {
                    b.spent.add(usage);
                }
                if attempted.finish.is_none() {
                    log.note(&format!(
                        "the lease on {}/{} (attempt {}) was lost while it ran: nothing recorded",
                        attempted.claim.run_id, attempted.claim.task_id, attempted.claim.attempt
                    ));
                }
                pending.add(attempted, progress);
                results_since.get_or_insert_with(Instant::now);
            }
        }
        if !running.is_empty() {
            log.note(&format!("{} attempt(s) did not finish within the grace period: killed", running.len()));
        }
        running.abort_all();
        while running.join_next().await.is_some() {}
        if !pending.is_empty() {
            let count = pending.results();
            match pending.flush(&self.store, &self.config, &engine.delivered).await {
                Ok(refused) => report.recorded += (count - refused.len()) as u64,
                Err(e) => log.note(&format!("cannot record the last results ({e}); their leases will expire")),
            }
        }
        match self.store.release_owner(&self.owner, now_ms()).await {
            Ok(released) => report.released = released.len(),
            Err(e) => log.note(&format!("cannot release the leases ({e}); they will expire")),
        }
        if let Err(e) = self.store.remove_worker(&self.owner).await {
            log.note(&format!("cannot remove the registration ({e}); it ages out"));
        }
        if report.ticks > 0 {
            report.tick_ms = tick_time.as_secs_f64() * 1000.0 / report.ticks as f64;
        }
        Ok(report)
    }

    /// The plan of a claim's run (read once per run), or what to record instead of executing.
    async fn prepare(
        &self,
        claim: &Claim,
        plans: &mut HashMap<String, Arc<RunPlan>>,
        budgets: &mut HashMap<String, RunBudget>,
        budgeted: bool,
        llm_specialists: &[String],
    ) -> Result<Arc<RunPlan>, Finish> {
        let plan = match plans.get(&claim.run_id) {
            Some(plan) => plan.clone(),
            None => {
                let record = self.store.run(&claim.run_id).await.map_err(|e| Finish::Fail {
                    error: format!("the worker cannot read run `{}`: {e}", claim.run_id),
                })?;
                let plan: Plan = serde_json::from_str(&record.plan_json)
                    .map_err(|e| Finish::Fail { error: format!("the run's stored plan is unreadable: {e}") })?;
                let plan = Arc::new(RunPlan::new(plan));
                if plans.len() >= 256 {
                    // A long-lived worker sees many runs; plans are cheap to read again.
                    plans.clear();
                    budgets.clear();
                }
                plans.insert(claim.run_id.clone(), plan.clone());
                plan
            }
        };
        if budgeted && llm_specialists.contains(&claim.specialist) {
            if !budgets.contains_key(&claim.run_id) {
                let spent = crate::metrics::run_spend(&self.store, &claim.run_id).await.unwrap_or_default();
                budgets.insert(claim.run_id.clone(), RunBudget { spent });
            }
            if let Some(b) = budgets.get(&claim.run_id)
                && self.over_budget(&b.spent)
            {
                return Err(Finish::Escalate {
                    error: format!(
                        "the run's LLM budget is reached ({} tokens, ${:.4} spent): no new LLM work is dispatched",
                        b.spent.tokens, b.spent.cost_usd
                    ),
                    level: 4,
                    category: FailureCategory::Timeline.to_string(),
                });
            }
        }
        Ok(plan)
    }
}

fn trouble(log: &dyn WorkerLog, troubled: &mut bool, e: &StoreError) {
    if !*troubled {
        log.note(&format!("the store is not answering ({e}); waiting for it, results are kept"));
    }
    *troubled = true;
}
