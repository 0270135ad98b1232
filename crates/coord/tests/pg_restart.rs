//! PostgreSQL restarted during a run: the workers wait it out, reconnect, record what they had
//! finished, and the run completes with every task done exactly once. The server is a private
//! instance made for this test (`initdb` into a temporary folder, a free port), never the shared
//! one other tests use. Its binaries: `COORD_PG_BIN`, else `/usr/lib/postgresql/15/bin`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coord_store::{NewRun, PgStore, RunState, Store, TaskState};
use std::time::Duration;
use support::private_pg::PrivatePg;
use support::{Project, Worker, block_on, wait_for};

fn plan_json(n: usize) -> String {
    let tasks: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({ "id": format!("t{i}"), "title": format!("task {i}"), "specialist": "nodejs-expert" }))
        .collect();
    serde_json::json!({ "objective": "restart test", "tasks": tasks }).to_string()
}

fn done_count(s: &PgStore) -> usize {
    block_on(s.tasks("restart")).map(|t| t.iter().filter(|t| t.state == TaskState::Done).count()).unwrap_or(0)
}

#[test]
fn postgresql_restarted_during_a_run_the_workers_reconnect_and_the_run_finishes() {
    let pg = PrivatePg::start();
    let url = pg.url();
    let p = Project::new();
    p.write(
        "coord.toml",
        "[run]\nlease_secs = 10\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"sleep 0.2\"]\n",
    );
    let n = 60;
    let store = block_on(PgStore::connect(&url)).unwrap();
    // Created through the store: the plan is what a worker reads to brief each task.
    let plan: coord_core::Plan = serde_json::from_str(&plan_json(n)).unwrap();
    let valid = coord_core::dag::validate(plan, |_| true).unwrap();
    let run = NewRun::from_plan("restart", &valid).unwrap();
    block_on(store.create_run(&run, coord_runtime::now_ms())).unwrap();
    let mut workers: Vec<Worker> = (0..2).map(|_| Worker::start(&p, &url, &["--concurrency", "3"])).collect();
    assert!(wait_for(60, || done_count(&store) >= 6), "the run got going");
    pg.ctl_stop("fast"); // every connection is cut
    // Longer than a store call waits for a connection (5 s): calls fail, results are kept.
    std::thread::sleep(Duration::from_secs(7));
    for w in &mut workers {
        assert!(w.child.try_wait().unwrap().is_none(), "a worker outlives the outage: {}", w.log());
    }
    pg.ctl_start();
    let store = block_on(PgStore::connect(&url)).unwrap();
    assert!(
        wait_for(120, || block_on(store.run("restart")).map(|r| r.state == RunState::Done).unwrap_or(false)),
        "the run finishes after the restart: {} of {n} done\n{}",
        done_count(&store),
        workers.iter().map(Worker::log).collect::<Vec<_>>().join("\n")
    );
    for w in &workers {
        let log = w.log();
        assert!(log.contains("not answering") && log.contains("answers again"), "waited out the outage: {log}");
    }
    for t in block_on(store.tasks("restart")).unwrap() {
        let attempts = block_on(store.attempts("restart", &t.task_id)).unwrap();
        let succeeded = attempts.iter().filter(|a| a.outcome.as_deref() == Some("succeeded")).count();
        assert_eq!(succeeded, 1, "{} done exactly once: {attempts:?}", t.task_id);
        assert!(
            attempts
                .iter()
                .all(|a| a.outcome.as_deref() == Some("succeeded") || a.outcome.as_deref() == Some("interrupted"))
        );
    }
    for w in &mut workers {
        assert!(w.stop(30), "{}", w.log());
    }
    block_on(store.close());
}
