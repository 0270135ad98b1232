//! `cargo bench -p coord --bench dispatch`: `coord run` on its embedded SQLite store against
//! Dask's threaded scheduler (PyPI `dask`, installed into `target/bench-peers/dask-venv` on first
//! use) on the same plan file, in one run. Issue #17.
//!
//! Workloads (the plan is a DAG of `layers` × `width` tasks, each depending on two tasks of the
//! layer before, the same file for both):
//! 1. **no-op** — 10,000 tasks (100 × 100), concurrency 16: coord with the bench-only `noop`
//!    executor, every transition persisted; Dask with a Python function that returns. coord's
//!    figure is the CLI's wall time (process start, plan file, store, run, report); Dask's is
//!    graph building and execution inside an already started interpreter (it persists nothing),
//!    which favours Dask. The CLI's peak memory (`ru_maxrss`) is read from this run.
//! 2. **one process per task** — the same DAG, concurrency 8: coord's `command` executor
//!    running `true` as a reader (`writes = false`) with the sandbox off (the same isolation as
//!    Dask), then strict (the default); then as writers (the default), which take turns in a
//!    folder outside git; Dask running `subprocess.run(["true"])`.
//! 3. **makespan** — 2,000 tasks (20 × 100) of simulated durations, lognormal with median 20 ms
//!    (σ = 0.5), concurrency 8: coord's bench-only `sleep` executor, Dask's `time.sleep`;
//!    makespan divided by the lower bound max(critical path, total work / 8). coord's makespan is
//!    the drive's wall time from its report (the CLI's start-up excluded, as for Dask).
//!
//! Prints a table with the ratios; asserts nothing about time. `COORD_BENCH_REPEAT` (default 3)
//! sets the runs of each no-op measurement (the median is printed). Needs `python3` with `venv`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_core::{Plan, Task};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const DASK: &str = "dask==2024.12.1";

fn fail(what: impl std::fmt::Display) -> ! {
    eprintln!("bench: {what}");
    std::process::exit(1);
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `layers` × `width` tasks, each after two tasks of the layer before; `ms` draws a task's
/// simulated duration (stored as its estimate: one hour is one second for the sleep executor).
fn dag(layers: usize, width: usize, seed: u64, mut ms: impl FnMut(&mut Rng) -> f64) -> Plan {
    let mut rng = Rng(seed);
    let mut plan = Plan::new("dispatch benchmark");
    for l in 0..layers {
        for w in 0..width {
            let mut t = Task::new(format!("l{l}-w{w}"), "bench task", "nodejs-expert");
            t.estimate_hours = ms(&mut rng) / 1000.0;
            if l > 0 {
                let a = (rng.next() % width as u64) as usize;
                let mut b = (rng.next() % width as u64) as usize;
                if b == a {
                    b = (a + 1) % width;
                }
                t.depends_on.push(format!("l{}-w{a}", l - 1));
                if width > 1 {
                    t.depends_on.push(format!("l{}-w{b}", l - 1));
                }
            }
            plan.tasks.push(t);
        }
    }
    plan
}

/// max(critical path, total work / slots), milliseconds.
fn lower_bound_ms(plan: &Plan, slots: usize) -> f64 {
    let mut finish: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
    let mut total = 0.0;
    for t in &plan.tasks {
        // Tasks are written layer by layer, so parents come first.
        let start = t.depends_on.iter().map(|d| finish[d.as_str()]).fold(0.0, f64::max);
        let ms = t.estimate_hours * 1000.0;
        total += ms;
        finish.insert(t.id.as_str(), start + ms);
    }
    let critical = finish.values().copied().fold(0.0, f64::max);
    critical.max(total / slots as f64)
}

/// A fresh project folder holding the plan and a `coord.toml` giving every specialist `executor`.
fn project(root: &Path, name: &str, plan: &Plan, specialist: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plan.json"), serde_json::to_vec(plan).unwrap()).unwrap();
    std::fs::write(dir.join("coord.toml"), format!("[specialists.\"*\"]\n{specialist}\n")).unwrap();
    dir
}

struct CoordRun {
    /// The CLI's wall time.
    wall: f64,
    /// The drive's own wall time, from the report.
    drive: f64,
}

fn coord_run(dir: &Path, parallel: usize, tasks: usize) -> CoordRun {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json", "--json", "--parallel", &parallel.to_string()])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| fail(format!("cannot start coord: {e}")));
    let wall = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok().filter(|v| v["event"] == "report"))
        .map(|v| v["report"].clone())
        .unwrap_or_else(|| fail(format!("coord run in {} printed no report ({})", dir.display(), out.status)));
    let done = report["tasks"]["done"].as_u64().unwrap_or(0) as usize;
    if done != tasks || !out.status.success() {
        fail(format!("coord run in {}: {done} of {tasks} tasks done ({}): {report}", dir.display(), out.status));
    }
    CoordRun { wall, drive: report["wall_ms"].as_f64().unwrap_or(f64::NAN) / 1000.0 }
}

