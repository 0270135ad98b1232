//! `cargo run -p coord-gates --example precision_recall`: precision and recall of every rule
//! on the seeded fixtures (`tests/fixtures/*`, defects marked `coord-expect:`), all checkers.

use coord_gates::Checker;
use coord_gates::expect::{Score, expected, found, score};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let config = coord_gates::GateConfig::default();
    let ids = coord_gates::checkers_for(
        &coord_gates::checklist::GATES.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
        false,
    );
    let checkers: Vec<Box<dyn Checker>> = ids
        .iter()
        .filter_map(|id| coord_gates::report::build(id, &config))
        .filter(|c| !matches!(c.id(), "docs" | "coverage"))
        .collect();
    let refs: Vec<&dyn Checker> = checkers.iter().map(|c| c.as_ref()).collect();
    let mut total: BTreeMap<String, Score> = BTreeMap::new();
    // Fixture folders: children of tests/fixtures, or their children when they only group
    // folders (openapi/bad, migrations/sqlx-bad...). A folder counts when it marks its seeded
    // defects, or when it is a clean twin (every finding there is a false positive).
    let mut dirs: Vec<PathBuf> = Vec::new();
    let children = |d: &std::path::Path| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .map(|es| es.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect())
            .unwrap_or_default()
    };
    for child in children(&base) {
        let has_files =
            std::fs::read_dir(&child).map(|es| es.filter_map(Result::ok).any(|e| e.path().is_file())).unwrap_or(false);
        if has_files { dirs.push(child) } else { dirs.extend(children(&child)) }
    }
    dirs.retain(|d| d.file_name().is_some_and(|n| n.to_string_lossy().contains("clean")) || !expected(d).is_empty());
    dirs.sort();
    for dir in &dirs {
        let want = expected(dir);
        let got = found(dir, &refs);
        for (rule, s) in score(&want, &got) {
            let t = total.entry(rule).or_default();
            t.true_positives += s.true_positives;
            t.false_positives += s.false_positives;
            t.false_negatives += s.false_negatives;
        }
    }
    println!("| rule | true positives | false positives | false negatives | precision | recall |");
    println!("|---|---|---|---|---|---|");
    for (rule, s) in &total {
        println!(
            "| {rule} | {} | {} | {} | {:.2} | {:.2} |",
            s.true_positives,
            s.false_positives,
            s.false_negatives,
            s.precision(),
            s.recall()
        );
    }
}
