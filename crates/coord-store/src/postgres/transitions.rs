//! Task transitions inside one PostgreSQL transaction: gating, gate reports, the end of an
//! attempt (done, retry, escalate, fail), blocking of dependents, and the events that announce
//! each (buffered in [`Writes`], inserted at commit, where the run's state is also settled).

use super::writes::Writes;
use crate::types::{Claim, Finish};
use crate::{Result, StoreError};

fn lease_lost(claim: &Claim) -> StoreError {
    StoreError::LeaseLost { run: claim.run_id.clone(), task: claim.task_id.clone(), token: claim.token }
}

/// Marks a running task as `gating`, fenced by its lease.
pub(super) async fn start_gating(w: &mut Writes, claim: &Claim, now: i64) -> Result<()> {
    let held: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM leases WHERE run_id = $1 AND task_id = $2 AND token = $3)")
            .bind(&claim.run_id)
            .bind(&claim.task_id)
            .bind(claim.token)
            .fetch_one(w.conn())
            .await?;
    if !held {
        return Err(lease_lost(claim));
    }
    sqlx::query(
        "UPDATE tasks SET state = 'gating', updated_at = $1 WHERE run_id = $2 AND task_id = $3 AND state = 'running'",
    )
    .bind(now)
    .bind(&claim.run_id)
    .bind(&claim.task_id)
    .execute(w.conn())
    .await?;
    w.event(&claim.run_id, Some(&claim.task_id), "task_gating", serde_json::json!({ "attempt": claim.attempt }), now);
    Ok(())
}

/// Stores an attempt's gate reports `(gate, passed, report JSON)`.
pub(super) async fn record_gates(
    w: &mut Writes,
    claim: &Claim,
    results: &[(String, bool, String)],
    now: i64,
) -> Result<()> {
    for (gate, passed, report) in results {
        sqlx::query(
            "INSERT INTO gate_results (run_id, task_id, attempt, gate, passed, report_json, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (run_id, task_id, attempt, gate) DO UPDATE
                 SET passed = excluded.passed, report_json = excluded.report_json, created_at = excluded.created_at",
        )
        .bind(&claim.run_id)
        .bind(&claim.task_id)
        .bind(claim.attempt)
        .bind(gate)
        .bind(*passed)
        .bind(report)
        .bind(now)
        .execute(w.conn())
        .await?;
        w.event(
            &claim.run_id,
            Some(&claim.task_id),
            "gate_result",
            serde_json::json!({ "attempt": claim.attempt, "gate": gate, "passed": passed }),
            now,
        );
    }
    Ok(())
}

/// Marks every transitive dependent of `task` that has not started as blocked.
pub(super) async fn block_dependents(w: &mut Writes, run: &str, task: &str, now: i64) -> Result<()> {
    let blocked: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE down(id) AS (
             SELECT task_id FROM task_deps WHERE run_id = $1 AND dep_id = $2
             UNION SELECT d.task_id FROM task_deps d JOIN down ON d.dep_id = down.id WHERE d.run_id = $1
         )
         UPDATE tasks SET state = 'blocked', updated_at = $3
         WHERE run_id = $1 AND task_id IN (SELECT id FROM down) AND state IN ('pending', 'ready', 'retrying')
         RETURNING task_id",
    )
    .bind(run)
    .bind(task)
    .bind(now)
    .fetch_all(w.conn())
    .await?;
    for id in blocked {
        w.event(run, Some(&id), "task_blocked", serde_json::json!({ "by": task }), now);
    }
    Ok(())
}

