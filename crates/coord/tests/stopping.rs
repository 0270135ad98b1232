//! Stopping and exit statuses of `coord run`, `coord resume` and `coord worker`, end to end with
//! real processes: SIGTERM or Ctrl-C stops a run gracefully (attempts interrupted and counted,
//! their tasks ready again, the run still `running`) and `coord resume` finishes it; a second
//! signal exits at once, even when the graceful stop is stuck; a worker waits out its grace
//! period unless signalled twice; and every status of `docs/exit-codes.md` is reached by a run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coord_store::{SqliteStore, Store};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::io::BufRead;
use std::path::Path;
use support::{Project, Worker, plan_json, wait_for};

/// A test's agents: they hang while the file `hold` of their folder exists (it is created
/// here) and succeed at once when it does not; each attempt's shell carries `MARKER-TASK` on its
/// command line, so the test finds its processes in whatever PID namespace the sandbox puts them.
struct Agents {
    holds: tempfile::TempDir,
    marker: String,
}

impl Agents {
    /// Writes `coord.toml` (confined agents, as by default; the hold folder readable) and makes
    /// the project a git repository.
    fn new(p: &Project, test: &str, lease_secs: u64) -> Agents {
        let holds = tempfile::tempdir().unwrap();
        std::fs::write(holds.path().join("hold"), "").unwrap();
        let marker = format!("coordstop{}{test}", std::process::id());
        let script = format!("[ ! -e {}/hold ] || sleep 300", holds.path().display());
        p.write(
            "coord.toml",
            &format!(
                "[run]\nparallel = 4\nlease_secs = {lease_secs}\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}, \"{marker}-{{task_id}}\"]\nread = [{:?}]\n",
                holds.path().display().to_string()
            ),
        );
        p.git_init();
        Agents { holds, marker }
    }

    /// Waits until the shell of an attempt of each of `tasks` runs; `context` says what the
    /// coordinators printed when they do not.
    fn wait_running(&self, tasks: &[&str], context: impl Fn() -> String) {
        let running = |t: &str| {
            // Its last argument (NUL-separated arguments come back space-separated).
            let tag = format!("{}-{t} ", self.marker);
            support::processes_with(&self.marker).iter().any(|c| c.starts_with("sh ") && c.ends_with(&tag))
        };
        if !wait_for(90, || tasks.iter().all(|t| running(t))) {
            panic!(
                "attempts of {tasks:?} do not run; processes: {:?}\n{}",
                support::processes_with(&self.marker),
                context()
            );
        }
    }

    /// Whether every process of these agents is gone (waits up to 10 s).
    fn all_gone(&self) -> bool {
        wait_for(10, || support::processes_with(&self.marker).is_empty())
    }

    /// Lets the attempts that start from now on succeed.
    fn release(&self) {
        std::fs::remove_file(self.holds.path().join("hold")).unwrap();
    }
}

fn signal(child: &std::process::Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// Waits up to a minute for `child` to exit; its exit code.
fn exit_code(child: &mut std::process::Child) -> Option<i32> {
    assert!(wait_for(60, || child.try_wait().unwrap().is_some()), "the process exited");
    child.wait().unwrap().code()
}

/// `(outcome, detail)` of every attempt of a task, oldest first.
fn attempts(p: &Project, run: &str, task: &str) -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&p.path().join(".coord/coord.db")).await.unwrap();
        store
            .attempts(run, task)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.outcome.unwrap_or_default(), a.detail.unwrap_or_default()))
            .collect()
    })
}

#[test]
fn sigterm_stops_a_run_gracefully_and_resume_finishes_it() {
    let p = Project::new();
    p.write(
        "plan.json",
        &plan_json(&[
            ("a", "nodejs-expert", &[]),
            ("b", "nodejs-expert", &[]),
            ("c", "nodejs-expert", &[]),
            ("d", "nodejs-expert", &["a", "b", "c"]),
        ]),
    );
    let agents = Agents::new(&p, "term", 30);
    let mut child = p.spawn("run", &["run", "--plan", "plan.json"]);
    agents.wait_running(&["a", "b", "c"], || format!("{}{}", p.read("run.out"), p.read("run.err")));
    let run = p.only_run();
    signal(&child.child, Signal::SIGTERM);
    assert_eq!(exit_code(&mut child.child), Some(143), "stopped by SIGTERM: 128 + 15\n{}", p.read("run.err"));
    let out = p.read("run.out");
    assert!(out.contains("stopped: 3 attempt(s) interrupted"), "{out}");
    assert!(out.contains(&format!("coord resume {run} continues it")), "{out}");
    assert!(p.read("run.err").contains("SIGTERM: stopping"), "{}", p.read("run.err"));
    assert!(agents.all_gone(), "the interrupted attempts' processes were killed");
    // The run goes on: its interrupted tasks are ready again, their attempts counted.
    let status = p.status(&run);
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(
        p.states(&run),
        vec![
            ("a".into(), "ready".into()),
            ("b".into(), "ready".into()),
            ("c".into(), "ready".into()),
            ("d".into(), "pending".into())
        ]
    );
    for task in ["a", "b", "c"] {
        let tried = attempts(&p, &run, task);
        assert_eq!(tried.len(), 1, "{task}: {tried:?}");
        assert_eq!(tried[0].0, "interrupted", "{task}: {tried:?}");
        assert!(tried[0].1.contains("was stopped"), "{task}: {tried:?}");
    }

    agents.release();
    let out = p.ok_all(&["resume", &run]);
    assert!(out.contains(": done"), "{out}");
    assert_eq!(p.status(&run)["state"], "done");
    for task in ["a", "b", "c"] {
        let outcomes: Vec<String> = attempts(&p, &run, task).into_iter().map(|(o, _)| o).collect();
        assert_eq!(outcomes, vec!["interrupted", "succeeded"], "{task}");
    }
    assert_eq!(attempts(&p, &run, "d").len(), 1);
    let log = p.ok(&["log", &run, "--json"]);
    assert!(!log.contains("cancel"), "nothing was cancelled: {log}");
    assert_eq!(log.lines().filter(|l| l.contains("\"lease_expired\"")).count(), 3, "{log}");
}

