//! The durable record of runs: the [`Store`] trait and its two backends, SQLite
//! ([`SqliteStore`], one file, the default) and PostgreSQL ([`PgStore`], many workers on many
//! machines). [`open_store`] is the one place that decides which backend a `--db` names; it
//! returns an [`AnyStore`].
//!
//! A run is a validated plan being executed. The store holds runs, tasks (with their state,
//! attempts, escalation level and backoff), dependency edges, attempts, leases, gate results,
//! escalations, and an append-only event log. Every state change and the event that announces
//! it are written in one transaction, so the log and the state never disagree. Running tasks
//! hold a lease with a fencing token: a result is accepted only with the current token, and a
//! lease that expires returns its task to `ready` with the attempt counted.
//!
//! Both backends pass the same behaviour tests (`tests/suite/`), written against the trait.

mod any;
mod postgres;
mod sqlite;
mod types;
mod wakeup;

pub use any::{AnyStore, open_store};
pub use postgres::{PgStore, ScratchSchema};
pub use sqlite::SqliteStore;
pub use types::{
    AttemptRecord, Claim, Decision, EscalationRecord, Event, Finish, HandDone, LeaseRecord, NewRun, RunRecord,
    RunState, TaskRecord, TaskState, WORKER_OWNER_PREFIX, WorkerInfo, WorkerRecord,
};
pub use wakeup::ReadySignal;