/// The python of a venv with Dask, created on first use.
fn dask_python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let venv = target.join("bench-peers").join("dask-venv");
    let python = venv.join("bin").join("python");
    let has_dask = |p: &Path| Command::new(p).args(["-c", "import dask"]).status().is_ok_and(|s| s.success());
    if !has_dask(&python) {
        eprintln!("bench: installing {DASK} into {}", venv.display());
        let ok = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().is_ok_and(|s| s.success())
            && Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", DASK])
                .status()
                .is_ok_and(|s| s.success());
        if !ok || !has_dask(&python) {
            fail(format!("could not install {DASK} into {} (python3 -m venv, pip)", venv.display()));
        }
    }
    python
}

fn dask_run(python: &Path, plan: &Path, mode: &str, workers: usize) -> f64 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/dask_dag.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(plan)
        .arg(mode)
        .arg(workers.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| fail(format!("cannot start {}: {e}", python.display())));
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|_| fail(format!("dask_dag.py {mode} failed ({}): {line}", out.status)));
    v["secs"].as_f64().unwrap_or(f64::NAN)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn peak_children_mb() -> f64 {
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => u.max_rss() as f64 / 1024.0,
        Err(_) => f64::NAN,
    }
}

struct Row {
    what: String,
    coord: String,
    peer: String,
    ratio: String,
    target: &'static str,
}

fn main() {
    let repeat: usize = std::env::var("COORD_BENCH_REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let root = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();

    // 1. No-op DAG. The first coord run is the first child of this process: its ru_maxrss is
    //    the CLI's peak memory.
    let noop = dag(100, 100, 17, |_| 1000.0);
    let n = noop.tasks.len();
    let mut coord_secs = Vec::new();
    let mut peak_mb = f64::NAN;
    for i in 0..repeat {
        let dir = project(root.path(), &format!("noop-{i}"), &noop, "executor = \"noop\"");
        coord_secs.push(coord_run(&dir, 16, n).wall);
        if i == 0 {
            peak_mb = peak_children_mb();
        }
    }
    let python = dask_python();
    let plan_file = root.path().join("noop-0").join("plan.json");
    let dask_secs: Vec<f64> = (0..repeat).map(|_| dask_run(&python, &plan_file, "noop", 16)).collect();
    let (c, d) = (n as f64 / median(coord_secs.clone()), n as f64 / median(dask_secs.clone()));
    rows.push(Row {
        what: format!("{n}-task DAG (100×100, 2 parents), no-op, concurrency 16, durable SQLite, CLI wall"),
        coord: format!("{c:.0} tasks/s"),
        peer: format!("Dask threaded {d:.0} tasks/s (in-process, persists nothing)"),
        ratio: format!("{:.2}", c / d),
        target: "≥ 1.0",
    });
    rows.push(Row {
        what: format!("peak memory of `coord run` for the {n}-task run"),
        coord: format!("{peak_mb:.0} MB"),
        peer: "—".into(),
        ratio: "—".into(),
        target: "< 64 MB",
    });

    // 2. One process per task.
    let dask_spawn = dask_run(&python, &plan_file, "spawn", 8);
    let d = n as f64 / dask_spawn;
    let variants = [
        ("off", false, "a reader (`writes = false`), sandbox off", "≥ 0.8"),
        ("strict", false, "a reader (`writes = false`), sandbox strict (the default)", "—"),
        ("strict", true, "writers (the default) taking turns in the folder, sandbox strict", "—"),
    ];
    for (i, (sandbox, writes, label, target)) in variants.into_iter().enumerate() {
        let dir = project(
            root.path(),
            &format!("spawn-{i}"),
            &noop,
            &format!("executor = \"command\"\ncommand = [\"true\"]\nwrites = {writes}\nsandbox = \"{sandbox}\""),
        );
        let c = n as f64 / coord_run(&dir, 8, n).wall;
        rows.push(Row {
            what: format!("same DAG, one process (`true`) per task, concurrency 8, {label}"),
            coord: format!("{c:.0} tasks/s"),
            peer: format!("Dask threaded spawning `true`: {d:.0} tasks/s"),
            ratio: format!("{:.2}", c / d),
            target,
        });
    }

    // 3. Makespan of short tasks.
    let short = dag(20, 100, 23, |r| 20.0 * (0.5 * r.normal()).exp());
    let bound = lower_bound_ms(&short, 8) / 1000.0;
    let dir = project(root.path(), "makespan", &short, "executor = \"sleep\"\nsleep_ms_per_hour = 1000");
    let coord = coord_run(&dir, 8, short.tasks.len());
    let dask = dask_run(&python, &dir.join("plan.json"), "sleep", 8);
    rows.push(Row {
        what: format!(
            "{} tasks, lognormal median 20 ms, concurrency 8: makespan / lower bound ({bound:.2} s)",
            short.tasks.len()
        ),
        coord: format!("{:.3} ({:.2} s; CLI wall {:.2} s)", coord.drive / bound, coord.drive, coord.wall),
        peer: format!("Dask threaded {:.3} ({dask:.2} s)", dask / bound),
        ratio: "—".into(),
        target: "≤ 1.05",
    });

    println!("| bench | coord | peer | ratio | target |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!("| {} | {} | {} | {} | {} |", r.what, r.coord, r.peer, r.ratio, r.target);
    }
    println!(
        "\n(no-op: median of {repeat} runs each: coord {:?} s, Dask {:?} s)",
        coord_secs.iter().map(|s| (s * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        dask_secs.iter().map(|s| (s * 1000.0).round() / 1000.0).collect::<Vec<_>>()
    );
}
