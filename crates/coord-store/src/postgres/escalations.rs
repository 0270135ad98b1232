//! Escalation decisions, manual claims, expired leases and dead owners, and cancelling a run, on
//! PostgreSQL.

use super::reads::escalation;
use super::transitions::{add_feedback, record_tried};
use super::writes::Writes;
use crate::types::{Claim, Decision, EscalationRecord};
use crate::{Result, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

/// Returns leased tasks to `ready` (rows of `run_id, task_id, token` whose leases were just
/// deleted), counting their attempts as interrupted.
async fn interrupt(w: &mut Writes, rows: Vec<PgRow>, why: &str, now: i64) -> Result<Vec<(String, String)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (mut runs, mut tasks, mut tokens) = (Vec::new(), Vec::new(), Vec::new());
    for row in &rows {
        runs.push(row.try_get::<String, _>("run_id")?);
        tasks.push(row.try_get::<String, _>("task_id")?);
        tokens.push(row.try_get::<i64, _>("token")?);
    }
    sqlx::query(
        "WITH gone AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int8[]) AS g(run_id, task_id, token)),
              closed AS (
                  UPDATE attempts a SET finished_at = $4, outcome = 'interrupted', detail = $5
                  FROM gone g WHERE a.run_id = g.run_id AND a.task_id = g.task_id AND a.attempt = g.token
                    AND a.finished_at IS NULL
              )
         UPDATE tasks t SET state = 'ready', updated_at = $4
         FROM gone g WHERE t.run_id = g.run_id AND t.task_id = g.task_id AND t.state IN ('running', 'gating')",
    )
    .bind(&runs)
    .bind(&tasks)
    .bind(&tokens)
    .bind(now)
    .bind(why)
    .execute(w.conn())
    .await?;
    for ((run, task), token) in runs.iter().zip(&tasks).zip(&tokens) {
        w.event(run, Some(task), "lease_expired", serde_json::json!({ "attempt": token, "why": why }), now);
    }
    w.wake();
    Ok(runs.into_iter().zip(tasks).collect())
}

/// Every lease that expired before `now`: its task goes back to ready.
pub(super) async fn expire(w: &mut Writes, now: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("DELETE FROM leases WHERE expires_at < $1 RETURNING run_id, task_id, token")
        .bind(now)
        .fetch_all(w.conn())
        .await?;
    interrupt(w, rows, "lease expired", now).await
}

/// The leases of an owner that is gone: their tasks go back to ready.
pub(super) async fn release_owner(w: &mut Writes, owner: &str, now: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("DELETE FROM leases WHERE owner = $1 RETURNING run_id, task_id, token")
        .bind(owner)
        .fetch_all(w.conn())
        .await?;
    interrupt(w, rows, &format!("{owner} is gone"), now).await
}

/// The leases of these claims, where still held with their tokens: their tasks go back to ready.
pub(super) async fn release_claims(
    w: &mut Writes,
    claims: &[Claim],
    why: &str,
    now: i64,
) -> Result<Vec<(String, String)>> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let runs: Vec<&str> = claims.iter().map(|c| c.run_id.as_str()).collect();
    let tasks: Vec<&str> = claims.iter().map(|c| c.task_id.as_str()).collect();
    let tokens: Vec<i64> = claims.iter().map(|c| c.token).collect();
    let rows = sqlx::query(
        "DELETE FROM leases l USING unnest($1::text[], $2::text[], $3::int8[]) AS g(run_id, task_id, token)
         WHERE l.run_id = g.run_id AND l.task_id = g.task_id AND l.token = g.token
         RETURNING l.run_id, l.task_id, l.token",
    )
    .bind(&runs)
    .bind(&tasks)
    .bind(&tokens)
    .fetch_all(w.conn())
    .await?;
    interrupt(w, rows, why, now).await
}

