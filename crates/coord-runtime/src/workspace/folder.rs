//! Outside git there is one folder and no branches: tasks that may write files take turns in
//! it (an in-process lock, and a lock file naming the lease of the attempt that holds the
//! folder, so other coordinators and workers on this machine wait too, and a frozen one whose
//! lease was taken over does not hold everyone up), and what an attempt changed is found by
//! comparing the files before and after it (size and content hash).
//! coord's own `.coord/` and a `.git/` are never counted. A file's hash is read again only when
//! its size, inode or change time (`ctime`, which no program can set back, unlike the
//! modification time) differs from when it was last hashed, or when that change time was too
//! close to the hashing to tell a later write apart: the snapshots of a large project cost a
//! walk of its metadata, not a read of every byte, per attempt.

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
    /// Content hashes already read, by path.
    pub(super) hashes: Arc<HashCache>,
}

/// A file's content hash and the metadata it was read under.
#[derive(Debug, Clone, Copy)]
struct Hashed {
    size: u64,
    inode: u64,
    /// Change time, ns since the epoch.
    ctime: i128,
    hash: u64,
    /// When the reading began, ns since the epoch.
    read_at: i128,
}

/// Content hashes of the project's files by path relative to the project, reused while the
/// files' metadata says they are the same bytes.
#[derive(Debug, Default)]
pub struct HashCache(std::sync::Mutex<std::collections::HashMap<String, Hashed>>);

/// A change this close to the moment a file was hashed may have come after the reading yet
/// within the same timestamp tick; such files are read again.
const RACY_NS: i128 = 1_000_000_000;

fn nanos(t: std::time::SystemTime) -> i128 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
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
        Turns { lock_file, local: Arc::new(tokio::sync::Mutex::new(())), hashes: Default::default() }
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

/// The project's files at one moment: path → (size, content hash).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot {
    files: BTreeMap<String, (u64, u64)>,
}

impl Snapshot {
    /// Reads the project's files (not `.coord/`, not `.git/`, symlinks as their target path),
    /// hashing only those `cache` cannot vouch for.
    pub async fn take(root: &Path, cache: &Arc<HashCache>) -> Result<Snapshot, WorkspaceError> {
        let (root, cache) = (root.to_path_buf(), cache.clone());
        tokio::task::spawn_blocking(move || {
            let mut files = BTreeMap::new();
            let mut hashes = cache.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            walk(&root, &root, &mut files, &mut hashes);
            // Files gone from the project are forgotten.
            hashes.retain(|rel, _| files.contains_key(rel));
            Snapshot { files }
        })
        .await
        .map_err(|e| WorkspaceError::Refused(format!("the file snapshot's thread failed: {e}")))
    }

    /// Files added, changed or deleted between `self` and `after`.
    pub fn changed(&self, after: &Snapshot) -> Vec<String> {
        let mut out: Vec<String> =
            after.files.iter().filter(|(p, v)| self.files.get(*p) != Some(*v)).map(|(p, _)| p.clone()).collect();
        out.extend(self.files.keys().filter(|p| !after.files.contains_key(*p)).cloned());
        out.sort();
        out
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    files: &mut BTreeMap<String, (u64, u64)>,
    hashes: &mut std::collections::HashMap<String, Hashed>,
) {
    use std::os::unix::fs::MetadataExt;
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
            walk(root, &path, files, hashes);
            continue;
        }
        let ctime = meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128;
        let known = hashes.get(&rel).filter(|h| {
            h.size == meta.len() && h.inode == meta.ino() && h.ctime == ctime && ctime + RACY_NS < h.read_at
        });
        let hash = match known {
            Some(h) => h.hash,
            None => {
                let read_at = nanos(std::time::SystemTime::now());
                let hash = content_hash(&path, &meta);
                hashes.insert(rel.clone(), Hashed { size: meta.len(), inode: meta.ino(), ctime, hash, read_at });
                hash
            }
        };
        files.insert(rel, (meta.len(), hash));
    }
}

/// The hash of a file's bytes, or of a symlink's target path.
fn content_hash(path: &Path, meta: &std::fs::Metadata) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    if meta.file_type().is_symlink() {
        if let Ok(target) = std::fs::read_link(path) {
            hasher.write(target.to_string_lossy().as_bytes());
        }
    } else if let Ok(mut f) = std::fs::File::open(path) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = std::io::Read::read(&mut f, &mut buf) {
            if n == 0 {
                break;
            }
            hasher.write(&buf[..n]);
        }
    }
    hasher.finish()
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
        let after = Snapshot::take(&self.project, &self.folder.hashes).await?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{HashCache, Snapshot};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_change_that_keeps_size_and_modification_time_is_still_seen() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "aaaa").unwrap();
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        // Old enough that its hash is kept for reuse.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let cache = Arc::new(HashCache::default());
        let before = Snapshot::take(dir.path(), &cache).await.unwrap();
        assert_eq!(before.changed(&Snapshot::take(dir.path(), &cache).await.unwrap()), Vec::<String>::new());
        // Same size, modification time set back: only the change time tells.
        std::fs::write(&file, "bbbb").unwrap();
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(mtime).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), mtime);
        let after = Snapshot::take(dir.path(), &cache).await.unwrap();
        assert_eq!(before.changed(&after), vec!["a.txt".to_string()]);
        // A deleted file is forgotten by the cache too.
        std::fs::remove_file(&file).unwrap();
        let gone = Snapshot::take(dir.path(), &cache).await.unwrap();
        assert_eq!(after.changed(&gone), vec!["a.txt".to_string()]);
        assert!(cache.0.lock().unwrap().is_empty());
    }
}
