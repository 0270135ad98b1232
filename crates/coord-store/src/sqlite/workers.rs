//! The worker registry and the list of leases, for `coord workers`.

use super::SqliteStore;
use crate::Result;
use crate::types::{LeaseRecord, WorkerInfo, WorkerRecord};
use sqlx::Row;

/// Registrations not renewed for this long are removed at the next beat of any worker.
pub(crate) const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;

impl SqliteStore {
    pub(super) async fn worker_beat_impl(&self, w: &WorkerInfo, now: i64) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO workers (id, host, pid, concurrency, state, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                 concurrency = excluded.concurrency, state = excluded.state, started_at = excluded.started_at,
                 seen_at = excluded.seen_at",
        )
        .bind(&w.id)
        .bind(&w.host)
        .bind(w.pid)
        .bind(w.concurrency)
        .bind(&w.state)
        .bind(w.started_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM workers WHERE seen_at < ?").bind(now - FORGET_AFTER_MS).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn remove_worker_impl(&self, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM workers WHERE id = ?").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn workers_impl(&self) -> Result<Vec<WorkerRecord>> {
        let rows = sqlx::query("SELECT * FROM workers ORDER BY seen_at DESC, id").fetch_all(&self.pool).await?;
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

    pub(super) async fn leases_impl(&self) -> Result<Vec<LeaseRecord>> {
        let rows = sqlx::query("SELECT * FROM leases ORDER BY owner, run_id, task_id").fetch_all(&self.pool).await?;
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
}
