//! The SQLite backend: one file (WAL mode), embedded migrations, `BEGIN IMMEDIATE` transactions
//! so two coordinators on one file never claim the same task.
//!
//! Durability: `synchronous = NORMAL` in WAL mode: a committed transition survives a crash or
//! SIGKILL of the process; the last transactions before a power loss may be lost.

mod batch;
mod by_hand;
mod escalations;
mod transitions;
mod workers;
mod workspaces;

use crate::types::{Claim, Event, Finish, LeaseRecord, NewRun, RunRecord, TaskRecord, WorkerInfo, WorkerRecord};
use crate::{ReadySignal, Result, Store, StoreError};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlSafeStr, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;
use transitions::event;

/// `PRAGMA application_id` of coord databases ("CORD"): tells our files from foreign ones.
const APPLICATION_ID: i64 = 0x434F_5244;

const MIGRATIONS: [(i64, &str, &str); 5] = [
    (1, "runs", include_str!("../../migrations/sqlite/0001_runs.sql")),
    (2, "feedback", include_str!("../../migrations/sqlite/0002_feedback.sql")),
    (3, "workers", include_str!("../../migrations/sqlite/0003_workers.sql")),
    (4, "workspaces", include_str!("../../migrations/sqlite/0004_workspaces.sql")),
    (5, "decision notes", include_str!("../../migrations/sqlite/0005_decision_notes.sql")),
];

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn not_ours(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::NotOurs { path: path.display().to_string(), reason: reason.into() }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// A file that is not SQLite, or an SQLite database of another application, is refused.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.is_dir() {
                return Err(not_ours(path, "it is a folder"));
            }
            if meta.len() > 0 {
                let mut header = [0u8; 16];
                let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut header));
                if !matches!(read, Ok(16)) || &header != b"SQLite format 3\0" {
                    return Err(not_ours(path, "it is not an SQLite database file"));
                }
            }
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| not_ours(path, format!("cannot create its folder: {e}")))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Switching a new file to WAL takes an exclusive lock, and SQLite answers a second
        // process opening the file at that moment with SQLITE_BUSY without calling the busy
        // handler: the open is tried again for as long as the busy timeout.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let pool = loop {
            match SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(not_ours(path, format!("cannot open it: {e}"))),
            }
        };
        // Whose file it is, read and claimed in one write transaction: a process opening a new
        // file at the same moment (a worker and `coord run`) waits, then sees coord's id with
        // the tables; read apart, it could see the other's first tables before its id.
        let claim = async {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            let app_id: i64 = sqlx::query_scalar("PRAGMA application_id").fetch_one(&mut *tx).await?;
            let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
                .fetch_one(&mut *tx)
                .await?;
            if app_id != APPLICATION_ID && tables == 0 {
                sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA application_id = {APPLICATION_ID}")))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(app_id == APPLICATION_ID || tables == 0)
        };
        if !claim.await.map_err(|e| not_ours(path, format!("cannot read it: {e}")))? {
            return Err(not_ours(path, "it holds another application's tables"));
        }
        let migrations = MIGRATIONS
            .iter()
            .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, sql.into_sql_str(), false))
            .collect();
        let migrator = Migrator::with_migrations(migrations);
        // Two processes opening a new file together (a worker and `coord run`) both see a
        // migration as pending and one fails on the other's table; each migration is its own
        // transaction, so trying again finds it applied.
        let mut tries = 0;
        loop {
            match migrator.run(&pool).await {
                Ok(()) => break,
                Err(_) if tries < 10 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(SqliteStore { pool })
    }

    pub(super) async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn run_record(row: &sqlx::sqlite::SqliteRow) -> Result<RunRecord> {
    let state: String = row.try_get("state")?;
    Ok(RunRecord {
        id: row.try_get("id")?,
        objective: row.try_get("objective")?,
        state: state.parse().map_err(StoreError::Corrupt)?,
        plan_json: row.try_get("plan_json")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store for SqliteStore {
    async fn create_run(&self, run: &NewRun, now: i64) -> Result<()> {
        let mut tx = self.write().await?;
        let exists: i64 =
            sqlx::query_scalar("SELECT count(*) FROM runs WHERE id = ?").bind(&run.id).fetch_one(&mut *tx).await?;
        if exists > 0 {
            return Err(StoreError::DuplicateRun(run.id.clone()));
        }
        sqlx::query("INSERT INTO runs (id, objective, plan_json, state, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)")
            .bind(&run.id)
            .bind(&run.objective)
            .bind(&run.plan_json)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        event(&mut tx, &run.id, None, "run_created", serde_json::json!({ "tasks": run.tasks.len() }), now).await?;
        // One JSON parameter per table, read with json_each: three statements for any size.
        let tasks: Vec<serde_json::Value> = run
            .tasks
            .iter()
            .enumerate()
            .map(|(position, (task, specialist, deps, rank))| {
                // `deps` of a NewRun built from a plan is deduplicated; count distinct ones anyway.
                let distinct: std::collections::BTreeSet<&String> = deps.iter().collect();
                serde_json::json!({ "t": task, "s": specialist, "p": position, "k": rank, "n": distinct.len() })
            })
            .collect();
        let deps: Vec<serde_json::Value> = run
            .tasks
            .iter()
            .flat_map(|(task, _, deps, _)| deps.iter().map(move |d| serde_json::json!({ "t": task, "d": d })))
            .collect();
        sqlx::query(
            "INSERT INTO tasks (run_id, task_id, position, specialist, state, rank, remaining_deps, updated_at)
             SELECT ?1, j.value ->> 't', j.value ->> 'p', j.value ->> 's',
                    CASE WHEN j.value ->> 'n' = 0 THEN 'ready' ELSE 'pending' END, j.value ->> 'k', j.value ->> 'n', ?2
             FROM json_each(?3) j",
        )
        .bind(&run.id)
        .bind(now)
        .bind(serde_json::Value::from(tasks).to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO task_deps (run_id, task_id, dep_id) SELECT ?1, j.value ->> 't', j.value ->> 'd' FROM json_each(?2) j",
        )
        .bind(&run.id)
        .bind(serde_json::Value::from(deps).to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO events (run_id, task_id, at, kind, data)
             SELECT run_id, task_id, ?2, 'task_ready', '{}' FROM tasks WHERE run_id = ?1 AND state = 'ready' ORDER BY position",
        )
        .bind(&run.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn run(&self, run_id: &str) -> Result<RunRecord> {
        let row = sqlx::query("SELECT * FROM runs WHERE id = ?")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::UnknownRun(run_id.to_string()))?;
        run_record(&row)
    }

    async fn runs(&self) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query("SELECT * FROM runs ORDER BY created_at DESC, id").fetch_all(&self.pool).await?;
        rows.iter().map(run_record).collect()
    }

    async fn tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>> {
        self.run(run_id).await?;
        let rows = sqlx::query(
            "SELECT task_id, specialist, state, attempts, escalation_level, failures_at_level, remaining_deps, not_before
             FROM tasks WHERE run_id = ? ORDER BY position",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok(TaskRecord {
                    task_id: r.try_get("task_id")?,
                    specialist: r.try_get("specialist")?,
                    state: state.parse().map_err(StoreError::Corrupt)?,
                    attempts: r.try_get("attempts")?,
                    escalation_level: r.try_get("escalation_level")?,
                    failures_at_level: r.try_get("failures_at_level")?,
                    remaining_deps: r.try_get("remaining_deps")?,
                    not_before: r.try_get("not_before")?,
                })
            })
            .collect()
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
        let only = specialists.map(|s| serde_json::Value::from(s.to_vec()).to_string());
        let mut tx = self.write().await?;
        let claims = batch::claim(&mut tx, Some(run_id), owner, limit, lease_ms, now, only).await?;
        tx.commit().await?;
        Ok(claims)
    }

    async fn heartbeat(&self, claim: &Claim, lease_ms: i64, now: i64) -> Result<()> {
        let updated = sqlx::query("UPDATE leases SET expires_at = ? WHERE run_id = ? AND task_id = ? AND token = ?")
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
        let mut tx = self.write().await?;
        transitions::apply_finish(&mut tx, claim, finish, now).await?;
        transitions::settle_run(&mut tx, &claim.run_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_many(&self, results: &[(Claim, Finish)], now: i64) -> Result<Vec<Result<()>>> {
        let mut tx = self.write().await?;
        let out = finish_many_in(&mut tx, results, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn expire_leases(&self, now: i64) -> Result<Vec<(String, String)>> {
        let mut tx = self.write().await?;
        let rows = sqlx::query("DELETE FROM leases WHERE expires_at < ? RETURNING run_id, task_id, token")
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        let out = escalations::interrupt(&mut tx, rows, "lease expired", now).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn start_gating(&self, claim: &Claim, now: i64) -> Result<()> {
        let mut tx = self.write().await?;
        let held: i64 =
            sqlx::query_scalar("SELECT count(*) FROM leases WHERE run_id = ? AND task_id = ? AND token = ?")
                .bind(&claim.run_id)
                .bind(&claim.task_id)
                .bind(claim.token)
                .fetch_one(&mut *tx)
                .await?;
        if held == 0 {
            return Err(StoreError::LeaseLost {
                run: claim.run_id.clone(),
                task: claim.task_id.clone(),
                token: claim.token,
            });
        }
        sqlx::query(
            "UPDATE tasks SET state = 'gating', updated_at = ? WHERE run_id = ? AND task_id = ? AND state = 'running'",
        )
        .bind(now)
        .bind(&claim.run_id)
        .bind(&claim.task_id)
        .execute(&mut *tx)
        .await?;
        event(
            &mut tx,
            &claim.run_id,
            Some(&claim.task_id),
            "task_gating",
            serde_json::json!({ "attempt": claim.attempt }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_gates(&self, claim: &Claim, results: &[(String, bool, String)], now: i64) -> Result<()> {
        let mut tx = self.write().await?;
        for (gate, passed, report) in results {
            sqlx::query(
                "INSERT OR REPLACE INTO gate_results (run_id, task_id, attempt, gate, passed, report_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&claim.run_id)
            .bind(&claim.task_id)
            .bind(claim.attempt)
            .bind(gate)
            .bind(*passed)
            .bind(report)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            event(
                &mut tx,
                &claim.run_id,
                Some(&claim.task_id),
                "gate_result",
                serde_json::json!({ "attempt": claim.attempt, "gate": gate, "passed": passed }),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn record_event(
        &self,
        run_id: &str,
        task_id: Option<&str>,
        kind: &str,
        data: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        event(&mut tx, run_id, task_id, kind, data, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn gate_results(&self, run_id: &str, task_id: &str) -> Result<Vec<(i64, String, bool, String)>> {
        let rows = sqlx::query(
            "SELECT attempt, gate, passed, report_json FROM gate_results WHERE run_id = ? AND task_id = ? ORDER BY attempt, gate",
        )
        .bind(run_id)
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("attempt")?,
                    r.try_get("gate")?,
                    r.try_get::<bool, _>("passed")?,
                    r.try_get("report_json")?,
                ))
            })
            .collect()
    }

    async fn claim_task(&self, run_id: &str, task_id: &str, owner: &str, lease_ms: i64, now: i64) -> Result<Claim> {
        self.claim_task_impl(run_id, task_id, owner, lease_ms, now).await
    }

    async fn complete_by_hand(
        &self,
        items: &[crate::HandDone],
        _lease_ms: i64,
        now: i64,
    ) -> Result<Vec<Result<Claim>>> {
        // Claims made here end in the same transaction, so they need no lease.
        let mut tx = self.write().await?;
        let out = by_hand::complete(&mut tx, items, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn current_claim(&self, run_id: &str, task_id: &str) -> Result<Option<Claim>> {
        self.current_claim_impl(run_id, task_id).await
    }

    async fn release_owner(&self, owner: &str, now: i64) -> Result<Vec<(String, String)>> {
        self.release_owner_impl(owner, now).await
    }

    async fn release_claims(&self, claims: &[Claim], why: &str, now: i64) -> Result<Vec<(String, String)>> {
        self.release_claims_impl(claims, why, now).await
    }

    async fn lease_owners(&self) -> Result<Vec<String>> {
        self.lease_owners_impl().await
    }

    async fn feedback(&self, run_id: &str, task_id: &str) -> Result<Vec<(String, String)>> {
        self.feedback_impl(run_id, task_id).await
    }

    async fn attempts(&self, run_id: &str, task_id: &str) -> Result<Vec<crate::AttemptRecord>> {
        self.attempts_impl(run_id, task_id).await
    }

    async fn tried(&self, run_id: &str, task_id: &str) -> Result<Vec<String>> {
        self.tried_impl(run_id, task_id).await
    }

    async fn escalations(&self, run_id: Option<&str>, open_only: bool) -> Result<Vec<crate::EscalationRecord>> {
        self.escalations_impl(run_id, open_only).await
    }

    async fn resolve_escalation(
        &self,
        id: i64,
        decision: &crate::Decision,
        note: Option<&str>,
        now: i64,
    ) -> Result<crate::EscalationRecord> {
        self.resolve_escalation_impl(id, decision, note, now).await
    }

    async fn cancel_run(&self, run_id: &str, now: i64) -> Result<usize> {
        let mut tx = self.write().await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM runs WHERE id = ?").bind(run_id).fetch_optional(&mut *tx).await?;
        if state.is_none() {
            return Err(StoreError::UnknownRun(run_id.to_string()));
        }
        let cancelled = sqlx::query(
            "UPDATE tasks SET state = 'cancelled', updated_at = ? WHERE run_id = ? AND state NOT IN ('done', 'failed', 'cancelled')",
        )
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM leases WHERE run_id = ?").bind(run_id).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE attempts SET finished_at = ?, outcome = 'cancelled' WHERE run_id = ? AND finished_at IS NULL",
        )
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE runs SET state = 'cancelled', updated_at = ? WHERE id = ? AND state = 'running'")
            .bind(now)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        event(&mut tx, run_id, None, "run_cancelled", serde_json::json!({ "tasks": cancelled }), now).await?;
        tx.commit().await?;
        Ok(cancelled as usize)
    }

    async fn events(&self, run_id: &str, after: i64, limit: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, run_id, task_id, at, kind, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data")?;
                Ok(Event {
                    seq: r.try_get("seq")?,
                    run_id: r.try_get("run_id")?,
                    task_id: r.try_get("task_id")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn claim_any(
        &self,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: i64,
        specialists: Option<&[String]>,
    ) -> Result<Vec<Claim>> {
        let only = specialists.map(|s| serde_json::Value::from(s.to_vec()).to_string());
        let mut tx = self.write().await?;
        let claims = batch::claim(&mut tx, None, owner, limit, lease_ms, now, only).await?;
        tx.commit().await?;
        Ok(claims)
    }

    async fn worker_beat(&self, worker: &WorkerInfo, now: i64) -> Result<()> {
        self.worker_beat_impl(worker, now).await
    }

    async fn remove_worker(&self, id: &str) -> Result<()> {
        self.remove_worker_impl(id).await
    }

    async fn workers(&self) -> Result<Vec<WorkerRecord>> {
        self.workers_impl().await
    }

    async fn leases(&self) -> Result<Vec<LeaseRecord>> {
        self.leases_impl().await
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
        let only = specialists.map(|s| serde_json::Value::from(s.to_vec()).to_string());
        let mut tx = self.write().await?;
        let outcomes = finish_many_in(&mut tx, results, now).await?;
        let claims =
            if limit > 0 { batch::claim(&mut tx, run, owner, limit, lease_ms, now, only).await? } else { Vec::new() };
        tx.commit().await?;
        Ok((outcomes, claims))
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
        self.put_workspace_impl(run_id, task_id, state_json, event, fence, now).await
    }

    async fn workspace(&self, run_id: &str, task_id: Option<&str>) -> Result<Option<String>> {
        self.workspace_impl(run_id, task_id).await
    }

    async fn workspaces(&self, run_id: &str) -> Result<Vec<(String, String)>> {
        self.workspaces_impl(run_id).await
    }

    async fn ready_signal(&self) -> Result<ReadySignal> {
        // One file on one machine: there is nobody to notify across processes; workers poll.
        Ok(ReadySignal::polling())
    }
}

/// Records the ends of many attempts inside a transaction (group commit): successes set-based,
/// the rest one by one; a refused result (lease lost) is reported in its slot and the rest
/// still apply. Settles each run touched.
async fn finish_many_in(
    tx: &mut Transaction<'static, Sqlite>,
    results: &[(Claim, Finish)],
    now: i64,
) -> Result<Vec<Result<()>>> {
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
        for (i, r) in done_at.into_iter().zip(batch::finish_done(tx, &done, now).await?) {
            out[i] = Some(r);
        }
    }
    for (i, (claim, finish)) in results.iter().enumerate() {
        if out[i].is_none() {
            // A refused result (lease lost) changes nothing and does not abort the batch.
            out[i] = Some(transitions::apply_finish(tx, claim, finish, now).await);
        }
    }
    let mut runs: Vec<&str> = results.iter().map(|(c, _)| c.run_id.as_str()).collect();
    runs.sort_unstable();
    runs.dedup();
    for run in runs {
        transitions::settle_run(tx, run, now).await?;
    }
    Ok(out.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
}

/// SQLITE_BUSY or SQLITE_LOCKED (primary result codes 5 and 6, whatever the extended code).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.code().and_then(|c| c.parse::<i64>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6))
        }
        _ => false,
    }
}
