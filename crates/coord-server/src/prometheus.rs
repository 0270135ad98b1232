//! `GET /metrics` in the Prometheus text format: the spec's metrics computed from the event log
//! (`coord_runtime::metrics`), the state of the store (queue depth, running tasks, open
//! escalations, tokens and cost), and the server's own request latency histogram, recorded by
//! the [`track`] middleware per route, method and status.
//!
//! The histogram is a fixed set of atomic bucket counters kept in the server's state rather
//! than the `metrics` crate's global recorder: tests build many servers in one process, and
//! each must count only its own requests.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use coord_store::{Store, StoreError, TaskState};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// One route's latency histogram.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    fn record(&self, secs: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Request latencies by `(method, route, status)`: error rates are `status=~"5.."` over all.
#[derive(Debug, Default)]
pub struct RequestMetrics {
    routes: Mutex<BTreeMap<(String, String, u16), Arc<Histogram>>>,
}

impl RequestMetrics {
    fn histogram(&self, method: &str, route: &str, status: u16) -> Arc<Histogram> {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        routes.entry((method.to_string(), route.to_string(), status)).or_default().clone()
    }

    /// The histogram in the text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP coord_http_request_duration_seconds Latency of this server's HTTP requests");
        let _ = writeln!(out, "# TYPE coord_http_request_duration_seconds histogram");
        let routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for ((method, route, status), h) in routes {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                coord_runtime::metrics::escape_label(&route)
            );
            for (i, bound) in BUCKETS.iter().enumerate() {
                let n = h.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(out, "coord_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "coord_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}");
            let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "coord_http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "coord_http_request_duration_seconds_count{{{labels}}} {count}");
        }
    }
}

/// Middleware: times every request under its route template (`/runs/{id}/tasks`), so ids do
/// not multiply the series; requests that match no route count under `unmatched`.
pub async fn track(State(metrics): State<Arc<RequestMetrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.histogram(&method, &route, response.status().as_u16()).record(started.elapsed().as_secs_f64());
    response
}

/// The whole `/metrics` page.
pub async fn render<S: Store>(store: &S, requests: &RequestMetrics) -> Result<String, StoreError> {
    let runs = store.runs().await?;
    let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
    let m = coord_runtime::metrics::compute(store, &ids).await?;
    let mut out = coord_runtime::metrics::prometheus(&m, None);
    // `coord_queue_depth` comes from the runtime's metrics (claimable now, retries whose backoff
    // is over included).
    let (mut running, mut by_state) = (0u64, BTreeMap::<&'static str, u64>::new());
    for r in &runs {
        for t in store.tasks(&r.id).await? {
            *by_state.entry(t.state.as_str()).or_default() += 1;
            if matches!(t.state, TaskState::Running | TaskState::Gating) {
                running += 1;
            }
        }
    }
    let open = store.escalations(None, true).await?.len();
    let mut gauge = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    gauge("coord_running_tasks", "gauge", "Tasks running or being gated", running as f64);
    gauge("coord_escalations_open", "gauge", "Escalations waiting for a decision", open as f64);
    gauge("coord_runs", "gauge", "Runs in the store", runs.len() as f64);
    // LLM tokens and cost are the runtime's `coord_llm_tokens_total` and
    // `coord_llm_cost_usd_total` by specialist: `sum()` of them is the store's total.
    let _ = writeln!(out, "# HELP coord_tasks Tasks by state");
    let _ = writeln!(out, "# TYPE coord_tasks gauge");
    for (state, n) in by_state {
        let _ = writeln!(out, "coord_tasks{{state=\"{state}\"}} {n}");
    }
    requests.render(&mut out);
    Ok(out)
}
