//! The behaviour tests of the store, written against the `Store` trait: `tests/sqlite.rs` and
//! `tests/postgres.rs` run every one of them against their backend (the `behaviour!` macro
//! makes one `#[tokio::test]` per function here).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use coord_store::{Claim, Decision, Finish, NewRun, RunState, Store, StoreError, TaskState, WorkerInfo};
use std::collections::{HashMap, HashSet};

/// a → {b, c} → d, and e alone.
pub fn diamond(id: &str) -> NewRun {
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

pub async fn states<S: Store>(s: &S, run: &str) -> HashMap<String, TaskState> {
    s.tasks(run).await.unwrap().into_iter().map(|t| (t.task_id, t.state)).collect()
}

pub fn done() -> Finish {
    Finish::Done { detail: "{}".into() }
}

pub async fn claim_one<S: Store>(s: &S, run: &str, now: i64) -> Claim {
    let mut c = s.claim(run, "w1", 1, 1000, now, None).await.unwrap();
    assert_eq!(c.len(), 1, "expected one claim");
    c.remove(0)
}

pub async fn dependencies_release_tasks_in_rank_order_and_the_run_completes<S: Store>(s: &S) {
    s.create_run(&diamond("r1"), 0).await.unwrap();
    let st = states(s, "r1").await;
    assert_eq!((st["a"], st["b"], st["e"]), (TaskState::Ready, TaskState::Pending, TaskState::Ready));
    assert!(matches!(s.create_run(&diamond("r1"), 0).await, Err(StoreError::DuplicateRun(_))));

    let claims = s.claim("r1", "w1", 10, 1000, 1, None).await.unwrap();
    let ids: Vec<&str> = claims.iter().map(|c| c.task_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "e"], "best rank first");
    assert!(s.claim("r1", "w2", 10, 1000, 2, None).await.unwrap().is_empty(), "nothing else is ready");
    s.finish(&claims[0], &done(), 3).await.unwrap();
    let st = states(s, "r1").await;
    assert_eq!((st["b"], st["c"], st["d"]), (TaskState::Ready, TaskState::Ready, TaskState::Pending));
    s.finish(&claims[1], &done(), 3).await.unwrap();
    for c in s.claim("r1", "w1", 10, 1000, 4, None).await.unwrap() {
        s.finish(&c, &done(), 5).await.unwrap();
    }
    let d = claim_one(s, "r1", 6).await;
    assert_eq!(d.task_id, "d");
    s.finish(&d, &done(), 7).await.unwrap();
    assert_eq!(s.run("r1").await.unwrap().state, RunState::Done);
    let kinds: Vec<String> = s.events("r1", 0, 1000).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "task_done").count(), 5);
    assert_eq!(kinds.first().map(String::as_str), Some("run_created"));
    assert_eq!(kinds.last().map(String::as_str), Some("run_done"));
}

pub async fn a_stale_worker_cannot_record_a_result_and_an_expired_lease_counts_the_attempt<S: Store>(s: &S) {
    s.create_run(&diamond("r"), 0).await.unwrap();
    let first = s.claim("r", "w1", 1, 100, 0, None).await.unwrap().remove(0);
    assert_eq!(first.attempt, 1);
    s.heartbeat(&first, 100, 50).await.unwrap();
    assert!(s.expire_leases(100).await.unwrap().is_empty(), "the heartbeat extended the lease to 150");
    assert_eq!(s.expire_leases(151).await.unwrap(), vec![("r".to_string(), "a".to_string())]);
    assert_eq!(states(s, "r").await["a"], TaskState::Ready);
    let second = claim_one(s, "r", 200).await;
    assert_eq!((second.task_id.as_str(), second.attempt), ("a", 2), "the interrupted attempt is counted");
    assert!(matches!(s.finish(&first, &done(), 210).await, Err(StoreError::LeaseLost { token: 1, .. })));
    assert!(matches!(s.heartbeat(&first, 100, 210).await, Err(StoreError::LeaseLost { .. })));
    s.finish(&second, &done(), 220).await.unwrap();
    assert_eq!(states(s, "r").await["a"], TaskState::Done);
}