/// Holds the write lock of an SQLite database (`BEGIN IMMEDIATE`) until killed.
const HOLD_LOCK: &str = "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\ntime.sleep(600)\n";

#[test]
fn a_second_ctrl_c_exits_at_once_even_when_the_graceful_stop_is_stuck() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("a", "nodejs-expert", &[]), ("b", "nodejs-expert", &[])]));
    // Leases long enough that only the recovery of a dead coordinator can free the tasks soon.
    let agents = Agents::new(&p, "twice", 600);
    let mut child = p.spawn("run", &["run", "--plan", "plan.json"]);
    agents.wait_running(&["a", "b"], || format!("{}{}", p.read("run.out"), p.read("run.err")));
    let run = p.only_run();
    // Another process holds the store's write lock: the graceful stop cannot record anything.
    let mut locker = support::Background {
        child: std::process::Command::new("python3")
            .args(["-c", HOLD_LOCK])
            .arg(p.path().join(".coord/coord.db"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (CI installs it)"),
    };
    let mut line = String::new();
    std::io::BufReader::new(locker.child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");

    signal(&child.child, Signal::SIGINT);
    assert!(wait_for(30, || p.read("run.err").contains("SIGINT: stopping")), "{}", p.read("run.err"));
    assert!(child.child.try_wait().unwrap().is_none(), "the stop waits for the store");
    signal(&child.child, Signal::SIGINT);
    assert_eq!(exit_code(&mut child.child), Some(130), "{}", p.read("run.err"));
    assert!(p.read("run.err").contains("SIGINT again: exiting now"), "{}", p.read("run.err"));
    assert!(locker.child.try_wait().unwrap().is_none(), "coord exited while the store was still locked");
    assert!(agents.all_gone(), "the attempts' processes were killed on the way out");
    drop(locker);
    agents.release();

    // Nothing was recorded on the way out: `coord resume` sees the coordinator gone (this host,
    // boot and PID namespace; its PID no longer exists), releases its tasks at once (not after
    // the 600 s lease) and finishes the run.
    let out = p.ok_all(&["resume", &run]);
    assert!(out.contains(": done"), "{out}");
    for task in ["a", "b"] {
        let tried = attempts(&p, &run, task);
        assert_eq!(tried.len(), 2, "{task}: {tried:?}");
        assert_eq!(tried[0].0, "interrupted", "{task}: {tried:?}");
        assert!(tried[0].1.ends_with(" is gone") && tried[0].1.starts_with("coord-"), "{task}: {tried:?}");
        assert_eq!(tried[1].0, "succeeded", "{task}: {tried:?}");
    }
}

#[test]
fn a_worker_waits_out_its_grace_period_unless_signalled_twice() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("a", "nodejs-expert", &[])]));
    let agents = Agents::new(&p, "worker", 600);
    let db = p.path().join("shared.db").display().to_string();
    let mut watcher = p.spawn("watch", &["run", "--plan", "plan.json", "--parallel", "0", "--db", &db]);
    let mut w = Worker::start(&p, &db, &["--concurrency", "1", "--grace-secs", "600"]);
    agents.wait_running(&["a"], || {
        format!("worker: {}\nwatcher: {}", w.log(), p.read("watch.out") + &p.read("watch.err"))
    });
    w.signal(Signal::SIGTERM);
    assert!(wait_for(30, || w.log().contains("SIGTERM: stop requested")), "{}", w.log());
    // Its attempt runs for 300 s and it has 600 s of grace: only a second signal ends it now.
    assert!(w.child.try_wait().unwrap().is_none(), "{}", w.log());
    w.signal(Signal::SIGTERM);
    assert_eq!(exit_code(&mut w.child), Some(143), "{}", w.log());
    assert!(w.log().contains("SIGTERM again: exiting now"), "{}", w.log());
    assert!(agents.all_gone(), "the attempt's processes were killed on the way out");
    // Another worker of this machine sees it gone and takes the task over at once.
    agents.release();
    let mut second = Worker::start(&p, &db, &["--concurrency", "1"]);
    assert_eq!(exit_code(&mut watcher.child), Some(0), "the watched run is done: {}", p.read("watch.out"));
    assert!(second.stop(20));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let tried = rt.block_on(async {
        let store = SqliteStore::open(Path::new(&db)).await.unwrap();
        let run = store.runs().await.unwrap()[0].id.clone();
        store.attempts(&run, "a").await.unwrap()
    });
    assert_eq!(tried.len(), 2, "{tried:?}");
    assert_eq!(tried[0].owner, w.owner());
    assert_eq!(
        (tried[0].outcome.as_deref(), tried[0].detail.as_deref()),
        (Some("interrupted"), Some(format!("{} is gone", w.owner()).as_str()))
    );
    assert_eq!((tried[1].owner.as_str(), tried[1].outcome.as_deref()), (second.owner().as_str(), Some("succeeded")));
}

