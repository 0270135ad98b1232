//! Delivering a run's result: once the run is done, the `[deliver]` command (a push, a pull
//! request) runs once in the project with the integration branch in `COORD_BRANCH`. Its output
//! goes to `.coord/runs/<run>/deliver.log`; that it ran is kept in the run's record, so a
//! resumed run does not deliver twice.

use super::{RunWorkspace, WorkspaceError, Workspaces, io};
use crate::config::DeliverConfig;
use coord_store::Store;
use std::path::Path;
use std::process::Stdio;

/// How a delivery went.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivered {
    /// Nothing to do: no command, not git, or delivered before.
    Nothing,
    /// The command exited 0.
    Done(String),
    /// The command failed: why, with the end of its output.
    Failed(String),
}

impl Workspaces {
    /// Runs the deliver command for a done run, once.
    pub async fn deliver<S: Store>(
        &self,
        store: &S,
        run: &str,
        config: &DeliverConfig,
        runs_dir: &Path,
    ) -> Result<Delivered, WorkspaceError> {
        let (Some(repo), Some(program)) = (&self.repo, config.command.first()) else { return Ok(Delivered::Nothing) };
        let mut record: RunWorkspace = self.run_record(store, run).await?;
        if record.delivered.is_some() {
            return Ok(Delivered::Nothing);
        }
        let (Some(branch), Some(start)) = (record.branch.clone(), record.start.clone()) else {
            return Ok(Delivered::Nothing);
        };
        let commit = self.integration_now(repo, run).await?.unwrap_or_else(|| start.clone());
        let dir = runs_dir.join(run);
        std::fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
        let log = dir.join("deliver.log");
        let file = std::fs::File::create(&log).map_err(io(format!("cannot create {}", log.display())))?;
        let err = file.try_clone().map_err(io("cannot open the delivery log twice"))?;
        let status = tokio::process::Command::new(program)
            .args(&config.command[1..])
            .current_dir(&self.project)
            .env("COORD_BRANCH", &branch)
            .env("COORD_RUN_ID", run)
            .env("COORD_START", &start)
            .env("COORD_COMMIT", &commit)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .status()
            .await;
        let tail = || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(5)..].join("\n")
        };
        let outcome = match status {
            Ok(s) if s.success() => {
                Delivered::Done(format!("delivered {branch} with `{program}` (log: {})", log.display()))
            }
            Ok(s) => Delivered::Failed(format!(
                "the deliver command `{program}` exited with {}: {}",
                s.code().map(|c| c.to_string()).unwrap_or_else(|| "a signal".into()),
                tail()
            )),
            Err(e) => Delivered::Failed(format!("cannot start the deliver command `{program}`: {e}")),
        };
        if let Delivered::Done(_) = &outcome {
            record.delivered = Some(commit.clone());
            let json = serde_json::to_string(&record).map_err(|e| WorkspaceError::Refused(e.to_string()))?;
            let data = serde_json::json!({ "step": "delivered", "branch": branch, "commit": commit });
            store.put_workspace(run, None, &json, Some(("workspace", data)), None, crate::now_ms()).await?;
            self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(run.to_string(), record);
        }
        Ok(outcome)
    }
}
