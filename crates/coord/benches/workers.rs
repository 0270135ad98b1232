//! `cargo bench -p coord --bench workers`: `coord worker` processes on the local PostgreSQL
//! against graphile-worker (npm) on the same server, the same workload, in one run.
//!
//! Workload: 20,000 independent no-op tasks (coord: one run, the bench-only `noop` executor;
//! graphile-worker: 20,000 jobs of a task that returns at once), served by 1, 2 and 4 worker
//! processes of the same concurrency. coord runs twice: claiming only for free slots, and with
//! `--prefetch 3×concurrency` (claimed tasks queued in the worker), the counterpart of
//! graphile-worker's "batched" settings (a local queue of 4 × concurrency, batched completions).
//! Measured:
//! - tasks/s: from the start of the enqueue (coord `create_run`, graphile-worker `add_jobs`, one
//!   statement each) to the moment the queue is seen empty (polled every 10 ms);
//! - transactions: coord's workers' own count, from their stop lines (results and claims of a
//!   tick share one);
//! - claim-to-start latency p50/p99: from the claim (coord: the attempt's `started_at`, the
//!   worker's clock at the claim; graphile-worker: the job's `locked_at`) to the task function
//!   starting, over every task.
//!
//! Prints a table; asserts nothing about time. `COORD_TEST_PG` names the database (default: the
//! local `test`); `COORD_BENCH_TASKS` and `COORD_BENCH_CONCURRENCY` change the size,
//! `COORD_BENCH_WORKERS` the worker counts (default `1,2,4`). Needs `node`
//! and `npm` (graphile-worker is installed into `target/bench-peers/` on first use).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_store::{NewRun, PgStore, ScratchSchema, Store};
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GRAPHILE_WORKER: &str = "graphile-worker@0.17.3";

struct Measured {
    system: String,
    workers: usize,
    secs: f64,
    p50: f64,
    p99: f64,
    /// coord: the transactions the workers report when they stop (results and claims share one).
    transactions: Option<u64>,
}

fn fail(what: impl std::fmt::Display) -> ! {
    eprintln!("bench: {what}");
    std::process::exit(1);
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn terminate(children: &mut [Child]) {
    for c in children.iter() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGTERM);
    }
    for c in children.iter_mut() {
        let _ = c.wait();
    }
}

