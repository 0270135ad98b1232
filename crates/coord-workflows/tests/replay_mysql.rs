//! Replay on MySQL/MariaDB, in a throwaway database of the test server (dropped afterwards):
//! MySQL-flavoured migrations (AUTO_INCREMENT, ENGINE=, UNSIGNED, `#` comments) replay cleanly,
//! a down that forgets a column is caught with the difference, and a failing statement is named
//! by its line. Needs the MariaDB server `.ci/run` checks; `COORD_TEST_MYSQL` points at another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::walk::{WalkLimits, read_tree};
use coord_workflows::replay::{ReplicaKind, replay_replica};
use sqlx::Connection;
use std::path::PathBuf;

fn url() -> String {
    std::env::var("COORD_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

fn files(path: &str) -> Vec<coord_gates::SourceFile> {
    read_tree(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path), &WalkLimits::default())
        .files
}

#[tokio::test]
async fn mysql_replay_passes_a_reversible_history_catches_a_lossy_down_and_names_a_failing_line() {
    assert_eq!(ReplicaKind::of_url(&url()), Some(ReplicaKind::Mysql));
    let clean = replay_replica(&files("mysql"), &url())
        .await
        .unwrap_or_else(|e| panic!("MySQL/MariaDB at {} is required (bash .ci/run checks it): {e}", url()));
    assert_eq!(clean.replayed, 2);
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);

    let lossy = replay_replica(&files("mysql-lossy"), &url()).await.unwrap();
    let f = lossy.findings.iter().find(|f| f.rule == "migrate/down-not-restoring").expect("finding");
    assert_eq!(f.file, "migrations/002_sessions.down.sql");
    assert!(f.message.contains("table users differs") && f.message.contains("last_login"), "{}", f.message);

    let failing = replay_replica(&files("mysql-failing"), &url()).await.unwrap();
    let f = failing.findings.iter().find(|f| f.rule == "migrate/up-failed").expect("finding");
    assert_eq!(f.file, "migrations/002_orders.up.sql");
    assert!(f.message.contains("statement at line 3") && f.message.contains("no_such_table"), "{}", f.message);

    // The throwaway databases are gone.
    let mut conn = sqlx::MySqlConnection::connect(&url()).await.unwrap();
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'coord_replay_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_replica_url_of_another_scheme_is_refused_without_repeating_it() {
    let err = replay_replica(&files("mysql"), "redis://user:hunter2@127.0.0.1/0").await.unwrap_err().to_string();
    assert!(err.contains("neither postgres:// nor mysql://"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
