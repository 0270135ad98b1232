//! Claiming ready tasks on PostgreSQL with `FOR UPDATE SKIP LOCKED`: concurrent workers skip
//! each other's rows instead of waiting for them. One statement picks the tasks (best rank
//! first), marks them running, opens their attempts and takes their leases. Alone (`claim`,
//! `claim_any`) the statement is its own transaction and also takes the runs' event locks and
//! logs the claims, so a claim is one round trip; inside a worker's tick (`finish_and_claim`) it
//! leaves the events to the transaction's buffer.

use super::writes::{LOCK_CLASS, Writes};
use crate::Result;
use crate::types::Claim;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

/// The claim statement: `$1` run (or NULL for any), `$2` now, `$3` limit, `$4` specialists (or
/// NULL), `$5` owner, `$6` lease expiry, `$7` lock class. `$filter` selects one run or any (two
/// texts, so each keeps its index: (run_id, state, rank) for one run, the partial index of
/// claimable tasks for any); `$log` is empty or the CTEs that lock the runs and log the claims.
macro_rules! claim_sql {
    ($filter:literal, $log:expr) => {
        concat!(
            "WITH picked AS (
                 SELECT run_id, task_id FROM tasks
                 WHERE ",
            $filter,
            " AND state IN ('ready', 'retrying') AND not_before <= $2
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
             )",
            $log,
            "
             SELECT run_id, task_id, specialist, attempts, rank FROM claimed WHERE $7::int4 IS NOT NULL ORDER BY rank"
        )
    };
}

/// The CTEs that make a lone claim statement log its claims in order: the runs' advisory locks
/// (sorted) are taken after the rows are claimed and before the sequence numbers are drawn
/// (the insert reads the lock count, so it cannot start before).
macro_rules! log_sql {
    () => {
        ",
             locked AS (
                 SELECT count(*) AS n FROM (
                     SELECT pg_advisory_xact_lock($7, h)
                     FROM (SELECT DISTINCT hashtext(run_id) AS h FROM claimed) AS d ORDER BY h
                 ) AS l
             ),
             logged AS (
                 INSERT INTO events (run_id, task_id, at, kind, data)
                 SELECT c.run_id, c.task_id, $2, 'task_claimed',
                        json_build_object('attempt', c.attempts, 'owner', $5::text)::text
                 FROM claimed c CROSS JOIN locked
                 ORDER BY c.rank
             )"
    };
}

const ONE_RUN: &str = claim_sql!("run_id = $1", "");
const ANY_RUN: &str = claim_sql!("$1::text IS NULL", "");
const ONE_RUN_LOGGED: &str = claim_sql!("run_id = $1", log_sql!());
const ANY_RUN_LOGGED: &str = claim_sql!("$1::text IS NULL", log_sql!());

/// What to claim.
pub(super) struct Ask<'a> {
    pub(super) run: Option<&'a str>,
    pub(super) owner: &'a str,
    pub(super) limit: usize,
    pub(super) lease_ms: i64,
    pub(super) now: i64,
    pub(super) only: Option<&'a [String]>,
}

async fn run_claim(conn: &mut PgConnection, sql: &'static str, ask: &Ask<'_>) -> Result<Vec<PgRow>> {
    Ok(sqlx::query(sql)
        .bind(ask.run)
        .bind(ask.now)
        .bind(ask.limit.min(i64::MAX as usize) as i64)
        .bind(ask.only)
        .bind(ask.owner)
        .bind(ask.now + ask.lease_ms)
        .bind(LOCK_CLASS)
        .fetch_all(conn)
        .await?)
}

fn claims_of(rows: &[PgRow]) -> Result<Vec<Claim>> {
    rows.iter()
        .map(|row| {
            let attempt: i64 = row.try_get("attempts")?;
            Ok(Claim {
                run_id: row.try_get("run_id")?,
                task_id: row.try_get("task_id")?,
                specialist: row.try_get("specialist")?,
                attempt,
                // The attempt number is the fencing token: it grows with every claim of the task.
                token: attempt,
            })
        })
        .collect()
}

/// A claim that is its own transaction: one round trip.
pub(super) async fn claim_alone(conn: &mut PgConnection, ask: &Ask<'_>) -> Result<Vec<Claim>> {
    let sql = if ask.run.is_some() { ONE_RUN_LOGGED } else { ANY_RUN_LOGGED };
    claims_of(&run_claim(conn, sql, ask).await?)
}

/// A claim inside a larger transaction: its events go to the buffer.
pub(super) async fn claim_in(w: &mut Writes, ask: &Ask<'_>) -> Result<Vec<Claim>> {
    let sql = if ask.run.is_some() { ONE_RUN } else { ANY_RUN };
    let claims = claims_of(&run_claim(w.conn(), sql, ask).await?)?;
    for c in &claims {
        w.event(
            &c.run_id,
            Some(&c.task_id),
            "task_claimed",
            serde_json::json!({ "attempt": c.attempt, "owner": ask.owner }),
            ask.now,
        );
    }
    Ok(claims)
}
