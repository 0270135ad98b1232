//! The PostgreSQL backend: the shared state and the queue of many workers on many machines.
//!
//! The store lives in the schema the connection's `search_path` names (`public` by default; a
//! URL selects another with `?options=-c%20search_path%3Dname`). Claims take ready tasks with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait for, nor take, each other's rows;
//! claims and successes are set-based (arrays bound as parameters, read with `unnest`), a fixed
//! number of statements per batch. Transactions that make tasks claimable `NOTIFY` the store's
//! channel, which idle workers `LISTEN` to. Durability is the server's: with the default
//! `synchronous_commit = on`, a committed transition survives a crash of the server.

mod batch;
mod claims;
mod escalations;
mod reads;
mod scratch;
mod transitions;
mod workers;
mod workspaces;
mod writes;

pub use scratch::ScratchSchema;

use crate::types::{
    AttemptRecord, Claim, Decision, EscalationRecord, Event, Finish, LeaseRecord, NewRun, RunRecord, TaskRecord,
    WorkerInfo, WorkerRecord,
};
use crate::{ReadySignal, Result, Store, StoreError};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, SqlSafeStr};
use std::time::Duration;
use writes::{Writes, is_retryable};

/// Runs one transaction (`$body` uses the `Writes` named `$w`), again when PostgreSQL aborted
/// it to break a deadlock.
macro_rules! retrying {
    ($self:ident, |$w:ident| $body:expr) => {{
        let mut tries = 0;
        loop {
            let mut $w = $self.begin().await?;
            let done = match $body.await {
                Ok(value) => $w.commit(&$self.channel).await.map(|()| value),
                Err(e) => {
                    $w.rollback().await;
                    Err(e)
                }
            };
            match done {
                Err(e) if is_retryable(&e) && tries < RETRIES => tries += 1,
                other => break other,
            }
        }
    }};
}

const MIGRATIONS: [(i64, &str, &str); 3] = [
    (1, "runs", include_str!("../../migrations/postgres/0001_runs.sql")),
    (2, "workspaces", include_str!("../../migrations/postgres/0002_workspaces.sql")),
    (3, "decision notes", include_str!("../../migrations/postgres/0003_decision_notes.sql")),
];

/// The first key of the advisory lock that serializes opening (checks and migrations) per
/// schema.
const MIGRATION_LOCK_CLASS: i32 = 0x434F_5245;

/// Refuses a schema of another application, then applies pending migrations.
async fn check_and_migrate(conn: &mut sqlx::PgConnection, schema: &str, shown: &str) -> Result<()> {
    let not_ours =
        |reason: &str| StoreError::NotOurs { path: format!("schema `{schema}` of {shown}"), reason: reason.into() };
    let (tables, ours): (i64, bool) = sqlx::query_as(
        "SELECT count(*), coalesce(bool_or(table_name = 'coord_meta'), false)
         FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut *conn)
    .await?;
    if tables > 0 && !ours {
        return Err(not_ours("it holds another application's tables"));
    }
    if ours {
        let app: Option<String> = sqlx::query_scalar("SELECT value FROM coord_meta WHERE key = 'application'")
            .fetch_optional(&mut *conn)
            .await?;
        if app.as_deref() != Some("coord") {
            return Err(not_ours("its coord_meta table does not name coord"));
        }
    }
    let migrations = MIGRATIONS
        .iter()
        .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, sql.into_sql_str(), false))
        .collect();
    Migrator::with_migrations(migrations).run(&mut *conn).await?;
    Ok(())
}

/// How often a transaction PostgreSQL aborted to break a deadlock is tried again.
const RETRIES: usize = 8;

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The notification channel of this store's schema.
    channel: String,
    /// The URL without its password, for messages.
    shown: String,
}

/// The URL with its password replaced, so it can appear in messages and logs.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// FNV-1a, for a short stable channel name per schema.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

