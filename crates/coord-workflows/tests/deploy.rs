//! The deployment note: lock and rewrite risk per statement, the rollout the change calls for,
//! and what to watch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::SourceFile;
use coord_gates::walk::{WalkLimits, read_tree};
use coord_workflows::deploy::deployment_note;
use std::path::PathBuf;

fn files(path: &str) -> Vec<SourceFile> {
    read_tree(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path), &WalkLimits::default()).files
}

#[test]
fn a_type_change_calls_for_expand_contract_and_says_why() {
    let note = deployment_note(&files("../coord-gates/tests/fixtures/migrations/sqlx-bad"), 1);
    assert_eq!(note.rollout, "expand/contract");
    let rewrite = note.steps.iter().find(|s| s.statement.contains("TYPE DATE")).expect("the type change");
    assert_eq!((rewrite.lock.as_str(), rewrite.duration.as_str()), ("ACCESS EXCLUSIVE", "proportional to table size"));
    assert!(
        note.steps.iter().any(|s| s.duration == "fails on a table with rows"),
        "NOT NULL without default: {:#?}",
        note.steps
    );
    assert_eq!(note.order, vec!["migrations/20240201000000_profile.up.sql"]);
}

#[test]
fn additive_changes_roll_out_as_a_canary_and_index_builds_are_flagged() {
    let note = deployment_note(&files("tests/fixtures/reversible"), 1);
    assert_eq!(note.rollout, "canary");
    let index = note
        .steps
        .iter()
        .find(|s| s.statement.starts_with("CREATE INDEX users_name_idx"))
        .expect("index on an existing table");
    assert_eq!(index.lock, "SHARE (blocks writes)");
    assert!(index.advice.contains("CONCURRENTLY"));
    assert!(note.monitoring.iter().any(|m| m.contains("idx_scan")));
    // Deploying both migrations at once: the tables are new, so their indexes lock nothing.
    let both = deployment_note(&files("tests/fixtures/reversible"), 2);
    let new_table_index = both.steps.iter().find(|s| s.statement.starts_with("CREATE INDEX users_name_idx")).unwrap();
    assert_eq!(new_table_index.lock, "none (new table)");
}

#[test]
fn new_tables_only_go_blue_green() {
    let f = vec![SourceFile {
        rel: "migrations/001_init.up.sql".into(),
        path: "x".into(),
        text: "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);".into(),
    }];
    assert_eq!(deployment_note(&f, 1).rollout, "blue-green");
}