/// Applies the end of an attempt, fenced by the lease token. The caller settles the run.
pub(super) async fn apply_finish(w: &mut Writes, claim: &Claim, finish: &Finish, now: i64) -> Result<()> {
    let (run, task) = (claim.run_id.as_str(), claim.task_id.as_str());
    let (outcome, detail) = match finish {
        Finish::Done { detail } => ("succeeded", detail.as_str()),
        Finish::Retry { error, .. } | Finish::Escalate { error, .. } | Finish::Fail { error } => {
            ("failed", error.as_str())
        }
    };
    // Fencing and closing the attempt in one statement.
    let held: bool = sqlx::query_scalar(
        "WITH held AS (DELETE FROM leases WHERE run_id = $1 AND task_id = $2 AND token = $3 RETURNING token),
              closed AS (
                  UPDATE attempts SET finished_at = $4, outcome = $5, detail = $6
                  WHERE run_id = $1 AND task_id = $2 AND attempt = $7 AND EXISTS (SELECT 1 FROM held)
              )
         SELECT EXISTS (SELECT 1 FROM held)",
    )
    .bind(run)
    .bind(task)
    .bind(claim.token)
    .bind(now)
    .bind(outcome)
    .bind(detail)
    .bind(claim.attempt)
    .fetch_one(w.conn())
    .await?;
    if !held {
        return Err(lease_lost(claim));
    }
    match finish {
        Finish::Done { .. } => {
            sqlx::query("UPDATE tasks SET state = 'done', updated_at = $1 WHERE run_id = $2 AND task_id = $3")
                .bind(now)
                .bind(run)
                .bind(task)
                .execute(w.conn())
                .await?;
            w.event(run, Some(task), "task_done", serde_json::json!({ "attempt": claim.attempt }), now);
            let ready: Vec<Option<String>> = sqlx::query_scalar(
                "UPDATE tasks SET remaining_deps = remaining_deps - 1,
                     state = CASE WHEN state = 'pending' AND remaining_deps = 1 THEN 'ready' ELSE state END,
                     updated_at = CASE WHEN state = 'pending' AND remaining_deps = 1 THEN $3 ELSE updated_at END
                 WHERE run_id = $1 AND task_id IN (SELECT task_id FROM task_deps WHERE run_id = $1 AND dep_id = $2)
                 RETURNING CASE WHEN state = 'ready' AND remaining_deps = 0 THEN task_id END",
            )
            .bind(run)
            .bind(task)
            .bind(now)
            .fetch_all(w.conn())
            .await?;
            let ready: Vec<String> = ready.into_iter().flatten().collect();
            if !ready.is_empty() {
                w.wake();
            }
            for id in ready {
                w.event(run, Some(&id), "task_ready", serde_json::json!({}), now);
            }
        }
        Finish::Retry { error, retry_at, level, specialist, feedback } => {
            sqlx::query(
                "UPDATE tasks SET state = 'retrying', not_before = $1,
                     failures_at_level = CASE WHEN escalation_level = $2 THEN failures_at_level + 1 ELSE 1 END,
                     escalation_level = $2, specialist = COALESCE($3, specialist), updated_at = $4
                 WHERE run_id = $5 AND task_id = $6",
            )
            .bind(retry_at)
            .bind(level)
            .bind(specialist.as_deref())
            .bind(now)
            .bind(run)
            .bind(task)
            .execute(w.conn())
            .await?;
            if let Some(name) = specialist {
                record_tried(w, run, task, name).await?;
            }
            for (source, text) in feedback {
                add_feedback(w, run, task, claim.attempt, source, text, now).await?;
            }
            w.event(
                run,
                Some(task),
                "task_retrying",
                serde_json::json!({ "error": error, "retry_at": retry_at, "level": level, "specialist": specialist }),
                now,
            );
            w.wake();
        }
        Finish::Escalate { error, level, category } => {
            sqlx::query(
                "UPDATE tasks SET state = 'escalated', escalation_level = $1, updated_at = $2 WHERE run_id = $3 AND task_id = $4",
            )
            .bind(level)
            .bind(now)
            .bind(run)
            .bind(task)
            .execute(w.conn())
            .await?;
            sqlx::query(
                "INSERT INTO escalations (run_id, task_id, level, category, reason, state, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'open', $6)",
            )
            .bind(run)
            .bind(task)
            .bind(level)
            .bind(category)
            .bind(error)
            .bind(now)
            .execute(w.conn())
            .await?;
            w.event(
                run,
                Some(task),
                "task_escalated",
                serde_json::json!({ "level": level, "category": category, "reason": error }),
                now,
            );
            block_dependents(w, run, task, now).await?;
        }
        Finish::Fail { error } => {
            sqlx::query("UPDATE tasks SET state = 'failed', updated_at = $1 WHERE run_id = $2 AND task_id = $3")
                .bind(now)
                .bind(run)
                .bind(task)
                .execute(w.conn())
                .await?;
            w.event(run, Some(task), "task_failed", serde_json::json!({ "error": error }), now);
            block_dependents(w, run, task, now).await?;
        }
    }
    Ok(())
}

/// Adds a line of feedback for the task's next brief.
pub(super) async fn add_feedback(
    w: &mut Writes,
    run: &str,
    task: &str,
    attempt: i64,
    source: &str,
    text: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO feedback (run_id, task_id, attempt, source, text, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(run)
        .bind(task)
        .bind(attempt)
        .bind(source)
        .bind(text)
        .bind(now)
        .execute(w.conn())
        .await?;
    Ok(())
}

/// Records that the task has been given to `specialist` (for "next best specialist").
pub(super) async fn record_tried(w: &mut Writes, run: &str, task: &str, specialist: &str) -> Result<()> {
    let tried: String = sqlx::query_scalar("SELECT tried FROM tasks WHERE run_id = $1 AND task_id = $2")
        .bind(run)
        .bind(task)
        .fetch_one(w.conn())
        .await?;
    let mut list: Vec<String> = serde_json::from_str(&tried).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if !list.iter().any(|s| s == specialist) {
        list.push(specialist.to_string());
    }
    sqlx::query("UPDATE tasks SET tried = $1 WHERE run_id = $2 AND task_id = $3")
        .bind(serde_json::Value::from(list).to_string())
        .bind(run)
        .bind(task)
        .execute(w.conn())
        .await?;
    Ok(())
}
