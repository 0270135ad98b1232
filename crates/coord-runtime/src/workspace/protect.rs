//! Paths no specialist may change (coord's configuration and state, agent and MCP
//! configuration, CI files, the worktree's `.git`; see `coord_sandbox::PROTECTED`). Inside the
//! sandbox the existing ones are read-only; whatever an attempt still changed among them (a new
//! `.mcp.json`, or anything without the sandbox) is put back as the task's branch had it
//! before the attempt is committed, and the attempt fails saying so.

use super::WorkspaceError;
use super::git::{Repo, Worktree};

/// Which paths are protected for this attempt (CI files are not for a DevOps specialist; a
/// person completing a task by hand may change anything).
pub type Protected<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// Nothing is protected (work done by a person).
pub fn nothing(_: &str) -> bool {
    false
}

/// Puts back the protected paths the worktree changed against `head`; returns them.
pub(super) async fn revert(
    repo: &Repo,
    wt: &Worktree,
    head: &str,
    protected: Protected<'_>,
) -> Result<Vec<String>, WorkspaceError> {
    let mut put_back = Vec::new();
    // The worktree's `.git` file points git at its administrative folder: an attempt must not
    // point it elsewhere.
    let dot_git = wt.path.join(".git");
    let want = format!("gitdir: {}\n", wt.admin.display());
    if protected(".git") && std::fs::read_to_string(&dot_git).ok().as_deref() != Some(want.as_str()) {
        if dot_git.is_dir() {
            let _ = std::fs::remove_dir_all(&dot_git);
        }
        std::fs::write(&dot_git, &want).map_err(super::io(format!("cannot restore {}", dot_git.display())))?;
        put_back.push(".git".to_string());
    }
    repo.in_worktree(wt, &["add", "-A", "--ignore-errors", "."], &[]).await?;
    let out = repo
        .in_worktree(wt, &["diff", "--cached", "--no-ext-diff", "--no-textconv", "--name-only", "-z", head], &[])
        .await?;
    let changed: Vec<String> =
        out.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| String::from_utf8_lossy(p).to_string()).collect();
    for path in changed.into_iter().filter(|p| protected(p)) {
        let spec = format!("{head}:{path}");
        if repo.git(&["cat-file", "-e", &spec]).await.is_ok() {
            repo.in_worktree(wt, &["checkout", head, "--", &path], &[]).await?;
        } else {
            repo.in_worktree(wt, &["rm", "-q", "-r", "-f", "--cached", "--", &path], &[]).await?;
            let full = wt.path.join(&path);
            let _ = std::fs::remove_file(&full).or_else(|_| std::fs::remove_dir_all(&full));
        }
        put_back.push(path);
    }
    Ok(put_back)
}
