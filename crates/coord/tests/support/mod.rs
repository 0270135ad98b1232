//! Shared helpers of the CLI integration tests: a project folder, running `coord`, and
//! reading the store back with `sqlite3`-free queries through `coord --json` outputs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod private_pg;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary project folder.
pub struct Project {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

impl Project {
    /// An empty project.
    pub fn new() -> Project {
        Project { dir: tempfile::tempdir().unwrap() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the project.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs coord in the project.
    pub fn coord(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_coord"))
            .args(args)
            .current_dir(self.path())
            .env_remove("COORD_DB")
            .env_remove("COORD_DATABASE_URL")
            .output()
            .unwrap()
    }

    /// Starts coord in the project in the background, its stdout and stderr going to the files
    /// `NAME.out` and `NAME.err` of the project (a pipe nobody reads would fill up).
    pub fn spawn(&self, name: &str, args: &[&str]) -> Background {
        let child = Command::new(env!("CARGO_BIN_EXE_coord"))
            .args(args)
            .current_dir(self.path())
            .env_remove("COORD_DB")
            .env_remove("COORD_DATABASE_URL")
            .stdout(std::fs::File::create(self.path().join(format!("{name}.out"))).unwrap())
            .stderr(std::fs::File::create(self.path().join(format!("{name}.err"))).unwrap())
            .spawn()
            .unwrap();
        Background { child }
    }

    /// A file of the project as text (empty when it does not exist).
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_default()
    }

    /// Runs `coord run` or `coord resume` and expects exit status 3 (the run waits on a person
    /// or an escalation); returns stdout.
    pub fn run_waiting(&self, args: &[&str]) -> String {
        let out = self.coord(args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "coord {args:?} was expected to end waiting (exit 3)\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs coord and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.coord(args);
        assert!(
            out.status.success(),
            "coord {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Makes the project a git repository with one commit of what it holds (and a README).
    pub fn git_init(&self) {
        self.write("README.md", "# service\n");
        self.git(&["init", "-q", "-b", "main"]);
        self.git(&["config", "user.email", "dev@example.com"]);
        self.git(&["config", "user.name", "dev"]);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", "initial"]);
    }

    /// Runs git in the project and expects success; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git").args(args).current_dir(self.path()).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A file's text at a revision, when it has the file.
    pub fn show(&self, rev: &str, path: &str) -> Option<String> {
        let out =
            Command::new("git").args(["show", &format!("{rev}:{path}")]).current_dir(self.path()).output().unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// What an attempt's command printed.
    pub fn stdout_of(&self, run: &str, task: &str, attempt: u32) -> String {
        std::fs::read_to_string(self.path().join(format!(".coord/runs/{run}/{task}/attempt-{attempt}/stdout.log")))
            .unwrap_or_default()
    }

    /// The brief an attempt received.
    pub fn brief_of(&self, run: &str, task: &str, attempt: u32) -> String {
        std::fs::read_to_string(self.path().join(format!(".coord/runs/{run}/{task}/attempt-{attempt}/brief.md")))
            .unwrap_or_default()
    }

    /// Runs coord and expects success; returns stdout and stderr together.
    pub fn ok_all(&self, args: &[&str]) -> String {
        let out = self.coord(args);
        let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "coord {args:?} failed ({:?})\nstdout:\n{o}\nstderr:\n{e}", out.status);
        format!("{o}{e}")
    }

    /// `coord status RUN --json` parsed.
    pub fn status(&self, run: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", run, "--json"])).unwrap()
    }

    /// The state of each task of a run.
    pub fn states(&self, run: &str) -> Vec<(String, String)> {
        self.status(run)["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["task_id"].as_str().unwrap().to_string(), t["state"].as_str().unwrap().to_string()))
            .collect()
    }

    /// The id of the only run.
    pub fn only_run(&self) -> String {
        let runs: serde_json::Value = serde_json::from_str(&self.ok(&["status", "--json"])).unwrap();
        let runs = runs.as_array().unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        runs[0]["id"].as_str().unwrap().to_string()
    }
}

/// A plan file of `n` independent tasks for one specialist, plus an optional chain.
pub fn plan_json(tasks: &[(&str, &str, &[&str])]) -> String {
    let tasks: Vec<serde_json::Value> = tasks
        .iter()
        .map(|(id, specialist, deps)| serde_json::json!({ "id": id, "title": format!("task {id}"), "specialist": specialist, "depends_on": deps }))
        .collect();
    serde_json::json!({ "objective": "integration test", "tasks": tasks }).to_string()
}

/// The PostgreSQL database the tests use: `COORD_TEST_PG`, else the local server's `test`.
pub fn pg_base_url() -> String {
    std::env::var("COORD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Runs a future on the tests' one runtime (a store's pool lives on the runtime that opened it,
/// so every call of a test must use the same one).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap())
        .block_on(f)
}

/// A throwaway schema of the test database; its URL selects it; dropped with the value.
pub fn pg_schema(prefix: &str) -> coord_store::ScratchSchema {
    block_on(coord_store::ScratchSchema::create(&pg_base_url(), prefix))
        .unwrap_or_else(|e| panic!("the PostgreSQL tests need a server (set COORD_TEST_PG to another one): {e}"))
}

/// A process a test started in the background, killed when dropped (a failing test leaves
/// nothing running).
pub struct Background {
    pub child: std::process::Child,
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `coord worker` process in the project, its stderr kept in a file.
pub struct Worker {
    pub child: std::process::Child,
    pub stderr: PathBuf,
}

impl Worker {
    /// Starts `coord worker --db URL` with `extra` arguments.
    pub fn start(p: &Project, url: &str, extra: &[&str]) -> Worker {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let stderr = p.path().join(format!("worker-{}.log", N.fetch_add(1, Ordering::Relaxed)));
        let child = Command::new(env!("CARGO_BIN_EXE_coord"))
            .args(["worker", "--db", url, "--quiet", "--poll-ms", "200"])
            .args(extra)
            .current_dir(p.path())
            .env_remove("COORD_DB")
            .env_remove("COORD_DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Worker { child, stderr }
    }

    /// Its lease owner name (a child lives in this process's host, boot and PID namespace).
    pub fn owner(&self) -> String {
        coord_runtime::owner::owner_name(self.child.id(), coord_runtime::owner::Place::here())
    }

    /// Sends a signal.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// What it wrote on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, then waits up to `secs` for it to exit; returns whether it did.
    pub fn stop(&mut self, secs: u64) -> bool {
        if self.child.try_wait().unwrap().is_some() {
            return true;
        }
        self.signal(nix::sys::signal::Signal::SIGTERM);
        wait_for(secs, || self.child.try_wait().unwrap().is_some())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
pub fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// Polls `cond` every 50 ms for up to `secs`; returns whether it became true.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    cond()
}

/// Processes whose command line holds `marker` (agents a test started, found wherever their
/// PID namespace puts them).
pub fn processes_with(marker: &str) -> Vec<String> {
    use std::io::Read;
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let mut cmdline = String::new();
        if let Ok(mut f) = std::fs::File::open(e.path().join("cmdline")) {
            let _ = f.read_to_string(&mut cmdline);
        }
        if cmdline.contains(marker) && !cmdline.contains("cargo") {
            out.push(cmdline.replace('\0', " "));
        }
    }
    out
}

/// Starts `coord run --plan PLAN` and then `coord resume RUN` over and over, killing each with
/// SIGKILL after a random moment (`min_ms` plus up to `spread_ms`, from `seed`), until `kills`
/// kills were made or the run finished; `after_kill` is called after each kill. Finishes the
/// run without interruption and returns its id and the number of kills.
pub fn kill_storm(
    p: &Project,
    plan: &str,
    seed: u64,
    (min_ms, spread_ms): (u64, u64),
    kills: usize,
    mut after_kill: impl FnMut(usize),
) -> (String, usize) {
    use std::process::Stdio;
    let mut seed = seed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut run: Option<String> = None;
    let mut made = 0;
    while made < kills {
        let args: Vec<String> = match &run {
            None => vec!["run".into(), "--plan".into(), plan.into(), "--json".into()],
            Some(r) => vec!["resume".into(), r.clone(), "--json".into()],
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_coord"))
            .args(&args)
            .current_dir(p.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(min_ms + next() % spread_ms.max(1)));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
            made += 1;
        }
        let _ = child.wait();
        if !finished {
            after_kill(made);
        }
        if run.is_none() {
            let runs: serde_json::Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
            run = runs.as_array().unwrap().first().map(|r| r["id"].as_str().unwrap().to_string());
        }
        if let Some(r) = &run
            && p.status(r)["state"] == "done"
        {
            break;
        }
    }
    let run = run.expect("a run was created");
    if p.status(&run)["state"] != "done" {
        p.ok(&["resume", &run, "--json"]);
    }
    (run, made)
}

/// A chat completion as the OpenAI wire format streams it (`"stream": true`): a delta with the
/// text and tool calls, the finish reason, the usage chunk, `[DONE]`.
pub fn openai_sse(v: &serde_json::Value) -> String {
    let choice = &v["choices"][0];
    let msg = &choice["message"];
    let mut delta = serde_json::json!({ "role": "assistant" });
    if let Some(t) = msg["content"].as_str() {
        delta["content"] = t.into();
    }
    if let Some(calls) = msg["tool_calls"].as_array() {
        delta["tool_calls"] = calls
            .iter()
            .enumerate()
            .map(|(i, c)| serde_json::json!({ "index": i, "id": c["id"], "type": "function", "function": c["function"] }))
            .collect();
    }
    let model = &v["model"];
    let chunks = [
        serde_json::json!({ "id": "s", "object": "chat.completion.chunk", "model": model, "choices": [{ "index": 0, "delta": delta, "finish_reason": null }] }),
        serde_json::json!({ "id": "s", "object": "chat.completion.chunk", "model": model, "choices": [{ "index": 0, "delta": {}, "finish_reason": choice["finish_reason"] }] }),
        serde_json::json!({ "id": "s", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": v["usage"] }),
    ];
    chunks.iter().map(|c| format!("data: {c}\n\n")).collect::<String>() + "data: [DONE]\n\n"
}

/// The answer of a scripted OpenAI-format model to a request: streamed when it asked for a
/// stream, one JSON document otherwise.
pub fn openai_reply(request: &str, completion: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    let streamed = serde_json::from_str::<serde_json::Value>(request)
        .ok()
        .and_then(|r| r.get("stream").and_then(|s| s.as_bool()))
        .unwrap_or(false);
    if streamed {
        ([(axum::http::header::CONTENT_TYPE, "text/event-stream")], openai_sse(&completion)).into_response()
    } else {
        axum::Json(completion).into_response()
    }
}
