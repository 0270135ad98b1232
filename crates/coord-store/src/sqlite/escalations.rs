//! Escalations, manual claims, dead owners and the read side of attempts and feedback.

use super::SqliteStore;
use super::transitions::{add_feedback, event, record_tried, settle_run};
use crate::types::{AttemptRecord, Claim, Decision, EscalationRecord};
use crate::{Result, StoreError};
use sqlx::{Row, Sqlite, Transaction};

fn escalation(row: &sqlx::sqlite::SqliteRow) -> Result<EscalationRecord> {
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

/// Returns leased tasks to `ready`, counting their attempts as interrupted.
pub(super) async fn interrupt(
    tx: &mut Transaction<'_, Sqlite>,
    rows: Vec<sqlx::sqlite::SqliteRow>,
    why: &str,
    now: i64,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let run: String = row.try_get("run_id")?;
        let task: String = row.try_get("task_id")?;
        let token: i64 = row.try_get("token")?;
        sqlx::query(
            "UPDATE attempts SET finished_at = ?, outcome = 'interrupted', detail = ?
             WHERE run_id = ? AND task_id = ? AND attempt = ? AND finished_at IS NULL",
        )
        .bind(now)
        .bind(why)
        .bind(&run)
        .bind(&task)
        .bind(token)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE tasks SET state = 'ready', updated_at = ? WHERE run_id = ? AND task_id = ? AND state IN ('running', 'gating')")
            .bind(now)
            .bind(&run)
            .bind(&task)
            .execute(&mut **tx)
            .await?;
        event(tx, &run, Some(&task), "lease_expired", serde_json::json!({ "attempt": token, "why": why }), now).await?;
        out.push((run, task));
    }
    Ok(out)
}

/// Blocked tasks of the run with no failed or escalated task upstream go back to pending, and
/// to ready when their dependencies are done.
async fn unblock(tx: &mut Transaction<'_, Sqlite>, run: &str, now: i64) -> Result<()> {
    let freed: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE up(task_id, dep_id) AS (
             SELECT task_id, dep_id FROM task_deps WHERE run_id = ?1
             UNION SELECT up.task_id, d.dep_id FROM up JOIN task_deps d ON d.task_id = up.dep_id AND d.run_id = ?1
         )
         UPDATE tasks SET state = CASE WHEN remaining_deps = 0 THEN 'ready' ELSE 'pending' END, updated_at = ?2
         WHERE run_id = ?1 AND state = 'blocked' AND task_id NOT IN (
             SELECT up.task_id FROM up JOIN tasks t ON t.run_id = ?1 AND t.task_id = up.dep_id
             WHERE t.state IN ('failed', 'escalated')
         )
         RETURNING task_id",
    )
    .bind(run)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    for id in freed {
        event(tx, run, Some(&id), "task_unblocked", serde_json::json!({}), now).await?;
    }
    Ok(())
}

