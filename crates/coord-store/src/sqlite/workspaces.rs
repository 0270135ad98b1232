//! Workspace records on SQLite: the runtime's JSON for a run's git state and each task's, with
//! the event that announces a change, fenced by the writer's lease when it holds one.

use super::SqliteStore;
use super::transitions::event;
use crate::types::Claim;
use crate::{Result, StoreError};
use sqlx::Row;

impl SqliteStore {
    pub(super) async fn put_workspace_impl(
        &self,
        run_id: &str,
        task_id: Option<&str>,
        state_json: &str,
        logged: Option<(&str, serde_json::Value)>,
        fence: Option<&Claim>,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        if let Some(claim) = fence {
            let held: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM leases WHERE run_id = ? AND task_id = ? AND token = ?")
                    .bind(&claim.run_id)
                    .bind(&claim.task_id)
                    .bind(claim.token)
                    .fetch_optional(&mut *tx)
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
            "INSERT INTO workspaces (run_id, task_id, state_json, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (run_id, task_id) DO UPDATE SET state_json = excluded.state_json, updated_at = excluded.updated_at",
        )
        .bind(run_id)
        .bind(task_id.unwrap_or(""))
        .bind(state_json)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some((kind, data)) = logged {
            event(&mut tx, run_id, task_id, kind, data, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn workspace_impl(&self, run_id: &str, task_id: Option<&str>) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT state_json FROM workspaces WHERE run_id = ? AND task_id = ?")
            .bind(run_id)
            .bind(task_id.unwrap_or(""))
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(super) async fn workspaces_impl(&self, run_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT task_id, state_json FROM workspaces WHERE run_id = ? ORDER BY task_id")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("task_id")?, r.try_get("state_json")?))).collect()
    }
}