/// A person claims one named ready task.
pub(super) async fn claim_task(
    w: &mut Writes,
    run: &str,
    task: &str,
    owner: &str,
    lease_ms: i64,
    now: i64,
) -> Result<Claim> {
    let row = sqlx::query(
        "SELECT specialist, state, attempts, not_before FROM tasks WHERE run_id = $1 AND task_id = $2 FOR UPDATE",
    )
    .bind(run)
    .bind(task)
    .fetch_optional(w.conn())
    .await?
    .ok_or_else(|| StoreError::UnknownTask { run: run.to_string(), task: task.to_string() })?;
    let state: String = row.try_get("state")?;
    let not_before: i64 = row.try_get("not_before")?;
    if !(state == "ready" || (state == "retrying" && not_before <= now)) {
        return Err(StoreError::WrongState {
            task: task.to_string(),
            state,
            what: "only a ready task can be claimed".into(),
        });
    }
    let specialist: String = row.try_get("specialist")?;
    let attempt = row.try_get::<i64, _>("attempts")? + 1;
    sqlx::query(
        "WITH claimed AS (
             UPDATE tasks SET state = 'running', attempts = $1, updated_at = $2 WHERE run_id = $3 AND task_id = $4
         ),
         opened AS (
             INSERT INTO attempts (run_id, task_id, attempt, specialist, owner, started_at)
             VALUES ($3, $4, $1, $5, $6, $2)
         )
         INSERT INTO leases (run_id, task_id, owner, token, expires_at) VALUES ($3, $4, $6, $1, $7)
         ON CONFLICT (run_id, task_id) DO UPDATE
             SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at",
    )
    .bind(attempt)
    .bind(now)
    .bind(run)
    .bind(task)
    .bind(&specialist)
    .bind(owner)
    .bind(now + lease_ms)
    .execute(w.conn())
    .await?;
    w.event(run, Some(task), "task_claimed", serde_json::json!({ "attempt": attempt, "owner": owner }), now);
    Ok(Claim { run_id: run.to_string(), task_id: task.to_string(), specialist, attempt, token: attempt })
}

/// Blocked tasks of the run with no failed or escalated task upstream go back to pending, and
/// to ready when their dependencies are done.
async fn unblock(w: &mut Writes, run: &str, now: i64) -> Result<()> {
    let freed: Vec<(String, String)> = sqlx::query_as(
        "WITH RECURSIVE up(task_id, dep_id) AS (
             SELECT task_id, dep_id FROM task_deps WHERE run_id = $1
             UNION SELECT up.task_id, d.dep_id FROM up JOIN task_deps d ON d.task_id = up.dep_id AND d.run_id = $1
         )
         UPDATE tasks SET state = CASE WHEN remaining_deps = 0 THEN 'ready' ELSE 'pending' END, updated_at = $2
         WHERE run_id = $1 AND state = 'blocked' AND task_id NOT IN (
             SELECT up.task_id FROM up JOIN tasks t ON t.run_id = $1 AND t.task_id = up.dep_id
             WHERE t.state IN ('failed', 'escalated')
         )
         RETURNING task_id, state",
    )
    .bind(run)
    .bind(now)
    .fetch_all(w.conn())
    .await?;
    for (id, state) in freed {
        if state == "ready" {
            w.wake();
        }
        w.event(run, Some(&id), "task_unblocked", serde_json::json!({}), now);
    }
    Ok(())
}

/// Cancels every unfinished task of a run and the run itself.
async fn cancel_tasks(w: &mut Writes, run: &str, now: i64) -> Result<u64> {
    let cancelled = sqlx::query(
        "UPDATE tasks SET state = 'cancelled', updated_at = $1
         WHERE run_id = $2 AND state NOT IN ('done', 'failed', 'cancelled')",
    )
    .bind(now)
    .bind(run)
    .execute(w.conn())
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM leases WHERE run_id = $1").bind(run).execute(w.conn()).await?;
    sqlx::query(
        "UPDATE attempts SET finished_at = $1, outcome = 'cancelled' WHERE run_id = $2 AND finished_at IS NULL",
    )
    .bind(now)
    .bind(run)
    .execute(w.conn())
    .await?;
    sqlx::query("UPDATE runs SET state = 'cancelled', updated_at = $1 WHERE id = $2 AND state = 'running'")
        .bind(now)
        .bind(run)
        .execute(w.conn())
        .await?;
    Ok(cancelled)
}

/// `coord cancel`.
pub(super) async fn cancel_run(w: &mut Writes, run: &str, now: i64) -> Result<usize> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)").bind(run).fetch_one(w.conn()).await?;
    if !exists {
        return Err(StoreError::UnknownRun(run.to_string()));
    }
    let cancelled = cancel_tasks(w, run, now).await?;
    w.event(run, None, "run_cancelled", serde_json::json!({ "tasks": cancelled }), now);
    Ok(cancelled as usize)
}

