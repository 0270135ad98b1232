//! The behaviour suite (`suite/`) against PostgreSQL, plus what only a server can get wrong:
//! schemas of other applications, notifications, many pools racing. Each test works in its own
//! throwaway schema of the database `COORD_TEST_PG` names (default: the local server's `test`),
//! dropped afterwards. These tests need the server: they fail, never skip, without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;

use coord_store::{NewRun, PgStore, ScratchSchema, Store, StoreError};
use std::time::Duration;

fn base_url() -> String {
    std::env::var("COORD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn scratch(prefix: &str) -> ScratchSchema {
    match ScratchSchema::create(&base_url(), prefix).await {
        Ok(s) => s,
        Err(e) => panic!("the PostgreSQL tests need a server (set COORD_TEST_PG to another one): {e}"),
    }
}

async fn open(prefix: &str) -> (ScratchSchema, PgStore) {
    let schema = scratch(prefix).await;
    let store = PgStore::connect(&schema.url()).await.unwrap();
    (schema, store)
}

macro_rules! behaviour {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let (_schema, s) = open(stringify!($name)).await;
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
async fn two_pools_racing_on_1000_ready_tasks_never_claim_one_twice() {
    let (schema, s1) = open("race").await;
    let s2 = PgStore::connect(&schema.url()).await.unwrap();
    suite::two_stores_never_claim_the_same_task(s1, s2, 1000).await;
}

#[tokio::test]
async fn a_follower_misses_no_event_while_two_pools_commit() {
    let (schema, s1) = open("follow").await;
    let s2 = PgStore::connect(&schema.url()).await.unwrap();
    suite::a_follower_misses_no_event_while_two_writers_commit(s1, s2).await;
}

#[tokio::test]
async fn reopening_keeps_the_data_and_applies_no_migration_twice() {
    let (schema, s) = open("reopen").await;
    s.create_run(&suite::diamond("kept"), 0).await.unwrap();
    let again = PgStore::connect(&schema.url()).await.unwrap();
    assert_eq!(again.runs().await.unwrap().len(), 1);
    assert!(matches!(again.create_run(&suite::diamond("kept"), 0).await, Err(StoreError::DuplicateRun(_))));
}

#[tokio::test]
async fn another_applications_schema_is_refused_and_left_untouched() {
    let schema = scratch("foreign").await;
    let admin = sqlx::PgPool::connect(&schema.url()).await.unwrap();
    sqlx::query("CREATE TABLE customers (id BIGINT)").execute(&admin).await.unwrap();
    let err = PgStore::connect(&schema.url()).await.unwrap_err().to_string();
    assert!(err.contains(schema.name()) && err.contains("another application"), "{err}");
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(tables, 1, "nothing was created beside the foreign table");
    admin.close().await;
}

#[tokio::test]
async fn bad_urls_and_missing_schemas_get_clear_errors_without_the_password() {
    let err = PgStore::connect("postgres://coord:s3cret-pw@127.0.0.1:1/none").await.unwrap_err().to_string();
    assert!(err.contains("cannot open the PostgreSQL store") && err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("s3cret-pw"), "the password never reaches a message: {err}");
    let url = format!("{}?options=-c%20search_path%3Dcoord_no_such_schema_here", base_url());
    let err = PgStore::connect(&url).await.unwrap_err().to_string();
    assert!(err.contains("no existing schema"), "{err}");
}

#[tokio::test]
async fn a_new_run_wakes_a_listening_worker_and_a_backoff_does_not() {
    let (schema, s) = open("notify").await;
    let other = PgStore::connect(&schema.url()).await.unwrap();
    let mut signal = s.ready_signal().await.unwrap();
    assert!(signal.is_listening());
    assert!(!signal.wait(Duration::from_millis(50)).await, "nothing happened yet");
    let waiting = tokio::spawn(async move {
        let woke = signal.wait(Duration::from_secs(20)).await;
        (woke, signal)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    other.create_run(&suite::diamond("r"), 0).await.unwrap();
    let (woke, mut signal) = waiting.await.unwrap();
    assert!(woke, "the commit notified the listener");
    assert!(started.elapsed() < Duration::from_secs(10), "woken by the notification, not the timeout");
    // Heartbeats and claims make nothing claimable: no notification.
    let c = other.claim_any("w", 1, 1000, 1, None).await.unwrap().remove(0);
    other.heartbeat(&c, 1000, 2).await.unwrap();
    assert!(!signal.wait(Duration::from_millis(200)).await);
    // A success that readies dependents does.
    other.finish(&c, &suite::done(), 3).await.unwrap();
    assert!(signal.wait(Duration::from_secs(20)).await);
}

#[tokio::test]
async fn a_run_with_20000_tasks_is_created_and_claimed_in_batches() {
    let (_schema, s) = open("big").await;
    let tasks = (0..20_000).map(|i| (format!("t{i}"), "nodejs-expert".to_string(), vec![], i)).collect();
    s.create_run(&NewRun { id: "big".into(), objective: "o".into(), plan_json: "{}".into(), tasks }, 0).await.unwrap();
    let first = s.claim_any("w", 500, 60_000, 1, None).await.unwrap();
    assert_eq!(first.len(), 500);
    assert_eq!(first[0].task_id, "t0", "best rank first");
    let results = s.finish_many(&first.into_iter().map(|c| (c, suite::done())).collect::<Vec<_>>(), 2).await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    let counts = s.tasks("big").await.unwrap().iter().filter(|t| t.state == coord_store::TaskState::Done).count();
    assert_eq!(counts, 500);
}
