//! `coord worker` (serve every running run of the store until SIGTERM) and `coord workers`
//! (live workers and their leases).

use super::context::{open, tokio_runtime};
use super::signals::until_stopped;
use crate::cli::{WorkerArgs, WorkersArgs};
use anyhow::{Result, anyhow};
use coord_runtime::scheduler::ProgressEvent;
use coord_runtime::{Progress, WorkerLog, WorkerOptions, now_ms};
use coord_store::{AnyStore, Store};
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::watch;

/// A worker not seen for this long is listed as gone.
const LIVE_MS: i64 = 10_000;

/// Task events of a worker, one line each (or JSON lines); nothing with `--quiet`.
struct WorkerLines {
    lines: Option<super::progress::Lines>,
}

impl Progress for WorkerLines {
    fn on_event(&self, event: &ProgressEvent) {
        if let Some(lines) = &self.lines {
            lines.on_event(event);
        }
    }
}

/// Troubles go to stderr, prefixed, so stdout stays the task log.
struct Stderr;

impl WorkerLog for Stderr {
    fn note(&self, line: &str) {
        eprintln!("coord worker: {line}");
    }
}

/// `coord worker`: on SIGTERM or Ctrl-C it stops claiming, lets its attempts finish within the
/// grace period, then releases what is left and exits 0; a second signal exits at once (130 or
/// 143), its attempts killed and their leases left to expire or to the next coordinator of this
/// host, which sees the worker gone.
pub fn worker(args: WorkerArgs) -> Result<ExitCode> {
    let (tx, stop) = watch::channel(false);
    let grace = Duration::from_secs(args.grace_secs);
    let on_first = move |signal: super::signals::StopSignal| {
        eprintln!(
            "coord worker: {}: stop requested: finishing running attempts (up to {}s), then releasing (another signal exits at once)",
            signal.name(),
            grace.as_secs()
        );
        let _ = tx.send(true);
    };
    until_stopped(super::context::tokio_runtime()?, serve_runs(args, stop), on_first)
}

async fn serve_runs(args: WorkerArgs, stop: watch::Receiver<bool>) -> Result<ExitCode> {
    let project = open(&args.store).await?;
    let concurrency = args.concurrency.unwrap_or(project.config.run.parallel);
    if concurrency == 0 {
        return Err(anyhow!("--concurrency must be at least 1"));
    }
    if matches!(project.store, AnyStore::Sqlite(_)) {
        eprintln!(
            "coord worker: note: an SQLite store serves workers of this machine only; give --db postgres://... to share work across machines"
        );
    }
    let runtime = project.runtime();
    if let Some(why) = runtime.llm_off_reason() {
        eprintln!("coord worker: warning: {why}");
    }
    let options = WorkerOptions {
        concurrency,
        poll: Duration::from_millis(args.poll_ms.max(10)),
        grace: Duration::from_secs(args.grace_secs),
        prefetch: args.prefetch,
    };
    let owner = coord_runtime::owner_id();
    eprintln!("coord worker: {owner} serving {} ({} at once)", project.store.backend(), concurrency);
    let report = runtime
        .work(
            &options,
            stop,
            &WorkerLines { lines: (!args.quiet).then(|| super::progress::Lines::new(args.json, false)) },
            &Stderr,
        )
        .await?;
    if args.json {
        println!("{}", serde_json::json!({ "event": "stopped", "report": report }));
    } else {
        eprintln!(
            "coord worker: {} stopped: {} attempts, {} results recorded, {} refused (lease lost), {} tasks released; {} transactions of {:.1} ms mean",
            report.worker,
            report.attempts,
            report.recorded,
            report.refused,
            report.released,
            report.ticks,
            report.tick_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn ago(now: i64, at: i64) -> String {
    let s = (now - at).max(0) as f64 / 1000.0;
    if s < 120.0 { format!("{s:.0}s ago") } else { format!("{:.0}m ago", s / 60.0) }
}

/// `coord workers`.
pub fn workers(args: WorkersArgs) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let now = now_ms();
        let workers = project.store.workers().await?;
        let leases = project.store.leases().await?;
        let shown: Vec<_> = workers.iter().filter(|w| args.all || now - w.seen_at < LIVE_MS).collect();
        if args.json {
            let list: Vec<serde_json::Value> = shown
                .iter()
                .map(|w| {
                    let mine: Vec<_> = leases.iter().filter(|l| l.owner == w.info.id).collect();
                    serde_json::json!({
                        "worker": w,
                        "live": now - w.seen_at < LIVE_MS,
                        "leases": mine,
                    })
                })
                .collect();
            let others: Vec<_> = leases.iter().filter(|l| !workers.iter().any(|w| w.info.id == l.owner)).collect();
            println!("{}", serde_json::json!({ "workers": list, "other_leases": others }));
            return Ok(ExitCode::SUCCESS);
        }
        if shown.is_empty() {
            println!("no live workers (start one with: coord worker --db ...)");
        }
        for w in &shown {
            let mine: Vec<_> = leases.iter().filter(|l| l.owner == w.info.id).collect();
            let live = if now - w.seen_at < LIVE_MS { w.info.state.as_str() } else { "gone" };
            println!(
                "{}  {:<8}  {} of {} slots busy  seen {}  up since {}",
                w.info.id,
                live,
                mine.len(),
                w.info.concurrency,
                ago(now, w.seen_at),
                ago(now, w.info.started_at)
            );
            for l in mine {
                println!(
                    "    {}/{}  attempt {}  lease expires in {:.1}s",
                    l.run_id,
                    l.task_id,
                    l.token,
                    (l.expires_at - now) as f64 / 1000.0
                );
            }
        }
        let others: Vec<_> = leases.iter().filter(|l| !workers.iter().any(|w| w.info.id == l.owner)).collect();
        if !others.is_empty() {
            println!("leases of coordinators and people:");
            for l in others {
                println!(
                    "    {}  {}/{}  attempt {}  lease expires in {:.1}s",
                    l.owner,
                    l.run_id,
                    l.task_id,
                    l.token,
                    (l.expires_at - now) as f64 / 1000.0
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
