//! One task's workspace through an attempt: [`Workspaces::prepare`] (the worktree at the
//! task's start: its base, the previous attempt's work, or a conflict to resolve),
//! [`Workspaces::commit`] (the attempt's files as a commit on the task branch; the artifacts
//! are the whole diff against the base, so a retry that repeats a refused result is gated
//! again), and [`Workspaces::integrate`] (the merge into the run's integration branch, or the
//! conflict that sends the task back).

use super::git::{Identity, Repo, Worktree};
use super::protect::Protected;
use super::{
    RunWorkspace, TaskWorkspace, WorkspaceError, Workspaces, attempt_ref, folder, integration_branch, integration_ref,
    task_branch,
};
use coord_core::{Plan, Task};
use coord_store::{Claim, Store};
use serde_json::json;
use std::path::PathBuf;

/// Where an attempt works.
#[derive(Debug)]
pub enum Prepared {
    /// Work in `dir`.
    Ready {
        /// The worktree (git) or the project folder (outside git).
        dir: PathBuf,
        /// Outside git: the turn held for the attempt and the files before it.
        folder: Option<(folder::Turn, folder::Snapshot)>,
    },
    /// The task's result already passed its gates and is integrated (a coordinator stopped
    /// before recording it): it is done with this detail, without running again.
    Recovered {
        /// The attempt detail to record.
        detail: String,
    },
}

/// What an attempt delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// Files that differ between the task's base and its result.
    pub artifacts: Vec<String>,
    /// The task branch's head after the commit (git), for the record.
    pub head: Option<String>,
    /// Things the attempt did that coord undid or worked around, for the record.
    pub notes: Vec<String>,
    /// Protected paths the attempt changed (put back in git; the attempt fails).
    pub refused: Vec<String>,
}

/// How integrating a result ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Integrated {
    /// Merged (or already there): the integration commit.
    Merged(String),
    /// Outside git there is nothing to merge.
    NotGit,
    /// The result conflicts with what is integrated: the feedback for the next attempt (files
    /// and hunks); the task's next attempt starts from the integration head with markers.
    Conflict(String),
}

fn short(c: &str) -> &str {
    &c[..c.len().min(12)]
}