pub async fn retries_wait_for_their_backoff_and_failures_block_dependents<S: Store>(s: &S) {
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
    assert_eq!(states(s, "r").await["a"], TaskState::Retrying);
    let early = s.claim("r", "w", 10, 1000, 100, None).await.unwrap();
    assert_eq!(early.iter().map(|c| c.task_id.as_str()).collect::<Vec<_>>(), vec!["e"], "a waits for its backoff");
    let a2 = claim_one(s, "r", 500).await;
    assert_eq!(a2.attempt, 2);
    s.finish(&a2, &Finish::Fail { error: "still broken".into() }, 510).await.unwrap();
    let st = states(s, "r").await;
    assert_eq!(
        (st["a"], st["b"], st["c"], st["d"]),
        (TaskState::Failed, TaskState::Blocked, TaskState::Blocked, TaskState::Blocked)
    );
    assert_eq!(s.run("r").await.unwrap().state, RunState::Running, "e still runs");
    s.finish(&early[0], &done(), 520).await.unwrap();
    assert_eq!(s.run("r").await.unwrap().state, RunState::Failed, "nothing can move any more");
}

pub async fn escalation_parks_the_task_and_blocks_its_dependents<S: Store>(s: &S) {
    s.create_run(&diamond("r"), 0).await.unwrap();
    let a = claim_one(s, "r", 0).await;
    let esc = Finish::Escalate { error: "SQL injection risk".into(), level: 4, category: "security".into() };
    s.finish(&a, &esc, 5).await.unwrap();
    let tasks = s.tasks("r").await.unwrap();
    let a = tasks.iter().find(|t| t.task_id == "a").unwrap();
    assert_eq!((a.state, a.escalation_level), (TaskState::Escalated, 4));
    assert_eq!(states(s, "r").await["d"], TaskState::Blocked);
    assert_eq!(s.run("r").await.unwrap().state, RunState::Running, "waiting for a decision");
}

pub async fn cancel_stops_everything_and_unknown_ids_are_errors<S: Store>(s: &S) {
    s.create_run(&diamond("r"), 0).await.unwrap();
    let a = claim_one(s, "r", 0).await;
    assert_eq!(s.cancel_run("r", 1).await.unwrap(), 5);
    assert!(states(s, "r").await.values().all(|st| *st == TaskState::Cancelled));
    assert_eq!(s.run("r").await.unwrap().state, RunState::Cancelled);
    assert!(matches!(s.finish(&a, &done(), 2).await, Err(StoreError::LeaseLost { .. })));
    assert!(matches!(s.run("nope").await, Err(StoreError::UnknownRun(_))));
    assert!(matches!(s.cancel_run("nope", 0).await, Err(StoreError::UnknownRun(_))));
}

/// Two stores on one database (two pools: as two processes would) race to claim `n` ready
/// tasks, one through `claim` and one through `claim_any`: every task is claimed exactly once.
pub async fn two_stores_never_claim_the_same_task<S: Store + Clone + 'static>(s1: S, s2: S, n: usize) {
    let tasks = (0..n).map(|i| (format!("t{i}"), "nodejs-expert".to_string(), vec![], i as i64)).collect();
    s1.create_run(&NewRun { id: "race".into(), objective: "o".into(), plan_json: "{}".into(), tasks }, 0)
        .await
        .unwrap();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let race = |s: S, owner: &'static str, any: bool| {
        let start = start.clone();
        async move {
            let mut mine = Vec::new();
            start.wait().await;
            loop {
                // A pause between claims, so the two interleave whatever the scheduler does.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                let got = if any {
                    s.claim_any(owner, 7, 60_000, 1, None).await.unwrap()
                } else {
                    s.claim("race", owner, 5, 60_000, 1, None).await.unwrap()
                };
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|c| c.task_id));
            }
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(race(s1.clone(), "one", false)), tokio::spawn(race(s2, "two", true)));
    let (a, b) = (a.unwrap(), b.unwrap());
    let distinct: HashSet<&String> = a.iter().chain(b.iter()).collect();
    assert_eq!(distinct.len(), n, "every task claimed");
    assert_eq!(a.len() + b.len(), n, "no task claimed twice");
    assert!(!a.is_empty() && !b.is_empty(), "both claimed some: {} and {}", a.len(), b.len());
    let tasks = s1.tasks("race").await.unwrap();
    assert!(tasks.iter().all(|t| t.attempts == 1 && t.state == TaskState::Running));
}

