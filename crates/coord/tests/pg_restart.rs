//! PostgreSQL restarted during a run: the workers wait it out, reconnect, record what they had
//! finished, and the run completes with every task done exactly once. The server is a private
//! instance made for this test (`initdb` into a temporary folder, a free port), never the shared
//! one other tests use. Its binaries: `COORD_PG_BIN`, else `/usr/lib/postgresql/15/bin`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coord_store::{NewRun, PgStore, RunState, Store, TaskState};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Project, Worker, block_on, wait_for};

/// A private PostgreSQL server in a temporary folder, stopped and removed on drop.
struct PrivatePg {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

impl PrivatePg {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a server binary; as the `postgres` user when we are root (PostgreSQL refuses root).
    fn tool(&self, program: &str, args: &[&str]) -> std::process::Output {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
    }

    fn start() -> PrivatePg {
        let bin = PathBuf::from(std::env::var("COORD_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()));
        assert!(
            bin.join("initdb").exists(),
            "PostgreSQL server binaries are needed in {} (set COORD_PG_BIN)",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let out = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).output().unwrap();
            assert!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
        }
        let pg = PrivatePg { dir, port: free_port(), bin };
        let data = pg.data().display().to_string();
        let out = pg.tool("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        pg.ctl_start();
        pg
    }

    fn ctl_start(&self) {
        let data = self.data().display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = self.tool("pg_ctl", &["-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start"]);
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn ctl_stop(&self, mode: &str) {
        let data = self.data().display().to_string();
        let out = self.tool("pg_ctl", &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self.tool("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

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
