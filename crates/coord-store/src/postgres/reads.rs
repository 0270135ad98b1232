//! The read side on PostgreSQL: runs, tasks, events, attempts, feedback, gate results,
//! escalations and the current claim of a task. Plain statements on the pool, no transaction.

use crate::types::{AttemptRecord, Claim, EscalationRecord, Event, RunRecord, TaskRecord};
use crate::{Result, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

fn run_record(row: &PgRow) -> Result<RunRecord> {
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

pub(super) fn escalation(row: &PgRow) -> Result<EscalationRecord> {
    Ok(EscalationRecord {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        task_id: row.try_get("task_id")?,
        level: row.try_get("level")?,
        category: row.try_get("category")?,
        reason: row.try_get("reason")?,
        state: row.try_get("state")?,
        decision: row.try_get("decision")?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) async fn run(pool: &PgPool, run_id: &str) -> Result<RunRecord> {
    let row = sqlx::query("SELECT * FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::UnknownRun(run_id.to_string()))?;
    run_record(&row)
}

pub(super) async fn runs(pool: &PgPool) -> Result<Vec<RunRecord>> {
    let rows = sqlx::query("SELECT * FROM runs ORDER BY created_at DESC, id").fetch_all(pool).await?;
    rows.iter().map(run_record).collect()
}

pub(super) async fn tasks(pool: &PgPool, run_id: &str) -> Result<Vec<TaskRecord>> {
    run(pool, run_id).await?;
    let rows = sqlx::query(
        "SELECT task_id, specialist, state, attempts, escalation_level, failures_at_level, remaining_deps, not_before
         FROM tasks WHERE run_id = $1 ORDER BY position",
    )
    .bind(run_id)
    .fetch_all(pool)
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

pub(super) async fn events(pool: &PgPool, run_id: &str, after: i64, limit: i64) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT seq, run_id, task_id, at, kind, data FROM events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(run_id)
    .bind(after)
    .bind(limit.max(0))
    .fetch_all(pool)
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

pub(super) async fn gate_results(
    pool: &PgPool,
    run_id: &str,
    task_id: &str,
) -> Result<Vec<(i64, String, bool, String)>> {
    let rows = sqlx::query(
        "SELECT attempt, gate, passed, report_json FROM gate_results WHERE run_id = $1 AND task_id = $2 ORDER BY attempt, gate",
    )
    .bind(run_id)
    .bind(task_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("attempt")?, r.try_get("gate")?, r.try_get("passed")?, r.try_get("report_json")?)))
        .collect()
}

pub(super) async fn current_claim(pool: &PgPool, run: &str, task: &str) -> Result<Option<Claim>> {
    let row = sqlx::query(
        "SELECT l.token, t.specialist FROM leases l JOIN tasks t ON t.run_id = l.run_id AND t.task_id = l.task_id
         WHERE l.run_id = $1 AND l.task_id = $2",
    )
    .bind(run)
    .bind(task)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => {
            let token: i64 = r.try_get("token")?;
            Some(Claim {
                run_id: run.to_string(),
                task_id: task.to_string(),
                specialist: r.try_get("specialist")?,
                attempt: token,
                token,
            })
        }
        None => None,
    })
}

pub(super) async fn feedback(pool: &PgPool, run: &str, task: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT source, text FROM feedback WHERE run_id = $1 AND task_id = $2 ORDER BY seq")
        .bind(run)
        .bind(task)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("source")?, r.try_get("text")?))).collect()
}

pub(super) async fn attempts(pool: &PgPool, run: &str, task: &str) -> Result<Vec<AttemptRecord>> {
    let rows = sqlx::query("SELECT * FROM attempts WHERE run_id = $1 AND task_id = $2 ORDER BY attempt")
        .bind(run)
        .bind(task)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AttemptRecord {
                attempt: r.try_get("attempt")?,
                specialist: r.try_get("specialist")?,
                owner: r.try_get("owner")?,
                started_at: r.try_get("started_at")?,
                finished_at: r.try_get("finished_at")?,
                outcome: r.try_get("outcome")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

pub(super) async fn tried(pool: &PgPool, run: &str, task: &str) -> Result<Vec<String>> {
    let tried: Option<String> = sqlx::query_scalar("SELECT tried FROM tasks WHERE run_id = $1 AND task_id = $2")
        .bind(run)
        .bind(task)
        .fetch_optional(pool)
        .await?;
    let tried = tried.ok_or_else(|| StoreError::UnknownTask { run: run.to_string(), task: task.to_string() })?;
    serde_json::from_str(&tried).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) async fn escalations(pool: &PgPool, run: Option<&str>, open_only: bool) -> Result<Vec<EscalationRecord>> {
    let rows = sqlx::query(
        "SELECT * FROM escalations WHERE ($1::text IS NULL OR run_id = $1) AND (NOT $2 OR state = 'open')
         ORDER BY id DESC",
    )
    .bind(run)
    .bind(open_only)
    .fetch_all(pool)
    .await?;
    rows.iter().map(escalation).collect()
}
