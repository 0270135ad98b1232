//! One place decides which backend a store spec names: [`open_store`] reads a path as an SQLite
//! file and a `postgres://` (or `postgresql://`) URL as PostgreSQL, and returns an [`AnyStore`],
//! an enum over the two that implements [`Store`] by delegation (the trait's `async fn`s make
//! it unusable as a trait object).

use crate::types::{
    AttemptRecord, Claim, Decision, EscalationRecord, Event, Finish, HandDone, LeaseRecord, NewRun, RunRecord,
    TaskRecord, WorkerInfo, WorkerRecord,
};
use crate::{PgStore, ReadySignal, Result, SqliteStore, Store};
use std::path::Path;

/// A store of either backend.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// One SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database (or one schema of it).
    Postgres(PgStore),
}

impl AnyStore {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

/// Whether a store spec is a PostgreSQL URL rather than a file path.
pub fn is_postgres_url(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// Opens the store a spec names: a `postgres://` URL (a `search_path` in its `options`
/// parameter selects a schema) or the path of an SQLite file. Migrations are applied either way.
pub async fn open_store(spec: &str) -> Result<AnyStore> {
    if is_postgres_url(spec) {
        Ok(AnyStore::Postgres(PgStore::connect(spec).await?))
    } else {
        Ok(AnyStore::Sqlite(SqliteStore::open(Path::new(spec)).await?))
    }
}

macro_rules! delegate {
    ($self:ident, $method:ident($($arg:expr),*)) => {
        match $self {
            AnyStore::Sqlite(s) => s.$method($($arg),*).await,
            AnyStore::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    async fn create_run(&self, run: &NewRun, now: i64) -> Result<()> {
        delegate!(self, create_run(run, now))
    }

    async fn run(&self, run_id: &str) -> Result<RunRecord> {
        delegate!(self, run(run_id))
    }

    async fn runs(&self) -> Result<Vec<RunRecord>> {
        delegate!(self, runs())
    }

    async fn tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>> {
        delegate!(self, tasks(run_id))
    }

    async fn claim(
        &self,
        run_id: &str,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> Result<Vec<Claim>> {
        delegate!(self, claim(run_id, owner, limit, lease_ms, now, specialists))
    }

    async fn start_gating(&self, claim: &Claim, now: i64) -> Result<()> {
        delegate!(self, start_gating(claim, now))
    }

    async fn record_gates(&self, claim: &Claim, results: &[(String, bool, String)], now: i64) -> Result<()> {
        delegate!(self, record_gates(claim, results, now))
    }

    async fn record_event(
        &self,
        run_id: &str,
        task_id: Option<&str>,
        kind: &str,
        data: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        delegate!(self, record_event(run_id, task_id, kind, data, now))
    }

    async fn gate_results(&self, run_id: &str, task_id: &str) -> Result<Vec<(i64, String, bool, String)>> {
        delegate!(self, gate_results(run_id, task_id))
    }

    async fn heartbeat(&self, claim: &Claim, lease_ms: i64, now: i64) -> Result<()> {
        delegate!(self, heartbeat(claim, lease_ms, now))
    }

    async fn finish(&self, claim: &Claim, finish: &Finish, now: i64) -> Result<()> {
        delegate!(self, finish(claim, finish, now))
    }

    async fn finish_many(&self, results: &[(Claim, Finish)], now: i64) -> Result<Vec<Result<()>>> {
        delegate!(self, finish_many(results, now))
    }

    async fn complete_by_hand(&self, items: &[HandDone], lease_ms: i64, now: i64) -> Result<Vec<Result<Claim>>> {
        delegate!(self, complete_by_hand(items, lease_ms, now))
    }

    async fn claim_task(&self, run_id: &str, task_id: &str, owner: &str, lease_ms: i64, now: i64) -> Result<Claim> {
        delegate!(self, claim_task(run_id, task_id, owner, lease_ms, now))
    }

    async fn current_claim(&self, run_id: &str, task_id: &str) -> Result<Option<Claim>> {
        delegate!(self, current_claim(run_id, task_id))
    }

    async fn release_owner(&self, owner: &str, now: i64) -> Result<Vec<(String, String)>> {
        delegate!(self, release_owner(owner, now))
    }

    async fn release_claims(&self, claims: &[Claim], why: &str, now: i64) -> Result<Vec<(String, String)>> {
        delegate!(self, release_claims(claims, why, now))
    }

    async fn lease_owners(&self) -> Result<Vec<String>> {
        delegate!(self, lease_owners())
    }

    async fn feedback(&self, run_id: &str, task_id: &str) -> Result<Vec<(String, String)>> {
        delegate!(self, feedback(run_id, task_id))
    }

    async fn attempts(&self, run_id: &str, task_id: &str) -> Result<Vec<AttemptRecord>> {
        delegate!(self, attempts(run_id, task_id))
    }

    async fn tried(&self, run_id: &str, task_id: &str) -> Result<Vec<String>> {
        delegate!(self, tried(run_id, task_id))
    }

    async fn escalations(&self, run_id: Option<&str>, open_only: bool) -> Result<Vec<EscalationRecord>> {
        delegate!(self, escalations(run_id, open_only))
    }

    async fn resolve_escalation(
        &self,
        id: i64,
        decision: &Decision,
        note: Option<&str>,
        now: i64,
    ) -> Result<EscalationRecord> {
        delegate!(self, resolve_escalation(id, decision, note, now))
    }

    async fn expire_leases(&self, now: i64) -> Result<Vec<(String, String)>> {
        delegate!(self, expire_leases(now))
    }

    async fn cancel_run(&self, run_id: &str, now: i64) -> Result<usize> {
        delegate!(self, cancel_run(run_id, now))
    }

    async fn events(&self, run_id: &str, after: i64, limit: i64) -> Result<Vec<Event>> {
        delegate!(self, events(run_id, after, limit))
    }

    async fn claim_any(
        &self,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> Result<Vec<Claim>> {
        delegate!(self, claim_any(owner, limit, lease_ms, now, specialists))
    }

    async fn worker_beat(&self, worker: &WorkerInfo, now: i64) -> Result<()> {
        delegate!(self, worker_beat(worker, now))
    }

    async fn remove_worker(&self, id: &str) -> Result<()> {
        delegate!(self, remove_worker(id))
    }

    async fn workers(&self) -> Result<Vec<WorkerRecord>> {
        delegate!(self, workers())
    }

    async fn leases(&self) -> Result<Vec<LeaseRecord>> {
        delegate!(self, leases())
    }

    async fn finish_and_claim(
        &self,
        results: &[(Claim, Finish)],
        run: Option<&str>,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> Result<(Vec<Result<()>>, Vec<Claim>)> {
        delegate!(self, finish_and_claim(results, run, owner, limit, lease_ms, now, specialists))
    }

    async fn ready_signal(&self) -> Result<ReadySignal> {
        delegate!(self, ready_signal())
    }

    async fn put_workspace(
        &self,
        run_id: &str,
        task_id: Option<&str>,
        state_json: &str,
        event: Option<(&str, serde_json::Value)>,
        fence: Option<&Claim>,
        now: i64,
    ) -> Result<()> {
        delegate!(self, put_workspace(run_id, task_id, state_json, event, fence, now))
    }

    async fn workspace(&self, run_id: &str, task_id: Option<&str>) -> Result<Option<String>> {
        delegate!(self, workspace(run_id, task_id))
    }

    async fn workspaces(&self, run_id: &str) -> Result<Vec<(String, String)>> {
        delegate!(self, workspaces(run_id))
    }
}
