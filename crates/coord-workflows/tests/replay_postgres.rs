//! Replay on PostgreSQL, in a throwaway schema of the test database (dropped afterwards): the
//! PostgreSQL-flavoured sqlx fixture replays cleanly and a lossy down is caught. Needs the
//! PostgreSQL server `.ci/run` starts; `COORD_TEST_PG` points at another one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::walk::{WalkLimits, read_tree};
use coord_workflows::replay::replay_postgres;
use std::path::PathBuf;

fn url() -> String {
    std::env::var("COORD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn files(path: &str) -> Vec<coord_gates::SourceFile> {
    read_tree(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path), &WalkLimits::default()).files
}

#[tokio::test]
async fn postgres_replay_passes_a_reversible_history_and_catches_a_lossy_down() {
    let clean = replay_postgres(&files("../coord-gates/tests/fixtures/migrations/sqlx-clean"), &url())
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {} is required (bash .ci/run starts it): {e}", url()));
    assert_eq!(clean.replayed, 2);
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    let lossy = replay_postgres(&files("tests/fixtures/lossy-down"), &url()).await.unwrap();
    let f = lossy.findings.iter().find(|f| f.rule == "migrate/down-not-restoring").expect("finding");
    assert!(f.message.contains("missing table sessions"), "{}", f.message);
    // The throwaway schemas are gone.
    let pool = sqlx::PgPool::connect(&url()).await.unwrap();
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'coord_replay_%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
}
