//! The `Checker` seam: a repository (as a list of readable source files) in, findings out.

use crate::finding::{Finding, Note};
use std::path::{Path, PathBuf};

/// One text file of the scanned tree.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    /// Absolute path.
    pub path: PathBuf,
    /// The text (files that are not UTF-8 are decoded lossily and noted by the walker).
    pub text: String,
}

impl SourceFile {
    /// The lower-case extension, without the dot.
    pub fn ext(&self) -> String {
        self.rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.text.as_bytes()[..offset.min(self.text.len())].iter().filter(|&&b| b == b'\n').count() + 1
    }
}

/// What a checker may look at.
pub struct Workspace<'a> {
    /// The root of the scanned tree.
    pub root: &'a Path,
    /// Every readable text file under it (see [`crate::walk`]).
    pub files: &'a [SourceFile],
}

/// What a checker found.
#[derive(Debug, Clone, Default)]
pub struct CheckOutput {
    /// Defects.
    pub findings: Vec<Finding>,
    /// Files or steps that could not be checked.
    pub notes: Vec<Note>,
}

/// A checker: a real analysis of the workspace.
pub trait Checker: Send + Sync {
    /// The checker's id (`secrets`, `sql-injection`, `openapi`...).
    fn id(&self) -> &'static str;
    /// Runs the analysis.
    fn check(&self, ws: &Workspace<'_>) -> CheckOutput;
    /// Whether each file is judged on its own, so the runner may split the files among threads.
    fn per_file(&self) -> bool {
        false
    }
}