pub async fn escalation_decisions_requeue_reassign_skip_or_abort<S: Store>(s: &S) {
    for run in ["retry", "reassign", "skip", "approve", "abort"] {
        s.create_run(&diamond(run), 0).await.unwrap();
        let a = s.claim(run, "w", 1, 1000, 0, None).await.unwrap().remove(0);
        let esc = Finish::Escalate { error: "architecture mismatch".into(), level: 4, category: "architecture".into() };
        s.finish(&a, &esc, 1).await.unwrap();
    }
    let open_all = s.escalations(None, true).await.unwrap();
    assert_eq!(open_all.len(), 5);
    let id = |run: &str| open_all.iter().find(|e| e.run_id == run).unwrap().id;

    // A retry with a note: the note is kept on the escalation, in the event, and joins the
    // next brief after the reason.
    let note = "keep the v1 endpoints; add v2 beside them";
    let retried = s.resolve_escalation(id("retry"), &Decision::Retry, Some(note), 2).await.unwrap();
    assert_eq!(retried.note.as_deref(), Some(note));
    let st = states(s, "retry").await;
    assert_eq!((st["a"], st["b"], st["d"]), (TaskState::Ready, TaskState::Pending, TaskState::Pending));
    let feedback = s.feedback("retry", "a").await.unwrap();
    assert_eq!(feedback[0].0, "tech-lead decision");
    assert_eq!(feedback[0].1, format!("retry: architecture mismatch\n\n{note}"));
    let stored = s.escalations(Some("retry"), false).await.unwrap();
    assert_eq!((stored[0].decision.as_deref(), stored[0].note.as_deref()), (Some("retry"), Some(note)));
    let events = s.events("retry", 0, 100).await.unwrap();
    let resolved = events.iter().find(|e| e.kind == "escalation_resolved").unwrap();
    assert_eq!(resolved.data["note"], note);
    assert!(matches!(
        s.resolve_escalation(id("retry"), &Decision::Retry, None, 3).await,
        Err(StoreError::AlreadyResolved(_))
    ));

    s.resolve_escalation(id("reassign"), &"reassign:@backend-architect".parse().unwrap(), None, 2).await.unwrap();
    let c = s.claim("reassign", "w", 1, 1000, 3, None).await.unwrap().remove(0);
    assert_eq!((c.task_id.as_str(), c.specialist.as_str(), c.attempt), ("a", "backend-architect", 2));
    assert_eq!(s.tried("reassign", "a").await.unwrap(), vec!["backend-architect"]);

    s.resolve_escalation(id("skip"), &Decision::Skip, None, 2).await.unwrap();
    assert_eq!(s.feedback("reassign", "a").await.unwrap()[0].1, "reassign:backend-architect: architecture mismatch");
    let st = states(s, "skip").await;
    assert_eq!((st["a"], st["b"], st["c"]), (TaskState::Done, TaskState::Ready, TaskState::Ready));

    // An approval accepts the result as it stands: done, recorded as approved, dependents go.
    let why = "the column was unused since 2024 (checked in the logs)";
    let approved = s.resolve_escalation(id("approve"), &"approve".parse().unwrap(), Some(why), 2).await.unwrap();
    assert_eq!((approved.decision.as_deref(), approved.note.as_deref()), (Some("approve"), Some(why)));
    let st = states(s, "approve").await;
    assert_eq!((st["a"], st["b"], st["c"]), (TaskState::Done, TaskState::Ready, TaskState::Ready));
    let events = s.events("approve", 0, 100).await.unwrap();
    let done = events.iter().find(|e| e.kind == "task_done" && e.task_id.as_deref() == Some("a")).unwrap();
    assert_eq!(done.data["by"], "approval");

    s.resolve_escalation(id("abort"), &Decision::Abort, None, 2).await.unwrap();
    assert_eq!(s.run("abort").await.unwrap().state, RunState::Cancelled);
    assert!(s.escalations(None, true).await.unwrap().is_empty());
    assert!(matches!(
        s.resolve_escalation(999, &Decision::Skip, None, 2).await,
        Err(StoreError::UnknownEscalation(999))
    ));
    assert!("maybe".parse::<Decision>().is_err());
}

