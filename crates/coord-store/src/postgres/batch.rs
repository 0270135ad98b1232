//! Set-based transitions for the hot path on PostgreSQL: creating a run, claiming a batch of
//! ready tasks (`FOR UPDATE SKIP LOCKED`: concurrent workers skip each other's rows instead of
//! waiting for them), and recording a batch of successful attempts. Each is a fixed number of
//! statements whatever the batch size: the batch travels as arrays bound as parameters and read
//! with `unnest`, so no SQL is built from data. Batching is what makes PostgreSQL fast here
//! (`../shared/DESIGN.md`: 800 jobs/s one per transaction, 20,000+ fifty at a time).

use super::writes::Writes;
use crate::types::{Claim, NewRun};
use crate::{Result, StoreError};
use sqlx::Row;
use std::collections::HashSet;

/// Creates a run, its tasks and dependency edges.
pub(super) async fn create_run(w: &mut Writes, run: &NewRun, now: i64) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO runs (id, objective, plan_json, state, created_at, updated_at)
         VALUES ($1, $2, $3, 'running', $4, $4) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&run.id)
    .bind(&run.objective)
    .bind(&run.plan_json)
    .bind(now)
    .execute(w.conn())
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::DuplicateRun(run.id.clone()));
    }
    w.event(&run.id, None, "run_created", serde_json::json!({ "tasks": run.tasks.len() }), now);
    let n = run.tasks.len();
    let (mut ids, mut positions, mut specialists, mut ranks, mut waits) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut dep_tasks, mut dep_ids) = (Vec::new(), Vec::new());
    for (position, (task, specialist, deps, rank)) in run.tasks.iter().enumerate() {
        // `deps` of a NewRun built from a plan is deduplicated; count distinct ones anyway.
        let distinct: std::collections::BTreeSet<&String> = deps.iter().collect();
        ids.push(task.clone());
        positions.push(position as i64);
        specialists.push(specialist.clone());
        ranks.push(*rank);
        waits.push(distinct.len() as i64);
        for d in distinct {
            dep_tasks.push(task.clone());
            dep_ids.push(d.clone());
        }
    }
    sqlx::query(
        "INSERT INTO tasks (run_id, task_id, position, specialist, state, rank, remaining_deps, updated_at)
         SELECT $1, t, p, s, CASE WHEN n = 0 THEN 'ready' ELSE 'pending' END, k, n, $2
         FROM unnest($3::text[], $4::int8[], $5::text[], $6::int8[], $7::int8[]) AS x(t, p, s, k, n)",
    )
    .bind(&run.id)
    .bind(now)
    .bind(&ids)
    .bind(&positions)
    .bind(&specialists)
    .bind(&ranks)
    .bind(&waits)
    .execute(w.conn())
    .await?;
    if !dep_tasks.is_empty() {
        sqlx::query(
            "INSERT INTO task_deps (run_id, task_id, dep_id)
             SELECT $1, t, d FROM unnest($2::text[], $3::text[]) AS x(t, d) ON CONFLICT DO NOTHING",
        )
        .bind(&run.id)
        .bind(&dep_tasks)
        .bind(&dep_ids)
        .execute(w.conn())
        .await?;
    }
    let mut any_ready = false;
    for (task, waits) in ids.iter().zip(&waits) {
        if *waits == 0 {
            w.event(&run.id, Some(task), "task_ready", serde_json::json!({}), now);
            any_ready = true;
        }
    }
    if any_ready {
        w.wake();
    }
    Ok(())
}

