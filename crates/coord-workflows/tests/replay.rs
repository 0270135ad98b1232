//! Replaying migrations up, down and up on a scratch SQLite database: a reversible history
//! passes; a down that removes more than its up created, an up that cannot run twice, and an up
//! that fails are each reported with their evidence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::walk::{WalkLimits, read_tree};
use coord_workflows::replay_sqlite;
use std::path::PathBuf;

async fn replay(name: &str) -> coord_workflows::ReplayReport {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let tree = read_tree(&root, &WalkLimits::default());
    let scratch = tempfile::tempdir().unwrap();
    replay_sqlite(&tree.files, scratch.path()).await.unwrap()
}

#[tokio::test]
async fn a_reversible_history_replays_cleanly() {
    let r = replay("reversible").await;
    assert_eq!(r.replayed, 2);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[tokio::test]
async fn a_lossy_down_is_caught_with_the_schema_difference() {
    let r = replay("lossy-down").await;
    let f = r.findings.iter().find(|f| f.rule == "migrate/down-not-restoring").expect("finding");
    assert_eq!(f.file, "migrations/002_index.down.sql");
    assert!(f.message.contains("missing table sessions"), "{}", f.message);
}

#[tokio::test]
async fn an_up_that_cannot_run_twice_is_caught() {
    let r = replay("not-repeatable").await;
    let rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&"migrate/down-not-restoring"), "{rules:?}");
    let f = r.findings.iter().find(|f| f.rule == "migrate/up-not-repeatable").expect("finding");
    assert!(f.message.contains("audit") && f.message.contains("already exists"), "{}", f.message);
}

#[tokio::test]
async fn a_failing_up_reports_its_error_and_stops() {
    let r = replay("failing").await;
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(r.findings[0].rule, "migrate/up-failed");
    let m = &r.findings[0].message;
    assert!(m.contains("no such table: customers"), "{m}");
    assert!(m.contains("statement at line") && m.contains("customers"), "the failing statement is named: {m}");
}

#[tokio::test]
async fn a_migration_without_down_is_irreversible() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    std::fs::write(dir.path().join("migrations/001_users.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);\n")
        .unwrap();
    let tree = read_tree(dir.path(), &WalkLimits::default());
    let scratch = tempfile::tempdir().unwrap();
    let r = replay_sqlite(&tree.files, scratch.path()).await.unwrap();
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(
        (r.findings[0].rule.as_str(), r.findings[0].file.as_str()),
        ("migrate/irreversible", "migrations/001_users.sql")
    );
}