impl Workspaces {
    pub(super) async fn task_record<S: Store>(
        &self,
        store: &S,
        run: &str,
        task: &str,
    ) -> Result<Option<TaskWorkspace>, WorkspaceError> {
        match store.workspace(run, Some(task)).await? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
                WorkspaceError::Refused(format!("the workspace record of task {task} in run {run} is unreadable: {e}"))
            }),
        }
    }

    pub(super) async fn put_task<S: Store>(
        &self,
        store: &S,
        claim: &Claim,
        record: &TaskWorkspace,
        event: serde_json::Value,
    ) -> Result<(), WorkspaceError> {
        let text = serde_json::to_string(record).map_err(|e| WorkspaceError::Refused(e.to_string()))?;
        // Attempt 0 is no attempt (an approval after the fact): nothing to fence with.
        let fence = (claim.attempt > 0).then_some(claim);
        store
            .put_workspace(
                &claim.run_id,
                Some(&claim.task_id),
                &text,
                Some(("workspace", event)),
                fence,
                crate::now_ms(),
            )
            .await?;
        Ok(())
    }

    /// Makes the folder an attempt works in. In git: the task's worktree at its start, after
    /// committing what an interrupted attempt left in it. Outside git: the project folder,
    /// once it is this attempt's turn.
    pub async fn prepare<S: Store>(&self, store: &S, claim: &Claim, plan: &Plan) -> Result<Prepared, WorkspaceError> {
        let run = self.run_record(store, &claim.run_id).await?;
        let Some(repo) = self.repo.as_ref().filter(|_| run.mode == "git") else {
            let turn = self.folder.take(store, claim).await?;
            let before = folder::Snapshot::take(&self.project, &self.folder.hashes).await?;
            return Ok(Prepared::Ready { dir: self.project.clone(), folder: Some((turn, before)) });
        };
        let task = plan
            .task(&claim.task_id)
            .ok_or_else(|| WorkspaceError::Refused(format!("task `{}` is not in the run's plan", claim.task_id)))?;
        if let Some(remote) = &self.remote {
            // The dependencies' results and the integration branch other machines made.
            repo.fetch_run(remote, &claim.run_id).await?;
        }
        let mut record = match self.task_record(store, &claim.run_id, &claim.task_id).await? {
            Some(r) => r,
            None => {
                let base = self.base_for(repo, store, &run, &claim.run_id, plan, task).await?;
                TaskWorkspace { base: base.clone(), head: base, ..Default::default() }
            }
        };
        // A result that passed its gates before the coordinator stopped: integrate it (again
        // if needed; git's ancestry makes that a no-op) instead of doing the work twice.
        if let Some(head) = record.merging.clone().or_else(|| record.merged.as_ref().map(|_| record.head.clone()))
            && let Integrated::Merged(commit) = self.merge(repo, store, claim, &mut record, &head).await?
        {
            let artifacts = repo.changed_files(&record.base, &head).await?;
            let detail = json!({
                "artifacts": artifacts,
                "summary": format!("recovered: the result {} passed its gates and is merged ({})", short(&head), short(&commit)),
                "branch": task_branch(&claim.run_id, &claim.task_id),
                "merged": commit,
            });
            return Ok(Prepared::Recovered { detail: detail.to_string() });
        }
        let path = self.root.join(&claim.run_id).join(&claim.task_id);
        let branch = format!("refs/heads/{}", task_branch(&claim.run_id, &claim.task_id));
        let reassigned = record.specialist.as_deref().is_some_and(|s| s != claim.specialist);
        let mut notes = Vec::new();
        let wt = match self.registered(repo, &path) {
            Some(wt) => {
                // What an interrupted attempt left is kept: committed on the branch first. A
                // worktree without an index was never checked out (added, then the process
                // stopped before its checkout): it holds nothing, and its empty tree is no work.
                if let Some(n) = record.ready
                    && wt.admin.join("index").exists()
                    && let Some(sweep) = self
                        .snapshot_commit(repo, &wt, &record, claim, &format!("attempt {n}, interrupted"), false)
                        .await?
                {
                    notes.push(format!("the files an interrupted attempt left were committed as {}", short(&sweep)));
                    let old = repo.commit_of(&branch).await.unwrap_or_default();
                    repo.update_refs(&[(&branch, &sweep, Some(old.as_str()))]).await?;
                    record.head = sweep;
                }
                wt
            }
            None => self.acquire(repo, &path, &record.head).await?,
        };
        // From here the worktree changes: until it is ready again, its files are not work.
        record.ready = None;
        record.path = Some(wt.path.display().to_string());
        self.put_task(store, claim, &record, json!({ "step": "preparing", "attempt": claim.attempt })).await?;
        let start = if record.conflict.is_some() || reassigned { record.base.clone() } else { record.head.clone() };
        let start_str = {
            let _shared = self.bookkeeping.read().await;
            wt_checkout(repo, &wt, &branch, &start).await?
        };
        if let Some(tree) = &record.conflict {
            // The merged files with conflict markers, as changes over the new base.
            repo.in_worktree(&wt, &["read-tree", "-u", "--reset", tree], &[]).await?;
            repo.in_worktree(&wt, &["reset", "-q"], &[]).await?;
        }
        if reassigned {
            notes.push(format!("reassigned to @{}: the work starts again from the task's base", claim.specialist));
        }
        record.head = start_str;
        record.specialist = Some(claim.specialist.clone());
        record.ready = Some(claim.attempt);
        let event = json!({
            "step": "prepared", "attempt": claim.attempt, "base": record.base, "start": start,
            "conflict": record.conflict.is_some(), "path": record.path, "notes": notes,
        });
        self.put_task(store, claim, &record, event).await?;
        Ok(Prepared::Ready { dir: wt.path, folder: None })
    }

    /// The base of a task: the run's start merged with its dependencies' accepted results. A
    /// dependency that delivered nothing of its own (skipped, or done by hand outside a
    /// worktree) passes on its own dependencies' results.
    async fn base_for<S: Store>(
        &self,
        repo: &Repo,
        store: &S,
        run: &RunWorkspace,
        run_id: &str,
        plan: &Plan,
        task: &Task,
    ) -> Result<String, WorkspaceError> {
        let start =
            run.start.clone().ok_or_else(|| WorkspaceError::Refused(format!("run {run_id} has no start commit")))?;
        let mut base = start;
        let approved = self.approved(store, run_id).await?;
        let mut heads = Vec::new();
        let mut todo: Vec<&str> = task.depends_on.iter().rev().map(String::as_str).collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(dep) = todo.pop() {
            if !seen.insert(dep) {
                continue;
            }
            match self.accepted_head(repo, store, run_id, dep, &approved).await? {
                Some(head) => heads.push((dep, head)),
                None => {
                    if let Some(t) = plan.task(dep) {
                        todo.extend(t.depends_on.iter().rev().map(String::as_str));
                    }
                }
            }
        }
        for (dep, head) in heads {
            if repo.is_ancestor(&head, &base).await? {
                continue;
            }
            if repo.is_ancestor(&base, &head).await? {
                base = head;
                continue;
            }
            let merged = repo.merge_tree(&base, &head).await?;
            if !merged.conflicts.is_empty() {
                // The dependencies' results conflict with each other; the integration branch
                // already holds all of them, merged: start from it.
                return self
                    .integration_now(repo, run_id)
                    .await?
                    .ok_or_else(|| WorkspaceError::Refused(format!("run {run_id} has no integration branch")));
            }
            let message = format!("coord: base of {} (with {dep})", task.id);
            base = repo.commit_tree(&merged.tree, &[&base, &head], &message, &Identity::coord()).await?;
        }
        Ok(base)
    }

    /// Tasks of the run a person approved (their results count though no gate passed them).
    async fn approved<S: Store>(&self, store: &S, run_id: &str) -> Result<Vec<String>, WorkspaceError> {
        Ok(store
            .escalations(Some(run_id), false)
            .await?
            .into_iter()
            .filter(|e| e.decision.as_deref() == Some("approve"))
            .map(|e| e.task_id)
            .collect())
    }

    /// A dependency's accepted result: merged, or approved by a person (its branch as they
    /// left it); `None` for a task done without output (skipped, or done by hand outside git).
    async fn accepted_head<S: Store>(
        &self,
        repo: &Repo,
        store: &S,
        run_id: &str,
        dep: &str,
        approved: &[String],
    ) -> Result<Option<String>, WorkspaceError> {
        let record = self.task_record(store, run_id, dep).await?;
        match record {
            Some(r) if r.merged.is_some() => Ok(Some(r.head)),
            Some(r) if approved.iter().any(|a| a == dep) => {
                Ok(self.task_head(repo, run_id, dep).await.or(Some(r.head)))
            }
            _ => Ok(None),
        }
    }

    /// Commits what the attempt left in its worktree on the task branch (coord's commit,
    /// authored by the specialist) and returns the task's artifacts: every file that differs
    /// between its base and the result, whatever this attempt changed.
    pub async fn commit<S: Store>(
        &self,
        store: &S,
        claim: &Claim,
        prepared: &Prepared,
        outcome: &str,
        protected: Protected<'_>,
    ) -> Result<Committed, WorkspaceError> {
        let dir = match prepared {
            Prepared::Ready { folder: Some((_, before)), .. } => {
                return self.commit_folder(store, claim, before, protected).await;
            }
            Prepared::Ready { dir, .. } => dir,
            Prepared::Recovered { .. } => {
                return Ok(Committed { artifacts: Vec::new(), head: None, notes: Vec::new(), refused: Vec::new() });
            }
        };
        let repo = self.repo.as_ref().ok_or_else(|| WorkspaceError::Refused("not a git repository".into()))?;
        let mut record = self.task_record(store, &claim.run_id, &claim.task_id).await?.unwrap_or_default();
        let mut notes = Vec::new();
        self.guard_integration(repo, &claim.run_id, &mut notes).await?;
        let Some(wt) = self.registered(repo, dir) else {
            return Err(WorkspaceError::Refused(format!(
                "the attempt removed its workspace {}; the task branch {} keeps the work of earlier attempts",
                dir.display(),
                task_branch(&claim.run_id, &claim.task_id)
            )));
        };
        let branch = format!("refs/heads/{}", task_branch(&claim.run_id, &claim.task_id));
        let tip = repo.commit_of(&branch).await;
        let label = format!("attempt {} by @{} ({outcome})", claim.attempt, claim.specialist);
        let mut head = record.head.clone();
        // Commits the agent made on its branch are kept when they build on coord's last one.
        if let Some(tip) = &tip
            && *tip != record.head
        {
            if repo.is_ancestor(&record.head, tip).await? {
                head = tip.clone();
            } else {
                notes.push(format!(
                    "the attempt rewrote or replaced its branch history; its files are kept on top of {}",
                    short(&record.head)
                ));
            }
        }
        // Protected paths as coord last committed them (a change to them is never kept).
        let refused = super::protect::revert(repo, &wt, &record.head, protected).await?;
        if !refused.is_empty() {
            notes.push(format!("changes to protected paths were not kept: {}", refused.join(", ")));
        }
        if let Some(made) = self
            // `revert` left everything staged.
            .snapshot_commit(repo, &wt, &TaskWorkspace { head: head.clone(), ..record.clone() }, claim, &label, true)
            .await?
        {
            head = made;
        }
        let attempt = attempt_ref(&claim.run_id, &claim.task_id, claim.attempt);
        repo.update_refs(&[(&branch, &head, Some(tip.as_deref().unwrap_or(""))), (&attempt, &head, Some(""))]).await?;
        if let Some(remote) = &self.remote {
            // The task's own branch: fenced by its lease, so forced.
            if !repo.push(remote, &[format!("+{head}:{branch}")], None).await? {
                return Err(WorkspaceError::Refused(format!("the remote {remote} refused {branch}")));
            }
        }
        // The worktree follows the branch again (an agent may have switched it); its index
        // already is the committed tree.
        repo.in_worktree(&wt, &["symbolic-ref", "HEAD", &branch], &[]).await?;
        let artifacts = repo.changed_files(&record.base, &head).await?;
        record.head = head.clone();
        record.conflict = None;
        record.ready = None;
        let event = json!({ "step": "committed", "attempt": claim.attempt, "head": head, "files": artifacts.len(), "notes": notes });
        self.put_task(store, claim, &record, event).await?;
        Ok(Committed { artifacts, head: Some(head), notes, refused })
    }

    /// A commit of the worktree's files on top of `record.head`, when they differ from it.
    async fn snapshot_commit(
        &self,
        repo: &Repo,
        wt: &Worktree,
        record: &TaskWorkspace,
        claim: &Claim,
        label: &str,
        staged: bool,
    ) -> Result<Option<String>, WorkspaceError> {
        if record.head.is_empty() {
            return Ok(None);
        }
        if !staged {
            repo.in_worktree(wt, &["add", "-A", "--ignore-errors", "."], &[]).await?;
        }
        let tree = String::from_utf8_lossy(&repo.in_worktree(wt, &["write-tree"], &[]).await?).trim().to_string();
        if tree == repo.tree_of(&record.head).await? {
            return Ok(None);
        }
        let author = Identity { name: format!("@{}", claim.specialist), email: "coord@localhost".into(), date: None };
        let message = format!("{}: {label}\n\ncoord run {} task {}", claim.task_id, claim.run_id, claim.task_id);
        Ok(Some(repo.commit_tree(&tree, &[&record.head], &message, &author).await?))
    }

    /// An attempt must not move the integration branch; if one did, coord puts it back. coord
    /// moves its own record of the branch and the branch together, so a branch that stays
    /// different from the record while the record stands still was moved by someone else.
    async fn guard_integration(&self, repo: &Repo, run: &str, notes: &mut Vec<String>) -> Result<(), WorkspaceError> {
        if self.remote.is_some() {
            // This clone's copies follow the remote; the remote's own branch is moved only by
            // pushes with a lease.
            return Ok(());
        }
        let ours = integration_ref(run);
        let branch = format!("refs/heads/{}", integration_branch(run));
        let mut mismatches = 0;
        for _ in 0..20 {
            let (want, seen) = repo.two_refs(&ours, &branch).await;
            let Some(want) = want else { return Ok(()) };
            if seen.as_deref() == Some(want.as_str()) {
                return Ok(());
            }
            // A merge in progress moves the record first and the branch a moment later.
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            if repo.commit_of(&ours).await.as_deref() != Some(want.as_str()) {
                mismatches = 0;
                continue;
            }
            mismatches += 1;
            if mismatches < 3 {
                continue;
            }
            if repo.update_refs(&[(&branch, &want, Some(seen.as_deref().unwrap_or("")))]).await.is_err() {
                continue;
            }
            return Err(WorkspaceError::Refused(format!(
                "the attempt moved the integration branch {}; coord put it back at {} (work only on the task branch: coord merges it)",
                integration_branch(run),
                short(&want)
            )));
        }
        notes.push(format!("the integration branch {} kept moving while it was checked", integration_branch(run)));
        Ok(())
    }

    /// Merges a task's result (which passed its gates) into the run's integration branch.
    /// Recorded before (`merging`) and after (`merged`); a merge already in the branch is not
    /// made again. A conflict rebases the task: its next attempt starts from the integration
    /// head with the conflicting files marked.
    pub async fn integrate<S: Store>(&self, store: &S, claim: &Claim) -> Result<Integrated, WorkspaceError> {
        let Some(repo) = &self.repo else { return Ok(Integrated::NotGit) };
        let Some(mut record) = self.task_record(store, &claim.run_id, &claim.task_id).await? else {
            return Ok(Integrated::NotGit);
        };
        let head = record.head.clone();
        if head.is_empty() {
            return Ok(Integrated::NotGit);
        }
        record.merging = Some(head.clone());
        self.put_task(store, claim, &record, json!({ "step": "merging", "attempt": claim.attempt, "head": head }))
            .await?;
        self.merge(repo, store, claim, &mut record, &head).await
    }

    async fn merge<S: Store>(
        &self,
        repo: &Repo,
        store: &S,
        claim: &Claim,
        record: &mut TaskWorkspace,
        head: &str,
    ) -> Result<Integrated, WorkspaceError> {
        let ours = integration_ref(&claim.run_id);
        let branch = format!("refs/heads/{}", integration_branch(&claim.run_id));
        for _ in 0..50 {
            let current = self
                .integration_now(repo, &claim.run_id)
                .await?
                .ok_or_else(|| WorkspaceError::Refused(format!("run {} has no integration branch", claim.run_id)))?;
            let merged = if repo.is_ancestor(head, &current).await? {
                current.clone()
            } else {
                let m = repo.merge_tree(&current, head).await?;
                if !m.conflicts.is_empty() {
                    // Merged again by name, so the markers say which side is which.
                    let short_branch = integration_branch(&claim.run_id);
                    let short_task = task_branch(&claim.run_id, &claim.task_id);
                    let labelled = match repo.merge_tree(&short_branch, &short_task).await {
                        Ok(l) if l.conflicts == m.conflicts => l,
                        _ => m.clone(),
                    };
                    let feedback = super::conflict::feedback(repo, &integration_branch(&claim.run_id), &labelled).await;
                    record.base = current.clone();
                    record.conflict = Some(labelled.tree.clone());
                    record.merging = None;
                    let event = json!({ "step": "conflict", "attempt": claim.attempt, "files": m.conflicts, "new_base": current });
                    self.put_task(store, claim, record, event).await?;
                    return Ok(Integrated::Conflict(feedback));
                }
                let message = format!(
                    "coord: merge {} (attempt {} by @{})\n\ncoord run {}",
                    claim.task_id, claim.attempt, claim.specialist, claim.run_id
                );
                let commit = repo.commit_tree(&m.tree, &[&current, head], &message, &Identity::coord()).await?;
                // Only from the value seen: a concurrent merge makes this fail, and the loop
                // merges again on top of it.
                if let Some(remote) = &self.remote {
                    let refspecs = [format!("{commit}:{ours}"), format!("+{commit}:{branch}")];
                    if !repo.push(remote, &refspecs, Some((&ours, &current))).await? {
                        continue;
                    }
                    repo.update_refs(&[(&ours, &commit, Some("")), (&branch, &commit, Some(""))]).await?;
                } else if repo
                    .update_refs(&[(&ours, &commit, Some(current.as_str())), (&branch, &commit, Some(""))])
                    .await
                    .is_err()
                {
                    continue;
                }
                commit
            };
            record.merged = Some(merged.clone());
            record.merging = None;
            record.head = head.to_string();
            self.put_task(
                store,
                claim,
                record,
                json!({ "step": "merged", "attempt": claim.attempt, "commit": merged }),
            )
            .await?;
            if let Some(path) = record.path.clone() {
                self.release(repo, std::path::Path::new(&path)).await;
            }
            return Ok(Integrated::Merged(merged));
        }
        Err(WorkspaceError::Refused(format!(
            "could not merge {} into {}: the branch kept moving",
            claim.task_id,
            integration_branch(&claim.run_id)
        )))
    }

    /// The worktree a person's (or agent host's) claim prepared, to commit when they complete
    /// the task; `None` when the task has none (outside git, or completed without a claim).
    pub async fn prepared_of<S: Store>(&self, store: &S, claim: &Claim) -> Result<Option<Prepared>, WorkspaceError> {
        if self.repo.is_none() {
            return Ok(None);
        }
        let record = self.task_record(store, &claim.run_id, &claim.task_id).await?;
        Ok(record.and_then(|r| match (r.ready, r.path) {
            (Some(n), Some(path)) if n == claim.attempt => {
                Some(Prepared::Ready { dir: PathBuf::from(path), folder: None })
            }
            _ => None,
        }))
    }

    /// The worktree at `path` when it is one of this repository's.
    pub(super) fn registered(&self, repo: &Repo, path: &std::path::Path) -> Option<Worktree> {
        let want = std::fs::canonicalize(path).ok()?;
        repo.worktree_admins().into_iter().find_map(|(p, admin)| {
            (std::fs::canonicalize(&p).ok()? == want && want.join(".git").exists())
                .then_some(Worktree { path: p, admin })
        })
    }
}

