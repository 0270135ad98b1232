//! The SQLite backend: one file (WAL mode), embedded migrations, `BEGIN IMMEDIATE` transactions
//! so two coordinators on one file never claim the same task.
//!
//! Durability: `synchronous = NORMAL` in WAL mode: a committed transition survives a crash or
//! SIGKILL of the process; the last transactions before a power loss may be lost.

use crate::types::{Claim, Event, Finish, NewRun, RunRecord, RunState, TaskRecord, TaskState};
use crate::{Result, Store, StoreError};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlSafeStr, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

/// `PRAGMA application_id` of coord databases ("CORD"): tells our files from foreign ones.
const APPLICATION_ID: i64 = 0x434F_5244;

const MIGRATIONS: [(i64, &str, &str); 1] = [(1, "runs", include_str!("../migrations/sqlite/0001_runs.sql"))];

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
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| not_ours(path, format!("cannot open it: {e}")))?;
        let app_id: i64 = sqlx::query_scalar("PRAGMA application_id")
            .fetch_one(&pool)
            .await
            .map_err(|e| not_ours(path, format!("cannot read it: {e}")))?;
        let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
            .fetch_one(&pool)
            .await
            .map_err(|e| not_ours(path, format!("cannot read it: {e}")))?;
        if app_id != APPLICATION_ID {
            if tables > 0 {
                return Err(not_ours(path, "it holds another application's tables"));
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA application_id = {APPLICATION_ID}")))
                .execute(&pool)
                .await?;
        }
        let migrations = MIGRATIONS
            .iter()
            .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, sql.into_sql_str(), false))
            .collect();
        Migrator::with_migrations(migrations).run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