use std::future::Future;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database (a file, or a PostgreSQL schema) is not a coordinator database (or is
    /// corrupt).
    #[error("{path} is not a coord database: {reason}")]
    NotOurs {
        /// The file.
        path: String,
        /// What was found instead.
        reason: String,
    },
    /// No run with this id.
    #[error("no run `{0}`")]
    UnknownRun(String),
    /// No task with this id in the run.
    #[error("no task `{task}` in run `{run}`")]
    UnknownTask {
        /// The run.
        run: String,
        /// The task.
        task: String,
    },
    /// No escalation with this id.
    #[error("no escalation {0}")]
    UnknownEscalation(i64),
    /// The escalation was already resolved.
    #[error("escalation {0} is already resolved")]
    AlreadyResolved(i64),
    /// The task is not in a state that allows the operation.
    #[error("task `{task}` is {state}; {what}")]
    WrongState {
        /// The task.
        task: String,
        /// Its state.
        state: String,
        /// What was asked.
        what: String,
    },
    /// A run with this id already exists.
    #[error("a run `{0}` already exists")]
    DuplicateRun(String),
    /// The caller's lease was lost (expired and taken over, or the run was cancelled): its result
    /// is refused so a stale worker cannot overwrite a newer attempt.
    #[error("the lease on task `{task}` of run `{run}` is no longer held (token {token})")]
    LeaseLost {
        /// The run.
        run: String,
        /// The task.
        task: String,
        /// The stale token.
        token: i64,
    },
    /// A PostgreSQL URL or its connection failed before the store could open.
    #[error("cannot open the PostgreSQL store {url}: {reason}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// Why.
        reason: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON document could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Transactions over runs, tasks, leases and events. Times are unix milliseconds supplied by the
/// caller, so tests and the scheduler control the clock.
pub trait Store: Send + Sync {
    /// Creates a run with its tasks: tasks without dependencies start `ready`, the rest `pending`.
    fn create_run(&self, run: &NewRun, now: i64) -> impl Future<Output = Result<()>> + Send;
    /// One run.
    fn run(&self, run_id: &str) -> impl Future<Output = Result<RunRecord>> + Send;
    /// All runs, newest first.
    fn runs(&self) -> impl Future<Output = Result<Vec<RunRecord>>> + Send;
    /// The tasks of a run in plan order.
    fn tasks(&self, run_id: &str) -> impl Future<Output = Result<Vec<TaskRecord>>> + Send;
    /// Claims up to `limit` ready tasks of the run whose backoff has passed, best rank first:
    /// each becomes `running` with a new attempt and a lease until `now + lease_ms`. With
    /// `specialists`, only tasks assigned to one of them are claimed (the others wait for people).
    fn claim(
        &self,
        run_id: &str,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<Claim>>> + Send;
    /// Marks a running task as `gating` (its result is being checked), fenced by the lease.
    fn start_gating(&self, claim: &Claim, now: i64) -> impl Future<Output = Result<()>> + Send;
    /// Stores the gate reports of an attempt `(gate, passed, report JSON)` with a `gate_result`
    /// event each, in one transaction.
    fn record_gates(
        &self,
        claim: &Claim,
        results: &[(String, bool, String)],
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Appends an event that announces no state change (LLM usage, notes), in its own
    /// transaction.
    fn record_event(
        &self,
        run_id: &str,
        task_id: Option<&str>,
        kind: &str,
        data: serde_json::Value,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Gate results of a task `(attempt, gate, passed, report JSON)`, oldest first.
    fn gate_results(
        &self,
        run_id: &str,
        task_id: &str,
    ) -> impl Future<Output = Result<Vec<(i64, String, bool, String)>>> + Send;
    /// Extends a held lease; [`StoreError::LeaseLost`] when it is no longer held.
    fn heartbeat(&self, claim: &Claim, lease_ms: i64, now: i64) -> impl Future<Output = Result<()>> + Send;
    /// Records the end of an attempt, fenced by the lease token.
    fn finish(&self, claim: &Claim, finish: &Finish, now: i64) -> impl Future<Output = Result<()>> + Send;
    /// Records the ends of many attempts in one transaction (group commit). Each result is
    /// fenced on its own; a refused one is reported in its slot and the rest still apply.
    fn finish_many(
        &self,
        results: &[(Claim, Finish)],
        now: i64,
    ) -> impl Future<Output = Result<Vec<Result<()>>>> + Send;
    /// Claims one named task that is ready (a person taking a manual task).
    fn claim_task(
        &self,
        run_id: &str,
        task_id: &str,
        owner: &str,
        lease_ms: i64,
        now: i64,
    ) -> impl Future<Output = Result<Claim>> + Send;
    /// The lease currently held on a task, as a claim its holder can finish with.
    fn current_claim(&self, run_id: &str, task_id: &str) -> impl Future<Output = Result<Option<Claim>>> + Send;
    /// Records tasks finished by hand with nothing to gate, each as one attempt that succeeded:
    /// a task already claimed by a person (or agent host) is finished on that claim; a ready one
    /// (or one whose retry backoff is over) is claimed for the item's owner and finished. A task
    /// a coordinator process executes ([`WORKER_OWNER_PREFIX`]), an unknown task, or one in
    /// another state is refused in its slot, and the rest still apply; a task named twice is
    /// done by the first. Dependents become ready and runs settle as with [`Store::finish`].
    /// The default does each item as `current_claim` or `claim_task`, then `finish`; a backend
    /// may do the whole batch in one transaction (SQLite does: the server's group commit of
    /// manual completions).
    fn complete_by_hand(
        &self,
        items: &[HandDone],
        lease_ms: i64,
        now: i64,
    ) -> impl Future<Output = Result<Vec<Result<Claim>>>> + Send {
        async move {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(complete_one_by_hand(self, item, lease_ms, now).await);
            }
            Ok(out)
        }
    }
    /// Returns the tasks leased by `owner` to `ready` (its process is gone); attempts count as
    /// interrupted. Returns the task ids.
    fn release_owner(&self, owner: &str, now: i64) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Returns the tasks of these claims to `ready`, each only while its lease is still held with
    /// the claim's token (a recorded result or a newer claim is left alone); their attempts count
    /// as interrupted, `why` says by what. A coordinator that stops (a signal) releases the
    /// attempts it interrupted this way. Returns `(run, task)` of each task released.
    fn release_claims(
        &self,
        claims: &[Claim],
        why: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Owners of current leases (to find coordinators that died).
    fn lease_owners(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Feedback lines for a task's next brief, oldest first, as `(source, text)`.
    fn feedback(&self, run_id: &str, task_id: &str) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// The attempts of a task.
    fn attempts(&self, run_id: &str, task_id: &str) -> impl Future<Output = Result<Vec<AttemptRecord>>> + Send;
    /// Specialists the task has been given to so far.
    fn tried(&self, run_id: &str, task_id: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Escalations, newest first; of one run when given, only open ones when asked.
    fn escalations(
        &self,
        run_id: Option<&str>,
        open_only: bool,
    ) -> impl Future<Output = Result<Vec<EscalationRecord>>> + Send;
    /// Applies a decision to an open escalation: the task is requeued (retry, reassign) with its
    /// dependents unblocked, skipped (done without output), or the run is aborted. `note`, what
    /// the person wrote with the decision, is kept on the escalation and in the event, and
    /// joins the next brief when the task runs again.
    fn resolve_escalation(
        &self,
        id: i64,
        decision: &Decision,
        note: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<EscalationRecord>> + Send;
    /// Returns every task whose lease expired before `now` to `ready` (its attempt is counted as
    /// interrupted). Returns `(run, task)` of each.
    fn expire_leases(&self, now: i64) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Cancels a run: every task not yet finished becomes `cancelled`, leases are dropped.
    fn cancel_run(&self, run_id: &str, now: i64) -> impl Future<Output = Result<usize>> + Send;
    /// Events of a run after sequence number `after`, oldest first. The events of one run are
    /// committed in sequence order, so a reader that follows with `after` never misses one.
    fn events(&self, run_id: &str, after: i64, limit: i64) -> impl Future<Output = Result<Vec<Event>>> + Send;
    /// Claims up to `limit` ready tasks of any running run whose backoff has passed, best rank
    /// first (a worker serving every run). Like [`Store::claim`] otherwise; concurrent callers
    /// never claim the same task (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    fn claim_any(
        &self,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<Claim>>> + Send;
    /// Registers a worker or renews its registration (its last beat is `now`). Registrations
    /// not renewed for a day are removed.
    fn worker_beat(&self, worker: &WorkerInfo, now: i64) -> impl Future<Output = Result<()>> + Send;
    /// Removes a worker's registration (it stopped cleanly).
    fn remove_worker(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// Registered workers, most recently seen first.
    fn workers(&self) -> impl Future<Output = Result<Vec<WorkerRecord>>> + Send;
    /// Every lease currently held, by owner then run and task.
    fn leases(&self) -> impl Future<Output = Result<Vec<LeaseRecord>>> + Send;
    /// A worker's tick in one transaction: records the ends of attempts (as
    /// [`Store::finish_many`], each fenced on its own) and claims up to `limit` ready tasks (of
    /// `run`, or of any running run), so one commit serves both.
    #[allow(clippy::too_many_arguments)]
    fn finish_and_claim(
        &self,
        results: &[(Claim, Finish)],
        run: Option<&str>,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> impl Future<Output = Result<(Vec<Result<()>>, Vec<Claim>)>> + Send;
    /// Writes the workspace record of a run (`task_id` `None`: its start commit and integration
    /// branch) or of a task (base, branch head, next start, merge), the runtime's JSON, with an
    /// event `(kind, data)` in the same transaction. With `fence`, the write is refused
    /// ([`StoreError::LeaseLost`]) unless that claim's lease is still held, so a coordinator that
    /// lost its lease cannot move the record of the task's new owner.
    #[allow(clippy::too_many_arguments)]
    fn put_workspace(
        &self,
        run_id: &str,
        task_id: Option<&str>,
        state_json: &str,
        event: Option<(&str, serde_json::Value)>,
        fence: Option<&Claim>,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The workspace record of a run (`task_id` `None`) or of a task.
    fn workspace(&self, run_id: &str, task_id: Option<&str>) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Every workspace record of a run as `(task id, JSON)`; the run's own has the task id `""`.
    fn workspaces(&self, run_id: &str) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// A signal that wakes a waiting worker when tasks may have become ready: `LISTEN/NOTIFY`
    /// on PostgreSQL, nothing (the caller polls) on SQLite.
    fn ready_signal(&self) -> impl Future<Output = Result<ReadySignal>> + Send;
}

/// One [`Store::complete_by_hand`] item, with the store's single-task operations.
async fn complete_one_by_hand<S: Store + ?Sized>(store: &S, item: &HandDone, lease_ms: i64, now: i64) -> Result<Claim> {
    let claim = match store.current_claim(&item.run_id, &item.task_id).await? {
        Some(claim) => {
            let owner = store
                .attempts(&item.run_id, &item.task_id)
                .await?
                .into_iter()
                .find(|a| a.attempt == claim.attempt)
                .map(|a| a.owner);
            if let Some(owner) = owner.filter(|o| o.starts_with(WORKER_OWNER_PREFIX)) {
                return Err(StoreError::WrongState {
                    task: item.task_id.clone(),
                    state: "running".into(),
                    what: format!("it is being executed by {owner}; only manual work can be completed by hand"),
                });
            }
            claim
        }
        None => store.claim_task(&item.run_id, &item.task_id, &item.owner, lease_ms, now).await?,
    };
    store.finish(&claim, &Finish::Done { detail: item.detail.clone() }, now).await?;
    Ok(claim)
}
