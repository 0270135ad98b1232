//! Set-based transitions for the hot path on PostgreSQL: creating a run and recording a batch of
//! successful attempts (claims are `claims.rs`). Each is a fixed number of statements whatever
//! the batch size: the batch travels as arrays bound as parameters and read with `unnest`, so no
//! SQL is built from data. Batching is what makes PostgreSQL fast here (`../shared/DESIGN.md`:
//! 800 jobs/s one per transaction, 20,000+ fifty at a time).

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
    let (mut ids, mut positions, mut specialists, mut ranks, mut waits) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
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

/// Records successful attempts `(claim, detail)` in one statement: fencing (the lease with the
/// claim's token is deleted, or the result is refused), closing the attempts, marking the tasks
/// done, and counting down their dependents (locked in key order first, so two workers
/// finishing dependencies of the same tasks never deadlock), readying those with none left.
/// Returns, in input order, whether each result was accepted.
pub(super) async fn finish_done(w: &mut Writes, done: &[(&Claim, &str)], now: i64) -> Result<Vec<Result<()>>> {
    let runs: Vec<&str> = done.iter().map(|(c, _)| c.run_id.as_str()).collect();
    let tasks: Vec<&str> = done.iter().map(|(c, _)| c.task_id.as_str()).collect();
    let tokens: Vec<i64> = done.iter().map(|(c, _)| c.token).collect();
    let details: Vec<&str> = done.iter().map(|(_, d)| *d).collect();
    let rows = sqlx::query(
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
         ),
         counted AS (
             SELECT d.run_id, d.task_id, count(*) AS n
             FROM held h JOIN task_deps d ON d.run_id = h.run_id AND d.dep_id = h.task_id
             GROUP BY d.run_id, d.task_id
         ),
         locked AS (
             SELECT t.run_id, t.task_id FROM tasks t JOIN counted c ON t.run_id = c.run_id AND t.task_id = c.task_id
             ORDER BY t.run_id, t.task_id FOR UPDATE OF t
         ),
         readied AS (
             UPDATE tasks t SET remaining_deps = t.remaining_deps - c.n,
                 state = CASE WHEN t.state = 'pending' AND t.remaining_deps - c.n = 0 THEN 'ready' ELSE t.state END,
                 updated_at = CASE WHEN t.state = 'pending' AND t.remaining_deps - c.n = 0 THEN $5 ELSE t.updated_at END
             FROM counted c JOIN locked l ON l.run_id = c.run_id AND l.task_id = c.task_id
             WHERE t.run_id = c.run_id AND t.task_id = c.task_id
             RETURNING t.run_id, t.task_id, t.state
         )
         SELECT 'held' AS what, run_id, task_id, token FROM held
         UNION ALL
         SELECT 'ready', run_id, task_id, 0 FROM readied WHERE state = 'ready'",
    )
    .bind(&runs)
    .bind(&tasks)
    .bind(&tokens)
    .bind(&details)
    .bind(now)
    .fetch_all(w.conn())
    .await?;
    let mut held = HashSet::with_capacity(rows.len());
    let mut ready = Vec::new();
    for r in &rows {
        let (what, run, task): (String, String, String) =
            (r.try_get("what")?, r.try_get("run_id")?, r.try_get("task_id")?);
        if what == "held" {
            held.insert((run, task, r.try_get::<i64, _>("token")?));
        } else {
            ready.push((run, task));
        }
    }
    let mut results = Vec::with_capacity(done.len());
    for (c, _) in done {
        if held.contains(&(c.run_id.clone(), c.task_id.clone(), c.token)) {
            results.push(Ok(()));
            w.event(&c.run_id, Some(&c.task_id), "task_done", serde_json::json!({ "attempt": c.token }), now);
        } else {
            results.push(Err(StoreError::LeaseLost { run: c.run_id.clone(), task: c.task_id.clone(), token: c.token }));
        }
    }
    if !ready.is_empty() {
        w.wake();
    }
    for (run, task) in ready {
        w.event(&run, Some(&task), "task_ready", serde_json::json!({}), now);
    }
    Ok(results)
}