async fn event(
    tx: &mut Transaction<'_, Sqlite>,
    run: &str,
    task: Option<&str>,
    kind: &str,
    data: serde_json::Value,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO events (run_id, task_id, at, kind, data) VALUES (?, ?, ?, ?, ?)")
        .bind(run)
        .bind(task)
        .bind(now)
        .bind(kind)
        .bind(data.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks every transitive dependent of `task` that has not started as blocked.
async fn block_dependents(tx: &mut Transaction<'_, Sqlite>, run: &str, task: &str, now: i64) -> Result<()> {
    let blocked: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE down(id) AS (
             SELECT task_id FROM task_deps WHERE run_id = ?1 AND dep_id = ?2
             UNION SELECT d.task_id FROM task_deps d JOIN down ON d.dep_id = down.id WHERE d.run_id = ?1
         )
         UPDATE tasks SET state = 'blocked', updated_at = ?3
         WHERE run_id = ?1 AND task_id IN (SELECT id FROM down) AND state IN ('pending', 'ready', 'retrying')
         RETURNING task_id",
    )
    .bind(run)
    .bind(task)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    for id in blocked {
        event(tx, run, Some(&id), "task_blocked", serde_json::json!({ "by": task }), now).await?;
    }
    Ok(())
}

/// Settles the run's state after a task change: done when every task is done, failed when
/// nothing can move any more (every unfinished task failed or blocked).
async fn settle_run(tx: &mut Transaction<'_, Sqlite>, run: &str, now: i64) -> Result<()> {
    let row = sqlx::query(
        "SELECT
             sum(state != 'done') AS open,
             sum(state IN ('pending', 'ready', 'running', 'gating', 'retrying', 'escalated')) AS moving
         FROM tasks WHERE run_id = ?",
    )
    .bind(run)
    .fetch_one(&mut **tx)
    .await?;
    let open: i64 = row.try_get::<Option<i64>, _>("open")?.unwrap_or(0);
    let moving: i64 = row.try_get::<Option<i64>, _>("moving")?.unwrap_or(0);
    let state = if open == 0 {
        RunState::Done
    } else if moving == 0 {
        RunState::Failed
    } else {
        return Ok(());
    };
    let changed = sqlx::query("UPDATE runs SET state = ?, updated_at = ? WHERE id = ? AND state = 'running'")
        .bind(state.as_str())
        .bind(now)
        .bind(run)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed > 0 {
        event(tx, run, None, &format!("run_{}", state.as_str()), serde_json::json!({}), now).await?;
    }
    Ok(())
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
        for (position, (task, specialist, deps, rank)) in run.tasks.iter().enumerate() {
            let state = if deps.is_empty() { TaskState::Ready } else { TaskState::Pending };
            sqlx::query(
                "INSERT INTO tasks (run_id, task_id, position, specialist, state, rank, remaining_deps, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&run.id)
            .bind(task)
            .bind(position as i64)
            .bind(specialist)
            .bind(state.as_str())
            .bind(rank)
            .bind(deps.len() as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for dep in deps {
                sqlx::query("INSERT OR IGNORE INTO task_deps (run_id, task_id, dep_id) VALUES (?, ?, ?)")
                    .bind(&run.id)
                    .bind(task)
                    .bind(dep)
                    .execute(&mut *tx)
                    .await?;
            }
            if state == TaskState::Ready {
                event(&mut tx, &run.id, Some(task), "task_ready", serde_json::json!({}), now).await?;
            }
        }
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
            "SELECT task_id, specialist, state, attempts, escalation_level, remaining_deps, not_before
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
                    remaining_deps: r.try_get("remaining_deps")?,
                    not_before: r.try_get("not_before")?,
                })
            })
            .collect()
    }

    async fn claim(&self, run_id: &str, owner: &str, limit: usize, lease_ms: i64, now: i64) -> Result<Vec<Claim>> {
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "SELECT task_id, specialist, attempts FROM tasks
             WHERE run_id = ? AND state IN ('ready', 'retrying') AND not_before <= ?
             ORDER BY rank LIMIT ?",
        )
        .bind(run_id)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut claims = Vec::with_capacity(rows.len());
        for row in rows {
            let task_id: String = row.try_get("task_id")?;
            let specialist: String = row.try_get("specialist")?;
            let attempt: i64 = row.try_get::<i64, _>("attempts")? + 1;
            sqlx::query(
                "UPDATE tasks SET state = 'running', attempts = ?, updated_at = ? WHERE run_id = ? AND task_id = ?",
            )
            .bind(attempt)
            .bind(now)
            .bind(run_id)
            .bind(&task_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO attempts (run_id, task_id, attempt, specialist, owner, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(run_id)
            .bind(&task_id)
            .bind(attempt)
            .bind(&specialist)
            .bind(owner)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // The attempt number is the fencing token: it grows with every claim of the task.
            sqlx::query(
                "INSERT OR REPLACE INTO leases (run_id, task_id, owner, token, expires_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(run_id)
            .bind(&task_id)
            .bind(owner)
            .bind(attempt)
            .bind(now + lease_ms)
            .execute(&mut *tx)
            .await?;
            event(
                &mut tx,
                run_id,
                Some(&task_id),
                "task_claimed",
                serde_json::json!({ "attempt": attempt, "owner": owner }),
                now,
            )
            .await?;
            claims.push(Claim { run_id: run_id.to_string(), task_id, specialist, attempt, token: attempt });
        }
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
        let (run, task) = (claim.run_id.as_str(), claim.task_id.as_str());
        let mut tx = self.write().await?;
        let held = sqlx::query("DELETE FROM leases WHERE run_id = ? AND task_id = ? AND token = ?")
            .bind(run)
            .bind(task)
            .bind(claim.token)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if held == 0 {
            return Err(StoreError::LeaseLost { run: run.to_string(), task: task.to_string(), token: claim.token });
        }
        let (outcome, detail) = match finish {
            Finish::Done { detail } => ("succeeded", detail.clone()),
            Finish::Retry { error, .. } | Finish::Escalate { error, .. } | Finish::Fail { error } => {
                ("failed", error.clone())
            }
        };
        sqlx::query("UPDATE attempts SET finished_at = ?, outcome = ?, detail = ? WHERE run_id = ? AND task_id = ? AND attempt = ?")
            .bind(now)
            .bind(outcome)
            .bind(&detail)
            .bind(run)
            .bind(task)
            .bind(claim.attempt)
            .execute(&mut *tx)
            .await?;
        let set_state = |state: TaskState| {
            sqlx::query("UPDATE tasks SET state = ?, updated_at = ? WHERE run_id = ? AND task_id = ?")
                .bind(state.as_str())
                .bind(now)
                .bind(run)
                .bind(task)
        };
        match finish {
            Finish::Done { .. } => {
                set_state(TaskState::Done).execute(&mut *tx).await?;
                event(&mut tx, run, Some(task), "task_done", serde_json::json!({ "attempt": claim.attempt }), now)
                    .await?;
                sqlx::query(
                    "UPDATE tasks SET remaining_deps = remaining_deps - 1
                     WHERE run_id = ?1 AND task_id IN (SELECT task_id FROM task_deps WHERE run_id = ?1 AND dep_id = ?2)",
                )
                .bind(run)
                .bind(task)
                .execute(&mut *tx)
                .await?;
                let ready: Vec<String> = sqlx::query_scalar(
                    "UPDATE tasks SET state = 'ready', updated_at = ?2
                     WHERE run_id = ?1 AND state = 'pending' AND remaining_deps = 0 RETURNING task_id",
                )
                .bind(run)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                for id in ready {
                    event(&mut tx, run, Some(&id), "task_ready", serde_json::json!({}), now).await?;
                }
            }
            Finish::Retry { error, retry_at } => {
                sqlx::query("UPDATE tasks SET state = 'retrying', not_before = ?, updated_at = ? WHERE run_id = ? AND task_id = ?")
                    .bind(retry_at)
                    .bind(now)
                    .bind(run)
                    .bind(task)
                    .execute(&mut *tx)
                    .await?;
                event(
                    &mut tx,
                    run,
                    Some(task),
                    "task_retrying",
                    serde_json::json!({ "error": error, "retry_at": retry_at }),
                    now,
                )
                .await?;
            }
            Finish::Escalate { error, level, category } => {
                sqlx::query("UPDATE tasks SET state = 'escalated', escalation_level = ?, updated_at = ? WHERE run_id = ? AND task_id = ?")
                    .bind(level)
                    .bind(now)
                    .bind(run)
                    .bind(task)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO escalations (run_id, task_id, level, category, reason, state, created_at) VALUES (?, ?, ?, ?, ?, 'open', ?)",
                )
                .bind(run)
                .bind(task)
                .bind(level)
                .bind(category)
                .bind(error)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                event(
                    &mut tx,
                    run,
                    Some(task),
                    "task_escalated",
                    serde_json::json!({ "level": level, "category": category, "reason": error }),
                    now,
                )
                .await?;
                block_dependents(&mut tx, run, task, now).await?;
            }
            Finish::Fail { error } => {
                set_state(TaskState::Failed).execute(&mut *tx).await?;
                event(&mut tx, run, Some(task), "task_failed", serde_json::json!({ "error": error }), now).await?;
                block_dependents(&mut tx, run, task, now).await?;
            }
        }
        settle_run(&mut tx, run, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn expire_leases(&self, now: i64) -> Result<Vec<(String, String)>> {
        let mut tx = self.write().await?;
        let expired = sqlx::query("DELETE FROM leases WHERE expires_at < ? RETURNING run_id, task_id, token")
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        let mut out = Vec::with_capacity(expired.len());
        for row in expired {
            let run: String = row.try_get("run_id")?;
            let task: String = row.try_get("task_id")?;
            let token: i64 = row.try_get("token")?;
            sqlx::query(
                "UPDATE attempts SET finished_at = ?, outcome = 'interrupted', detail = 'lease expired'
                 WHERE run_id = ? AND task_id = ? AND attempt = ? AND finished_at IS NULL",
            )
            .bind(now)
            .bind(&run)
            .bind(&task)
            .bind(token)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE tasks SET state = 'ready', updated_at = ? WHERE run_id = ? AND task_id = ? AND state IN ('running', 'gating')")
                .bind(now)
                .bind(&run)
                .bind(&task)
                .execute(&mut *tx)
                .await?;
            event(&mut tx, &run, Some(&task), "lease_expired", serde_json::json!({ "attempt": token }), now).await?;
            out.push((run, task));
        }
        tx.commit().await?;
        Ok(out)
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
}