/// A person consulted at level 2 answers through a retry with a note: the answer joins the
/// next brief as the consultation's answer.
pub async fn a_persons_consultation_answer_joins_the_next_brief<S: Store>(s: &S) {
    s.create_run(&diamond("consult"), 0).await.unwrap();
    let a = s.claim("consult", "w", 1, 1000, 0, None).await.unwrap().remove(0);
    let esc = Finish::Escalate { error: "consult @dba: slow query".into(), level: 2, category: "performance".into() };
    s.finish(&a, &esc, 1).await.unwrap();
    let open = s.escalations(Some("consult"), true).await.unwrap();
    assert_eq!((open.len(), open[0].level, open[0].note.as_deref()), (1, 2, None));
    let advice = "add an index on orders(user_id, created_at)";
    s.resolve_escalation(open[0].id, &Decision::Retry, Some(advice), 2).await.unwrap();
    let feedback = s.feedback("consult", "a").await.unwrap();
    assert_eq!(feedback.last().unwrap().0, "consultation answer");
    assert!(feedback.last().unwrap().1.ends_with(advice), "{feedback:?}");
    let c = s.claim("consult", "w", 1, 1000, 3, None).await.unwrap().remove(0);
    assert_eq!((c.task_id.as_str(), c.attempt), ("a", 2));
}

pub async fn manual_claims_dead_owners_and_group_commit<S: Store>(s: &S) {
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
    let st = states(s, "r").await;
    assert_eq!((st["a"], st["e"], st["b"]), (TaskState::Done, TaskState::Done, TaskState::Ready));
}

/// A coordinator stopped by a signal releases the attempts it interrupted: only leases still
/// held with the claim's token; a recorded result and a newer claim are left alone.
pub async fn released_claims_are_interrupted_and_fenced_by_their_tokens<S: Store>(s: &S) {
    s.create_run(&diamond("r"), 0).await.unwrap();
    let claims = s.claim("r", "coord-1@host/1/0123456789abcdef", 2, 1000, 0, None).await.unwrap();
    let (a, e) = (claims[0].clone(), claims[1].clone());
    assert_eq!((a.task_id.as_str(), e.task_id.as_str()), ("a", "e"));
    // `a` is recorded done before the stop; `e` is interrupted.
    s.finish(&a, &done(), 1).await.unwrap();
    let released = s.release_claims(&[a.clone(), e.clone()], "coord stopped (SIGTERM)", 2).await.unwrap();
    assert_eq!(released, vec![("r".to_string(), "e".to_string())]);
    let st = states(s, "r").await;
    assert_eq!((st["a"], st["e"]), (TaskState::Done, TaskState::Ready));
    let attempts = s.attempts("r", "e").await.unwrap();
    assert_eq!(
        (attempts[0].outcome.as_deref(), attempts[0].detail.as_deref()),
        (Some("interrupted"), Some("coord stopped (SIGTERM)"))
    );
    assert!(s.leases().await.unwrap().is_empty());
    let events = s.events("r", 0, 1000).await.unwrap();
    assert!(events.iter().any(|ev| ev.kind == "lease_expired" && ev.task_id.as_deref() == Some("e")));
    // The task claimed again: the old claim no longer releases it.
    let again = s.claim("r", "w2", 10, 1000, 3, None).await.unwrap();
    let e2 = again.into_iter().find(|c| c.task_id == "e").unwrap_or_else(|| panic!("e is claimable again"));
    assert!(s.release_claims(&[e], "late", 4).await.unwrap().is_empty());
    assert_eq!(s.current_claim("r", "e").await.unwrap(), Some(e2));
    assert!(s.release_claims(&[], "nothing", 5).await.unwrap().is_empty());
}

pub async fn claims_can_be_limited_to_automatic_specialists<S: Store>(s: &S) {
    let mut run = diamond("r");
    run.tasks[4].1 = "python-pro".into();
    s.create_run(&run, 0).await.unwrap();
    let only = vec!["python-pro".to_string()];
    let got = s.claim("r", "w", 10, 1000, 0, Some(&only)).await.unwrap();
    assert_eq!(got.iter().map(|c| c.task_id.as_str()).collect::<Vec<_>>(), vec!["e"]);
}

