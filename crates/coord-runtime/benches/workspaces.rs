//! `cargo bench -p coord-runtime --bench workspaces`: what a branch per task costs, and what it
//! buys.
//!
//! 1. Overhead per task on a repository of 10,000 files: preparing the task's worktree (from
//!    its dependencies' results), committing what the agent left and merging the result into
//!    the integration branch, for 60 tasks in three layers of 20 (each on one or two tasks of
//!    the layer before), one after another. The agent's own work (one file) is not timed.
//!    Median and p95, and the first task apart (it creates the first worktree; later tasks
//!    reuse parked ones).
//! 2. The spec's example (8 tasks) with scripted agents that take 0.3 s and all append to the
//!    same file besides writing their own (then, for contrast, agents that write only their own): `coord run` with 4 in parallel in a git repository
//!    (conflicts are sent back and resolved) against the same agents one after another in one
//!    folder. Wall time and conflicts escalated. The agents run unconfined here (the sandbox's
//!    own cost is `cargo bench -p coord --bench sandbox`).
//!
//! Prints figures; asserts nothing about time. Target (issue #12): under 150 ms per task at the
//! median.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: any failure is the run's answer

use coord_core::{Plan, Task, dag};
use coord_runtime::config::{ExecutorKind, SpecialistConfig};
use coord_runtime::workspace::{Integrated, Prepared, Workspaces};
use coord_runtime::{Config, Runtime};
use coord_store::{Finish, NewRun, SqliteStore, Store};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn repo_of(dir: &Path, files: usize) {
    for i in 0..files {
        let sub = dir.join(format!("src/m{:03}", i / 100));
        std::fs::create_dir_all(&sub).expect("folder");
        std::fs::write(sub.join(format!("f{i:05}.js")), format!("module.exports = {i};\n")).expect("file");
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["-c", "user.name=b", "-c", "user.email=b@b", "add", "-A"]);
    git(dir, &["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "10k files"]);
}

fn layered_plan() -> Plan {
    let mut plan = Plan::new("workspace overhead");
    for l in 0..3 {
        for w in 0..20 {
            let mut t = Task::new(format!("l{l}-w{w}"), "bench task", "nodejs-expert");
            if l > 0 {
                t.depends_on.push(format!("l{}-w{w}", l - 1));
                t.depends_on.push(format!("l{}-w{}", l - 1, (w + 7) % 20));
            }
            plan.tasks.push(t);
        }
    }
    plan
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn overhead() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    repo_of(dir, 10_000);
    let store = SqliteStore::open(&dir.join(".coord/coord.db")).await.expect("store");
    let plan = dag::validate(layered_plan(), |_| true).unwrap_or_else(|e| panic!("{e}"));
    let ws = Workspaces::open(dir);
    ws.begin_run(&store, "bench").await.expect("run start");
    store.create_run(&NewRun::from_plan("bench", &plan).expect("new run"), 0).await.expect("create");
    let mut costs = Vec::new();
    let mut first = None;
    loop {
        let claims = store.claim("bench", "bench", 1, 600_000, coord_runtime::now_ms(), None).await.expect("claim");
        let Some(claim) = claims.into_iter().next() else { break };
        let t0 = Instant::now();
        let prepared = ws.prepare(&store, &claim, plan.plan()).await.expect("prepare");
        let prep = t0.elapsed();
        let Prepared::Ready { dir: wt, .. } = &prepared else { panic!("nothing to recover") };
        std::fs::write(wt.join(format!("{}.txt", claim.task_id)), "work\n").expect("agent's file");
        let t1 = Instant::now();
        ws.commit(&store, &claim, &prepared, "succeeded", &coord_runtime::workspace::protect::nothing)
            .await
            .expect("commit");
        match ws.integrate(&store, &claim).await.expect("merge") {
            Integrated::Merged(_) => {}
            other => panic!("{other:?}"),
        }
        let ms = (prep + t1.elapsed()).as_secs_f64() * 1000.0;
        if first.is_none() {
            first = Some(ms);
        } else {
            costs.push(ms);
        }
        store.finish(&claim, &Finish::Done { detail: "{}".into() }, coord_runtime::now_ms()).await.expect("finish");
    }
    ws.remove_idle().await;
    costs.sort_by(f64::total_cmp);
    println!("workspace overhead per task, 10,000-file repository, {} tasks after the first:", costs.len());
    println!(
        "  prepare + commit + merge: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; first task (new worktree) {:.1} ms",
        percentile(&costs, 0.5),
        percentile(&costs, 0.95),
        costs.last().copied().unwrap_or(0.0),
        first.unwrap_or(0.0)
    );
}

/// The agent: a shared file every task appends to (resolving conflict markers by keeping both
/// sides), its own file, and 0.3 s of "work".
const AGENT: &str = "sleep 0.3; if grep -q '^<<<<<<<' routes.txt 2>/dev/null; then \
    grep -v '^<<<<<<<\\|^=======\\|^>>>>>>>' routes.txt > r.tmp && mv r.tmp routes.txt; \
    else echo \"route of $COORD_TASK_ID\" >> routes.txt; fi; echo done > own-$COORD_TASK_ID.txt";

/// The same agents, each writing only its own file.
const OWN_FILES: &str = "sleep 0.3; echo done > own-$COORD_TASK_ID.txt";

async fn example(git_mode: bool, parallel: usize, agent: &str) -> (f64, usize, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    std::fs::write(dir.join("routes.txt"), "routes\n").expect("file");
    if git_mode {
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["-c", "user.name=b", "-c", "user.email=b@b", "add", "-A"]);
        git(dir, &["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "start"]);
    }
    let roster = coord_agents::builtin_roster();
    let input = coord_plan::PlanInput {
        objective: "Add user authentication system with OAuth2 and JWT",
        repo: None,
        stack: None,
        workflows: false,
    };
    let plan = coord_plan::plan_objective(&input, &coord_plan::RulePlanner::default(), &roster).expect("plan");
    let mut config = Config::default();
    config.run.parallel = parallel;
    config.escalation.backoff_base_ms = 10;
    config.escalation.backoff_max_ms = 50;
    config.specialists.insert(
        "*".into(),
        SpecialistConfig {
            executor: ExecutorKind::Command,
            command: vec!["sh".into(), "-c".into(), agent.into()],
            // This measures workspaces, not the sandbox (`cargo bench -p coord --bench sandbox`
            // does), and a library benchmark has no `coord` binary to be the trampoline.
            sandbox: coord_runtime::config::SandboxMode::Off,
            ..SpecialistConfig::default()
        },
    );
    let store = SqliteStore::open(&dir.join(".coord/coord.db")).await.expect("store");
    let started = Instant::now();
    let run = coord_runtime::start_run(
        &store,
        &roster,
        &config,
        dir,
        coord_runtime::RunSource::Plan(Box::new(plan.plan().clone())),
    )
    .await
    .expect("run");
    let rt = Runtime::new(store.clone(), roster, config, dir.to_path_buf(), dir.join(".coord/runs"));
    let (_tx, rx) = tokio::sync::watch::channel(coord_runtime::Halt::Go);
    let report = rt.drive(&run.run_id, rx, &()).await.expect("drive");
    let secs = started.elapsed().as_secs_f64();
    let events = coord_runtime::events::run_events(&store, &run.run_id).await.expect("events");
    let conflicts = events.iter().filter(|e| e.kind == "workspace" && e.data["step"] == "conflict").count();
    (secs, conflicts, report.state)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(overhead());
    for (what, agent) in [("all appending to one file", AGENT), ("each writing only its own file", OWN_FILES)] {
        let (par, conflicts, state) = rt.block_on(example(true, 4, agent));
        let (seq, _, seq_state) = rt.block_on(example(false, 1, agent));
        println!("spec example, 8 scripted agents (0.3 s each) {what}:");
        println!(
            "  branches, 4 in parallel: {par:.2} s wall, {conflicts} conflicts sent back and resolved, run {state}"
        );
        println!("  one folder, one after another: {seq:.2} s wall, run {seq_state}");
        println!("  speed-up {:.2}x", seq / par);
    }
}
