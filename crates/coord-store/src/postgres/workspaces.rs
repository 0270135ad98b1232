//! Workspace records on PostgreSQL: the runtime's JSON for a run's git state and each task's,
//! with the event that announces a change, fenced by the writer's lease when it holds one.

use super::writes::Writes;
use crate::types::Claim;
use crate::{Result, StoreError};
use sqlx::{PgPool, Row};

pub(super) async fn put(
    w: &mut Writes,
    run_id: &str,
    task_id: Option<&str>,
    state_json: &str,
    logged: Option<(&str, serde_json::Value)>,
    fence: Option<&Claim>,
    now: i64,
) -> Result<()> {
    if let Some(claim) = fence {
        // The lease row is locked until commit, so it cannot expire and be taken over between
        // this check and the write.
        let held: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM leases WHERE run_id = $1 AND task_id = $2 AND token = $3 FOR SHARE")
                .bind(&claim.run_id)
                .bind(&claim.task_id)
                .bind(claim.token)
                .fetch_optional(w.conn())
                .await?;
        if held.is_none() {
            return Err(StoreError::LeaseLost {
                run: claim.run_id.clone(),
                task: claim.task_id.clone(),
                token: claim.token,
            });
        }
    }
    sqlx::query(
        "INSERT INTO workspaces (run_id, task_id, state_json, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id, task_id) DO UPDATE SET state_json = excluded.state_json, updated_at = excluded.updated_at",
    )
    .bind(run_id)
    .bind(task_id.unwrap_or(""))
    .bind(state_json)
    .bind(now)
    .execute(w.conn())
    .await?;
    if let Some((kind, data)) = logged {
        w.event(run_id, task_id, kind, data, now);
    }
    Ok(())
}

pub(super) async fn get(pool: &PgPool, run_id: &str, task_id: Option<&str>) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT state_json FROM workspaces WHERE run_id = $1 AND task_id = $2")
        .bind(run_id)
        .bind(task_id.unwrap_or(""))
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn all(pool: &PgPool, run_id: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT task_id, state_json FROM workspaces WHERE run_id = $1 ORDER BY task_id")
        .bind(run_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("task_id")?, r.try_get("state_json")?))).collect()
}