/// Applies a decision to an open escalation.
pub(super) async fn resolve(
    w: &mut Writes,
    id: i64,
    decision: &Decision,
    note: Option<&str>,
    now: i64,
) -> Result<EscalationRecord> {
    let row = sqlx::query("SELECT * FROM escalations WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(w.conn())
        .await?
        .ok_or(StoreError::UnknownEscalation(id))?;
    let mut record = escalation(&row)?;
    if record.state != "open" {
        return Err(StoreError::AlreadyResolved(id));
    }
    let (run, task) = (record.run_id.clone(), record.task_id.clone());
    let (state, attempts): (String, i64) =
        sqlx::query_as("SELECT state, attempts FROM tasks WHERE run_id = $1 AND task_id = $2 FOR UPDATE")
            .bind(&run)
            .bind(&task)
            .fetch_one(w.conn())
            .await?;
    let decided = decision.as_string();
    sqlx::query("UPDATE escalations SET state = 'resolved', decision = $1, note = $2, resolved_at = $3 WHERE id = $4")
        .bind(&decided)
        .bind(note)
        .bind(now)
        .bind(id)
        .execute(w.conn())
        .await?;
    w.event(
        &run,
        Some(&task),
        "escalation_resolved",
        serde_json::json!({ "id": id, "decision": decided, "note": note }),
        now,
    );
    if state == "escalated" {
        match decision {
            Decision::Retry | Decision::Reassign(_) => {
                let specialist = match decision {
                    Decision::Reassign(name) => Some(name.as_str()),
                    _ => None,
                };
                sqlx::query(
                    "UPDATE tasks SET state = 'ready', escalation_level = 0, failures_at_level = 0, not_before = 0,
                         specialist = COALESCE($1, specialist), updated_at = $2 WHERE run_id = $3 AND task_id = $4",
                )
                .bind(specialist)
                .bind(now)
                .bind(&run)
                .bind(&task)
                .execute(w.conn())
                .await?;
                if let Some(name) = specialist {
                    record_tried(w, &run, &task, name).await?;
                }
                let (source, text) = record.decision_feedback(&decided, note);
                add_feedback(w, &run, &task, attempts, source, &text, now).await?;
                w.event(&run, Some(&task), "task_ready", serde_json::json!({ "decision": decided }), now);
                w.wake();
                unblock(w, &run, now).await?;
            }
            Decision::Skip | Decision::Approve => {
                sqlx::query("UPDATE tasks SET state = 'done', updated_at = $1 WHERE run_id = $2 AND task_id = $3")
                    .bind(now)
                    .bind(&run)
                    .bind(&task)
                    .execute(w.conn())
                    .await?;
                if *decision == Decision::Approve {
                    // The result stands: the task is done, by approval of its last attempt.
                    let data = serde_json::json!({ "attempt": attempts, "by": "approval", "escalation": id });
                    w.event(&run, Some(&task), "task_done", data, now);
                } else {
                    w.event(&run, Some(&task), "task_skipped", serde_json::json!({}), now);
                }
                sqlx::query(
                    "UPDATE tasks SET remaining_deps = remaining_deps - 1
                     WHERE run_id = $1 AND task_id IN (SELECT task_id FROM task_deps WHERE run_id = $1 AND dep_id = $2)",
                )
                .bind(&run)
                .bind(&task)
                .execute(w.conn())
                .await?;
                unblock(w, &run, now).await?;
                let ready: Vec<String> = sqlx::query_scalar(
                    "UPDATE tasks SET state = 'ready', updated_at = $2
                     WHERE run_id = $1 AND state = 'pending' AND remaining_deps = 0 RETURNING task_id",
                )
                .bind(&run)
                .bind(now)
                .fetch_all(w.conn())
                .await?;
                if !ready.is_empty() {
                    w.wake();
                }
                for id in ready {
                    w.event(&run, Some(&id), "task_ready", serde_json::json!({}), now);
                }
            }
            Decision::Abort => {}
        }
    }
    if *decision == Decision::Abort {
        cancel_tasks(w, &run, now).await?;
        w.event(&run, None, "run_cancelled", serde_json::json!({ "by": "escalation decision" }), now);
    } else {
        w.settle(&run, now);
    }
    record.state = "resolved".into();
    record.decision = Some(decided);
    record.note = note.map(str::to_string);
    Ok(record)
}