#[test]
fn exit_statuses_say_how_the_run_stands() {
    // 0: done.
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write("coord.toml", "[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"true\"]\n");
    assert_eq!(p.coord(&["run", "--plan", "plan.json"]).status.code(), Some(0));

    // 3: waiting on a person (no executor configured), and the report says so.
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    let out = p.run_waiting(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert!(out.contains(&format!("waiting on 1 task(s) for a person; then coord resume {run}")), "{out}");
    assert!(p.run_waiting(&["resume", &run]).contains("waiting on 1 task(s) for a person"));

    // 3: waiting on an escalation, and the report says so; once resolved, 0.
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[]), ("t2", "nodejs-expert", &["t1"])]));
    p.write(
        "coord.toml",
        "[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"[ $COORD_TASK_ID = t2 ] || echo '{\\\"coord\\\":\\\"escalate\\\",\\\"reason\\\":\\\"secrets in the repo\\\",\\\"category\\\":\\\"security\\\"}'\"]\n",
    );
    let out = p.run_waiting(&["run", "--plan", "plan.json"]);
    assert!(out.contains("waiting on 1 open escalation(s)"), "{out}");
    let run = p.only_run();
    let list: serde_json::Value = serde_json::from_str(&p.ok(&["escalation", "list", "--json"])).unwrap();
    p.ok(&["escalation", "resolve", &list[0]["id"].as_i64().unwrap().to_string(), "--decision", "skip"]);
    assert_eq!(p.coord(&["resume", &run]).status.code(), Some(0));

    // 2: usage and input errors, with the error's one line.
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &["t1"])]));
    let input_error = |args: &[&str], says: &str| {
        let out = p.coord(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    input_error(&["run"], "Usage");
    input_error(&["run", "--plan", "missing.json"], "missing.json");
    input_error(&["run", "--plan", "plan.json"], "depends on itself");
    input_error(&["run", "   "], "the objective is empty");
    input_error(&["resume", "run-nope"], "no run `run-nope`");
    p.write("coord.toml", "[run]\nparalel = 2\n");
    input_error(&["run", "Add login"], "paralel");
    input_error(&["resume", "run-nope"], "paralel");

    // 2 as well: a run that cannot be resumed (1, a run that ends cancelled, is
    // `cancel_from_another_process_stops_the_run_and_kills_its_commands` in tests/run.rs).
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.run_waiting(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    p.ok(&["cancel", &run]);
    let out = p.coord(&["resume", &run]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is cancelled; only a running run can be resumed"));
}

#[test]
fn long_running_commands_run_with_one_malloc_arena_unless_the_user_chose() {
    for (given, expected) in [(None, "MALLOC_ARENA_MAX=1"), (Some("4"), "MALLOC_ARENA_MAX=4")] {
        let p = Project::new();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_coord"));
        cmd.arg("mcp")
            .current_dir(p.path())
            .env_remove("MALLOC_ARENA_MAX")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if let Some(v) = given {
            cmd.env("MALLOC_ARENA_MAX", v);
        }
        let mut child = cmd.spawn().unwrap();
        let environ = format!("/proc/{}/environ", child.id());
        // The same process (exec keeps the pid) has the variable once it started itself again.
        let seen = support::wait_for(10, || {
            std::fs::read(&environ).unwrap_or_default().split(|b| *b == 0).any(|v| v == expected.as_bytes())
        });
        let _ = child.kill();
        let _ = child.wait();
        assert!(seen, "{expected} not in the environment of `coord mcp`");
    }
}