/// A worker serving every run claims across runs, best rank first, and only running runs' tasks.
pub async fn claims_across_runs_take_the_best_ranks_of_running_runs<S: Store>(s: &S) {
    s.create_run(&diamond("first"), 0).await.unwrap();
    let mut second = diamond("second");
    for t in &mut second.tasks {
        t.3 += 10; // ranks 11..15: after every task of `first`
    }
    s.create_run(&second, 0).await.unwrap();
    s.create_run(&diamond("stopped"), 0).await.unwrap();
    s.cancel_run("stopped", 0).await.unwrap();
    let got = s.claim_any("w", 3, 1000, 1, None).await.unwrap();
    let ids: Vec<(&str, &str)> = got.iter().map(|c| (c.run_id.as_str(), c.task_id.as_str())).collect();
    assert_eq!(ids, vec![("first", "a"), ("first", "e"), ("second", "a")]);
    let rest = s.claim_any("w", 10, 1000, 1, None).await.unwrap();
    let ids: Vec<(&str, &str)> = rest.iter().map(|c| (c.run_id.as_str(), c.task_id.as_str())).collect();
    assert_eq!(ids, vec![("second", "e")], "cancelled runs are never claimed");
    assert!(s.claim_any("w", 10, 1000, 1, None).await.unwrap().is_empty());
    // Results recorded in one batch across runs.
    let all: Vec<(Claim, Finish)> = got.into_iter().chain(rest).map(|c| (c, done())).collect();
    let results = s.finish_many(&all, 2).await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    let next = s.claim_any("w", 10, 1000, 3, Some(&["nodejs-expert".to_string()])).await.unwrap();
    assert_eq!(next.len(), 4, "b and c of both runs: {next:?}");
    assert!(s.claim_any("w", 10, 1000, 3, Some(&["python-pro".to_string()])).await.unwrap().is_empty());
}

/// Workers register, beat, list their leases and leave.
pub async fn workers_register_beat_and_leave<S: Store>(s: &S) {
    s.create_run(&diamond("r"), 0).await.unwrap();
    let info = |id: &str, state: &str| WorkerInfo {
        id: id.into(),
        host: "host-a".into(),
        pid: 42,
        concurrency: 4,
        started_at: 10,
        state: state.into(),
    };
    s.worker_beat(&info("coord-42@host-a", "running"), 100).await.unwrap();
    s.worker_beat(&info("coord-43@host-a", "running"), 150).await.unwrap();
    s.worker_beat(&info("coord-42@host-a", "stopping"), 200).await.unwrap();
    let workers = s.workers().await.unwrap();
    assert_eq!(workers.len(), 2);
    assert_eq!((workers[0].info.id.as_str(), workers[0].seen_at), ("coord-42@host-a", 200), "most recent first");
    assert_eq!(workers[0].info.state, "stopping");
    let claims = s.claim_any("coord-42@host-a", 1, 5000, 300, None).await.unwrap();
    let leases = s.leases().await.unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(
        (leases[0].owner.as_str(), leases[0].task_id.as_str(), leases[0].token, leases[0].expires_at),
        ("coord-42@host-a", claims[0].task_id.as_str(), 1, 5300)
    );
    s.remove_worker("coord-42@host-a").await.unwrap();
    assert_eq!(s.workers().await.unwrap().len(), 1);
    // A registration silent for more than a day is forgotten at the next beat of anyone.
    s.worker_beat(&info("coord-44@host-b", "running"), 150 + 25 * 3600 * 1000).await.unwrap();
    let ids: Vec<String> = s.workers().await.unwrap().into_iter().map(|w| w.info.id).collect();
    assert_eq!(ids, vec!["coord-44@host-b"]);
}