impl PgStore {
    /// Connects to the database at `url` and applies pending migrations in its schema.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let shown = redact_url(url);
        let options: PgConnectOptions =
            url.parse().map_err(|e: sqlx::Error| StoreError::Connect { url: shown.clone(), reason: e.to_string() })?;
        PgStore::connect_with(options, shown).await
    }

    /// Connects with prepared options (`shown` names the database in messages).
    pub async fn connect_with(options: PgConnectOptions, shown: String) -> Result<PgStore> {
        let connect_error = |e: sqlx::Error| StoreError::Connect { url: shown.clone(), reason: e.to_string() };
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            // A ping before every use is a round trip per statement; only connections idle for
            // a while are checked (a broken busy one fails its statement, which callers retry).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > Duration::from_secs(2) {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            // A transaction left idle (its future dropped mid-way) would keep its row locks until
            // the connection is reused; the server ends such sessions after a minute.
            .connect_with(options.application_name("coord").options([("idle_in_transaction_session_timeout", "60s")]))
            .await
            .map_err(connect_error)?;
        let schema: Option<String> =
            sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await.map_err(connect_error)?;
        let Some(schema) = schema else {
            return Err(StoreError::Connect {
                url: shown,
                reason: "its search_path names no existing schema (create it first: CREATE SCHEMA name)".into(),
            });
        };
        // Processes starting together (several workers, a coordinator) check and migrate one
        // at a time: concurrent `CREATE TABLE IF NOT EXISTS` races in PostgreSQL, and a
        // half-made schema must not look like a foreign one.
        let mut conn = pool.acquire().await.map_err(connect_error)?;
        sqlx::query("SELECT pg_advisory_lock($1, hashtext(current_schema()))")
            .bind(MIGRATION_LOCK_CLASS)
            .execute(&mut *conn)
            .await
            .map_err(connect_error)?;
        let checked = check_and_migrate(&mut conn, &schema, &shown).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, hashtext(current_schema()))")
            .bind(MIGRATION_LOCK_CLASS)
            .execute(&mut *conn)
            .await;
        checked?;
        unlocked?;
        drop(conn);
        let channel = format!("coord_ready_{:016x}", fnv(&schema));
        Ok(PgStore { pool, channel, shown })
    }

    /// The database, without its password, as messages name it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<Writes> {
        Ok(Writes::new(self.pool.begin().await?))
    }
}

impl Store for PgStore {
    async fn create_run(&self, run: &NewRun, now: i64) -> Result<()> {
        retrying!(self, |w| batch::create_run(&mut w, run, now))
    }

    async fn run(&self, run_id: &str) -> Result<RunRecord> {
        reads::run(&self.pool, run_id).await
    }

    async fn runs(&self) -> Result<Vec<RunRecord>> {
        reads::runs(&self.pool).await
    }

    async fn tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>> {
        reads::tasks(&self.pool, run_id).await
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
        self.claim_in(Some(run_id), owner, limit, lease_ms, now, specialists).await
    }

    async fn start_gating(&self, claim: &Claim, now: i64) -> Result<()> {
        retrying!(self, |w| transitions::start_gating(&mut w, claim, now))
    }

    async fn record_gates(&self, claim: &Claim, results: &[(String, bool, String)], now: i64) -> Result<()> {
        retrying!(self, |w| transitions::record_gates(&mut w, claim, results, now))
    }

    async fn record_event(
        &self,
        run_id: &str,
        task_id: Option<&str>,
        kind: &str,
        data: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        retrying!(self, |w| async {
            w.event(run_id, task_id, kind, data.clone(), now);
            Ok(())
        })
    }

    async fn gate_results(&self, run_id: &str, task_id: &str) -> Result<Vec<(i64, String, bool, String)>> {
        reads::gate_results(&self.pool, run_id, task_id).await
    }

    async fn heartbeat(&self, claim: &Claim, lease_ms: i64, now: i64) -> Result<()> {
        let updated =
            sqlx::query("UPDATE leases SET expires_at = $1 WHERE run_id = $2 AND task_id = $3 AND token = $4")
                .bind(now + lease_ms)
                .bind(&claim.run_id)
                .bind(&claim.task_id)
                .bind(claim.token)
                .execute(&self.pool)
                .await?
                .rows_affected();
        if updated == 0 {
            return Err(StoreError::LeaseLost {
                run: claim.run_id.clone(),
                task: claim.task_id.clone(),
                token: claim.token,
            });
        }
        Ok(())
    }

    async fn finish(&self, claim: &Claim, finish: &Finish, now: i64) -> Result<()> {
        retrying!(self, |w| async {
            transitions::apply_finish(&mut w, claim, finish, now).await?;
            w.settle(&claim.run_id, now);
            Ok(())
        })
    }

    async fn finish_many(&self, results: &[(Claim, Finish)], now: i64) -> Result<Vec<Result<()>>> {
        retrying!(self, |w| finish_many_in(&mut w, results, now))
    }

    async fn claim_task(&self, run_id: &str, task_id: &str, owner: &str, lease_ms: i64, now: i64) -> Result<Claim> {
        retrying!(self, |w| escalations::claim_task(&mut w, run_id, task_id, owner, lease_ms, now))
    }

    async fn current_claim(&self, run_id: &str, task_id: &str) -> Result<Option<Claim>> {
        reads::current_claim(&self.pool, run_id, task_id).await
    }

    async fn release_owner(&self, owner: &str, now: i64) -> Result<Vec<(String, String)>> {
        retrying!(self, |w| escalations::release_owner(&mut w, owner, now))
    }

    async fn release_claims(&self, claims: &[Claim], why: &str, now: i64) -> Result<Vec<(String, String)>> {
        retrying!(self, |w| escalations::release_claims(&mut w, claims, why, now))
    }

    async fn lease_owners(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT owner FROM leases ORDER BY owner").fetch_all(&self.pool).await?)
    }

    async fn feedback(&self, run_id: &str, task_id: &str) -> Result<Vec<(String, String)>> {
        reads::feedback(&self.pool, run_id, task_id).await
    }

