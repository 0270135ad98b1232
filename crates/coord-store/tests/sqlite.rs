//! Behaviour tests of the store, run against SQLite. Written against the `Store` trait so the
//! PostgreSQL backend (issue 7) runs the same checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_store::{Claim, Decision, Finish, NewRun, RunState, SqliteStore, Store, StoreError, TaskState};
use std::collections::HashMap;

/// a → {b, c} → d, and e alone.
fn diamond(id: &str) -> NewRun {
    let t = |id: &str, deps: &[&str], rank: i64| {
        (id.to_string(), "nodejs-expert".to_string(), deps.iter().map(|d| d.to_string()).collect(), rank)
    };
    NewRun {
        id: id.into(),
        objective: "test".into(),
        plan_json: "{}".into(),
        tasks: vec![t("a", &[], 1), t("b", &["a"], 2), t("c", &["a"], 3), t("d", &["b", "c"], 4), t("e", &[], 5)],
    }
}

async fn states<S: Store>(s: &S, run: &str) -> HashMap<String, TaskState> {
    s.tasks(run).await.unwrap().into_iter().map(|t| (t.task_id, t.state)).collect()
}

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("coord.db")).await.unwrap();
    (dir, store)
}

fn done() -> Finish {
    Finish::Done { detail: "{}".into() }
}

async fn claim_one<S: Store>(s: &S, run: &str, now: i64) -> Claim {
    let mut c = s.claim(run, "w1", 1, 1000, now, None).await.unwrap();
    assert_eq!(c.len(), 1, "expected one claim");
    c.remove(0)
}

#[tokio::test]
async fn dependencies_release_tasks_in_rank_order_and_the_run_completes() {
    let (_d, s) = open().await;
    s.create_run(&diamond("r1"), 0).await.unwrap();
    let st = states(&s, "r1").await;
    assert_eq!((st["a"], st["b"], st["e"]), (TaskState::Ready, TaskState::Pending, TaskState::Ready));
    assert!(matches!(s.create_run(&diamond("r1"), 0).await, Err(StoreError::DuplicateRun(_))));

    let claims = s.claim("r1", "w1", 10, 1000, 1, None).await.unwrap();
    let ids: Vec<&str> = claims.iter().map(|c| c.task_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "e"], "best rank first");
    assert!(s.claim("r1", "w2", 10, 1000, 2, None).await.unwrap().is_empty(), "nothing else is ready");
    s.finish(&claims[0], &done(), 3).await.unwrap();
    let st = states(&s, "r1").await;
    assert_eq!((st["b"], st["c"], st["d"]), (TaskState::Ready, TaskState::Ready, TaskState::Pending));
    s.finish(&claims[1], &done(), 3).await.unwrap();
    for c in s.claim("r1", "w1", 10, 1000, 4, None).await.unwrap() {
        s.finish(&c, &done(), 5).await.unwrap();
    }
    let d = claim_one(&s, "r1", 6).await;
    assert_eq!(d.task_id, "d");
    s.finish(&d, &done(), 7).await.unwrap();
    assert_eq!(s.run("r1").await.unwrap().state, RunState::Done);
    let kinds: Vec<String> = s.events("r1", 0, 1000).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "task_done").count(), 5);
    assert_eq!(kinds.first().map(String::as_str), Some("run_created"));
    assert_eq!(kinds.last().map(String::as_str), Some("run_done"));
}

#[tokio::test]
async fn a_stale_worker_cannot_record_a_result_and_an_expired_lease_counts_the_attempt() {
    let (_d, s) = open().await;
    s.create_run(&diamond("r"), 0).await.unwrap();
    let first = s.claim("r", "w1", 1, 100, 0, None).await.unwrap().remove(0);
    assert_eq!(first.attempt, 1);
    s.heartbeat(&first, 100, 50).await.unwrap();
    assert!(s.expire_leases(100).await.unwrap().is_empty(), "the heartbeat extended the lease to 150");
    assert_eq!(s.expire_leases(151).await.unwrap(), vec![("r".to_string(), "a".to_string())]);
    assert_eq!(states(&s, "r").await["a"], TaskState::Ready);
    let second = claim_one(&s, "r", 200).await;
    assert_eq!((second.task_id.as_str(), second.attempt), ("a", 2), "the interrupted attempt is counted");
    assert!(matches!(s.finish(&first, &done(), 210).await, Err(StoreError::LeaseLost { token: 1, .. })));
    assert!(matches!(s.heartbeat(&first, 100, 210).await, Err(StoreError::LeaseLost { .. })));
    s.finish(&second, &done(), 220).await.unwrap();
    assert_eq!(states(&s, "r").await["a"], TaskState::Done);
}

