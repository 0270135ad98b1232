//! Task transitions inside one transaction: the end of an attempt (done, retry, escalate,
//! fail), blocking of dependents, settling the run's state, and the event that announces each.

use crate::types::{Claim, Finish, RunState, TaskState};
use crate::{Result, StoreError};
use sqlx::{Sqlite, Transaction};

pub(crate) async fn event(
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
pub(super) async fn block_dependents(tx: &mut Transaction<'_, Sqlite>, run: &str, task: &str, now: i64) -> Result<()> {
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
pub(super) async fn settle_run(tx: &mut Transaction<'_, Sqlite>, run: &str, now: i64) -> Result<()> {
    // Both EXISTS probes use the (run_id, state, rank) index: no scan of the run's tasks.
    let (open, moving): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM tasks WHERE run_id = ?1 AND state IN
                    ('pending', 'ready', 'running', 'gating', 'retrying', 'escalated', 'failed', 'blocked', 'cancelled')),
                EXISTS (SELECT 1 FROM tasks WHERE run_id = ?1 AND state IN
                    ('pending', 'ready', 'running', 'gating', 'retrying', 'escalated'))",
    )
    .bind(run)
    .fetch_one(&mut **tx)
    .await?;
    let state = if !open {
        RunState::Done
    } else if !moving {
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

/// Applies the end of an attempt inside a transaction, fenced by the lease token. The caller
/// settles the run's state afterwards (once per batch).
pub(super) async fn apply_finish(
    tx: &mut Transaction<'_, Sqlite>,
    claim: &Claim,
    finish: &Finish,
    now: i64,
) -> Result<()> {
    let (run, task) = (claim.run_id.as_str(), claim.task_id.as_str());
    let held = sqlx::query("DELETE FROM leases WHERE run_id = ? AND task_id = ? AND token = ?")
        .bind(run)
        .bind(task)
        .bind(claim.token)
        .execute(&mut **tx)
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
    sqlx::query(
        "UPDATE attempts SET finished_at = ?, outcome = ?, detail = ? WHERE run_id = ? AND task_id = ? AND attempt = ?",
    )
    .bind(now)
    .bind(outcome)
    .bind(&detail)
    .bind(run)
    .bind(task)
    .bind(claim.attempt)
    .execute(&mut **tx)
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
            set_state(TaskState::Done).execute(&mut **tx).await?;
            event(tx, run, Some(task), "task_done", serde_json::json!({ "attempt": claim.attempt }), now).await?;
            sqlx::query(
                "UPDATE tasks SET remaining_deps = remaining_deps - 1
                 WHERE run_id = ?1 AND task_id IN (SELECT task_id FROM task_deps WHERE run_id = ?1 AND dep_id = ?2)",
            )
            .bind(run)
            .bind(task)
            .execute(&mut **tx)
            .await?;
            let ready: Vec<String> = sqlx::query_scalar(
                "UPDATE tasks SET state = 'ready', updated_at = ?2
                 WHERE run_id = ?1 AND state = 'pending' AND remaining_deps = 0
                   AND task_id IN (SELECT task_id FROM task_deps WHERE run_id = ?1 AND dep_id = ?3)
                 RETURNING task_id",
            )
            .bind(run)
            .bind(now)
            .bind(task)
            .fetch_all(&mut **tx)
            .await?;
            for id in ready {
                event(tx, run, Some(&id), "task_ready", serde_json::json!({}), now).await?;
            }
        }
        Finish::Retry { error, retry_at, level, specialist, feedback } => {
            sqlx::query(
                "UPDATE tasks SET state = 'retrying', not_before = ?1,
                     failures_at_level = CASE WHEN escalation_level = ?2 THEN failures_at_level + 1 ELSE 1 END,
                     escalation_level = ?2, specialist = COALESCE(?3, specialist), updated_at = ?4
                 WHERE run_id = ?5 AND task_id = ?6",
            )
            .bind(retry_at)
            .bind(level)
            .bind(specialist.as_deref())
            .bind(now)
            .bind(run)
            .bind(task)
            .execute(&mut **tx)
            .await?;
            if let Some(name) = specialist {
                record_tried(tx, run, task, name).await?;
            }
            for (source, text) in feedback {
                add_feedback(tx, run, task, claim.attempt, source, text, now).await?;
            }
            event(
                tx,
                run,
                Some(task),
                "task_retrying",
                serde_json::json!({ "error": error, "retry_at": retry_at, "level": level, "specialist": specialist }),
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
                .execute(&mut **tx)
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
            .execute(&mut **tx)
            .await?;
            event(
                tx,
                run,
                Some(task),
                "task_escalated",
                serde_json::json!({ "level": level, "category": category, "reason": error }),
                now,
            )
            .await?;
            block_dependents(tx, run, task, now).await?;
        }
        Finish::Fail { error } => {
            set_state(TaskState::Failed).execute(&mut **tx).await?;
            event(tx, run, Some(task), "task_failed", serde_json::json!({ "error": error }), now).await?;
            block_dependents(tx, run, task, now).await?;
        }
    }
    Ok(())
}

/// Adds a line of feedback for the task's next brief.
pub(super) async fn add_feedback(
    tx: &mut Transaction<'_, Sqlite>,
    run: &str,
    task: &str,
    attempt: i64,
    source: &str,
    text: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO feedback (run_id, task_id, attempt, source, text, at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(run)
        .bind(task)
        .bind(attempt)
        .bind(source)
        .bind(text)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records that the task has been given to `specialist` (for "next best specialist").
pub(super) async fn record_tried(
    tx: &mut Transaction<'_, Sqlite>,
    run: &str,
    task: &str,
    specialist: &str,
) -> Result<()> {
    let tried: String = sqlx::query_scalar("SELECT tried FROM tasks WHERE run_id = ? AND task_id = ?")
        .bind(run)
        .bind(task)
        .fetch_one(&mut **tx)
        .await?;
    let mut list: Vec<String> = serde_json::from_str(&tried).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if !list.iter().any(|s| s == specialist) {
        list.push(specialist.to_string());
    }
    sqlx::query("UPDATE tasks SET tried = ? WHERE run_id = ? AND task_id = ?")
        .bind(serde_json::Value::from(list).to_string())
        .bind(run)
        .bind(task)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
