//! Workspaces: where each attempt works, what it delivered, and how the run's results come
//! together. In a git repository every task works in its own worktree on the branch
//! `coord-task/<run>/<task>`, created from its base (the run's start commit merged with the
//! final results of its dependencies); what the attempt leaves is committed on that branch by
//! coord; its artifacts are the files that differ between base and result; a result that passed
//! its gates is merged into the run's integration branch `coord/<run>`. Outside git, tasks that
//! may write files take turns in the project folder and their artifacts come from file hashes
//! ([`folder`]). Each step is written to the store (a `workspace` event with the task's record)
//! so a resumed run neither loses a task's work nor merges it twice; git's own ancestry decides
//! whether a result is already integrated.
//!
//! | state of a task's workspace | git | store record |
//! |---|---|---|
//! | prepared | worktree at `.coord/worktrees/<run>/<task>` on the task branch, at its start | `base`, `head`, `path` |
//! | committed | a commit of the attempt's files on the task branch, `refs/coord/<run>/attempts/<task>/<n>` | `head` |
//! | merging | — | `merging` = the head that passed its gates |
//! | merged | a merge commit on `coord/<run>` (and `refs/coord/<run>/integration`) | `merged`; the worktree returns to the pool |
//! | conflict | — | `base` = the integration head, `conflict` = the merged tree with markers, laid over the next attempt's start |

mod conflict;
mod deliver;
pub mod folder;
pub mod git;
mod pool;
pub mod protect;
mod task;

pub use conflict::unresolved_markers;
pub use deliver::Delivered;
pub use pool::Cleaned;
pub use task::{Committed, Integrated, Prepared};

use coord_store::Store;
use git::{GitError, Identity, Repo};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The integration branch of a run (what `git log` takes).
pub fn integration_branch(run: &str) -> String {
    format!("coord/{run}")
}

/// The branch a task works on. Git cannot have `coord/<run>` as a branch and as a folder of
/// branches at once, so task branches live beside it under `coord-task/`.
pub fn task_branch(run: &str, task: &str) -> String {
    format!("coord-task/{run}/{task}")
}

fn integration_ref(run: &str) -> String {
    format!("refs/coord/{run}/integration")
}

fn attempt_ref(run: &str, task: &str, attempt: i64) -> String {
    format!("refs/coord/{run}/attempts/{task}/{attempt}")
}