#[tokio::test]
async fn retries_wait_for_their_backoff_and_failures_block_dependents() {
    let (_d, s) = open().await;
    s.create_run(&diamond("r"), 0).await.unwrap();
    let a = s.claim("r", "w", 1, 1000, 0, None).await.unwrap().remove(0);
    let retry = Finish::Retry {
        error: "exit 1".into(),
        retry_at: 500,
        level: 1,
        specialist: None,
        feedback: vec![("previous failure".into(), "exit 1: syntax error".into())],
    };
    s.finish(&a, &retry, 10).await.unwrap();
    assert_eq!(
        s.feedback("r", "a").await.unwrap(),
        vec![("previous failure".to_string(), "exit 1: syntax error".to_string())]
    );
    let rec = s.tasks("r").await.unwrap().into_iter().find(|t| t.task_id == "a").unwrap();
    assert_eq!((rec.escalation_level, rec.failures_at_level), (1, 1));
    assert_eq!(states(&s, "r").await["a"], TaskState::Retrying);
    let early = s.claim("r", "w", 10, 1000, 100, None).await.unwrap();
    assert_eq!(early.iter().map(|c| c.task_id.as_str()).collect::<Vec<_>>(), vec!["e"], "a waits for its backoff");
    let a2 = claim_one(&s, "r", 500).await;
    assert_eq!(a2.attempt, 2);
    s.finish(&a2, &Finish::Fail { error: "still broken".into() }, 510).await.unwrap();
    let st = states(&s, "r").await;
    assert_eq!(
        (st["a"], st["b"], st["c"], st["d"]),
        (TaskState::Failed, TaskState::Blocked, TaskState::Blocked, TaskState::Blocked)
    );
    assert_eq!(s.run("r").await.unwrap().state, RunState::Running, "e still runs");
    s.finish(&early[0], &done(), 520).await.unwrap();
    assert_eq!(s.run("r").await.unwrap().state, RunState::Failed, "nothing can move any more");
}

#[tokio::test]
async fn escalation_parks_the_task_and_blocks_its_dependents() {
    let (_d, s) = open().await;
    s.create_run(&diamond("r"), 0).await.unwrap();
    let a = claim_one(&s, "r", 0).await;
    let esc = Finish::Escalate { error: "SQL injection risk".into(), level: 4, category: "security".into() };
    s.finish(&a, &esc, 5).await.unwrap();
    let tasks = s.tasks("r").await.unwrap();
    let a = tasks.iter().find(|t| t.task_id == "a").unwrap();
    assert_eq!((a.state, a.escalation_level), (TaskState::Escalated, 4));
    assert_eq!(states(&s, "r").await["d"], TaskState::Blocked);
    assert_eq!(s.run("r").await.unwrap().state, RunState::Running, "waiting for a decision");
}

#[tokio::test]
async fn cancel_stops_everything_and_unknown_ids_are_errors() {
    let (_d, s) = open().await;
    s.create_run(&diamond("r"), 0).await.unwrap();
    let a = claim_one(&s, "r", 0).await;
    assert_eq!(s.cancel_run("r", 1).await.unwrap(), 5);
    assert!(states(&s, "r").await.values().all(|st| *st == TaskState::Cancelled));
    assert_eq!(s.run("r").await.unwrap().state, RunState::Cancelled);
    assert!(matches!(s.finish(&a, &done(), 2).await, Err(StoreError::LeaseLost { .. })));
    assert!(matches!(s.run("nope").await, Err(StoreError::UnknownRun(_))));
    assert!(matches!(s.cancel_run("nope", 0).await, Err(StoreError::UnknownRun(_))));
}

#[tokio::test]
async fn two_stores_on_one_file_never_claim_the_same_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let s1 = SqliteStore::open(&path).await.unwrap();
    let s2 = SqliteStore::open(&path).await.unwrap();
    let tasks = (0..200).map(|i| (format!("t{i}"), "nodejs-expert".to_string(), vec![], i)).collect();
    s1.create_run(&NewRun { id: "r".into(), objective: "o".into(), plan_json: "{}".into(), tasks }, 0).await.unwrap();
    let race = |s: SqliteStore, owner: &'static str| async move {
        let mut mine = Vec::new();
        loop {
            let got = s.claim("r", owner, 3, 60_000, 1, None).await.unwrap();
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|c| c.task_id));
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(race(s1, "one")), tokio::spawn(race(s2, "two")));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut all: Vec<String> = a.iter().chain(b.iter()).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 200);
    assert_eq!(a.len() + b.len(), 200, "no task claimed twice");
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
    SqliteStore::open(&ours).await.unwrap().create_run(&diamond("kept"), 0).await.unwrap();
    let again = SqliteStore::open(&ours).await.unwrap();
    assert_eq!(again.runs().await.unwrap().len(), 1);
}