    async fn attempts(&self, run_id: &str, task_id: &str) -> Result<Vec<AttemptRecord>> {
        reads::attempts(&self.pool, run_id, task_id).await
    }

    async fn tried(&self, run_id: &str, task_id: &str) -> Result<Vec<String>> {
        reads::tried(&self.pool, run_id, task_id).await
    }

    async fn escalations(&self, run_id: Option<&str>, open_only: bool) -> Result<Vec<EscalationRecord>> {
        reads::escalations(&self.pool, run_id, open_only).await
    }

    async fn resolve_escalation(
        &self,
        id: i64,
        decision: &Decision,
        note: Option<&str>,
        now: i64,
    ) -> Result<EscalationRecord> {
        retrying!(self, |w| escalations::resolve(&mut w, id, decision, note, now))
    }

    async fn expire_leases(&self, now: i64) -> Result<Vec<(String, String)>> {
        retrying!(self, |w| escalations::expire(&mut w, now))
    }

    async fn cancel_run(&self, run_id: &str, now: i64) -> Result<usize> {
        retrying!(self, |w| escalations::cancel_run(&mut w, run_id, now))
    }

    async fn events(&self, run_id: &str, after: i64, limit: i64) -> Result<Vec<Event>> {
        reads::events(&self.pool, run_id, after, limit).await
    }

    async fn claim_any(
        &self,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> Result<Vec<Claim>> {
        self.claim_in(None, owner, limit, lease_ms, now, specialists).await
    }

    async fn worker_beat(&self, worker: &WorkerInfo, now: i64) -> Result<()> {
        workers::beat(&self.pool, worker, now).await
    }

    async fn remove_worker(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM workers WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<WorkerRecord>> {
        workers::list(&self.pool).await
    }

    async fn leases(&self) -> Result<Vec<LeaseRecord>> {
        workers::leases(&self.pool).await
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
        if results.is_empty() {
            return Ok((Vec::new(), self.claim_in(run, owner, limit, lease_ms, now, specialists).await?));
        }
        let ask = claims::Ask { run, owner, limit, lease_ms, now, only: specialists };
        retrying!(self, |w| async {
            let outcomes = finish_many_in(&mut w, results, now).await?;
            let claims = if limit > 0 { claims::claim_in(&mut w, &ask).await? } else { Vec::new() };
            Ok((outcomes, claims))
        })
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
        retrying!(self, |w| async {
            workspaces::put(&mut w, run_id, task_id, state_json, event.clone(), fence, now).await
        })
    }

    async fn workspace(&self, run_id: &str, task_id: Option<&str>) -> Result<Option<String>> {
        workspaces::get(&self.pool, run_id, task_id).await
    }

    async fn workspaces(&self, run_id: &str) -> Result<Vec<(String, String)>> {
        workspaces::all(&self.pool, run_id).await
    }

    async fn ready_signal(&self) -> Result<ReadySignal> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        // Reconnect at once when the connection drops, so the next notification is not missed
        // for longer than the outage.
        listener.eager_reconnect(true);
        listener.listen(&self.channel).await?;
        Ok(ReadySignal::listening(listener))
    }
}

impl PgStore {
    async fn claim_in(
        &self,
        run: Option<&str>,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> Result<Vec<Claim>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ask = claims::Ask { run, owner, limit, lease_ms, now, only: specialists };
        let mut tries = 0;
        loop {
            let mut conn = self.pool.acquire().await?;
            match claims::claim_alone(&mut conn, &ask).await {
                Err(e) if is_retryable(&e) && tries < RETRIES => tries += 1,
                other => return other,
            }
        }
    }
}

/// Records the ends of many attempts in one transaction: the successes set-based, the rest
/// one by one; a refused one (lease lost) is reported in its slot.
async fn finish_many_in(w: &mut Writes, results: &[(Claim, Finish)], now: i64) -> Result<Vec<Result<()>>> {
    let mut out: Vec<Option<Result<()>>> = (0..results.len()).map(|_| None).collect();
    // Successes, the common case, go through the set-based path together.
    let mut done_at = Vec::new();
    let mut done = Vec::new();
    for (i, (claim, finish)) in results.iter().enumerate() {
        if let Finish::Done { detail } = finish {
            done_at.push(i);
            done.push((claim, detail.as_str()));
        }
    }
    if !done.is_empty() {
        for (i, r) in done_at.into_iter().zip(batch::finish_done(w, &done, now).await?) {
            out[i] = Some(r);
        }
    }
    for (i, (claim, finish)) in results.iter().enumerate() {
        if out[i].is_none() {
            // A refused result (lease lost) changes nothing and does not abort the batch.
            // Any other error aborted the transaction: the whole batch is refused.
            match transitions::apply_finish(w, claim, finish, now).await {
                Ok(()) => out[i] = Some(Ok(())),
                Err(e @ StoreError::LeaseLost { .. }) => out[i] = Some(Err(e)),
                Err(e) => return Err(e),
            }
        }
    }
    for (claim, _) in results {
        w.settle(&claim.run_id, now);
    }
    Ok(out.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
}
