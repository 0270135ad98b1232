//! Many `coord worker` processes on one PostgreSQL store (a throwaway schema of `COORD_TEST_PG`
//! each): a run started by `coord run --parallel 0` spread over workers started by hand, workers
//! killed with SIGKILL mid-task many times over, two workers racing on 1,000 ready tasks, a
//! stale worker's late result, and SIGTERM. Every check reads the store back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coord_store::{PgStore, Store, TaskState};
use nix::sys::signal::Signal;
use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;
use support::{Project, Worker, block_on, pg_schema, wait_for};

/// `n` independent tasks `t0..` (and, with `chain`, each depending on the one `width` before).
fn plan(n: usize, width: usize) -> String {
    let tasks: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let deps: Vec<String> = if i >= width { vec![format!("t{}", i - width)] } else { vec![] };
            serde_json::json!({ "id": format!("t{i}"), "title": format!("task {i}"), "specialist": "nodejs-expert", "depends_on": deps })
        })
        .collect();
    serde_json::json!({ "objective": "workers test", "tasks": tasks }).to_string()
}

/// A project whose nodejs-expert runs `script` in `sh -c`.
fn project(script: &str, lease_secs: u64) -> Project {
    let p = Project::new();
    let script = script.replace('\\', "\\\\").replace('"', "\\\"");
    p.write(
        "coord.toml",
        &format!(
            "[run]\nparallel = 4\nlease_secs = {lease_secs}\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"{script}\"]\n"
        ),
    );
    p
}

/// Appends `KEY COUNT` to ledger.txt, COUNT being how often the key appears in the brief.
const LEDGER: &str = "echo \"$COORD_IDEMPOTENCY_KEY $(grep -c \"IDEMPOTENCY KEY: $COORD_IDEMPOTENCY_KEY\" \"$COORD_BRIEF_FILE\")\" >> ledger.txt";

/// Starts `coord run --plan plan.json --parallel 0` (it watches) and returns it with the run id.
/// Its output goes to run.out (a pipe nobody reads would fill up and stop it).
fn start_run(p: &Project, url: &str) -> (std::process::Child, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json", "--parallel", "0", "--json", "--db", url])
        .current_dir(p.path())
        .env_remove("COORD_DB")
        .env_remove("COORD_DATABASE_URL")
        .stdout(std::fs::File::create(p.path().join("run.out")).unwrap())
        .stderr(std::fs::File::create(p.path().join("run.err")).unwrap())
        .spawn()
        .unwrap();
    let mut run = String::new();
    assert!(
        wait_for(30, || {
            let runs = block_on(async { PgStore::connect(url).await.unwrap().runs().await.unwrap() });
            match runs.first() {
                Some(r) => {
                    run = r.id.clone();
                    true
                }
                None => false,
            }
        }),
        "the run was created: {}",
        std::fs::read_to_string(p.path().join("run.err")).unwrap_or_default()
    );
    (child, run)
}

/// Every task done, exactly one successful attempt each, the others interrupted; returns the
/// attempts by owner.
fn assert_done_exactly_once(url: &str, run: &str, n: usize) -> HashMap<String, usize> {
    block_on(async {
        let store = PgStore::connect(url).await.unwrap();
        assert_eq!(store.run(run).await.unwrap().state, coord_store::RunState::Done);
        let tasks = store.tasks(run).await.unwrap();
        assert_eq!(tasks.len(), n, "no task lost");
        let mut by_owner: HashMap<String, usize> = HashMap::new();
        for t in &tasks {
            assert_eq!(t.state, TaskState::Done, "{}", t.task_id);
            let attempts = store.attempts(run, &t.task_id).await.unwrap();
            assert_eq!(attempts.len() as i64, t.attempts, "every attempt recorded and counted: {attempts:?}");
            let succeeded: Vec<_> = attempts.iter().filter(|a| a.outcome.as_deref() == Some("succeeded")).collect();
            assert_eq!(succeeded.len(), 1, "{} done exactly once: {attempts:?}", t.task_id);
            assert_eq!(succeeded[0].attempt, t.attempts, "{}: nothing ran after the success", t.task_id);
            for a in &attempts {
                if a.outcome.as_deref() != Some("succeeded") {
                    assert_eq!(a.outcome.as_deref(), Some("interrupted"), "{}: {a:?}", t.task_id);
                }
                *by_owner.entry(a.owner.clone()).or_default() += 1;
            }
        }
        by_owner
    })
}

