//! Crash safety: the coordinator is killed with SIGKILL at random moments, then resumed, many
//! times over. From the store: no task is lost, no task recorded done is run again, and every
//! interrupted attempt is counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coord_store::{SqliteStore, Store};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::Project;

/// 40 tasks: four chains of ten, with cross links, so work is both parallel and ordered.
fn plan() -> String {
    let mut tasks = Vec::new();
    for chain in 0..4 {
        for i in 0..10 {
            let id = format!("c{chain}-t{i}");
            let mut deps = Vec::new();
            if i > 0 {
                deps.push(format!("c{chain}-t{}", i - 1));
            }
            if chain > 0 && i > 2 {
                deps.push(format!("c{}-t{}", chain - 1, i - 2));
            }
            tasks.push(serde_json::json!({ "id": id, "title": id, "specialist": "nodejs-expert", "depends_on": deps }));
        }
    }
    serde_json::json!({ "objective": "crash test", "tasks": tasks }).to_string()
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_reruns_nothing_done() {
    let p = Project::new();
    p.write("plan.json", &plan());
    p.write(
        "coord.toml",
        "[run]\nparallel = 4\nlease_secs = 2\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"sleep 0.1\"]\n",
    );
    let mut seed: u64 = 0x5eed_1234;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut run: Option<String> = None;
    let mut kills = 0;
    for _ in 0..12 {
        let args: Vec<String> = match &run {
            None => vec!["run".into(), "--plan".into(), "plan.json".into(), "--json".into()],
            Some(r) => vec!["resume".into(), r.clone(), "--json".into()],
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_coord"))
            .args(&args)
            .current_dir(p.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(60 + next() % 400));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let _ = child.wait();
        if run.is_none() {
            run = Some(p.only_run());
        }
        let run = run.as_deref().unwrap();
        if p.status(run)["state"] == "done" {
            break;
        }
    }
    let run = run.unwrap();
    // Finish without interruption.
    if p.status(&run)["state"] != "done" {
        p.ok(&["resume", &run, "--json"]);
    }
    assert!(kills > 0, "the test killed the coordinator at least once");
    assert_eq!(p.status(&run)["state"], "done");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&p.path().join(".coord/coord.db")).await.unwrap();
        let tasks = store.tasks(&run).await.unwrap();
        assert_eq!(tasks.len(), 40, "no task lost");
        let mut interrupted = 0;
        for t in &tasks {
            assert_eq!(t.state, coord_store::TaskState::Done, "{}", t.task_id);
            let attempts = store.attempts(&run, &t.task_id).await.unwrap();
            assert_eq!(attempts.len() as i64, t.attempts, "every attempt is recorded and counted");
            let succeeded: Vec<_> = attempts.iter().filter(|a| a.outcome.as_deref() == Some("succeeded")).collect();
            assert_eq!(succeeded.len(), 1, "{} done exactly once: {attempts:?}", t.task_id);
            let done_at = succeeded[0].finished_at.unwrap();
            assert!(
                attempts.iter().all(|a| a.attempt <= succeeded[0].attempt && a.started_at <= done_at),
                "{} was re-run after it was recorded done: {attempts:?}",
                t.task_id
            );
            for a in &attempts {
                if a.outcome.as_deref() != Some("succeeded") {
                    assert_eq!(a.outcome.as_deref(), Some("interrupted"), "{}: {a:?}", t.task_id);
                    interrupted += 1;
                }
            }
        }
        eprintln!("{kills} kills, {interrupted} interrupted attempts, all counted");
    });
}