#[tokio::test]
async fn escalation_decisions_requeue_reassign_skip_or_abort() {
    let (_d, s) = open().await;
    for run in ["retry", "reassign", "skip", "approve", "abort"] {
        s.create_run(&diamond(run), 0).await.unwrap();
        let a = s.claim(run, "w", 1, 1000, 0, None).await.unwrap().remove(0);
        let esc = Finish::Escalate { error: "architecture mismatch".into(), level: 4, category: "architecture".into() };
        s.finish(&a, &esc, 1).await.unwrap();
    }
    let open_all = s.escalations(None, true).await.unwrap();
    assert_eq!(open_all.len(), 5);
    let id = |run: &str| open_all.iter().find(|e| e.run_id == run).unwrap().id;

    s.resolve_escalation(id("retry"), &Decision::Retry, 2).await.unwrap();
    let st = states(&s, "retry").await;
    assert_eq!((st["a"], st["b"], st["d"]), (TaskState::Ready, TaskState::Pending, TaskState::Pending));
    assert!(s.feedback("retry", "a").await.unwrap()[0].1.contains("retry: architecture mismatch"));
    assert!(matches!(
        s.resolve_escalation(id("retry"), &Decision::Retry, 3).await,
        Err(StoreError::AlreadyResolved(_))
    ));

    s.resolve_escalation(id("reassign"), &"reassign:@backend-architect".parse().unwrap(), 2).await.unwrap();
    let c = s.claim("reassign", "w", 1, 1000, 3, None).await.unwrap().remove(0);
    assert_eq!((c.task_id.as_str(), c.specialist.as_str(), c.attempt), ("a", "backend-architect", 2));
    assert_eq!(s.tried("reassign", "a").await.unwrap(), vec!["backend-architect"]);

    s.resolve_escalation(id("skip"), &Decision::Skip, 2).await.unwrap();
    let st = states(&s, "skip").await;
    assert_eq!((st["a"], st["b"], st["c"]), (TaskState::Done, TaskState::Ready, TaskState::Ready));

    // An approval accepts the result as it stands: done, recorded as approved, dependents go.
    let approved = s.resolve_escalation(id("approve"), &"approve".parse().unwrap(), 2).await.unwrap();
    assert_eq!(approved.decision.as_deref(), Some("approve"));
    let st = states(&s, "approve").await;
    assert_eq!((st["a"], st["b"], st["c"]), (TaskState::Done, TaskState::Ready, TaskState::Ready));
    let events = s.events("approve", 0, 100).await.unwrap();
    let done = events.iter().find(|e| e.kind == "task_done" && e.task_id.as_deref() == Some("a")).unwrap();
    assert_eq!(done.data["by"], "approval");

    s.resolve_escalation(id("abort"), &Decision::Abort, 2).await.unwrap();
    assert_eq!(s.run("abort").await.unwrap().state, RunState::Cancelled);
    assert!(s.escalations(None, true).await.unwrap().is_empty());
    assert!(matches!(s.resolve_escalation(999, &Decision::Skip, 2).await, Err(StoreError::UnknownEscalation(999))));
    assert!("maybe".parse::<Decision>().is_err());
}

#[tokio::test]
async fn manual_claims_dead_owners_and_group_commit() {
    let (_d, s) = open().await;
    s.create_run(&diamond("r"), 0).await.unwrap();
    assert!(matches!(s.claim_task("r", "b", "alice", 1000, 0).await, Err(StoreError::WrongState { .. })));
    let a = s.claim_task("r", "a", "alice", 1000, 0).await.unwrap();
    assert_eq!(s.current_claim("r", "a").await.unwrap(), Some(a.clone()));
    let e = s.claim_task("r", "e", "coord-1@host", 1000, 0).await.unwrap();
    assert_eq!(s.lease_owners().await.unwrap(), vec!["alice", "coord-1@host"]);
    assert_eq!(s.release_owner("coord-1@host", 5).await.unwrap(), vec![("r".to_string(), "e".to_string())]);
    let attempts = s.attempts("r", "e").await.unwrap();
    assert_eq!(attempts[0].outcome.as_deref(), Some("interrupted"));
    assert!(matches!(s.finish(&e, &done(), 6).await, Err(StoreError::LeaseLost { .. })));
    // Group commit: one transaction, a stale result refused in its slot, the rest applied.
    let e2 = s.claim_task("r", "e", "w", 1000, 7).await.unwrap();
    let results = s.finish_many(&[(a, done()), (e.clone(), done()), (e2, done())], 8).await.unwrap();
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(results[1], Err(StoreError::LeaseLost { .. })));
    let st = states(&s, "r").await;
    assert_eq!((st["a"], st["e"], st["b"]), (TaskState::Done, TaskState::Done, TaskState::Ready));
}

#[tokio::test]
async fn claims_can_be_limited_to_automatic_specialists() {
    let (_d, s) = open().await;
    let mut run = diamond("r");
    run.tasks[4].1 = "python-pro".into();
    s.create_run(&run, 0).await.unwrap();
    let only = vec!["python-pro".to_string()];
    let got = s.claim("r", "w", 10, 1000, 0, Some(&only)).await.unwrap();
    assert_eq!(got.iter().map(|c| c.task_id.as_str()).collect::<Vec<_>>(), vec!["e"]);
}