/// Claims up to `limit` ready tasks of `run` (of every run with `None`), best rank first: one
/// statement marks them running, opens their attempts and takes their leases.
pub(super) async fn claim(
    w: &mut Writes,
    run: Option<&str>,
    owner: &str,
    limit: usize,
    lease_ms: i64,
    now: i64,
    only: Option<&[String]>,
) -> Result<Vec<Claim>> {
    // Two statements rather than `$1 IS NULL OR run_id = $1`, so each keeps a good plan: the
    // (run_id, state, rank) index for one run, the partial index of claimable tasks by rank for
    // every run.
    let query = match run {
        Some(_) => sqlx::query(
            "WITH picked AS (
                 SELECT run_id, task_id FROM tasks
                 WHERE run_id = $1 AND state IN ('ready', 'retrying') AND not_before <= $2
                   AND ($4::text[] IS NULL OR specialist = ANY($4))
                 ORDER BY rank LIMIT $3
                 FOR UPDATE SKIP LOCKED
             ),
             claimed AS (
                 UPDATE tasks t SET state = 'running', attempts = t.attempts + 1, updated_at = $2
                 FROM picked p WHERE t.run_id = p.run_id AND t.task_id = p.task_id
                 RETURNING t.run_id, t.task_id, t.specialist, t.attempts, t.rank
             ),
             opened AS (
                 INSERT INTO attempts (run_id, task_id, attempt, specialist, owner, started_at)
                 SELECT run_id, task_id, attempts, specialist, $5, $2 FROM claimed
             ),
             leased AS (
                 INSERT INTO leases (run_id, task_id, owner, token, expires_at)
                 SELECT run_id, task_id, $5, attempts, $6 FROM claimed
                 ON CONFLICT (run_id, task_id) DO UPDATE
                     SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at
             )
             SELECT run_id, task_id, specialist, attempts, rank FROM claimed ORDER BY rank",
        ),
        None => sqlx::query(
            "WITH picked AS (
                 SELECT run_id, task_id FROM tasks
                 WHERE $1::text IS NULL AND state IN ('ready', 'retrying') AND not_before <= $2
                   AND ($4::text[] IS NULL OR specialist = ANY($4))
                 ORDER BY rank LIMIT $3
                 FOR UPDATE SKIP LOCKED
             ),
             claimed AS (
                 UPDATE tasks t SET state = 'running', attempts = t.attempts + 1, updated_at = $2
                 FROM picked p WHERE t.run_id = p.run_id AND t.task_id = p.task_id
                 RETURNING t.run_id, t.task_id, t.specialist, t.attempts, t.rank
             ),
             opened AS (
                 INSERT INTO attempts (run_id, task_id, attempt, specialist, owner, started_at)
                 SELECT run_id, task_id, attempts, specialist, $5, $2 FROM claimed
             ),
             leased AS (
                 INSERT INTO leases (run_id, task_id, owner, token, expires_at)
                 SELECT run_id, task_id, $5, attempts, $6 FROM claimed
                 ON CONFLICT (run_id, task_id) DO UPDATE
                     SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at
             )
             SELECT run_id, task_id, specialist, attempts, rank FROM claimed ORDER BY rank",
        ),
    };
    let rows = query
        .bind(run)
        .bind(now)
        .bind(limit.min(i64::MAX as usize) as i64)
        .bind(only)
        .bind(owner)
        .bind(now + lease_ms)
        .fetch_all(w.conn())
        .await?;
    let mut claims = Vec::with_capacity(rows.len());
    for row in rows {
        let attempt: i64 = row.try_get("attempts")?;
        let claim = Claim {
            run_id: row.try_get("run_id")?,
            task_id: row.try_get("task_id")?,
            specialist: row.try_get("specialist")?,
            attempt,
            // The attempt number is the fencing token: it grows with every claim of the task.
            token: attempt,
        };
        w.event(
            &claim.run_id,
            Some(&claim.task_id),
            "task_claimed",
            serde_json::json!({ "attempt": attempt, "owner": owner }),
            now,
        );
        claims.push(claim);
    }
    Ok(claims)
}

