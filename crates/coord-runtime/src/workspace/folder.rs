//! Outside git there is one folder and no branches: tasks that may write files take turns in
//! it (an in-process lock, and a lock file naming the lease of the attempt that holds the
//! folder, so other coordinators and workers on this machine wait too, and a frozen one whose
//! lease was taken over does not hold everyone up), and what an attempt changed is found by
//! comparing the files before and after it (size, modification time, then content hash).
//! coord's own `.coord/` and a `.git/` are never counted.

use super::protect::Protected;
use super::{Committed, WorkspaceError, Workspaces, io};
use coord_store::{Claim, Store};
use serde_json::json;
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The turn of writers in the project folder.
#[derive(Debug)]
pub struct Turns {
    lock_file: PathBuf,
    local: Arc<tokio::sync::Mutex<()>>,
}

/// A held turn: released when dropped (the lock file is removed if it is still this turn's).
#[derive(Debug)]
pub struct Turn {
    _local: tokio::sync::OwnedMutexGuard<()>,
    lock_file: PathBuf,
    mine: String,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if std::fs::read_to_string(&self.lock_file).ok().as_deref() == Some(self.mine.as_str()) {
            let _ = std::fs::remove_file(&self.lock_file);
        }
    }
}

/// Who holds the folder: the lease its attempt holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Holder {
    owner: String,
    run: String,
    task: String,
    token: i64,
}

impl Turns {
    pub(super) fn new(lock_file: PathBuf) -> Turns {
        Turns { lock_file, local: Arc::new(tokio::sync::Mutex::new(())) }
    }

    /// Waits for this process's turn, then for the machine's: the lock file names the lease
    /// of the attempt that holds the folder, and a holder whose lease is gone (a coordinator
    /// that died or froze and was taken over) loses the folder to the next.
    pub async fn take<S: Store>(&self, store: &S, claim: &Claim) -> Result<Turn, WorkspaceError> {
        let local = self.local.clone().lock_owned().await;
        if let Some(parent) = self.lock_file.parent() {
            std::fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
        }
        let mine = serde_json::to_string(&Holder {
            owner: crate::owner_id(),
            run: claim.run_id.clone(),
            task: claim.task_id.clone(),
            token: claim.token,
        })
        .map_err(|e| WorkspaceError::Refused(e.to_string()))?;
        loop {
            let holder = self.guarded(|lock| match std::fs::read_to_string(lock) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::write(lock, &mine).map(|()| None),
                Err(e) => Err(e),
                Ok(text) => Ok(Some(text)),
            })?;
            let Some(text) = holder else {
                return Ok(Turn { _local: local, lock_file: self.lock_file.clone(), mine });
            };
            let live = match serde_json::from_str::<Holder>(&text) {
                // A holder whose process is gone (same machine) has lost it already.
                Ok(h) if crate::owner_is_dead(&h.owner) => false,
                Ok(h) => store.current_claim(&h.run, &h.task).await?.is_some_and(|c| c.token == h.token),
                Err(_) => false,
            };
            if live {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            // Its lease is gone: the folder is free (unless someone took it meanwhile).
            self.guarded(|lock| match std::fs::read_to_string(lock) {
                Ok(now) if now == text => std::fs::remove_file(lock),
                _ => Ok(()),
            })?;
        }
    }

    /// Runs `f` on the lock file's path under a short file lock of its guard, so checking and
    /// replacing the holder is one step for every process on the machine.
    fn guarded<T>(&self, f: impl FnOnce(&Path) -> std::io::Result<T>) -> Result<T, WorkspaceError> {
        let guard_path = self.lock_file.with_extension("guard");
        let guard = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&guard_path)
            .map_err(io(format!("cannot open {}", guard_path.display())))?;
        guard.lock().map_err(io(format!("cannot lock {}", guard_path.display())))?;
        let out = f(&self.lock_file).map_err(io(format!("cannot use {}", self.lock_file.display())));
        let _ = guard.unlock();
        out
    }
}

/// The project's files at one moment: path → (size, modification time, content hash).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot {
    files: BTreeMap<String, (u64, i128, u64)>,
}

impl Snapshot {
    /// Reads the project's files (not `.coord/`, not `.git/`, symlinks as their target path).
    pub async fn take(root: &Path) -> Result<Snapshot, WorkspaceError> {
        let root = root.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut files = BTreeMap::new();
            walk(&root, &root, &mut files);
            Snapshot { files }
        })
        .await
        .map_err(|e| WorkspaceError::Refused(format!("the file snapshot's thread failed: {e}")))
    }

    /// Files added, changed or deleted between `self` and `after`.
    pub fn changed(&self, after: &Snapshot) -> Vec<String> {
        let mut out: Vec<String> = after
            .files
            .iter()
            .filter(|(p, v)| self.files.get(*p).is_none_or(|b| b.2 != v.2 || b.0 != v.0))
            .map(|(p, _)| p.clone())
            .collect();
        out.extend(self.files.keys().filter(|p| !after.files.contains_key(*p)).cloned());
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, (u64, i128, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        let Ok(rel) = path.strip_prefix(root) else { continue };
        let rel = rel.to_string_lossy().to_string();
        if meta.is_dir() {
            if rel == ".coord" || rel == ".git" || rel.ends_with("/.git") {
                continue;
            }
            walk(root, &path, files);
            continue;
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if meta.file_type().is_symlink() {
            if let Ok(target) = std::fs::read_link(&path) {
                hasher.write(target.to_string_lossy().as_bytes());
            }
        } else if let Ok(mut f) = std::fs::File::open(&path) {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = std::io::Read::read(&mut f, &mut buf) {
                if n == 0 {
                    break;
                }
                hasher.write(&buf[..n]);
            }
        }
        files.insert(rel, (meta.len(), mtime, hasher.finish()));
    }
}

impl Workspaces {
    /// Outside git: the files the attempt changed, plus those earlier attempts of the task
    /// changed that were not accepted (so a repeated result is gated again).
    pub(super) async fn commit_folder<S: Store>(
        &self,
        store: &S,
        claim: &Claim,
        before: &Snapshot,
        protected: Protected<'_>,
    ) -> Result<Committed, WorkspaceError> {
        let after = Snapshot::take(&self.project).await?;
        let mut record = self.task_record(store, &claim.run_id, &claim.task_id).await?.unwrap_or_default();
        let mut files = before.changed(&after);
        for f in &record.files {
            if !files.contains(f) {
                files.push(f.clone());
            }
        }
        files.sort();
        record.files = files.clone();
        let event = json!({ "step": "committed", "attempt": claim.attempt, "files": files.len(), "mode": "folder" });
        self.put_task(store, claim, &record, event).await?;
        // Without branches there is nothing to put them back from: the attempt fails.
        let refused: Vec<String> = files.iter().filter(|f| protected(f)).cloned().collect();
        Ok(Committed { artifacts: files, head: None, notes: Vec::new(), refused })
    }
}