/// Why a workspace step failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The store failed (or the lease was lost).
    #[error(transparent)]
    Store(#[from] coord_store::StoreError),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Something the user or an agent did makes the step impossible; the message says what.
    #[error("{0}")]
    Refused(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> WorkspaceError {
    let what = what.into();
    move |source| WorkspaceError::Io { what, source }
}

/// The run's record (task id `""` in the store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunWorkspace {
    /// `git` (a branch per task) or `folder` (one writer at a time in the project).
    pub mode: String,
    /// The commit the run started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// The integration branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// What a person should know about the start (uncommitted changes left out, ...).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The integration commit the `[deliver]` command delivered, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<String>,
}

/// A task's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskWorkspace {
    /// The commit the task's result is measured against.
    #[serde(default)]
    pub base: String,
    /// The task branch's head as coord last set it (the last attempt's files).
    #[serde(default)]
    pub head: String,
    /// The worktree, while the task has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The specialist of the last attempt (a different one starts from the base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialist: Option<String>,
    /// The attempt whose worktree was fully prepared and handed to its executor: what is in
    /// the worktree beyond `head` is that attempt's work (kept if it was interrupted). Cleared
    /// before a worktree is changed, so a half-done checkout is never taken for work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<i64>,
    /// A tree with conflict markers the next attempt starts from, laid over `base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// The head that passed its gates and is being merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merging: Option<String>,
    /// The integration commit that merged the task's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<String>,
    /// Outside git: files earlier attempts changed that are not accepted yet (gated again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// The workspaces of one project, shared by every attempt of a process.
#[derive(Debug)]
pub struct Workspaces {
    /// The project folder.
    pub project: PathBuf,
    /// The repository, when the project is in one (and git is recent enough).
    pub repo: Option<Repo>,
    /// Where worktrees go: `.coord/worktrees`.
    pub root: PathBuf,
    /// Outside git: the one-writer-at-a-time turn.
    pub(crate) folder: folder::Turns,
    /// Why tasks take turns in the folder instead of getting branches.
    pub why_not_git: Option<String>,
    /// Runs' records, which never change once written.
    runs: std::sync::Mutex<std::collections::HashMap<String, RunWorkspace>>,
    /// The remote shared by the clones of workers on other machines (`[workspace] remote`).
    pub remote: Option<String>,
    /// git's worktree bookkeeping (`.git/worktrees/*`) in this process: commands that add,
    /// move or remove a worktree hold it alone; commands that read every worktree's folder
    /// (`checkout -B` looks whether the branch is checked out elsewhere) hold it shared. git
    /// writes a new worktree's folder in steps, and a reader in between fails ("failed to read
    /// .git/worktrees/X/commondir"). Other processes are covered by a retry instead.
    pub(crate) bookkeeping: tokio::sync::RwLock<()>,
}

/// The oldest git with `merge-tree --write-tree`.
const MIN_GIT: (u32, u32) = (2, 38);

impl Workspaces {
    /// The workspaces of `project`: git mode when it is in a repository and git is 2.38 or
    /// newer; otherwise folder mode, with the reason. Blocking (runs git twice).
    pub fn open(project: &Path) -> Workspaces {
        let root = project.join(".coord").join("worktrees");
        let folder = folder::Turns::new(project.join(".coord").join("folder.lock"));
        let repo = Repo::discover(project);
        let (repo, why) = match repo {
            None => (None, Some(format!("{} is not in a git repository", project.display()))),
            Some(repo) => match git::version() {
                Some(v) if v >= MIN_GIT => (Some(repo), None),
                Some((a, b)) => (
                    None,
                    Some(format!("git {a}.{b} is older than {}.{}, which workspaces need", MIN_GIT.0, MIN_GIT.1)),
                ),
                None => (None, Some("git's version could not be read".into())),
            },
        };
        Workspaces {
            project: project.to_path_buf(),
            repo,
            root,
            folder,
            why_not_git: why,
            runs: Default::default(),
            remote: None,
            bookkeeping: Default::default(),
        }
    }

    /// Shares task branches and the integration branch through `remote` (workers on several
    /// machines, each in its own clone).
    pub fn with_remote(mut self, remote: Option<String>) -> Workspaces {
        self.remote = remote.filter(|r| !r.trim().is_empty());
        self
    }

    /// The run's integration commit now: this clone's record, or the shared remote's (fetched,
    /// with the task branches and their commits).
    pub(super) async fn integration_now(&self, repo: &Repo, run: &str) -> Result<Option<String>, WorkspaceError> {
        match &self.remote {
            None => Ok(repo.commit_of(&integration_ref(run)).await),
            Some(remote) => {
                repo.fetch_run(remote, run).await?;
                Ok(repo.commit_of(&format!("refs/coord-remote/{run}/integration")).await)
            }
        }
    }

    /// A task branch's commit: this clone's, or the shared remote's.
    pub(super) async fn task_head(&self, repo: &Repo, run: &str, task: &str) -> Option<String> {
        match &self.remote {
            None => repo.commit_of(&format!("refs/heads/{}", task_branch(run, task))).await,
            Some(_) => repo.commit_of(&format!("refs/coord-remote/{run}/tasks/{task}")).await,
        }
    }

    /// Whether tasks get branches (else they take turns in the project folder).
    pub fn is_git(&self) -> bool {
        self.repo.is_some()
    }

    /// Records where a new run starts: in git, the current commit (a dirty tree, a detached
    /// HEAD or a repository without commits are noted) and the integration branch created at
    /// it. Returns the notes for the person who started the run.
    pub async fn begin_run<S: Store>(&self, store: &S, run: &str) -> Result<Vec<String>, WorkspaceError> {
        self.ignore_own_folder();
        let Some(repo) = &self.repo else {
            let note = format!(
                "{}: tasks that may write files run one at a time in the project folder, and their artifacts come from file hashes",
                self.why_not_git.as_deref().unwrap_or("not a git repository")
            );
            let record = RunWorkspace {
                mode: "folder".into(),
                start: None,
                branch: None,
                notes: vec![note.clone()],
                delivered: None,
            };
            self.put_run(store, run, &record).await?;
            return Ok(vec![note]);
        };
        let mut notes = Vec::new();
        let start = match repo.commit_of("HEAD").await {
            Some(c) => c,
            None => {
                let empty = repo.empty_tree().await?;
                notes.push("the repository has no commit yet: tasks start from an empty tree".to_string());
                repo.commit_tree(&empty, &[], &format!("coord: empty start of run {run}"), &Identity::coord()).await?
            }
        };
        if let Some(top) = &repo.top {
            let main = git::Worktree { path: top.clone(), admin: repo.git_dir.clone() };
            if let Ok(out) = repo.in_worktree(&main, &["status", "--porcelain", "--untracked-files=normal"], &[]).await
            {
                let dirty = String::from_utf8_lossy(&out).lines().filter(|l| !l.starts_with("?? .coord/")).count();
                if dirty > 0 {
                    notes.push(format!(
                        "the working tree has {dirty} uncommitted change(s); the run starts from HEAD ({}) without them",
                        &start[..start.len().min(12)]
                    ));
                }
            }
            if repo.git(&["symbolic-ref", "-q", "HEAD"]).await.is_err()
                && !notes.iter().any(|n| n.contains("no commit"))
            {
                notes.push(format!("HEAD is detached; the run starts from {}", &start[..start.len().min(12)]));
            }
        }
        if repo.show(&start, ".gitmodules").await.is_some() {
            notes.push(
                "the repository has submodules: task worktrees hold them as empty folders and changes inside them are not tracked"
                    .into(),
            );
        }
        let branch = integration_branch(run);
        let full = format!("refs/heads/{branch}");
        let protected = integration_ref(run);
        if let Err(e) = repo.update_refs(&[(&protected, &start, None), (&full, &start, None)]).await {
            let exists = repo.commit_of(&full).await.is_some() || repo.commit_of(&protected).await.is_some();
            return Err(if exists {
                WorkspaceError::Refused(format!(
                    "the branch {branch} already exists (an earlier run with the id {run}?): remove it with `coord clean {run}` or `git branch -D {branch}`"
                ))
            } else {
                e.into()
            });
        }
        if let Some(remote) = &self.remote {
            let refspecs = [format!("{start}:{protected}"), format!("{start}:{full}")];
            if !repo.push(remote, &refspecs, None).await? {
                return Err(WorkspaceError::Refused(format!(
                    "the remote {remote} already has a branch {branch}: remove it there, or start another run"
                )));
            }
        }
        let record = RunWorkspace {
            mode: "git".into(),
            start: Some(start),
            branch: Some(branch),
            notes: notes.clone(),
            delivered: None,
        };
        self.put_run(store, run, &record).await?;
        Ok(notes)
    }

    async fn put_run<S: Store>(&self, store: &S, run: &str, record: &RunWorkspace) -> Result<(), WorkspaceError> {
        let json = serde_json::to_string(record).map_err(|e| WorkspaceError::Refused(e.to_string()))?;
        // Written before the run exists (a start refused by git stores no run): no event, the
        // run's log starts with `run_created`.
        store.put_workspace(run, None, &json, None, None, crate::now_ms()).await?;
        Ok(())
    }

    /// The run's record; a run stored before workspaces existed (or whose record was lost)
    /// gets one now, from the current commit.
    pub async fn run_record<S: Store>(&self, store: &S, run: &str) -> Result<RunWorkspace, WorkspaceError> {
        let cached = self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(run).cloned();
        if let Some(record) = cached {
            return Ok(record);
        }
        let json = match store.workspace(run, None).await? {
            Some(json) => json,
            None => {
                self.begin_run(store, run).await?;
                store
                    .workspace(run, None)
                    .await?
                    .ok_or_else(|| WorkspaceError::Refused(format!("run {run} has no workspace record")))?
            }
        };
        let record: RunWorkspace = serde_json::from_str(&json)
            .map_err(|e| WorkspaceError::Refused(format!("the workspace record of run {run} is unreadable: {e}")))?;
        let mut runs = self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if runs.len() > 10_000 {
            runs.clear();
        }
        runs.insert(run.to_string(), record.clone());
        Ok(record)
    }

    /// `.coord/` holds the database, attempt files and worktrees: a `.gitignore` inside it
    /// keeps all of it out of the user's `git status`.
    fn ignore_own_folder(&self) {
        let dir = self.project.join(".coord");
        let file = dir.join(".gitignore");
        if !file.exists() && std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(&file, "# coord's own files (database, attempt logs, worktrees)\n*\n");
        }
    }
}