/// Records successful attempts `(claim, detail)` in a fixed number of statements. Returns, in
/// input order, whether each result was accepted (its lease was still held).
pub(super) async fn finish_done(w: &mut Writes, done: &[(&Claim, &str)], now: i64) -> Result<Vec<Result<()>>> {
    let runs: Vec<&str> = done.iter().map(|(c, _)| c.run_id.as_str()).collect();
    let tasks: Vec<&str> = done.iter().map(|(c, _)| c.task_id.as_str()).collect();
    let tokens: Vec<i64> = done.iter().map(|(c, _)| c.token).collect();
    let details: Vec<&str> = done.iter().map(|(_, d)| *d).collect();
    // Fencing, closing the attempts and marking the tasks done: one statement.
    let held_rows = sqlx::query(
        "WITH batch AS (
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[]) AS b(run_id, task_id, token, detail)
         ),
         held AS (
             DELETE FROM leases l USING batch b
             WHERE l.run_id = b.run_id AND l.task_id = b.task_id AND l.token = b.token
             RETURNING l.run_id, l.task_id, l.token, b.detail
         ),
         closed AS (
             UPDATE attempts a SET finished_at = $5, outcome = 'succeeded', detail = h.detail
             FROM held h WHERE a.run_id = h.run_id AND a.task_id = h.task_id AND a.attempt = h.token
         ),
         marked AS (
             UPDATE tasks t SET state = 'done', updated_at = $5
             FROM held h WHERE t.run_id = h.run_id AND t.task_id = h.task_id
         )
         SELECT run_id, task_id, token FROM held",
    )
    .bind(&runs)
    .bind(&tasks)
    .bind(&tokens)
    .bind(&details)
    .bind(now)
    .fetch_all(w.conn())
    .await?;
    let mut held = HashSet::with_capacity(held_rows.len());
    for r in &held_rows {
        held.insert((
            r.try_get::<String, _>("run_id")?,
            r.try_get::<String, _>("task_id")?,
            r.try_get::<i64, _>("token")?,
        ));
    }
    let mut results = Vec::with_capacity(done.len());
    let (mut acc_runs, mut acc_tasks) = (Vec::new(), Vec::new());
    for (c, _) in done {
        if held.contains(&(c.run_id.clone(), c.task_id.clone(), c.token)) {
            results.push(Ok(()));
            acc_runs.push(c.run_id.clone());
            acc_tasks.push(c.task_id.clone());
            w.event(&c.run_id, Some(&c.task_id), "task_done", serde_json::json!({ "attempt": c.token }), now);
        } else {
            results.push(Err(StoreError::LeaseLost { run: c.run_id.clone(), task: c.task_id.clone(), token: c.token }));
        }
    }
    if acc_runs.is_empty() {
        return Ok(results);
    }
    // Dependents: one less dependency each, and ready when none is left. Their rows are
    // locked in key order first: two workers finishing dependencies of the same tasks then
    // never hold one row each while waiting for the other's.
    let ready = sqlx::query(
        "WITH counted AS (
             SELECT d.run_id, d.task_id, count(*) AS n
             FROM unnest($1::text[], $2::text[]) AS b(run_id, task_id)
             JOIN task_deps d ON d.run_id = b.run_id AND d.dep_id = b.task_id
             GROUP BY d.run_id, d.task_id
         ),
         locked AS (
             SELECT t.run_id, t.task_id FROM tasks t JOIN counted c ON t.run_id = c.run_id AND t.task_id = c.task_id
             ORDER BY t.run_id, t.task_id FOR UPDATE OF t
         )
         UPDATE tasks t SET remaining_deps = t.remaining_deps - c.n,
             state = CASE WHEN t.state = 'pending' AND t.remaining_deps - c.n = 0 THEN 'ready' ELSE t.state END,
             updated_at = CASE WHEN t.state = 'pending' AND t.remaining_deps - c.n = 0 THEN $3 ELSE t.updated_at END
         FROM counted c JOIN locked l ON l.run_id = c.run_id AND l.task_id = c.task_id
         WHERE t.run_id = c.run_id AND t.task_id = c.task_id
         RETURNING t.run_id, t.task_id, t.state",
    )
    .bind(&acc_runs)
    .bind(&acc_tasks)
    .bind(now)
    .fetch_all(w.conn())
    .await?;
    let mut woke = false;
    for r in &ready {
        if r.try_get::<String, _>("state")? == "ready" {
            let (run, task): (String, String) = (r.try_get("run_id")?, r.try_get("task_id")?);
            w.event(&run, Some(&task), "task_ready", serde_json::json!({}), now);
            woke = true;
        }
    }
    if woke {
        w.wake();
    }
    Ok(results)
}