/// The ledger's keys: each successful attempt's key once, every key an attempt of the store,
/// and every brief carried its own key.
fn assert_ledger(p: &Project, url: &str, run: &str) {
    let ledger = std::fs::read_to_string(p.path().join("ledger.txt")).unwrap();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for line in ledger.lines() {
        let (key, in_brief) = line.split_once(' ').unwrap();
        assert_eq!(in_brief, "1", "the brief carries the idempotency key once: {line}");
        *count.entry(key).or_default() += 1;
    }
    block_on(async {
        let store = PgStore::connect(url).await.unwrap();
        let mut known = HashSet::new();
        for t in store.tasks(run).await.unwrap() {
            for a in store.attempts(run, &t.task_id).await.unwrap() {
                let key = format!("{run}/{}/{}", t.task_id, a.attempt);
                if a.outcome.as_deref() == Some("succeeded") {
                    assert_eq!(count.get(key.as_str()), Some(&1), "the successful attempt {key} acted once");
                }
                known.insert(key);
            }
        }
        for key in count.keys() {
            assert!(known.contains(*key), "{key} is an attempt the store knows");
        }
    });
}

#[test]
fn a_run_started_by_coord_run_is_spread_over_workers_started_by_hand() {
    let schema = pg_schema("spread");
    let url = schema.url();
    let p = project(&format!("sleep 0.5; {LEDGER}"), 5);
    p.write("plan.json", &plan(30, 10));
    let mut workers: Vec<Worker> = (0..3).map(|_| Worker::start(&p, &url, &["--concurrency", "3"])).collect();
    let (mut watcher, run) = start_run(&p, &url);
    // While it runs, `coord workers` lists the three with their leases.
    let mut listed = false;
    for _ in 0..200 {
        let out = p.ok(&["workers", "--json", "--db", &url]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let live = v["workers"].as_array().unwrap();
        if live.len() == 3 && live.iter().any(|w| !w["leases"].as_array().unwrap().is_empty()) {
            listed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(listed, "coord workers lists live workers with their leases");
    let status = watcher.wait().unwrap();
    let out = std::fs::read_to_string(p.path().join("run.out")).unwrap();
    assert!(status.success(), "coord run --parallel 0 ends when the workers finish: {out}");
    assert!(out.contains("\"state\":\"done\""), "{out}");
    let by_owner = assert_done_exactly_once(&url, &run, 30);
    let owners: HashSet<String> = workers.iter().map(Worker::owner).collect();
    assert!(by_owner.keys().all(|o| owners.contains(o)), "only the workers ran tasks: {by_owner:?}");
    assert!(by_owner.len() >= 2, "the work is spread over several workers: {by_owner:?}");
    assert_ledger(&p, &url, &run);
    let metrics = p.ok(&["metrics", &run, "--db", &url]);
    assert!(
        metrics.contains("coord_queue_depth{run=") && metrics.contains("coord_claim_latency_seconds_count"),
        "{metrics}"
    );
    for w in &mut workers {
        assert!(w.stop(20), "a worker stops on SIGTERM");
        assert!(w.log().contains("stopped:"), "{}", w.log());
    }
    let out = p.ok(&["workers", "--db", &url]);
    assert!(out.contains("no live workers"), "stopped workers leave the registry: {out}");
}

#[test]
fn workers_killed_with_sigkill_mid_task_lose_nothing_and_run_nothing_twice() {
    let schema = pg_schema("kill");
    let url = schema.url();
    let p = project(&format!("sleep 0.3; {LEDGER}"), 1);
    let n = 80;
    p.write("plan.json", &plan(n, 20));
    let mut workers: Vec<Worker> = (0..3).map(|_| Worker::start(&p, &url, &["--concurrency", "4"])).collect();
    let (mut watcher, run) = start_run(&p, &url);
    let mut seed: u64 = 0x9e37_79b9;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut kills = 0;
    let store = || block_on(async { PgStore::connect(&url).await.unwrap() });
    let s = store();
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(150 + next() % 300));
        if block_on(s.run(&run)).unwrap().state != coord_store::RunState::Running {
            break;
        }
        // Kill a worker that holds a lease (mid-task), and start another in its place.
        let leases = block_on(s.leases()).unwrap();
        let holding: Vec<usize> =
            (0..workers.len()).filter(|&i| leases.iter().any(|l| l.owner == workers[i].owner())).collect();
        let Some(&victim) = holding.get((next() % holding.len().max(1) as u64) as usize) else { continue };
        workers[victim].signal(Signal::SIGKILL);
        let _ = workers[victim].child.wait();
        kills += 1;
        workers[victim] = Worker::start(&p, &url, &["--concurrency", "4"]);
    }
    assert!(wait_for(90, || watcher.try_wait().unwrap().is_some()), "the run finishes");
    assert!(kills >= 5, "workers were killed mid-task ({kills} times)");
    let by_owner = assert_done_exactly_once(&url, &run, n);
    let interrupted: usize = block_on(async {
        let mut count = 0;
        for t in s.tasks(&run).await.unwrap() {
            count += s
                .attempts(&run, &t.task_id)
                .await
                .unwrap()
                .iter()
                .filter(|a| a.outcome.as_deref() == Some("interrupted"))
                .count();
        }
        count
    });
    assert!(interrupted > 0, "killed workers' attempts were interrupted and counted");
    assert_ledger(&p, &url, &run);
    eprintln!("{kills} kills, {interrupted} interrupted attempts, attempts by owner: {by_owner:?}");
    for w in &mut workers {
        w.stop(20);
    }
}

#[test]
fn two_worker_processes_racing_on_1000_ready_tasks_claim_none_twice() {
    let schema = pg_schema("race");
    let url = schema.url();
    let p = Project::new();
    p.write("coord.toml", "[specialists.nodejs-expert]\nexecutor = \"noop\"\n");
    p.write("plan.json", &plan(1000, 1000));
    let mut workers: Vec<Worker> = (0..2).map(|_| Worker::start(&p, &url, &["--concurrency", "16"])).collect();
    let s = block_on(async { PgStore::connect(&url).await.unwrap() });
    assert!(
        wait_for(30, || block_on(s.workers()).unwrap().len() == 2),
        "both workers registered and idle: {}",
        workers.iter().map(Worker::log).collect::<String>()
    );
    let (mut watcher, run) = start_run(&p, &url);
    assert!(wait_for(120, || watcher.try_wait().unwrap().is_some()), "the run finishes");
    let by_owner = assert_done_exactly_once(&url, &run, 1000);
    let total: usize = by_owner.values().sum();
    assert_eq!(total, 1000, "one attempt per task: no task claimed twice ({by_owner:?})");
    assert_eq!(by_owner.len(), 2, "both workers claimed: {by_owner:?}");
    for w in &mut workers {
        assert!(w.stop(20));
    }
}

#[test]
fn a_stale_workers_late_result_is_refused_and_the_new_attempt_stands() {
    let schema = pg_schema("stale");
    let url = schema.url();
    let p = project(&format!("sleep 1.5; {LEDGER}"), 1);
    p.write("plan.json", &plan(1, 1));
    let mut stale = Worker::start(&p, &url, &["--concurrency", "1"]);
    let s = block_on(async { PgStore::connect(&url).await.unwrap() });
    let (mut watcher, run) = start_run(&p, &url);
    assert!(
        wait_for(30, || block_on(s.leases()).unwrap().iter().any(|l| l.owner == stale.owner())),
        "claimed: {} {:?}",
        stale.log(),
        block_on(s.leases())
    );
    // Frozen mid-task: its heartbeats stop, its lease (1 s) expires; the process still exists,
    // so nobody presumes it dead.
    stale.signal(Signal::SIGSTOP);
    let mut fresh = Worker::start(&p, &url, &["--concurrency", "1"]);
    assert!(wait_for(60, || watcher.try_wait().unwrap().is_some()), "the fresh worker finishes the run");
    stale.signal(Signal::SIGCONT);
    assert!(
        wait_for(20, || {
            let log = stale.log();
            log.contains("refused") || log.contains("was lost while it ran")
        }),
        "the stale worker's result is refused or dropped: {}",
        stale.log()
    );
    assert!(stale.stop(20) && fresh.stop(20));
    let attempts = block_on(s.attempts(&run, "t0")).unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(
        (attempts[0].owner.as_str(), attempts[0].outcome.as_deref()),
        (stale.owner().as_str(), Some("interrupted"))
    );
    assert_eq!(
        (attempts[1].owner.as_str(), attempts[1].outcome.as_deref()),
        (fresh.owner().as_str(), Some("succeeded"))
    );
    assert_done_exactly_once(&url, &run, 1);
}

#[test]
fn sigterm_lets_short_attempts_finish_and_releases_long_ones() {
    let schema = pg_schema("term");
    let url = schema.url();
    // Short attempts finish within the grace period and are recorded.
    let p = project("sleep 2", 30);
    p.write("plan.json", &plan(2, 2));
    let mut w = Worker::start(&p, &url, &["--concurrency", "2", "--grace-secs", "20"]);
    let s = block_on(async { PgStore::connect(&url).await.unwrap() });
    let (mut watcher, run) = start_run(&p, &url);
    let claimed = |s: &PgStore, run: &str| block_on(s.tasks(run)).unwrap().iter().all(|t| t.attempts == 1);
    assert!(wait_for(30, || claimed(&s, &run)), "both claimed: {}", w.log());
    assert!(w.stop(20), "the worker exits after its attempts");
    assert!(wait_for(30, || watcher.try_wait().unwrap().is_some()));
    assert_done_exactly_once(&url, &run, 2);

    // Long attempts are killed after the grace period and their tasks released at once (no
    // waiting for the 30 s lease), their attempts counted as interrupted.
    let schema = pg_schema("term_long");
    let url = schema.url();
    let p = project("sleep 60", 30);
    p.write("plan.json", &plan(2, 2));
    let mut w = Worker::start(&p, &url, &["--concurrency", "2", "--grace-secs", "1"]);
    let s = block_on(async { PgStore::connect(&url).await.unwrap() });
    let (mut watcher, run) = start_run(&p, &url);
    assert!(wait_for(30, || claimed(&s, &run)), "both claimed: {}", w.log());
    let started = std::time::Instant::now();
    assert!(w.stop(20), "the worker exits after the grace period");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(w.log().contains("released") || w.log().contains("killed"), "{}", w.log());
    let tasks = block_on(s.tasks(&run)).unwrap();
    assert!(tasks.iter().all(|t| t.state == TaskState::Ready && t.attempts == 1), "{tasks:?}");
    assert!(block_on(s.leases()).unwrap().is_empty());
    let attempts = block_on(s.attempts(&run, "t0")).unwrap();
    assert_eq!(attempts[0].outcome.as_deref(), Some("interrupted"));
    let _ = watcher.kill();
    let _ = watcher.wait();
}

#[test]
fn a_worker_with_a_local_queue_claims_beyond_its_slots_and_releases_the_queue_when_stopped() {
    let schema = pg_schema("prefetch");
    let url = schema.url();
    let p = project("sleep 30", 60);
    p.write("plan.json", &plan(6, 6));
    let mut w = Worker::start(&p, &url, &["--concurrency", "1", "--prefetch", "3", "--grace-secs", "1"]);
    let s = block_on(async { PgStore::connect(&url).await.unwrap() });
    let (mut watcher, run) = start_run(&p, &url);
    // One slot and three queued places: four tasks claimed, the other two left ready.
    assert!(wait_for(30, || block_on(s.leases()).unwrap().len() == 4), "{}", w.log());
    std::thread::sleep(Duration::from_millis(300));
    let tasks = block_on(s.tasks(&run)).unwrap();
    let count = |state: TaskState| tasks.iter().filter(|t| t.state == state).count();
    assert_eq!((count(TaskState::Running), count(TaskState::Ready)), (4, 2), "{tasks:?}");
    let owners: HashSet<String> = block_on(s.leases()).unwrap().into_iter().map(|l| l.owner).collect();
    assert_eq!(owners.len(), 1, "one worker holds them all: {owners:?}");
    // Stopped: the attempt that started is killed after the grace period, and every claim,
    // queued or started, goes back to ready at once.
    assert!(w.stop(20), "the worker exits");
    let tasks = block_on(s.tasks(&run)).unwrap();
    assert!(tasks.iter().all(|t| t.state == TaskState::Ready), "{tasks:?}");
    assert!(block_on(s.leases()).unwrap().is_empty());
    let _ = watcher.kill();
    let _ = watcher.wait();
}

#[test]
fn a_task_queued_longer_than_its_lease_keeps_it_and_runs_once() {
    let schema = pg_schema("prefetch_lease");
    let url = schema.url();
    // Lease 2 s; the first task takes 4 s, so the second waits in the queue twice its lease.
    let p = project("sleep 4", 2);
    p.write("plan.json", &plan(2, 2));
    let mut w = Worker::start(&p, &url, &["--concurrency", "1", "--prefetch", "1"]);
    let (mut watcher, run) = start_run(&p, &url);
    assert!(wait_for(60, || watcher.try_wait().unwrap().is_some()), "the run ends: {}", w.log());
    assert!(w.stop(20));
    let s = block_on(async { PgStore::connect(&url).await.unwrap() });
    let tasks = block_on(s.tasks(&run)).unwrap();
    assert!(
        tasks.iter().all(|t| t.state == TaskState::Done && t.attempts == 1),
        "one attempt each: {tasks:?}\n{}",
        w.log()
    );
}

#[test]
fn bad_worker_setups_get_one_clear_error_line() {
    let p = Project::new();
    let out = p.coord(&["worker", "--db", "postgres://coord:s3cret-pw@127.0.0.1:1/none"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("coord: error: cannot open the PostgreSQL store postgres://coord:***@127.0.0.1:1/none"),
        "{err}"
    );
    assert!(!err.contains("s3cret-pw"), "the password never reaches a message: {err}");
    let schema = pg_schema("setup");
    let out = p.coord(&["worker", "--db", &schema.url()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no specialist has an executor in coord.toml"), "{err}");
    p.write("coord.toml", "[specialists.nodejs-expert]\nexecutor = \"noop\"\n");
    let out = p.coord(&["worker", "--db", &schema.url(), "--concurrency", "0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--concurrency must be at least 1"));
}

#[test]
fn a_worker_on_an_sqlite_store_with_a_local_queue_serves_a_watched_run() {
    let p = project(&format!("sleep 0.05; {LEDGER}"), 5);
    p.write("plan.json", &plan(12, 4));
    let db = p.path().join("shared.db").display().to_string();
    let mut w = Worker::start(&p, &db, &["--concurrency", "3", "--prefetch", "3"]);
    let out = p.ok(&["run", "--plan", "plan.json", "--parallel", "0", "--db", &db, "--json"]);
    assert!(out.contains("\"state\":\"done\""), "{out}");
    assert!(w.stop(20));
    assert!(w.log().contains("serves workers of this machine only"), "{}", w.log());
    assert!(w.log().contains("12 results recorded"), "{}", w.log());
}
