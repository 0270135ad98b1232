//! Worktrees come and go cheaply: a finished task's worktree is detached and parked under
//! `.coord/worktrees/.idle/`, and the next task moves it to its own path and checks out its
//! start, which rewrites only the files that differ (a fresh `git worktree add` writes every
//! file of the repository). Parked worktrees are removed when the process's work ends.

use super::git::{Repo, Worktree};
use super::{WorkspaceError, Workspaces, io};
use std::path::Path;

impl Workspaces {
    fn idle_dir(&self) -> std::path::PathBuf {
        self.root.join(".idle")
    }

    /// A worktree at `path`: a parked one moved there, or a new one at `start` with no files
    /// checked out yet (the caller checks out the task's start).
    pub(super) async fn acquire(&self, repo: &Repo, path: &Path, start: &str) -> Result<Worktree, WorkspaceError> {
        let _alone = self.bookkeeping.write().await;
        let parent = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
        if path.exists() {
            // Not a worktree of ours (a dead attempt's remains after `git worktree prune`, or
            // something else): out of the way, never deleted unseen.
            let aside = parent.join(format!(
                ".stale-{}-{}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("x"),
                crate::now_ms()
            ));
            std::fs::rename(path, &aside).map_err(io(format!("cannot move {} aside", path.display())))?;
        }
        if let Ok(entries) = std::fs::read_dir(self.idle_dir()) {
            for entry in entries.flatten() {
                let idle = entry.path();
                if self.registered(repo, &idle).is_none() {
                    continue;
                }
                let (src, dst) = (idle.display().to_string(), path.display().to_string());
                // Another process may take the same one first: then try the next.
                if repo.git(&["worktree", "move", &src, &dst]).await.is_ok()
                    && let Some(wt) = self.registered(repo, path)
                {
                    return Ok(wt);
                }
            }
        }
        let dst = path.display().to_string();
        // Two `git worktree add` at once on one repository (another process: this one holds
        // `bookkeeping`) can see each other's half-made administrative folder and fail: a race
        // inside git, not a problem of this task. Tried again after a short pause.
        let mut tries = 0;
        loop {
            // No checkout here: the caller checks the files out, holding `bookkeeping` shared,
            // so tasks starting together write their files at the same time.
            match repo.git(&["worktree", "add", "--detach", "--no-checkout", "--force", "-q", &dst, start]).await {
                Ok(_) => break,
                Err(e) if tries < 5 && half_made_worktree(&e) => {
                    tries += 1;
                    if self.registered(repo, path).is_some() {
                        break;
                    }
                    // What this failed try made is out of the way first (anything that was at
                    // `path` before was moved aside above). No `git worktree prune`: it could
                    // take the other task's half-made worktree for a stale one.
                    if path.exists() {
                        let _ = std::fs::remove_dir_all(path);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.registered(repo, path).ok_or_else(|| {
            WorkspaceError::Refused(format!("git created the worktree {} but does not list it", path.display()))
        })
    }

    /// Parks the worktree at `path` for the next task (detached, so its branch is free).
    pub(super) async fn release(&self, repo: &Repo, path: &Path) {
        let Some(wt) = self.registered(repo, path) else { return };
        // Detached where it is (no file touched), so its branch is free.
        let Some(at) = repo.in_worktree(&wt, &["rev-parse", "HEAD"], &[]).await.ok() else { return };
        let at = String::from_utf8_lossy(&at).trim().to_string();
        if repo.in_worktree(&wt, &["update-ref", "--no-deref", "HEAD", &at], &[]).await.is_err() {
            return;
        }
        let idle = self.idle_dir();
        if std::fs::create_dir_all(&idle).is_err() {
            return;
        }
        let parked = idle.join(format!("{}-{}", std::process::id(), crate::now_ms()));
        let (src, dst) = (path.display().to_string(), parked.display().to_string());
        let _alone = self.bookkeeping.write().await;
        let _ = repo.git(&["worktree", "move", &src, &dst]).await;
    }

    /// Removes the parked worktrees and forgets those whose folders are gone.
    pub async fn remove_idle(&self) {
        let Some(repo) = &self.repo else { return };
        let _alone = self.bookkeeping.write().await;
        if let Ok(entries) = std::fs::read_dir(self.idle_dir()) {
            for entry in entries.flatten() {
                let p = entry.path().display().to_string();
                let _ = repo.git(&["worktree", "remove", "--force", "--force", &p]).await;
            }
        }
        let _ = repo.git(&["worktree", "prune"]).await;
    }

    /// Removes every worktree of a run (`coord clean`, or tasks that are finished).
    pub async fn remove_worktrees(&self, run: &str, keep: &[String]) -> usize {
        let Some(repo) = &self.repo else { return 0 };
        let _alone = self.bookkeeping.write().await;
        let mut removed = 0;
        let Ok(entries) = std::fs::read_dir(self.root.join(run)) else { return 0 };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if keep.contains(&name) {
                continue;
            }
            let p = entry.path();
            if self.registered(repo, &p).is_some() {
                let s = p.display().to_string();
                if repo.git(&["worktree", "remove", "--force", "--force", &s]).await.is_ok() {
                    removed += 1;
                }
            } else if name.starts_with(".stale-") {
                let _ = std::fs::remove_dir_all(&p);
            }
        }
        let _ = std::fs::remove_dir(self.root.join(run));
        let _ = repo.git(&["worktree", "prune"]).await;
        removed
    }
}

/// Whether git failed on another worktree's half-made administrative folder: git's own
/// message names the file (the command line in the error names the worktree path too, so
/// "/worktrees/" alone would match every failure).
pub(super) fn half_made_worktree(e: &impl std::fmt::Display) -> bool {
    e.to_string().contains("/commondir")
}

/// What `coord clean` removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleaned {
    /// Worktrees removed.
    pub worktrees: usize,
    /// Branches and coord refs deleted.
    pub refs: Vec<String>,
    /// Whether the run's attempt files under `.coord/runs/` were removed.
    pub attempt_files: bool,
}

impl Workspaces {
    /// Removes a run's worktrees, task branches and coord's refs (and its integration branch
    /// unless `keep_branch`), and its attempt files under `runs_dir`.
    pub async fn clean(&self, run: &str, runs_dir: &Path, keep_branch: bool) -> Result<Cleaned, WorkspaceError> {
        let mut out = Cleaned { worktrees: self.remove_worktrees(run, &[]).await, ..Default::default() };
        if let Some(repo) = &self.repo {
            let mut names: Vec<String> = Vec::new();
            for prefix in [format!("refs/heads/coord-task/{run}/"), format!("refs/coord/{run}/")] {
                names.extend(repo.refs(&prefix).await?.into_iter().map(|(n, _)| n));
            }
            if !keep_branch {
                let branch = format!("refs/heads/{}", super::integration_branch(run));
                if repo.commit_of(&branch).await.is_some() {
                    names.push(branch);
                }
            }
            repo.delete_refs(&names).await?;
            out.refs = names;
        }
        let files = runs_dir.join(run);
        if files.is_dir() {
            std::fs::remove_dir_all(&files).map_err(io(format!("cannot remove {}", files.display())))?;
            out.attempt_files = true;
        }
        Ok(out)
    }
}
