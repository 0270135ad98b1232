//! `Runtime::drive` asked to halt, with real command executors: `Halt::Stop` interrupts the
//! attempts under way (their processes killed), records them as interrupted with their tasks
//! ready again and keeps the run running, so a later drive finishes it; `Halt::Cancel` cancels
//! the run. The two are distinct: only a cancel ends a run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_runtime::{Config, Halt, Runtime};
use coord_store::{NewRun, RunState, SqliteStore, Store, TaskState};
use std::path::Path;
use std::time::Duration;
use tokio::sync::watch;

/// A runtime over a fresh store in `dir` whose nodejs-expert writes its PID to
/// `pids/TASK-ATTEMPT`, hangs on first attempts and succeeds at once on later ones; a run `r` of
/// two independent tasks is created.
async fn setup(dir: &Path, pids: &Path) -> Runtime<SqliteStore> {
    let script = format!(
        "echo $$ > {}/$COORD_TASK_ID-$COORD_ATTEMPT; [ $COORD_ATTEMPT -gt 1 ] || exec sleep 300",
        pids.display()
    );
    // Unconfined: this is the scheduler's test (the sandbox's trampoline is the `coord` binary,
    // which the CLI tests run under).
    let toml = format!(
        "[run]\nparallel = 2\nlease_secs = 30\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}]\nsandbox = \"off\"\n"
    );
    let config = Config::parse(&toml, "coord.toml").unwrap();
    let plan: coord_core::Plan = serde_json::from_value(serde_json::json!({
        "objective": "halt test",
        "tasks": [
            { "id": "a", "title": "a", "specialist": "nodejs-expert", "depends_on": [] },
            { "id": "b", "title": "b", "specialist": "nodejs-expert", "depends_on": [] },
        ]
    }))
    .unwrap();
    let valid = coord_core::dag::validate(plan, |_| true).unwrap();
    let store = SqliteStore::open(&dir.join("coord.db")).await.unwrap();
    store.create_run(&NewRun::from_plan("r", &valid).unwrap(), coord_runtime::now_ms()).await.unwrap();
    Runtime::new(store, coord_agents::builtin_roster(), config, dir.to_path_buf(), dir.join("runs"))
}

/// Waits until some first attempt wrote its PID; returns it.
async fn a_first_attempt_started(pids: &Path) -> i32 {
    for _ in 0..600 {
        for task in ["a", "b"] {
            if let Some(pid) =
                std::fs::read_to_string(pids.join(format!("{task}-1"))).ok().and_then(|s| s.trim().parse::<i32>().ok())
            {
                return pid;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no attempt started");
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
async fn gone(pid: i32) -> bool {
    for _ in 0..200 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) if stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')) => return true,
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_interrupts_the_attempts_and_a_later_drive_finishes_the_run() {
    let (dir, pids) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let runtime = setup(dir.path(), pids.path()).await;
    let (tx, rx) = watch::channel(Halt::Go);
    let (report, pid) = tokio::join!(runtime.drive("r", rx, &()), async {
        let pid = a_first_attempt_started(pids.path()).await;
        tx.send(Halt::Stop).unwrap();
        pid
    });
    let report = report.unwrap();
    assert!(report.stopped, "{report:?}");
    // Both tasks were claimed together; outside git they take turns in the folder, so one ran
    // and one waited: both attempts are interrupted.
    assert_eq!((report.state.as_str(), report.interrupted), ("running", 2), "{report:?}");
    assert!(gone(pid).await, "the running attempt's process {pid} was killed");
    let store = runtime.store();
    assert_eq!(store.run("r").await.unwrap().state, RunState::Running);
    for t in store.tasks("r").await.unwrap() {
        assert_eq!((t.state, t.attempts), (TaskState::Ready, 1), "{}", t.task_id);
        let attempts = store.attempts("r", &t.task_id).await.unwrap();
        assert_eq!(attempts[0].outcome.as_deref(), Some("interrupted"), "{attempts:?}");
        assert!(attempts[0].detail.as_deref().unwrap_or_default().contains("was stopped"), "{attempts:?}");
    }
    assert!(store.leases().await.unwrap().is_empty());

    let (_tx, rx) = watch::channel(Halt::Go);
    let report = runtime.drive("r", rx, &()).await.unwrap();
    assert_eq!((report.state.as_str(), report.stopped, report.interrupted), ("done", false, 0), "{report:?}");
    for task in ["a", "b"] {
        let outcomes: Vec<Option<String>> =
            store.attempts("r", task).await.unwrap().into_iter().map(|a| a.outcome).collect();
        assert_eq!(outcomes, vec![Some("interrupted".into()), Some("succeeded".into())], "{task}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_kills_the_attempts_and_cancels_the_run() {
    let (dir, pids) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let runtime = setup(dir.path(), pids.path()).await;
    let (tx, rx) = watch::channel(Halt::Go);
    let (report, pid) = tokio::join!(runtime.drive("r", rx, &()), async {
        let pid = a_first_attempt_started(pids.path()).await;
        tx.send(Halt::Cancel).unwrap();
        pid
    });
    let report = report.unwrap();
    assert_eq!((report.state.as_str(), report.stopped), ("cancelled", false), "{report:?}");
    assert!(gone(pid).await, "the running attempt's process {pid} was killed");
    let tasks = runtime.store().tasks("r").await.unwrap();
    assert!(tasks.iter().all(|t| t.state == TaskState::Cancelled), "{tasks:?}");
}
