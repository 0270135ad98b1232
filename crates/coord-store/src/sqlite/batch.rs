//! Set-based transitions for the hot path: claiming a batch of ready tasks and recording a
//! batch of successful attempts each take a fixed handful of statements, whatever the batch
//! size. The batch travels as one JSON parameter read with `json_each`, so no SQL is built
//! from data. This is the group commit that `../shared/DESIGN.md` asks for: commits, not the
//! scheduler, bound throughput, so one dispatch tick is one transaction.

use crate::types::Claim;
use crate::{Result, StoreError};
use sqlx::{Row, Sqlite, Transaction};

/// Claims up to `limit` ready tasks of `run` (of every run with `None`), best rank first, in
/// one transaction.
pub(super) async fn claim(
    tx: &mut Transaction<'_, Sqlite>,
    run: Option<&str>,
    owner: &str,
    limit: usize,
    lease_ms: i64,
    now: i64,
    only: Option<String>,
) -> Result<Vec<Claim>> {
    // Two statements, so each uses its index: (run_id, state, rank) for one run, the partial
    // index of claimable tasks by rank across runs.
    let query = match run {
        Some(_) => sqlx::query(
            "UPDATE tasks SET state = 'running', attempts = attempts + 1, updated_at = ?2
             WHERE rowid IN (
                 SELECT rowid FROM tasks
                 WHERE run_id = ?1 AND state IN ('ready', 'retrying') AND not_before <= ?2
                   AND (?4 IS NULL OR specialist IN (SELECT value FROM json_each(?4)))
                 ORDER BY rank LIMIT ?3)
             RETURNING run_id, task_id, specialist, attempts, rank",
        ),
        None => sqlx::query(
            "UPDATE tasks SET state = 'running', attempts = attempts + 1, updated_at = ?2
             WHERE rowid IN (
                 SELECT rowid FROM tasks
                 WHERE ?1 IS NULL AND state IN ('ready', 'retrying') AND not_before <= ?2
                   AND (?4 IS NULL OR specialist IN (SELECT value FROM json_each(?4)))
                 ORDER BY rank LIMIT ?3)
             RETURNING run_id, task_id, specialist, attempts, rank",
        ),
    };
    let rows = query.bind(run).bind(now).bind(limit as i64).bind(only).fetch_all(&mut **tx).await?;
    let mut claimed: Vec<(i64, Claim)> = Vec::with_capacity(rows.len());
    for row in rows {
        let attempt: i64 = row.try_get("attempts")?;
        claimed.push((
            row.try_get("rank")?,
            Claim {
                run_id: row.try_get("run_id")?,
                task_id: row.try_get("task_id")?,
                specialist: row.try_get("specialist")?,
                attempt,
                // The attempt number is the fencing token: it grows with every claim of the task.
                token: attempt,
            },
        ));
    }
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    claimed.sort_by_key(|(rank, _)| *rank);
    let batch: Vec<serde_json::Value> = claimed
        .iter()
        .map(|(_, c)| serde_json::json!({ "r": c.run_id, "t": c.task_id, "s": c.specialist, "a": c.attempt }))
        .collect();
    let batch = serde_json::Value::from(batch).to_string();
    sqlx::query(
        "INSERT INTO attempts (run_id, task_id, attempt, specialist, owner, started_at)
         SELECT j.value ->> 'r', j.value ->> 't', j.value ->> 'a', j.value ->> 's', ?1, ?2 FROM json_each(?3) j",
    )
    .bind(owner)
    .bind(now)
    .bind(&batch)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT OR REPLACE INTO leases (run_id, task_id, owner, token, expires_at)
         SELECT j.value ->> 'r', j.value ->> 't', ?1, j.value ->> 'a', ?2 FROM json_each(?3) j",
    )
    .bind(owner)
    .bind(now + lease_ms)
    .bind(&batch)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO events (run_id, task_id, at, kind, data)
         SELECT j.value ->> 'r', j.value ->> 't', ?1, 'task_claimed', json_object('attempt', j.value -> 'a', 'owner', ?2)
         FROM json_each(?3) j",
    )
    .bind(now)
    .bind(owner)
    .bind(&batch)
    .execute(&mut **tx)
    .await?;
    Ok(claimed.into_iter().map(|(_, c)| c).collect())
}

