//! Seeded-defect fixtures: a line that carries a defect on purpose says so with a comment
//! `coord-expect: <rule>`. This module reads those markers and scores checkers against them
//! (precision and recall per rule), for the fixture tests and the `precision_recall` example.

use crate::checker::{Checker, Workspace};
use crate::walk::{WalkLimits, read_tree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `(rule, file, line)`.
pub type Key = (String, String, usize);

/// The markers of every file under `root`.
pub fn expected(root: &Path) -> BTreeSet<Key> {
    let tree = read_tree(root, &WalkLimits::default());
    let mut out = BTreeSet::new();
    for f in &tree.files {
        for (i, line) in f.text.lines().enumerate() {
            if let Some(pos) = line.find("coord-expect:") {
                for rule in line[pos + "coord-expect:".len()..].split(',') {
                    let rule = rule.split_whitespace().next().unwrap_or("").to_string();
                    if !rule.is_empty() {
                        out.insert((rule, f.rel.clone(), i + 1));
                    }
                }
            }
        }
    }
    out
}

/// What the checkers report under `root`, as keys.
pub fn found(root: &Path, checkers: &[&dyn Checker]) -> BTreeSet<Key> {
    let tree = read_tree(root, &WalkLimits::default());
    let ws = Workspace { root, files: &tree.files };
    checkers.iter().flat_map(|c| c.check(&ws).findings).map(|f| (f.rule, f.file, f.line)).collect()
}

/// True and false positives and false negatives of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Found and expected.
    pub true_positives: usize,
    /// Found, not expected.
    pub false_positives: usize,
    /// Expected, not found.
    pub false_negatives: usize,
}

impl Score {
    /// tp / (tp + fp), 1 when nothing was found.
    pub fn precision(&self) -> f64 {
        let d = self.true_positives + self.false_positives;
        if d == 0 { 1.0 } else { self.true_positives as f64 / d as f64 }
    }
    /// tp / (tp + fn), 1 when nothing was expected.
    pub fn recall(&self) -> f64 {
        let d = self.true_positives + self.false_negatives;
        if d == 0 { 1.0 } else { self.true_positives as f64 / d as f64 }
    }
}

/// Scores `found` against `expected`, per rule.
pub fn score(expected: &BTreeSet<Key>, found: &BTreeSet<Key>) -> BTreeMap<String, Score> {
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    for k in expected.union(found) {
        let s = scores.entry(k.0.clone()).or_default();
        match (expected.contains(k), found.contains(k)) {
            (true, true) => s.true_positives += 1,
            (false, true) => s.false_positives += 1,
            (true, false) => s.false_negatives += 1,
            (false, false) => {}
        }
    }
    scores
}
