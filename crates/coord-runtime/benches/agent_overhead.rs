//! `cargo bench -p coord-runtime --bench agent_overhead`: what an agent CLI adapter adds around
//! its CLI. For each adapter, the fake CLI of `crates/coord/tests/fake-agents/` (it prints the
//! CLI's documented event stream and writes one file) runs 40 times directly (its program,
//! arguments and brief on stdin: the floor), then 40 times through the adapter (command line,
//! version (asked once), process group, captured and redacted output, parsing the events,
//! writing `agent.json` and `transcript.json`). Prints the median and p95 of each and of the
//! difference, the adapter's overhead. Unconfined: the sandbox's own cost is `cargo bench -p coord
//! --bench sandbox`.
//!
//! Prints figures; asserts nothing about time. Target (issue #14): under 20 ms of overhead.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: any failure is the run's answer

use coord_runtime::config::SandboxMode;
use coord_runtime::executor::agent::{AgentCli, AgentExecutor};
use coord_runtime::executor::confine::Confinement;
use coord_runtime::executor::{Executor, Job, Outcome};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RUNS: usize = 40;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn job(workspace: &Path, attempt_dir: PathBuf, n: usize) -> Job {
    Job {
        run_id: "run-bench".into(),
        task_id: format!("t{n}"),
        attempt: 1,
        specialist: "nodejs-expert".into(),
        brief: "DELEGATION TO: @nodejs-expert\nTASK: add GET /health\n".repeat(40),
        workspace: workspace.to_path_buf(),
        attempt_dir,
        idempotency_key: format!("run-bench/t{n}/1"),
        timeout: Duration::from_secs(60),
        estimate_hours: 1.0,
        workflow: None,
        readable: Vec::new(),
        run_cap: None,
    }
}

fn main() {
    let fakes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../coord/tests/fake-agents");
    let dir = tempfile::tempdir().unwrap();
    println!("adapter overhead, {RUNS} runs each (ms): direct run of the fake CLI, through the adapter, difference");
    for cli in AgentCli::ALL {
        let program = fakes.join(cli.program()).canonicalize().unwrap().display().to_string();
        let workspace = dir.path().join(cli.name());
        std::fs::create_dir_all(&workspace).unwrap();
        let confinement = Confinement { mode: SandboxMode::Off, ..Confinement::default() };
        let exec = AgentExecutor::new(
            cli,
            std::slice::from_ref(&program),
            "You are a Node.js expert.".into(),
            None,
            Vec::new(),
            None,
            confinement,
        );
        // The floor: the same program, the same arguments, the brief on stdin, output read.
        let argv = cli.argv(&coord_runtime::executor::agent::Invocation {
            program: &program,
            persona: "You are a Node.js expert.",
            model: None,
            read_only: false,
            tools: &[],
            resume: None,
            max_turns: None,
            extra: &[],
            max_budget_usd: None,
        });
        let brief_file = dir.path().join("brief.md");
        let sample = job(&workspace, dir.path().join("x"), 0);
        std::fs::write(&brief_file, &sample.brief).unwrap();
        let argv: Vec<String> =
            argv.iter().map(|a| a.replace("{brief_file}", &brief_file.display().to_string())).collect();
        let mut direct = Vec::new();
        let mut through = Vec::new();
        for n in 0..RUNS {
            let t = Instant::now();
            let mut child = std::process::Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(&workspace)
                .env("COORD_TASK_ID", format!("d{n}"))
                .env("COORD_ATTEMPT", "1")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(sample.brief.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            direct.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // The version is asked once per executor: that first call is not timed.
        rt.block_on(exec.execute(&job(&workspace, dir.path().join(format!("{}-warm", cli.name())), 999)));
        for n in 0..RUNS {
            let j = job(&workspace, dir.path().join(format!("{}-{n}", cli.name())), n);
            let t = Instant::now();
            let out = rt.block_on(exec.execute(&j));
            through.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(matches!(out, Outcome::Succeeded { .. }), "{}: {out:?}", cli.name());
        }
        direct.sort_by(f64::total_cmp);
        through.sort_by(f64::total_cmp);
        let (d50, d95) = (percentile(&direct, 0.5), percentile(&direct, 0.95));
        let (a50, a95) = (percentile(&through, 0.5), percentile(&through, 0.95));
        println!(
            "{:<12} direct median {d50:6.1} p95 {d95:6.1} | adapter median {a50:6.1} p95 {a95:6.1} | overhead median {:5.1} p95 {:5.1}",
            cli.name(),
            a50 - d50,
            a95 - d95
        );
    }
}
