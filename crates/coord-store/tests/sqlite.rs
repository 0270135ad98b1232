//! The behaviour suite (`suite/`) against SQLite, plus what only a file can get wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;

use coord_store::{SqliteStore, Store};

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("coord.db")).await.unwrap();
    (dir, store)
}

macro_rules! behaviour {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let (_dir, s) = open().await;
            suite::$name(&s).await;
        }
    )*};
}

behaviour!(
    dependencies_release_tasks_in_rank_order_and_the_run_completes,
    a_stale_worker_cannot_record_a_result_and_an_expired_lease_counts_the_attempt,
    retries_wait_for_their_backoff_and_failures_block_dependents,
    escalation_parks_the_task_and_blocks_its_dependents,
    cancel_stops_everything_and_unknown_ids_are_errors,
    escalation_decisions_requeue_reassign_skip_or_abort,
    a_persons_consultation_answer_joins_the_next_brief,
    manual_claims_dead_owners_and_group_commit,
    released_claims_are_interrupted_and_fenced_by_their_tokens,
    claims_can_be_limited_to_automatic_specialists,
    claims_across_runs_take_the_best_ranks_of_running_runs,
    workers_register_beat_and_leave,
    a_tick_records_results_and_claims_what_they_freed,
    tasks_finished_by_hand_in_one_batch,
    workspace_records_are_kept_with_an_event_and_fenced_by_the_lease,
);

#[tokio::test]
async fn two_stores_on_one_file_never_claim_the_same_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let (s1, s2) = (SqliteStore::open(&path).await.unwrap(), SqliteStore::open(&path).await.unwrap());
    suite::two_stores_never_claim_the_same_task(s1, s2, 200).await;
}

#[tokio::test]
async fn a_follower_misses_no_event_while_two_stores_on_one_file_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let (s1, s2) = (SqliteStore::open(&path).await.unwrap(), SqliteStore::open(&path).await.unwrap());
    suite::a_follower_misses_no_event_while_two_writers_commit(s1, s2).await;
}

#[tokio::test]
async fn sqlite_has_no_notifications_and_waits_poll() {
    let (_dir, s) = open().await;
    let mut signal = s.ready_signal().await.unwrap();
    assert!(!signal.is_listening());
    let started = std::time::Instant::now();
    assert!(!signal.wait(std::time::Duration::from_millis(30)).await, "a poll ends by its timeout");
    assert!(started.elapsed() >= std::time::Duration::from_millis(30));
}

#[tokio::test]
async fn foreign_and_corrupt_files_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "this is not a database, it is a text file with some notes").unwrap();
    let err = SqliteStore::open(&text).await.unwrap_err().to_string();
    assert!(err.contains("notes.db is not a coord database") && err.contains("not an SQLite"), "{err}");

    // Another application's SQLite database.
    let foreign = dir.path().join("foreign.db");
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&foreign).create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::query("CREATE TABLE customers (id INTEGER)").execute(&pool).await.unwrap();
        pool.close().await;
    }
    let err = SqliteStore::open(&foreign).await.unwrap_err().to_string();
    assert!(err.contains("another application"), "{err}");
    // The foreign file is untouched.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&foreign);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 1);

    // Reopening our own database works and keeps the data.
    let ours = dir.path().join("sub/coord.db");
    SqliteStore::open(&ours).await.unwrap().create_run(&suite::diamond("kept"), 0).await.unwrap();
    let again = SqliteStore::open(&ours).await.unwrap();
    assert_eq!(again.runs().await.unwrap().len(), 1);
}

/// Processes that open a new database file at the same moment (a worker and `coord run
/// --parallel 0`) all get the store: none takes the others' first tables for another
/// application's. Separate pools are separate connections, as separate processes would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_opening_a_new_file_together_all_open_it() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("new-{round}.db"));
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(async move { SqliteStore::open(&path).await.map(|_| ()) })
            })
            .collect();
        for open in opens {
            let opened = open.await.unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}
