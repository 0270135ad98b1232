//! `cargo bench -p coord-runtime --bench run`: the scheduler and the SQLite store under load.
//!
//! 1. 10,000 tasks in a DAG 100 wide, executed by the bench-only no-op executor, every
//!    transition persisted (SQLite WAL, synchronous = NORMAL): tasks per second and peak memory.
//! 2. 200 tasks with simulated durations (the bench-only sleep executor) under `--parallel 8`:
//!    makespan divided by the lower bound max(critical path, total work / 8).
//!
//! Prints figures; asserts nothing about time. Targets (issue #3): ≥ 10,000 tasks/s, < 100 MB
//! peak memory, makespan within 5% of the lower bound.

use coord_core::{Plan, Task, dag};
use coord_runtime::config::{ExecutorKind, SpecialistConfig};
use coord_runtime::{Config, Runtime};
use coord_store::{NewRun, SqliteStore, Store};
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `layers` × `width` tasks; each depends on two tasks of the layer before.
fn wide_plan(layers: usize, width: usize, rng: &mut Rng, hours: impl Fn(&mut Rng) -> f64) -> Plan {
    let mut plan = Plan::new("benchmark");
    for l in 0..layers {
        for w in 0..width {
            let mut t = Task::new(format!("l{l}-w{w}"), "bench task", "nodejs-expert");
            t.estimate_hours = hours(rng);
            if l > 0 {
                let a = (rng.next() % width as u64) as usize;
                let b = (rng.next() % width as u64) as usize;
                t.depends_on.push(format!("l{}-w{a}", l - 1));
                if b != a {
                    t.depends_on.push(format!("l{}-w{b}", l - 1));
                }
            }
            plan.tasks.push(t);
        }
    }
    plan
}

fn config(kind: ExecutorKind, parallel: usize, ms_per_hour: Option<u64>) -> Config {
    let mut c = Config::default();
    c.run.parallel = parallel;
    c.specialists.insert(
        "*".into(),
        SpecialistConfig { executor: kind, sleep_ms_per_hour: ms_per_hour, ..SpecialistConfig::default() },
    );
    c
}

/// What one benchmark run measured.
struct Measured {
    secs: f64,
    critical_hours: f64,
    total_hours: f64,
    tasks: usize,
}

async fn drive(plan: Plan, config: Config, dir: &std::path::Path) -> Measured {
    let roster = coord_agents::builtin_roster();
    let valid = match dag::validate(plan, |_| true) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("bench plan invalid: {e}");
            std::process::exit(1);
        }
    };
    let critical_hours = valid.plan().critical_path_hours;
    let total_hours: f64 = valid.plan().tasks.iter().map(|t| t.estimate_hours).sum();
    let n = valid.plan().tasks.len();
    let store = match SqliteStore::open(&dir.join("bench.db")).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot open the bench store: {e}");
            std::process::exit(1);
        }
    };
    let run = NewRun::from_plan("bench", &valid).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let created = Instant::now();
    if let Err(e) = store.create_run(&run, coord_runtime::now_ms()).await {
        eprintln!("{e}");
        std::process::exit(1);
    }
    eprintln!("  created the run ({n} tasks) in {:.0} ms", created.elapsed().as_secs_f64() * 1e3);
    let runtime = Runtime::new(store.clone(), roster, config, dir.to_path_buf(), dir.join("runs"));
    let (_tx, rx) = tokio::sync::watch::channel(coord_runtime::Halt::Go);
    let started = Instant::now();
    let report = runtime.drive("bench", rx, &()).await;
    let elapsed = started.elapsed().as_secs_f64();
    match report {
        Ok(r) if r.state == "done" => {}
        Ok(r) => eprintln!("  the run ended {}: {:?}", r.state, r.tasks),
        Err(e) => eprintln!("  the run failed: {e}"),
    }
    Measured { secs: elapsed, critical_hours, total_hours, tasks: n }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("run: bench");
        return;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let dir = std::env::temp_dir().join(format!("coord-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(dir.join("a"));
    let _ = std::fs::create_dir_all(dir.join("b"));

    println!("1) 10,000 no-op tasks (bench-only executor), DAG 100 wide, SQLite WAL synchronous=NORMAL, parallel 100:");
    let mut rng = Rng(7);
    let plan = wide_plan(100, 100, &mut rng, |_| 1.0);
    let m = rt.block_on(drive(plan, config(ExecutorKind::Noop, 100, None), &dir.join("a")));
    println!(
        "   {:.0} tasks/s ({} tasks in {:.2} s), peak memory {:.1} MB",
        m.tasks as f64 / m.secs,
        m.tasks,
        m.secs,
        peak_rss_mb()
    );

    println!(
        "2) 200 tasks with simulated durations (bench-only sleep executor, 20 ms per estimated hour), parallel 8:"
    );
    let mut rng = Rng(11);
    let plan = wide_plan(20, 10, &mut rng, |r| 1.0 + (r.next() % 8) as f64);
    let m = rt.block_on(drive(plan, config(ExecutorKind::Sleep, 8, Some(20)), &dir.join("b")));
    let (secs, critical_hours, total_hours) = (m.secs, m.critical_hours, m.total_hours);
    let bound = (critical_hours * 0.020).max(total_hours * 0.020 / 8.0);
    println!(
        "   makespan {:.3} s, lower bound {:.3} s (critical path {:.3} s, total work / 8 = {:.3} s): ratio {:.3}",
        secs,
        bound,
        critical_hours * 0.020,
        total_hours * 0.020 / 8.0,
        secs / bound
    );
    let _ = std::fs::remove_dir_all(&dir);
}