/// Records successful attempts `(claim, detail)` in a fixed number of statements. Returns, in
/// input order, whether each result was accepted (its lease was still held).
pub(super) async fn finish_done(
    tx: &mut Transaction<'_, Sqlite>,
    done: &[(&Claim, &str)],
    now: i64,
) -> Result<Vec<Result<()>>> {
    let batch: Vec<serde_json::Value> =
        done.iter().map(|(c, d)| serde_json::json!({ "r": c.run_id, "t": c.task_id, "k": c.token, "d": d })).collect();
    let batch = serde_json::Value::from(batch).to_string();
    let held_rows = sqlx::query(
        "DELETE FROM leases WHERE (run_id, task_id, token) IN
             (SELECT j.value ->> 'r', j.value ->> 't', j.value ->> 'k' FROM json_each(?1) j)
         RETURNING run_id, task_id, token",
    )
    .bind(&batch)
    .fetch_all(&mut **tx)
    .await?;
    let mut held = std::collections::HashSet::with_capacity(held_rows.len());
    for r in &held_rows {
        held.insert((
            r.try_get::<String, _>("run_id")?,
            r.try_get::<String, _>("task_id")?,
            r.try_get::<i64, _>("token")?,
        ));
    }
    let results: Vec<Result<()>> = done
        .iter()
        .map(|(c, _)| {
            if held.contains(&(c.run_id.clone(), c.task_id.clone(), c.token)) {
                Ok(())
            } else {
                Err(StoreError::LeaseLost { run: c.run_id.clone(), task: c.task_id.clone(), token: c.token })
            }
        })
        .collect();
    let accepted: Vec<serde_json::Value> = done
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|((c, d), _)| serde_json::json!({ "r": c.run_id, "t": c.task_id, "k": c.token, "d": d }))
        .collect();
    if accepted.is_empty() {
        return Ok(results);
    }
    let accepted = serde_json::Value::from(accepted).to_string();
    sqlx::query(
        "UPDATE attempts SET finished_at = ?2, outcome = 'succeeded', detail = j.value ->> 'd'
         FROM json_each(?1) j
         WHERE attempts.run_id = j.value ->> 'r' AND attempts.task_id = j.value ->> 't' AND attempts.attempt = j.value ->> 'k'",
    )
    .bind(&accepted)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE tasks SET state = 'done', updated_at = ?2 FROM json_each(?1) j
         WHERE tasks.run_id = j.value ->> 'r' AND tasks.task_id = j.value ->> 't'",
    )
    .bind(&accepted)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO events (run_id, task_id, at, kind, data)
         SELECT j.value ->> 'r', j.value ->> 't', ?2, 'task_done', json_object('attempt', j.value -> 'k')
         FROM json_each(?1) j",
    )
    .bind(&accepted)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    release_dependents(tx, &accepted, now).await?;
    Ok(results)
}

/// Counts down the dependents of the tasks just done (`r`, `t` in `done`, a JSON list) and
/// readies those with nothing left to wait for, logging `task_ready` for each: one statement,
/// and one more when something became ready.
pub(super) async fn release_dependents(tx: &mut Transaction<'_, Sqlite>, done: &str, now: i64) -> Result<()> {
    let released = sqlx::query(
        "UPDATE tasks SET remaining_deps = remaining_deps - c.n,
             state = CASE WHEN state = 'pending' AND remaining_deps - c.n = 0 THEN 'ready' ELSE state END,
             updated_at = CASE WHEN state = 'pending' AND remaining_deps - c.n = 0 THEN ?2 ELSE updated_at END
         FROM (SELECT d.run_id AS run_id, d.task_id AS task_id, count(*) AS n
               FROM json_each(?1) j JOIN task_deps d ON d.run_id = j.value ->> 'r' AND d.dep_id = j.value ->> 't'
               GROUP BY d.run_id, d.task_id) AS c
         WHERE tasks.run_id = c.run_id AND tasks.task_id = c.task_id
         RETURNING tasks.run_id, tasks.task_id, tasks.state",
    )
    .bind(done)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let mut ready = Vec::new();
    for r in &released {
        if r.try_get::<String, _>("state")? == "ready" {
            ready.push(
                serde_json::json!({ "r": r.try_get::<String, _>("run_id")?, "t": r.try_get::<String, _>("task_id")? }),
            );
        }
    }
    if !ready.is_empty() {
        sqlx::query(
            "INSERT INTO events (run_id, task_id, at, kind, data)
             SELECT j.value ->> 'r', j.value ->> 't', ?2, 'task_ready', '{}' FROM json_each(?1) j",
        )
        .bind(serde_json::Value::from(ready).to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
