//! Reading the tree to scan, once, on all cores: text files under a size limit, with what
//! `.gitignore` (and `.ignore`, `.git/info/exclude`) excludes and dependency and build folders
//! skipped, and symlinks never followed (so a symlink loop cannot trap the scan). The walk is
//! the `ignore` crate's. Binary and non-UTF-8 files become notes, never errors; files over the
//! size limit are listed apart, for the runner to scan in chunks ([`read_chunks`]).

use crate::checker::SourceFile;
use crate::finding::Note;
use std::path::{Path, PathBuf};

/// Folders never scanned.
pub const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    "dist",
    "build",
    ".venv",
    "venv",
    "__pycache__",
    "vendor",
    ".coord",
    ".next",
    ".idea",
    ".vscode",
    ".gradle",
    ".mvn",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    "bower_components",
];

/// Limits of a walk.
#[derive(Debug, Clone, Copy)]
pub struct WalkLimits {
    /// Files larger than this are skipped with a note.
    pub max_file_bytes: u64,
    /// Threads reading files.
    pub threads: usize,
}

impl Default for WalkLimits {
    fn default() -> Self {
        WalkLimits {
            max_file_bytes: 2 * 1024 * 1024,
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        }
    }
}

/// The files of a tree, and what could not be read.
#[derive(Debug, Default)]
pub struct Tree {
    /// Readable text files, sorted by path.
    pub files: Vec<SourceFile>,
    /// Files skipped, and why.
    pub notes: Vec<Note>,
    /// Bytes read.
    pub bytes: u64,
    /// Files over the size limit, not read: (path, size). The runner scans them in chunks.
    pub large: Vec<(PathBuf, u64)>,
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/")
}

/// Lists the regular files under `root` (sorted), honouring `.gitignore` files (also outside a
/// git repository) and skipping [`SKIP_DIRS`] and symlinks.
pub fn list_files(root: &Path, notes: &mut Vec<Note>) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    // Ignore files above the root apply only when the root is inside a repository, as git
    // reads them. A repository's top (a `.git` folder, or a worktree's `.git` file) is its own
    // boundary: coord's worktrees live under `.coord/`, whose `.gitignore` says `*`.
    let is_repo_top = root.join(".git").exists();
    let walk = ignore::WalkBuilder::new(root)
        .parents(!is_repo_top)
        .hidden(false)
        .follow_links(false)
        .git_global(false)
        .require_git(false)
        .filter_entry(|e| !(e.file_type().is_some_and(|t| t.is_dir()) && SKIP_DIRS.iter().any(|s| e.file_name() == *s)))
        .build();
    for entry in walk {
        match entry {
            Ok(e) => {
                if e.file_type().is_some_and(|t| t.is_file()) {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    out.push((e.into_path(), len));
                }
            }
            Err(e) => {
                let file = match &e {
                    ignore::Error::WithPath { path, .. } => rel(root, path),
                    _ => String::new(),
                };
                notes.push(Note { file, message: format!("cannot read: {e}") });
            }
        }
    }
    out.sort();
    out
}

/// A file read (possibly with a note about it) or skipped (with the note saying why), or too
/// large to hold (its path and size).
type ReadResult = (Option<SourceFile>, Option<Note>, Option<(PathBuf, u64)>);

fn read_one(root: &Path, path: &Path, len: u64, limits: &WalkLimits) -> ReadResult {
    if len > limits.max_file_bytes {
        return (None, None, Some((path.to_path_buf(), len)));
    }
    match read_checked(root, path, len, limits) {
        Ok((file, note)) => (Some(file), note, None),
        Err(note) => (None, Some(note), None),
    }
}

fn read_checked(root: &Path, path: &Path, len: u64, limits: &WalkLimits) -> Result<(SourceFile, Option<Note>), Note> {
    let r = rel(root, path);
    if len > limits.max_file_bytes {
        return Err(Note {
            file: r,
            message: format!("skipped: {len} bytes is over the {} byte limit", limits.max_file_bytes),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Note { file: r.clone(), message: format!("cannot read: {e}") })?;
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err(Note { file: r, message: "skipped: binary file".into() });
    }
    let (text, note) = match String::from_utf8(bytes) {
        Ok(t) => (t, None),
        // Scanned anyway (a secret in a Latin-1 file is still a secret), and noted.
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let note = Note {
                file: r.clone(),
                message: format!("not valid UTF-8 (byte {at}); scanned with replacement characters"),
            };
            (String::from_utf8_lossy(e.as_bytes()).into_owned(), Some(note))
        }
    };
    Ok((SourceFile { rel: r, path: path.to_path_buf(), text }, note))
}

/// Reads the tree under `root` with `limits.threads` threads.
pub fn read_tree(root: &Path, limits: &WalkLimits) -> Tree {
    let mut notes = Vec::new();
    let listed = list_files(root, &mut notes);
    let threads = limits.threads.max(1);
    let chunk = listed.len().div_ceil(threads).max(1);
    let mut results: Vec<Vec<ReadResult>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = listed
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || part.iter().map(|(p, len)| read_one(root, p, *len, limits)).collect::<Vec<_>>())
            })
            .collect();
        for h in handles {
            // A panicking reader thread would be a bug in read_one; its files are skipped.
            if let Ok(r) = h.join() {
                results.push(r);
            }
        }
    });
    let mut tree = Tree { notes, ..Tree::default() };
    for (file, note, large) in results.into_iter().flatten() {
        if let Some(f) = file {
            tree.bytes += f.text.len() as u64;
            tree.files.push(f);
        }
        tree.notes.extend(note);
        tree.large.extend(large);
    }
    tree.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    tree
}

/// Reads a file too large to hold in pieces of about `chunk` bytes that end at line ends, and
/// hands each to `scan` with the 0-based number of its first line. A binary file is refused
/// with a note; a line longer than the chunk is one piece.
pub fn read_chunks(root: &Path, path: &Path, chunk: u64, mut scan: impl FnMut(SourceFile, usize)) -> Result<u64, Note> {
    use std::io::BufRead;
    let r = rel(root, path);
    let file = std::fs::File::open(path).map_err(|e| Note { file: r.clone(), message: format!("cannot read: {e}") })?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let (mut text, mut first_line, mut lines, mut total) = (String::new(), 0usize, 0usize, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Note { file: r.clone(), message: format!("cannot read: {e}") })?;
        if n == 0 {
            break;
        }
        if total == 0 && line.contains(&0) {
            return Err(Note { file: r, message: "skipped: binary file".into() });
        }
        total += n as u64;
        text.push_str(&String::from_utf8_lossy(&line));
        lines += 1;
        if text.len() as u64 >= chunk {
            scan(SourceFile { rel: r.clone(), path: path.to_path_buf(), text: std::mem::take(&mut text) }, first_line);
            first_line = lines;
        }
    }
    if !text.is_empty() {
        scan(SourceFile { rel: r, path: path.to_path_buf(), text }, first_line);
    }
    Ok(total)
}