/// A reader following the event log with `after` while two stores record results at once
/// sees every event exactly once, in sequence order.
pub async fn a_follower_misses_no_event_while_two_writers_commit<S: Store + Clone + 'static>(s1: S, s2: S) {
    let n = 120;
    let tasks = (0..n).map(|i| (format!("t{i}"), "nodejs-expert".to_string(), vec![], i as i64)).collect();
    s1.create_run(&NewRun { id: "log".into(), objective: "o".into(), plan_json: "{}".into(), tasks }, 0).await.unwrap();
    let work = |s: S, owner: &'static str| async move {
        loop {
            let got = s.claim_any(owner, 3, 60_000, 1, None).await.unwrap();
            if got.is_empty() {
                return;
            }
            let batch: Vec<(Claim, Finish)> = got.into_iter().map(|c| (c, done())).collect();
            s.finish_many(&batch, 2).await.unwrap();
        }
    };
    let reader = s1.clone();
    let follow = tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let events = reader.events("log", after, 7).await.unwrap();
            for e in &events {
                assert!(e.seq > after, "sequence goes forward");
                after = e.seq;
                seen.push(e.seq);
            }
            if events.iter().any(|e| e.kind == "run_done") {
                return seen;
            }
            tokio::task::yield_now().await;
        }
    });
    let (a, b) = tokio::join!(tokio::spawn(work(s1.clone(), "one")), tokio::spawn(work(s2, "two")));
    a.unwrap();
    b.unwrap();
    let seen = follow.await.unwrap();
    let all: Vec<i64> = s1.events("log", 0, 100_000).await.unwrap().into_iter().map(|e| e.seq).collect();
    assert_eq!(seen, all, "the follower saw every event, once, in order");
    // run_created, n ready, n claimed, n done, run_done
    assert_eq!(all.len(), 3 * n + 2);
}

/// A worker's tick: results recorded and new tasks claimed in one transaction, including the
/// tasks those results just made ready; a stale result is refused in its slot.
pub async fn a_tick_records_results_and_claims_what_they_freed<S: Store>(s: &S) {
    s.create_run(&diamond("r"), 0).await.unwrap();
    let first = s.claim_any("w", 1, 1000, 1, None).await.unwrap();
    assert_eq!(first[0].task_id, "a");
    let (outcomes, claims) = s.finish_and_claim(&[], None, "w", 0, 1000, 2, None).await.unwrap();
    assert!(outcomes.is_empty() && claims.is_empty(), "a limit of 0 claims nothing");
    let mut stale = first[0].clone();
    stale.token = 99;
    let results = vec![(first[0].clone(), done()), (stale, done())];
    let (outcomes, claims) = s.finish_and_claim(&results, None, "w", 10, 1000, 3, None).await.unwrap();
    assert!(outcomes[0].is_ok());
    assert!(matches!(outcomes[1], Err(StoreError::LeaseLost { token: 99, .. })));
    let ids: Vec<&str> = claims.iter().map(|c| c.task_id.as_str()).collect();
    assert_eq!(ids, vec!["b", "c", "e"], "b and c were freed by a's result in the same tick");
    let (outcomes, claims) = s
        .finish_and_claim(
            &claims.into_iter().map(|c| (c, done())).collect::<Vec<_>>(),
            Some("r"),
            "w",
            10,
            1000,
            4,
            None,
        )
        .await
        .unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(claims.iter().map(|c| c.task_id.as_str()).collect::<Vec<_>>(), vec!["d"]);
    let (_, none) = s.finish_and_claim(&[(claims[0].clone(), done())], None, "w", 10, 1000, 5, None).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(s.run("r").await.unwrap().state, RunState::Done, "settled in the tick");
    let kinds: Vec<String> = s.events("r", 0, 1000).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.last().map(String::as_str), Some("run_done"));
    assert_eq!(kinds.iter().filter(|k| *k == "task_claimed").count(), 5);
}