impl SqliteStore {
    pub(super) async fn claim_task_impl(
        &self,
        run: &str,
        task: &str,
        owner: &str,
        lease_ms: i64,
        now: i64,
    ) -> Result<Claim> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT specialist, state, attempts FROM tasks WHERE run_id = ? AND task_id = ?")
            .bind(run)
            .bind(task)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::UnknownTask { run: run.to_string(), task: task.to_string() })?;
        let state: String = row.try_get("state")?;
        let not_before: i64 = sqlx::query_scalar("SELECT not_before FROM tasks WHERE run_id = ? AND task_id = ?")
            .bind(run)
            .bind(task)
            .fetch_one(&mut *tx)
            .await?;
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
            "UPDATE tasks SET state = 'running', attempts = ?, updated_at = ? WHERE run_id = ? AND task_id = ?",
        )
        .bind(attempt)
        .bind(now)
        .bind(run)
        .bind(task)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO attempts (run_id, task_id, attempt, specialist, owner, started_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(run)
        .bind(task)
        .bind(attempt)
        .bind(&specialist)
        .bind(owner)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT OR REPLACE INTO leases (run_id, task_id, owner, token, expires_at) VALUES (?, ?, ?, ?, ?)")
            .bind(run)
            .bind(task)
            .bind(owner)
            .bind(attempt)
            .bind(now + lease_ms)
            .execute(&mut *tx)
            .await?;
        event(&mut tx, run, Some(task), "task_claimed", serde_json::json!({ "attempt": attempt, "owner": owner }), now)
            .await?;
        tx.commit().await?;
        Ok(Claim { run_id: run.to_string(), task_id: task.to_string(), specialist, attempt, token: attempt })
    }

    pub(super) async fn current_claim_impl(&self, run: &str, task: &str) -> Result<Option<Claim>> {
        let row = sqlx::query(
            "SELECT l.token, t.specialist FROM leases l JOIN tasks t ON t.run_id = l.run_id AND t.task_id = l.task_id
             WHERE l.run_id = ? AND l.task_id = ?",
        )
        .bind(run)
        .bind(task)
        .fetch_optional(&self.pool)
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

    pub(super) async fn release_owner_impl(&self, owner: &str, now: i64) -> Result<Vec<(String, String)>> {
        let mut tx = self.write().await?;
        let rows = sqlx::query("DELETE FROM leases WHERE owner = ? RETURNING run_id, task_id, token")
            .bind(owner)
            .fetch_all(&mut *tx)
            .await?;
        let out = interrupt(&mut tx, rows, &format!("{owner} is gone"), now).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn release_claims_impl(
        &self,
        claims: &[Claim],
        why: &str,
        now: i64,
    ) -> Result<Vec<(String, String)>> {
        let mut tx = self.write().await?;
        let mut rows = Vec::with_capacity(claims.len());
        for c in claims {
            let row = sqlx::query(
                "DELETE FROM leases WHERE run_id = ? AND task_id = ? AND token = ? RETURNING run_id, task_id, token",
            )
            .bind(&c.run_id)
            .bind(&c.task_id)
            .bind(c.token)
            .fetch_optional(&mut *tx)
            .await?;
            rows.extend(row);
        }
        let out = interrupt(&mut tx, rows, why, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn lease_owners_impl(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT owner FROM leases ORDER BY owner").fetch_all(&self.pool).await?)
    }

    pub(super) async fn feedback_impl(&self, run: &str, task: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT source, text FROM feedback WHERE run_id = ? AND task_id = ? ORDER BY seq")
            .bind(run)
            .bind(task)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("source")?, r.try_get("text")?))).collect()
    }

    pub(super) async fn attempts_impl(&self, run: &str, task: &str) -> Result<Vec<AttemptRecord>> {
        let rows = sqlx::query("SELECT * FROM attempts WHERE run_id = ? AND task_id = ? ORDER BY attempt")
            .bind(run)
            .bind(task)
            .fetch_all(&self.pool)
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

    pub(super) async fn tried_impl(&self, run: &str, task: &str) -> Result<Vec<String>> {
        let tried: Option<String> = sqlx::query_scalar("SELECT tried FROM tasks WHERE run_id = ? AND task_id = ?")
            .bind(run)
            .bind(task)
            .fetch_optional(&self.pool)
            .await?;
        let tried = tried.ok_or_else(|| StoreError::UnknownTask { run: run.to_string(), task: task.to_string() })?;
        serde_json::from_str(&tried).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub(super) async fn escalations_impl(&self, run: Option<&str>, open_only: bool) -> Result<Vec<EscalationRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM escalations WHERE (?1 IS NULL OR run_id = ?1) AND (?2 = 0 OR state = 'open')
             ORDER BY id DESC",
        )
        .bind(run)
        .bind(open_only as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(escalation).collect()
    }

    pub(super) async fn resolve_escalation_impl(
        &self,
        id: i64,
        decision: &Decision,
        note: Option<&str>,
        now: i64,
    ) -> Result<EscalationRecord> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT * FROM escalations WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::UnknownEscalation(id))?;
        let mut record = escalation(&row)?;
        if record.state != "open" {
            return Err(StoreError::AlreadyResolved(id));
        }
        let (run, task) = (record.run_id.clone(), record.task_id.clone());
        let state: String = sqlx::query_scalar("SELECT state FROM tasks WHERE run_id = ? AND task_id = ?")
            .bind(&run)
            .bind(&task)
            .fetch_one(&mut *tx)
            .await?;
        let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM tasks WHERE run_id = ? AND task_id = ?")
            .bind(&run)
            .bind(&task)
            .fetch_one(&mut *tx)
            .await?;
        let decided = decision.as_string();
        sqlx::query("UPDATE escalations SET state = 'resolved', decision = ?, note = ?, resolved_at = ? WHERE id = ?")
            .bind(&decided)
            .bind(note)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            &run,
            Some(&task),
            "escalation_resolved",
            serde_json::json!({ "id": id, "decision": decided, "note": note }),
            now,
        )
        .await?;
        if state == "escalated" {
            match decision {
                Decision::Retry | Decision::Reassign(_) => {
                    let specialist = match decision {
                        Decision::Reassign(name) => Some(name.as_str()),
                        _ => None,
                    };
                    sqlx::query(
                        "UPDATE tasks SET state = 'ready', escalation_level = 0, failures_at_level = 0, not_before = 0,
                             specialist = COALESCE(?, specialist), updated_at = ? WHERE run_id = ? AND task_id = ?",
                    )
                    .bind(specialist)
                    .bind(now)
                    .bind(&run)
                    .bind(&task)
                    .execute(&mut *tx)
                    .await?;
                    if let Some(name) = specialist {
                        record_tried(&mut tx, &run, &task, name).await?;
                    }
                    let (source, text) = record.decision_feedback(&decided, note);
                    add_feedback(&mut tx, &run, &task, attempts, source, &text, now).await?;
                    event(&mut tx, &run, Some(&task), "task_ready", serde_json::json!({ "decision": decided }), now)
                        .await?;
                    unblock(&mut tx, &run, now).await?;
                }
                Decision::Skip | Decision::Approve => {
                    sqlx::query("UPDATE tasks SET state = 'done', updated_at = ? WHERE run_id = ? AND task_id = ?")
                        .bind(now)
                        .bind(&run)
                        .bind(&task)
                        .execute(&mut *tx)
                        .await?;
                    if *decision == Decision::Approve {
                        // The result stands: the task is done, by approval of its last attempt.
                        let data = serde_json::json!({ "attempt": attempts, "by": "approval", "escalation": id });
                        event(&mut tx, &run, Some(&task), "task_done", data, now).await?;
                    } else {
                        event(&mut tx, &run, Some(&task), "task_skipped", serde_json::json!({}), now).await?;
                    }
                    sqlx::query(
                        "UPDATE tasks SET remaining_deps = remaining_deps - 1
                         WHERE run_id = ?1 AND task_id IN (SELECT task_id FROM task_deps WHERE run_id = ?1 AND dep_id = ?2)",
                    )
                    .bind(&run)
                    .bind(&task)
                    .execute(&mut *tx)
                    .await?;
                    unblock(&mut tx, &run, now).await?;
                    let ready: Vec<String> = sqlx::query_scalar(
                        "UPDATE tasks SET state = 'ready', updated_at = ?2
                         WHERE run_id = ?1 AND state = 'pending' AND remaining_deps = 0 RETURNING task_id",
                    )
                    .bind(&run)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                    for id in ready {
                        event(&mut tx, &run, Some(&id), "task_ready", serde_json::json!({}), now).await?;
                    }
                }
                Decision::Abort => {}
            }
        }
        if *decision == Decision::Abort {
            sqlx::query("UPDATE tasks SET state = 'cancelled', updated_at = ? WHERE run_id = ? AND state NOT IN ('done', 'failed', 'cancelled')")
                .bind(now)
                .bind(&run)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM leases WHERE run_id = ?").bind(&run).execute(&mut *tx).await?;
            sqlx::query("UPDATE runs SET state = 'cancelled', updated_at = ? WHERE id = ? AND state = 'running'")
                .bind(now)
                .bind(&run)
                .execute(&mut *tx)
                .await?;
            event(&mut tx, &run, None, "run_cancelled", serde_json::json!({ "by": "escalation decision" }), now)
                .await?;
        } else {
            settle_run(&mut tx, &run, now).await?;
        }
        tx.commit().await?;
        record.state = "resolved".into();
        record.decision = Some(decided);
        record.note = note.map(str::to_string);
        Ok(record)
    }
}
