//! The worker registry and the list of leases on PostgreSQL, for `coord workers`.

use crate::Result;
use crate::types::{LeaseRecord, WorkerInfo, WorkerRecord};
use sqlx::{PgPool, Row};

/// Registrations not renewed for this long are removed at the next beat of any worker.
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;

pub(super) async fn beat(pool: &PgPool, w: &WorkerInfo, now: i64) -> Result<()> {
    sqlx::query(
        "WITH forgotten AS (DELETE FROM workers WHERE seen_at < $8 AND id <> $1)
         INSERT INTO workers (id, host, pid, concurrency, state, started_at, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, concurrency = excluded.concurrency,
             state = excluded.state, started_at = excluded.started_at, seen_at = excluded.seen_at",
    )
    .bind(&w.id)
    .bind(&w.host)
    .bind(w.pid)
    .bind(w.concurrency)
    .bind(&w.state)
    .bind(w.started_at)
    .bind(now)
    .bind(now - FORGET_AFTER_MS)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn list(pool: &PgPool) -> Result<Vec<WorkerRecord>> {
    let rows = sqlx::query("SELECT * FROM workers ORDER BY seen_at DESC, id").fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(WorkerRecord {
                info: WorkerInfo {
                    id: r.try_get("id")?,
                    host: r.try_get("host")?,
                    pid: r.try_get("pid")?,
                    concurrency: r.try_get("concurrency")?,
                    started_at: r.try_get("started_at")?,
                    state: r.try_get("state")?,
                },
                seen_at: r.try_get("seen_at")?,
            })
        })
        .collect()
}

pub(super) async fn leases(pool: &PgPool) -> Result<Vec<LeaseRecord>> {
    let rows = sqlx::query("SELECT * FROM leases ORDER BY owner, run_id, task_id").fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(LeaseRecord {
                run_id: r.try_get("run_id")?,
                task_id: r.try_get("task_id")?,
                owner: r.try_get("owner")?,
                token: r.try_get("token")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .collect()
}