/// Tasks finished by hand, a batch at a time: fresh claims, a person's existing claim, refusals
/// in their slots (unknown, not ready, a worker's lease, named twice), dependents readied, the
/// run settled, each success one attempt with its own events.
pub async fn tasks_finished_by_hand_in_one_batch<S: Store>(s: &S) {
    use coord_store::HandDone;
    s.create_run(&diamond("h"), 0).await.unwrap();
    s.create_run(&diamond("w"), 0).await.unwrap();
    let item = |run: &str, task: &str| HandDone {
        run_id: run.into(),
        task_id: task.into(),
        owner: "person:ann".into(),
        detail: format!("{{\"summary\":\"{task} by hand\"}}"),
    };
    let bob = s.claim_task("h", "e", "person:bob", 1000, 1).await.unwrap();
    let worker = s.claim_task("w", "a", "coord-9@host", 1000, 1).await.unwrap();
    let results = s
        .complete_by_hand(
            &[
                item("h", "a"),
                item("h", "d"),
                item("h", "zz"),
                item("w", "a"),
                item("h", "e"),
                item("h", "a"),
                item("h", "b"),
            ],
            1000,
            2,
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 7);
    let a = results[0].as_ref().unwrap();
    assert_eq!((a.attempt, a.specialist.as_str()), (1, "nodejs-expert"));
    assert!(
        matches!(&results[1], Err(StoreError::WrongState { state, .. }) if state == "pending"),
        "d waits for c: {:?}",
        results[1]
    );
    assert!(matches!(results[2], Err(StoreError::UnknownTask { .. })), "{:?}", results[2]);
    assert!(
        matches!(&results[3], Err(StoreError::WrongState { what, .. }) if what.contains("coord-9@host")),
        "{:?}",
        results[3]
    );
    assert_eq!(results[4].as_ref().unwrap(), &bob, "a person's claim is finished on that claim");
    assert!(matches!(&results[5], Err(StoreError::WrongState { .. })), "named twice: {:?}", results[5]);
    // As if one after another: b became ready when a was done earlier in the batch.
    assert_eq!(results[6].as_ref().unwrap().task_id, "b", "{:?}", results[6]);
    let st = states(s, "h").await;
    assert_eq!(
        (st["a"], st["e"], st["b"], st["c"], st["d"]),
        (TaskState::Done, TaskState::Done, TaskState::Done, TaskState::Ready, TaskState::Pending)
    );
    assert_eq!(states(s, "w").await["a"], TaskState::Running, "the worker's task is untouched");
    assert!(s.finish(&worker, &done(), 3).await.is_ok());
    let attempts = s.attempts("h", "a").await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!((attempts[0].owner.as_str(), attempts[0].outcome.as_deref()), ("person:ann", Some("succeeded")));
    assert!(attempts[0].detail.as_deref().unwrap().contains("a by hand"));
    assert_eq!(s.attempts("h", "e").await.unwrap()[0].owner, "person:bob");
    assert_eq!(s.current_claim("h", "a").await.unwrap(), None, "no lease is left behind");
    let kinds: Vec<String> = s
        .events("h", 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.task_id.as_deref() == Some("a"))
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["task_ready", "task_claimed", "task_done"]);
    // The rest of the run by hand: it settles done.
    let rest = s.complete_by_hand(&[item("h", "c"), item("h", "d")], 1000, 4).await.unwrap();
    assert!(rest.iter().all(|r| r.is_ok()), "{rest:?}");
    assert_eq!(s.run("h").await.unwrap().state, RunState::Done);
    assert!(s.complete_by_hand(&[], 1000, 6).await.unwrap().is_empty());
}

pub async fn workspace_records_are_kept_with_an_event_and_fenced_by_the_lease<S: Store>(s: &S) {
    s.create_run(&diamond("w1"), 0).await.unwrap();
    assert_eq!(s.workspace("w1", None).await.unwrap(), None);
    s.put_workspace("w1", None, r#"{"start":"abc"}"#, Some(("workspace", serde_json::json!({"step": "run"}))), None, 1)
        .await
        .unwrap();
    let a = claim_one(s, "w1", 2).await;
    assert_eq!(a.task_id, "a");
    s.put_workspace("w1", Some("a"), r#"{"base":"abc"}"#, None, Some(&a), 3).await.unwrap();
    s.put_workspace("w1", Some("a"), r#"{"base":"abc","head":"def"}"#, None, Some(&a), 4).await.unwrap();
    assert_eq!(s.workspace("w1", Some("a")).await.unwrap().as_deref(), Some(r#"{"base":"abc","head":"def"}"#));
    assert_eq!(s.workspace("w1", None).await.unwrap().as_deref(), Some(r#"{"start":"abc"}"#));
    let all = s.workspaces("w1").await.unwrap();
    assert_eq!(all.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), vec!["", "a"]);
    // The lease ends: a late write of the old holder is refused and changes nothing.
    s.finish(&a, &done(), 5).await.unwrap();
    let late = s.put_workspace("w1", Some("a"), r#"{"base":"zzz"}"#, None, Some(&a), 6).await;
    assert!(matches!(late, Err(StoreError::LeaseLost { .. })), "{late:?}");
    assert_eq!(s.workspace("w1", Some("a")).await.unwrap().as_deref(), Some(r#"{"base":"abc","head":"def"}"#));
    let kinds: Vec<String> = s.events("w1", 0, 100).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "workspace").count(), 1);
}
