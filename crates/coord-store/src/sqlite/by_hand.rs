//! Tasks finished by hand, a batch in one transaction: the server's group commit of manual
//! completions. One read finds every item's task and lease; unclaimed tasks are claimed and
//! finished at once, claimed ones finished on their leases, each with a fixed number of
//! set-based statements whatever the batch size (the
//! batch travels as one JSON parameter read with `json_each`, as in `batch.rs`). The result is
//! the one the items would have one after another: an item refused as not ready is tried
//! again, in another round of the same transaction, when the round before finished something
//! (a task and its dependency completed in one batch).

use super::{batch, transitions};
use crate::types::{Claim, HandDone, WORKER_OWNER_PREFIX};
use crate::{Result, StoreError};
use sqlx::{Row, Sqlite, Transaction};
use std::collections::HashSet;

/// See [`crate::Store::complete_by_hand`].
pub(super) async fn complete(
    tx: &mut Transaction<'static, Sqlite>,
    items: &[HandDone],
    now: i64,
) -> Result<Vec<Result<Claim>>> {
    let mut out: Vec<Option<Result<Claim>>> = (0..items.len()).map(|_| None).collect();
    let mut todo: Vec<&HandDone> = items.iter().collect();
    let mut at: Vec<usize> = (0..items.len()).collect();
    while !todo.is_empty() {
        let (results, not_ready) = round(tx, &todo, now).await?;
        let progressed = results.iter().any(|r| r.is_ok());
        let (mut next, mut next_at) = (Vec::new(), Vec::new());
        for ((result, waiting), (item, i)) in results.into_iter().zip(not_ready).zip(todo.into_iter().zip(at)) {
            if waiting && progressed {
                next.push(item);
                next_at.push(i);
            } else {
                out[i] = Some(result);
            }
        }
        (todo, at) = (next, next_at);
    }
    // Every slot was filled: an item leaves the loop only with its result.
    Ok(out
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Corrupt("a batch item got no result".into()))))
        .collect())
}