/// Puts the worktree on `branch` at `start`, with nothing else in it. A worktree already on
/// the branch at `start` (a retry continuing its own work, after coord's commit) is left as it
/// is, build products included: checking out and cleaning 10,000 files costs more than a
/// retry should.
async fn wt_checkout(repo: &Repo, wt: &Worktree, branch: &str, start: &str) -> Result<String, WorkspaceError> {
    let head = std::fs::read_to_string(wt.admin.join("HEAD")).unwrap_or_default();
    if head.trim() == format!("ref: {branch}") && repo.commit_of(branch).await.as_deref() == Some(start) {
        return Ok(start.to_string());
    }
    let name = branch.trim_start_matches("refs/heads/");
    // `checkout -B` reads every worktree's folder (is the branch checked out elsewhere?): one
    // another process is adding at this moment makes it fail, so it is tried again.
    let mut tries = 0;
    loop {
        match repo.in_worktree(wt, &["checkout", "-q", "-f", "-B", name, start], &[]).await {
            Ok(_) => break,
            Err(e) if tries < 5 && super::pool::half_made_worktree(&e) => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    repo.in_worktree(wt, &["clean", "-q", "-ffdx"], &[]).await?;
    Ok(start.to_string())
}

impl Workspaces {
    /// Merges the results of done tasks a person approved (a data-loss migration, a breaking
    /// change, a conflict resolved by hand on the task branch) that are not integrated yet.
    pub async fn merge_approved<S: Store>(&self, store: &S, run: &str) -> Result<Vec<String>, WorkspaceError> {
        let Some(repo) = &self.repo else { return Ok(Vec::new()) };
        if let Some(remote) = &self.remote {
            repo.fetch_run(remote, run).await?;
        }
        let approved = self.approved(store, run).await?;
        let done: Vec<String> = store
            .tasks(run)
            .await?
            .into_iter()
            .filter(|t| t.state == coord_store::TaskState::Done && approved.contains(&t.task_id))
            .map(|t| t.task_id)
            .collect();
        let mut merged = Vec::new();
        for task in done {
            let Some(record) = self.task_record(store, run, &task).await? else { continue };
            if record.merged.is_some() {
                continue;
            }
            let Some(head) = self.task_head(repo, run, &task).await else { continue };
            // Attempt 0: the task is done and nobody holds its lease.
            let claim = Claim {
                run_id: run.into(),
                task_id: task.clone(),
                specialist: "approval".into(),
                attempt: 0,
                token: 0,
            };
            let mut r = record.clone();
            if let Integrated::Merged(_) = self.merge(repo, store, &claim, &mut r, &head).await? {
                merged.push(task);
            }
        }
        Ok(merged)
    }
}