/// coord: `workers` × `coord worker --concurrency c`, one run of `n` no-op tasks.
fn coord_once(
    rt: &tokio::runtime::Runtime,
    base: &str,
    n: usize,
    workers: usize,
    c: usize,
    prefetch: usize,
) -> Measured {
    let schema = rt.block_on(ScratchSchema::create(base, "bench")).unwrap_or_else(|e| fail(e));
    let url = schema.url();
    let store = rt.block_on(PgStore::connect(&url)).unwrap_or_else(|e| fail(e));
    let project = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    std::fs::write(
        project.path().join("coord.toml"),
        "[run]\nlease_secs = 60\n[specialists.\"*\"]\nexecutor = \"noop\"\n",
    )
    .unwrap_or_else(|e| fail(e));
    // Each worker's stop line ("... N transactions of ...") goes to its own file.
    let logs: Vec<PathBuf> = (0..workers).map(|i| project.path().join(format!("worker-{i}.err"))).collect();
    let mut children: Vec<Child> = logs
        .iter()
        .map(|log| {
            Command::new(env!("CARGO_BIN_EXE_coord"))
                .args(["worker", "--db", &url, "--quiet", "--concurrency", &c.to_string()])
                .args(["--prefetch", &prefetch.to_string()])
                .current_dir(project.path())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(log).unwrap_or_else(|e| fail(e)))
                .spawn()
                .unwrap_or_else(|e| fail(format!("cannot start coord worker: {e}")))
        })
        .collect();
    if !wait_until(Duration::from_secs(60), || {
        rt.block_on(store.workers()).map(|w| w.len() == workers).unwrap_or(false)
    }) {
        fail("the coord workers did not register");
    }
    let mut plan = coord_core::Plan::new("bench");
    for i in 0..n {
        plan.tasks.push(coord_core::Task::new(format!("t{i}"), "no-op", "nodejs-expert"));
    }
    let valid = coord_core::dag::validate(plan, |_| true).unwrap_or_else(|e| fail(e));
    let run = NewRun::from_plan("bench", &valid).unwrap_or_else(|e| fail(e));
    let started = Instant::now();
    rt.block_on(store.create_run(&run, coord_runtime::now_ms())).unwrap_or_else(|e| fail(e));
    let finished = wait_until(Duration::from_secs(600), || {
        rt.block_on(store.run("bench")).map(|r| r.state == coord_store::RunState::Done).unwrap_or(false)
    });
    let secs = started.elapsed().as_secs_f64();
    if !finished {
        fail("the coord run did not finish in 10 minutes");
    }
    terminate(&mut children);
    let transactions = logs
        .iter()
        .map(|log| {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            text.split(" transactions of ")
                .next()
                .and_then(|head| head.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| fail(format!("no stop line from a coord worker: {text}")))
        })
        .sum();
    let pool = rt.block_on(sqlx::PgPool::connect(&url)).unwrap_or_else(|e| fail(e));
    let rows = rt
        .block_on(sqlx::query("SELECT started_at, detail FROM attempts WHERE outcome = 'succeeded'").fetch_all(&pool))
        .unwrap_or_else(|e| fail(e));
    let mut lat: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            let claimed: i64 = r.try_get("started_at").ok()?;
            let detail: String = r.try_get("detail").ok()?;
            let summary = serde_json::from_str::<serde_json::Value>(&detail).ok()?["summary"].as_str()?.to_string();
            let start: i64 = summary.split("started_at_ms=").nth(1)?.trim().parse().ok()?;
            Some((start - claimed) as f64)
        })
        .collect();
    if lat.len() != n {
        fail(format!("expected {n} successful attempts with a start time, found {}", lat.len()));
    }
    lat.sort_by(f64::total_cmp);
    rt.block_on(pool.close());
    rt.block_on(store.close());
    let system =
        if prefetch == 0 { "coord worker".to_string() } else { format!("coord worker (--prefetch {prefetch})") };
    Measured {
        system,
        workers,
        secs,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        transactions: Some(transactions),
    }
}