/// One round: the results in item order, and which were refused only for not being ready.
async fn round(
    tx: &mut Transaction<'static, Sqlite>,
    items: &[&HandDone],
    now: i64,
) -> Result<(Vec<Result<Claim>>, Vec<bool>)> {
    let asked: Vec<serde_json::Value> =
        items.iter().map(|i| serde_json::json!({ "r": i.run_id, "t": i.task_id })).collect();
    let rows = sqlx::query(
        "SELECT j.key AS i, t.specialist, t.state, t.attempts, t.not_before, l.token, l.owner AS lease_owner
         FROM json_each(?1) j
         LEFT JOIN tasks t ON t.run_id = j.value ->> 'r' AND t.task_id = j.value ->> 't'
         LEFT JOIN leases l ON l.run_id = t.run_id AND l.task_id = t.task_id
         ORDER BY j.key",
    )
    .bind(serde_json::Value::from(asked).to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<Result<Claim>> = Vec::with_capacity(items.len());
    let mut not_ready = vec![false; items.len()];
    let mut fresh: Vec<serde_json::Value> = Vec::new();
    let mut is_fresh = vec![false; items.len()];
    let mut seen: HashSet<(&str, &str)> = HashSet::with_capacity(items.len());
    for (item, row) in items.iter().zip(&rows) {
        let (run, task) = (item.run_id.as_str(), item.task_id.as_str());
        let Some(specialist) = row.try_get::<Option<String>, _>("specialist")? else {
            out.push(Err(StoreError::UnknownTask { run: run.to_string(), task: task.to_string() }));
            continue;
        };
        if seen.contains(&(run, task)) {
            out.push(Err(StoreError::WrongState {
                task: task.to_string(),
                state: "done".into(),
                what: "an earlier completion in the same batch finished it".into(),
            }));
            continue;
        }
        let state: String = row.try_get("state")?;
        let claim = match row.try_get::<Option<i64>, _>("token")? {
            Some(token) => {
                let holder: String = row.try_get("lease_owner")?;
                if holder.starts_with(WORKER_OWNER_PREFIX) {
                    out.push(Err(StoreError::WrongState {
                        task: task.to_string(),
                        state,
                        what: format!("it is being executed by {holder}; only manual work can be completed by hand"),
                    }));
                    continue;
                }
                Claim { run_id: run.to_string(), task_id: task.to_string(), specialist, attempt: token, token }
            }
            None => {
                let not_before: i64 = row.try_get("not_before")?;
                if !(state == "ready" || (state == "retrying" && not_before <= now)) {
                    not_ready[out.len()] = true;
                    out.push(Err(StoreError::WrongState {
                        task: task.to_string(),
                        state,
                        what: "only a ready task can be claimed".into(),
                    }));
                    continue;
                }
                // The attempt number is the fencing token: it grows with every claim of the task.
                let attempt = row.try_get::<i64, _>("attempts")? + 1;
                is_fresh[out.len()] = true;
                fresh.push(serde_json::json!({
                    "r": run, "t": task, "s": specialist, "a": attempt, "o": item.owner, "d": item.detail
                }));
                Claim { run_id: run.to_string(), task_id: task.to_string(), specialist, attempt, token: attempt }
            }
        };
        seen.insert((run, task));
        out.push(Ok(claim));
    }
    let mut runs: Vec<String> = out.iter().filter_map(|r| r.as_ref().ok().map(|c| c.run_id.clone())).collect();
    if runs.is_empty() {
        return Ok((out, not_ready));
    }
    if !fresh.is_empty() {
        finish_fresh(tx, &serde_json::Value::from(fresh).to_string(), now).await?;
    }
    // Tasks a person had claimed before: finished on their leases.
    let held: Vec<(&Claim, &str)> = out
        .iter()
        .zip(items)
        .zip(&is_fresh)
        .filter(|(_, fresh)| !**fresh)
        .filter_map(|((r, i), _)| r.as_ref().ok().map(|c| (c, i.detail.as_str())))
        .collect();
    if !held.is_empty() {
        let finished = batch::finish_done(tx, &held, now).await?;
        drop(held);
        // Every lease was read in this transaction, so each finish is accepted; a refusal
        // would be a broken invariant, and is reported in its slot rather than hidden.
        let slots = out.iter_mut().zip(&is_fresh).filter(|(r, fresh)| r.is_ok() && !**fresh);
        for ((slot, _), result) in slots.zip(finished) {
            if let Err(e) = result {
                *slot = Err(e);
            }
        }
    }
    runs.sort_unstable();
    runs.dedup();
    for run in &runs {
        transitions::settle_run(tx, run, now).await?;
    }
    Ok((out, not_ready))
}

/// Records the batch's unclaimed tasks (`r`, `t`, `s`, `a`, `o`, `d`: run, task, specialist,
/// attempt, owner, detail) as claimed and done at once: no lease is opened, since nobody else
/// can see the claim before it ends. Each task logs `task_claimed` then `task_done`.
async fn finish_fresh(tx: &mut Transaction<'static, Sqlite>, fresh: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE tasks SET state = 'done', attempts = attempts + 1, updated_at = ?2
         WHERE (run_id, task_id) IN (SELECT j.value ->> 'r', j.value ->> 't' FROM json_each(?1) j)",
    )
    .bind(fresh)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO attempts (run_id, task_id, attempt, specialist, owner, started_at, finished_at, outcome, detail)
         SELECT j.value ->> 'r', j.value ->> 't', j.value ->> 'a', j.value ->> 's', j.value ->> 'o', ?2, ?2,
                'succeeded', j.value ->> 'd'
         FROM json_each(?1) j",
    )
    .bind(fresh)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO events (run_id, task_id, at, kind, data)
         SELECT j.value ->> 'r', j.value ->> 't', ?2,
                CASE k.n WHEN 0 THEN 'task_claimed' ELSE 'task_done' END,
                CASE k.n WHEN 0 THEN json_object('attempt', j.value -> 'a', 'owner', j.value ->> 'o')
                         ELSE json_object('attempt', j.value -> 'a') END
         FROM json_each(?1) j CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1) k
         ORDER BY j.key, k.n",
    )
    .bind(fresh)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    batch::release_dependents(tx, fresh, now).await
}
