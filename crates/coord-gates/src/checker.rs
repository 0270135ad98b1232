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
        line_at(&self.text, offset)
    }
}

/// The 1-based line of a byte offset of a text (the end of the text past its length).
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
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
    /// Figures the analysis measured, by metric name (`test_coverage`: percent of lines).
    pub measures: std::collections::BTreeMap<String, f64>,
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

/// A checker that judges each file on its own: implementing this gives a [`Checker`] whose
/// runner may split the files among threads.
pub trait FileChecker: Send + Sync {
    /// The checker's id.
    fn id(&self) -> &'static str;
    /// Appends the findings of one file.
    fn file(&self, f: &SourceFile, out: &mut Vec<crate::finding::Finding>);
}

impl<T: FileChecker> Checker for T {
    fn id(&self) -> &'static str {
        FileChecker::id(self)
    }
    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        for f in ws.files {
            self.file(f, &mut out.findings);
        }
        out
    }
    fn per_file(&self) -> bool {
        true
    }
}

/// The text of a call's arguments: from `start` (just after the opening parenthesis) to the
/// matching closing one, skipping quoted strings, at most `limit` bytes.
pub fn call_arguments(text: &str, start: usize, limit: usize) -> &str {
    let bytes = text.as_bytes();
    let end = (start + limit).min(text.len());
    let mut depth = 1;
    let mut i = start;
    let mut quote: Option<u8> = None;
    while i < end {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' | b'`' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    let mut stop = i.min(text.len());
    while !text.is_char_boundary(stop) {
        stop -= 1;
    }
    &text[start.min(stop)..stop]
}

/// Compiles a constant pattern of the checkers (every one is exercised by their tests, so a
/// pattern that does not compile fails them, never a user's scan).
#[allow(clippy::expect_used)]
pub(crate) fn re(p: &str) -> regex::Regex {
    regex::Regex::new(p).expect("constant regex compiles")
}
