//! Load benchmark of `coord serve`'s API from a second process on loopback.
//!
//! `cargo bench -p coord-server --bench load` starts this same binary again as the server (a
//! SQLite store in a temporary folder, every specialist manual, no rate limit), then, from this
//! process, sends requests open-loop at a fixed rate (latency is measured from each request's
//! scheduled time, so a stall is not hidden by sending less) for:
//! - `GET /runs/{id}/tasks` on a run of the spec's example (8 tasks);
//! - `POST /runs/{id}/tasks/{task}/complete` on runs of 10 independent manual tasks (each
//!   request claims and completes a different task — two write transactions — and answers with
//!   the run's ready tasks), at the same rate and at half of it;
//!
//! then `GET /runs/{id}/tasks` closed-loop with 32 connections for the highest rate.
//! Prints requests/s, p50, p99 and max latency, and errors. Set `COORD_BENCH_RATE` and
//! `COORD_BENCH_SECS` to change the rate (default 1000/s) and the length (default 5 s).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROLE: &str = "COORD_BENCH_ROLE";

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("server") {
        return server();
    }
    let rate: u64 = std::env::var("COORD_BENCH_RATE").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let secs: u64 = std::env::var("COORD_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "server")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = format!("http://{}", line.trim());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(client(&base, rate, secs));
    let _ = child.kill();
    let _ = child.wait();
}

/// The server process: prints its address, serves until killed.
fn server() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = coord_store::SqliteStore::open(&dir.path().join("coord.db")).await.unwrap();
        let runs_dir = dir.path().join("runs");
        let runtime = coord_runtime::Runtime::new(
            store,
            coord_agents::builtin_roster(),
            coord_runtime::Config::default(),
            dir.path().to_path_buf(),
            runs_dir.clone(),
        );
        let state = coord_server::AppState::new(runtime, runs_dir);
        let options = coord_server::Options {
            addr: "127.0.0.1:0".parse().unwrap(),
            rate_per_sec: u32::MAX,
            rate_burst: u32::MAX,
            max_body: 16 * 1024 * 1024,
            ..Default::default()
        };
        let listener = coord_server::bind(&options).await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        coord_server::serve(listener, state, options, std::future::pending()).await.unwrap();
    });
}

struct Stats {
    name: String,
    latencies: Vec<Duration>,
    errors: usize,
    wall: Duration,
}

impl Stats {
    fn print(mut self) {
        self.latencies.sort();
        let n = self.latencies.len();
        let at = |q: f64| {
            self.latencies.get(((n as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default()
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<46} {:>7} req {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   errors {}",
            self.name,
            n,
            n as f64 / self.wall.as_secs_f64(),
            ms(at(0.50)),
            ms(at(0.99)),
            ms(at(1.0)),
            self.errors
        );
    }
}

/// Sends `requests` at `rate` per second; each latency runs from its scheduled time.
async fn open_loop(name: &str, http: &reqwest::Client, requests: Vec<reqwest::Request>, rate: u64) -> Stats {
    let every = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(requests.len());
    for (i, request) in requests.into_iter().enumerate() {
        let due = started + every * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let ok = match http.execute(request).await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed(), ok)
        }));
    }
    let mut stats = Stats { name: name.to_string(), latencies: Vec::new(), errors: 0, wall: Duration::ZERO };
    for t in tasks {
        let (latency, ok) = t.await.unwrap();
        stats.latencies.push(latency);
        stats.errors += usize::from(!ok);
    }
    stats.wall = started.elapsed();
    stats
}

async fn closed_loop(name: &str, http: &reqwest::Client, url: &str, connections: usize, secs: u64) -> Stats {
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (http, url) = (http.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < until {
                let t = Instant::now();
                let ok = match http.get(&url).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                lat.push(t.elapsed());
                errors += usize::from(!ok);
            }
            (lat, errors)
        }));
    }
    let mut stats = Stats { name: name.to_string(), latencies: Vec::new(), errors: 0, wall: Duration::ZERO };
    for t in tasks {
        let (lat, errors) = t.await.unwrap();
        stats.latencies.extend(lat);
        stats.errors += errors;
    }
    stats.wall = started.elapsed();
    stats
}

async fn client(base: &str, rate: u64, secs: u64) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let http = Arc::new(http);
    let total = (rate * secs) as usize;
    println!("coord serve on {base}; open loop at {rate} req/s for {secs} s per scenario (release build, SQLite WAL)");

    // The spec's example, for the task list.
    let created: Value = http
        .post(format!("{base}/runs"))
        .json(&json!({ "objective": "Add user authentication system with OAuth2 and JWT", "planner": "rules" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = created["run"]["id"].as_str().unwrap().to_string();
    let list_url = format!("{base}/runs/{run}/tasks");
    // Warm up connections and caches.
    for _ in 0..200 {
        http.get(&list_url).send().await.unwrap().bytes().await.unwrap();
    }
    let requests = (0..total).map(|_| http.get(&list_url).build().unwrap()).collect();
    open_loop("GET /runs/{id}/tasks (8 tasks)", &http, requests, rate).await.print();

    // Runs of 100 independent manual tasks, one completion per task.
    let per_run = 10;
    let mut targets = Vec::new();
    for r in 0..(total + total / 2).div_ceil(per_run) {
        let tasks: Vec<Value> = (0..per_run)
            .map(|i| json!({ "id": format!("t{i:03}"), "title": format!("task {i}"), "specialist": "nodejs-expert" }))
            .collect();
        let plan = json!({ "objective": format!("load {r}"), "tasks": tasks });
        let created: Value = http
            .post(format!("{base}/runs"))
            .json(&json!({ "plan": plan }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["run"]["id"].as_str().unwrap().to_string();
        targets.extend((0..per_run).map(|i| format!("{base}/runs/{id}/tasks/t{i:03}/complete")));
    }
    targets.truncate(total + total / 2);
    let body = json!({ "note": "done" }).to_string();
    let requests: Vec<reqwest::Request> = targets
        .iter()
        .map(|url| http.post(url).header("content-type", "application/json").body(body.clone()).build().unwrap())
        .collect();
    let mut first: Vec<reqwest::Request> = requests;
    let second = first.split_off(total.min(first.len()));
    open_loop(&format!("POST .../complete at {rate}/s"), &http, first, rate).await.print();
    open_loop(&format!("POST .../complete at {}/s", rate / 2), &http, second, rate / 2).await.print();

    closed_loop("GET /runs/{id}/tasks, 32 connections, closed loop", &http, &list_url, 32, secs.min(3)).await.print();
}