/// What the report of a run says about its result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// The integration branch.
    pub branch: String,
    /// The commit the run started from.
    pub start: String,
    /// The branch's commit now.
    pub commit: String,
    /// `git diff --shortstat start commit`.
    pub diffstat: String,
    /// Tasks whose accepted results are not merged (a conflict left for a person).
    pub unmerged: Vec<String>,
}

impl Workspaces {
    /// Where a run's result is: its integration branch and how far it got, with the tasks whose
    /// accepted results are not merged. `None` outside git.
    pub async fn delivery<S: Store>(&self, store: &S, run: &str) -> Result<Option<Delivery>, WorkspaceError> {
        let Some(repo) = &self.repo else { return Ok(None) };
        let Some(json) = store.workspace(run, None).await? else { return Ok(None) };
        let record: RunWorkspace = serde_json::from_str(&json)
            .map_err(|e| WorkspaceError::Refused(format!("the workspace record of run {run} is unreadable: {e}")))?;
        let (Some(start), Some(branch)) = (record.start, record.branch) else { return Ok(None) };
        let commit = self.integration_now(repo, run).await.ok().flatten().unwrap_or_else(|| start.clone());
        let diffstat = repo.diffstat(&start, &commit).await.unwrap_or_default();
        let done: Vec<String> = store
            .tasks(run)
            .await?
            .into_iter()
            .filter(|t| t.state == coord_store::TaskState::Done)
            .map(|t| t.task_id)
            .collect();
        let mut unmerged = Vec::new();
        for (task, json) in store.workspaces(run).await? {
            if task.is_empty() || !done.contains(&task) {
                continue;
            }
            let Ok(r) = serde_json::from_str::<TaskWorkspace>(&json) else { continue };
            if r.merged.is_none() && r.head != r.base && !repo.is_ancestor(&r.head, &commit).await.unwrap_or(false) {
                unmerged.push(task);
            }
        }
        Ok(Some(Delivery { branch, start, commit, diffstat, unmerged }))
    }
}