/// Installs graphile-worker into `target/bench-peers/graphile-worker` unless it is there.
fn install_peer(target: &Path) -> PathBuf {
    let dir = target.join("bench-peers").join("graphile-worker");
    if dir.join("node_modules/graphile-worker/package.json").exists() {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(e));
    std::fs::write(dir.join("package.json"), "{\"name\":\"coord-bench-peer\",\"private\":true}\n")
        .unwrap_or_else(|e| fail(e));
    eprintln!("bench: installing {GRAPHILE_WORKER} from npm into {}", dir.display());
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", GRAPHILE_WORKER])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| fail(format!("cannot run npm: {e}")));
    if !out.status.success() {
        fail(format!("npm install {GRAPHILE_WORKER} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    dir
}

/// graphile-worker: `workers` processes of concurrency `c`, `n` no-op jobs.
fn peer_once(
    rt: &tokio::runtime::Runtime,
    base: &str,
    peer: &Path,
    n: usize,
    workers: usize,
    c: usize,
    batching: &str,
) -> Measured {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/graphile_worker.mjs");
    // The script must resolve graphile-worker from the peer folder: run a copy there.
    let local = peer.join("graphile_worker.mjs");
    std::fs::copy(&script, &local).unwrap_or_else(|e| fail(e));
    let schema = format!("coord_bench_gw_{}_{workers}_{batching}", std::process::id());
    let node = |args: &[&str]| {
        let mut c = Command::new("node");
        c.arg(&local).args(args).current_dir(peer);
        c
    };
    let out = node(&["migrate", base, &schema]).output().unwrap_or_else(|e| fail(format!("cannot run node: {e}")));
    if !out.status.success() {
        fail(format!("graphile-worker migrations failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let outs: Vec<PathBuf> =
        (0..workers).map(|i| peer.join(format!("latency-{}-{i}.json", std::process::id()))).collect();
    let mut children: Vec<Child> = outs
        .iter()
        .map(|o| {
            node(&["work", base, &schema, &c.to_string(), batching, &o.display().to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap_or_else(|e| fail(format!("cannot run node: {e}")))
        })
        .collect();
    for child in &mut children {
        let Some(stdout) = child.stdout.take() else { fail("no stdout from the peer") };
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        if line.trim() != "ready" {
            fail(format!("the graphile-worker process did not start: {line}"));
        }
    }
    let pool = rt.block_on(sqlx::PgPool::connect(base)).unwrap_or_else(|e| fail(e));
    let add = format!(
        "SELECT count(*) FROM {schema}.add_jobs(ARRAY(SELECT ROW('noop', json_build_object('i', i), NULL, NULL, NULL, NULL, NULL, NULL)::{schema}.job_spec FROM generate_series(1, $1) AS i))"
    );
    let count = format!("SELECT count(*) FROM {schema}._private_jobs");
    let started = Instant::now();
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(add)).bind(n as i32).fetch_one(&pool)).unwrap_or_else(|e| fail(e));
    let finished = wait_until(Duration::from_secs(600), || {
        rt.block_on(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count.clone())).fetch_one(&pool))
            .map(|left| left == 0)
            .unwrap_or(false)
    });
    let secs = started.elapsed().as_secs_f64();
    if !finished {
        fail("graphile-worker did not finish in 10 minutes");
    }
    terminate(&mut children);
    let mut lat: Vec<f64> = Vec::new();
    for o in &outs {
        let text = std::fs::read_to_string(o).unwrap_or_else(|e| fail(format!("no latencies from a peer worker: {e}")));
        lat.extend(serde_json::from_str::<Vec<f64>>(&text).unwrap_or_else(|e| fail(e)));
        let _ = std::fs::remove_file(o);
    }
    if lat.len() != n {
        fail(format!("graphile-worker ran {} jobs, expected {n}", lat.len()));
    }
    lat.sort_by(f64::total_cmp);
    rt.block_on(sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&pool))
        .unwrap_or_else(|e| fail(e));
    rt.block_on(pool.close());
    Measured {
        system: format!("graphile-worker 0.17.3 ({batching})"),
        workers,
        secs,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        transactions: None,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("workers: bench");
        return;
    }
    let base = std::env::var("COORD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let n: usize = std::env::var("COORD_BENCH_TASKS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let c: usize = std::env::var("COORD_BENCH_CONCURRENCY").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap_or_else(|e| fail(e));
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let peer = install_peer(&target);
    println!(
        "{n} no-op tasks, worker processes of concurrency {c}, PostgreSQL at {}",
        base.split('@').next_back().unwrap_or(&base)
    );
    // graphile-worker opens concurrency + 2 connections per process: at concurrency 64, two
    // processes already pass PostgreSQL's default max_connections (100), so the worker counts
    // can be chosen (`COORD_BENCH_WORKERS=1`).
    let counts: Vec<usize> = std::env::var("COORD_BENCH_WORKERS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).filter(|n| *n > 0).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1, 2, 4]);
    let mut results = Vec::new();
    for workers in counts {
        results.push(coord_once(&rt, &base, n, workers, c, 0));
        // The counterpart of graphile-worker's local queue of 4 × concurrency.
        results.push(coord_once(&rt, &base, n, workers, c, 3 * c));
        results.push(peer_once(&rt, &base, &peer, n, workers, c, "defaults"));
        results.push(peer_once(&rt, &base, &peer, n, workers, c, "batched"));
        for m in &results[results.len() - 4..] {
            eprintln!("  {} × {}: {:.0} tasks/s", m.system, m.workers, n as f64 / m.secs);
        }
    }
    println!();
    println!("| system | worker processes | tasks/s | claim-to-start p50 | p99 | transactions |");
    println!("|---|---|---|---|---|---|");
    for m in &results {
        let tx = m.transactions.map_or("—".to_string(), |t| t.to_string());
        println!(
            "| {} | {} | {:.0} | {:.1} ms | {:.1} ms | {tx} |",
            m.system,
            m.workers,
            n as f64 / m.secs,
            m.p50,
            m.p99
        );
    }
}
