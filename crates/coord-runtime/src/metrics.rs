//! The spec's metrics computed from the event log: `backend_tasks_completed` (tasks done),
//! `backend_avg_completion_time` (first claim to done, seconds) and `backend_success_rate`
//! (share of done tasks that passed on their first attempt, quality gates included, since a
//! failed gate makes another attempt) and `security_audit_pass_rate` (security gate runs that
//! passed), `api_endpoint_coverage` and `api_response_time_p95` (the latest contract test of
//! each run), `test_coverage` (the coverage report the latest gate run found) and
//! `database_query_performance` (the service's query times during contract tests, from
//! `pg_stat_statements`; also the `coord_database_query_duration_seconds` histogram). For workers sharing a
//! store: `coord_queue_depth` (tasks claimable now), `coord_lease_expiries_total` (attempts whose
//! lease ran out or whose owner died) and `coord_claim_latency_seconds` (from the moment a task
//! became claimable to its claim: ready, backoff over, lease expired or unblocked).

use coord_store::{Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Metrics of one run or of all runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// `backend_tasks_completed`.
    pub backend_tasks_completed: u64,
    /// `backend_avg_completion_time`, seconds (None before any task is done).
    pub backend_avg_completion_time: Option<f64>,
    /// `backend_success_rate`, 0..1 (None before any task is done).
    pub backend_success_rate: Option<f64>,
    /// Attempts started.
    pub attempts_started: u64,
    /// Escalations raised.
    pub escalations_raised: u64,
    /// `security_audit_pass_rate`: share of security gate runs that passed (None before any).
    pub security_audit_pass_rate: Option<f64>,
    /// Gate runs recorded.
    pub gate_runs: u64,
    /// `api_endpoint_coverage`: share of the contract's operations the latest contract test
    /// exercised with a conforming answer (mean over runs when several are asked; None before
    /// any contract test).
    pub api_endpoint_coverage: Option<f64>,
    /// `api_response_time_p95`: the 95th percentile of the built API's answer times in the
    /// latest contract test, seconds (the highest over runs when several are asked; None before
    /// any contract test got an answer).
    pub api_response_time_p95: Option<f64>,
    /// `test_coverage`: percent of lines covered, from the coverage report the latest gate run
    /// of each run found (the lowest report when there are several; mean over runs when several
    /// are asked; None before any).
    pub test_coverage: Option<f64>,
    /// `database_query_performance`: mean execution time of the database queries the contract
    /// tests' requests caused, seconds, from the service's `pg_stat_statements` (None before any
    /// such measurement).
    pub database_query_performance: Option<f64>,
    /// The same queries as a histogram over [`QUERY_BUCKETS`] (each statement's calls counted at
    /// its mean time): `coord_database_query_duration_seconds`.
    #[serde(skip)]
    pub database_queries: Option<DurationHistogram>,
    /// LLM tokens and cost by specialist.
    pub llm_by_specialist: std::collections::BTreeMap<String, Spend>,
    /// LLM tokens and cost by task (`run/task`).
    pub llm_by_task: std::collections::BTreeMap<String, Spend>,
    /// Tasks claimable now (ready, or retrying with the backoff over) in running runs.
    pub queue_depth: u64,
    /// Attempts that ended because their lease expired or their owner died.
    pub lease_expiries: u64,
    /// From claimable to claimed, over every claim.
    pub claim_latency: Option<Latency>,
    /// Turnaround of done tasks (first claim to done) by `(specialist, kind)`: the
    /// `coord_task_duration_seconds` histogram.
    #[serde(skip)]
    pub task_durations: std::collections::BTreeMap<(String, String), DurationHistogram>,
}

/// Upper bounds of the task duration buckets, seconds: from a quick command to a day of a
/// person's work.
pub const TASK_BUCKETS: [f64; 14] =
    [0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4.0 * 3600.0, 8.0 * 3600.0, 24.0 * 3600.0];

/// Upper bounds of the database query duration buckets, seconds: from an index lookup to a
/// statement that holds a request up.
pub const QUERY_BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A cumulative histogram of durations over fixed bounds ([`TASK_BUCKETS`] by default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationHistogram {
    /// The buckets' upper bounds, seconds.
    pub bounds: &'static [f64; 14],
    /// Samples at or under each bound.
    pub buckets: [u64; 14],
    /// Samples.
    pub count: u64,
    /// Their sum, seconds.
    pub sum: f64,
}

impl Default for DurationHistogram {
    fn default() -> Self {
        DurationHistogram::over(&TASK_BUCKETS)
    }
}

impl DurationHistogram {
    /// An empty histogram over `bounds`.
    pub fn over(bounds: &'static [f64; 14]) -> Self {
        DurationHistogram { bounds, buckets: [0; 14], count: 0, sum: 0.0 }
    }

    /// Counts one duration.
    pub fn record(&mut self, seconds: f64) {
        self.record_many(seconds, 1);
    }

    /// Counts `n` durations of `seconds` each.
    pub fn record_many(&mut self, seconds: f64, n: u64) {
        for (count, bound) in self.buckets.iter_mut().zip(self.bounds) {
            if seconds <= *bound {
                *count += n;
            }
        }
        self.count += n;
        self.sum += seconds * n as f64;
    }

    /// The histogram as Prometheus sample lines of `name` with `labels` (`a="b",c="d"`, may be
    /// empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (n, bound) in self.buckets.iter().zip(self.bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// A latency distribution, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    /// The distribution of `samples` (milliseconds); `None` when there are none.
    pub fn of(mut samples: Vec<f64>) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[(((samples.len() - 1) as f64) * q).round() as usize];
        Some(Latency {
            count: samples.len() as u64,
            mean_ms: samples.iter().sum::<f64>() / samples.len() as f64,
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        })
    }
}

/// Computes the metrics of the given runs from their events.
pub async fn compute<S: Store>(store: &S, runs: &[String]) -> Result<Metrics, StoreError> {
    let mut done = 0u64;
    let mut first_try = 0u64;
    let mut total_ms = 0i64;
    let mut m = Metrics::default();
    let (mut security_runs, mut security_passed) = (0u64, 0u64);
    let mut latencies = Vec::new();
    let now = crate::now_ms();
    let mut coverage: Vec<f64> = Vec::new();
    let mut test_coverage: Vec<f64> = Vec::new();
    for run in runs {
        let mut run_coverage = None;
        let mut run_p95 = None;
        let mut run_test_coverage = None;
        let mut first_claim: HashMap<String, i64> = HashMap::new();
        let mut claimable_since: HashMap<String, i64> = HashMap::new();
        let record = store.run(run).await?;
        let tasks = store.tasks(run).await?;
        if record.state == coord_store::RunState::Running {
            m.queue_depth += tasks
                .iter()
                .filter(|t| {
                    t.state == coord_store::TaskState::Ready
                        || (t.state == coord_store::TaskState::Retrying && t.not_before <= now)
                })
                .count() as u64;
        }
        // Who did each task and what kind of work it is, for the duration histogram.
        let specialists: HashMap<String, String> = tasks.into_iter().map(|t| (t.task_id, t.specialist)).collect();
        let kinds: HashMap<String, &'static str> = serde_json::from_str::<coord_core::Plan>(&record.plan_json)
            .map(|plan| plan.tasks.iter().map(|t| (t.id.clone(), t.kind.as_str())).collect())
            .unwrap_or_default();
        crate::events::each_event(store, run, |e| {
            // The run's own spending (the LLM planner's) belongs to no task.
            if e.task_id.is_none() && e.kind == "llm_usage" {
                let who = e.data.get("specialist").and_then(|s| s.as_str()).unwrap_or("?").to_string();
                m.llm_by_specialist.entry(who).or_default().add(&e.data);
                return;
            }
            let Some(task) = &e.task_id else { return };
            match e.kind.as_str() {
                "task_ready" | "task_unblocked" => {
                    claimable_since.insert(task.clone(), e.at);
                }
                "lease_expired" => {
                    m.lease_expiries += 1;
                    claimable_since.insert(task.clone(), e.at);
                }
                "task_retrying" => {
                    let at = e.data.get("retry_at").and_then(|v| v.as_i64()).unwrap_or(e.at);
                    claimable_since.insert(task.clone(), at.max(e.at));
                }
                "task_claimed" => {
                    m.attempts_started += 1;
                    first_claim.entry(task.clone()).or_insert(e.at);
                    if let Some(since) = claimable_since.remove(task) {
                        latencies.push((e.at - since).max(0) as f64);
                    }
                }
                "task_done" => {
                    done += 1;
                    if e.data.get("attempt").and_then(|a| a.as_i64()) == Some(1) {
                        first_try += 1;
                    }
                    if let Some(start) = first_claim.get(task) {
                        total_ms += e.at - start;
                        let who = specialists.get(task).cloned().unwrap_or_else(|| "?".into());
                        let kind = kinds.get(task).copied().unwrap_or("unknown").to_string();
                        m.task_durations.entry((who, kind)).or_default().record((e.at - start).max(0) as f64 / 1000.0);
                    }
                }
                "task_escalated" => m.escalations_raised += 1,
                "test_coverage" => {
                    run_test_coverage = e.data.get("value").and_then(|c| c.as_f64()).or(run_test_coverage)
                }
                "contract_test" => {
                    if let Some(groups) = e.data.pointer("/database_queries/groups").and_then(|g| g.as_array()) {
                        let h = m.database_queries.get_or_insert_with(|| DurationHistogram::over(&QUERY_BUCKETS));
                        for g in groups {
                            if let (Some(calls), Some(mean)) =
                                (g.get(0).and_then(|c| c.as_f64()), g.get(1).and_then(|c| c.as_f64()))
                            {
                                h.record_many(mean, calls.max(0.0) as u64);
                            }
                        }
                    }
                    run_coverage = e.data.get("api_endpoint_coverage").and_then(|c| c.as_f64()).or(run_coverage);
                    run_p95 = e.data.get("api_response_time_p95").and_then(|c| c.as_f64()).or(run_p95);
                }
                "llm_usage" => {
                    let who = e.data.get("specialist").and_then(|s| s.as_str()).unwrap_or("?").to_string();
                    m.llm_by_specialist.entry(who).or_default().add(&e.data);
                    m.llm_by_task.entry(format!("{run}/{task}")).or_default().add(&e.data);
                }
                "gate_result" => {
                    m.gate_runs += 1;
                    if e.data.get("gate").and_then(|g| g.as_str()) == Some("security") {
                        security_runs += 1;
                        if e.data.get("passed").and_then(|p| p.as_bool()) == Some(true) {
                            security_passed += 1;
                        }
                    }
                }
                _ => {}
            }
        })
        .await?;
        coverage.extend(run_coverage);
        test_coverage.extend(run_test_coverage);
        if let Some(p) = run_p95 {
            m.api_response_time_p95 = Some(m.api_response_time_p95.map_or(p, |q: f64| q.max(p)));
        }
    }
    m.claim_latency = Latency::of(latencies);
    m.backend_tasks_completed = done;
    if !coverage.is_empty() {
        m.api_endpoint_coverage = Some(coverage.iter().sum::<f64>() / coverage.len() as f64);
    }
    if !test_coverage.is_empty() {
        m.test_coverage = Some(test_coverage.iter().sum::<f64>() / test_coverage.len() as f64);
    }
    m.database_query_performance = m.database_queries.filter(|h| h.count > 0).map(|h| h.sum / h.count as f64);
    if security_runs > 0 {
        m.security_audit_pass_rate = Some(security_passed as f64 / security_runs as f64);
    }
    if done > 0 {
        m.backend_avg_completion_time = Some(total_ms as f64 / done as f64 / 1000.0);
        m.backend_success_rate = Some(first_try as f64 / done as f64);
    }
    Ok(m)
}

/// The metrics in the Prometheus text exposition format.
pub fn prometheus(m: &Metrics, run: Option<&str>) -> String {
    let label = run.map(|r| format!("{{run=\"{}\"}}", escape_label(r))).unwrap_or_default();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        if let Some(v) = value {
            let _ = writeln!(out, "{name}{label} {v}");
        }
    };
    // Counters carry Prometheus' `_total` suffix (what `promtool check metrics` asks for, and
    // what a client library would expose for the spec's `backend_tasks_completed`).
    metric(
        "backend_tasks_completed_total",
        "counter",
        "Successfully delivered tasks (the spec's backend_tasks_completed)",
        Some(m.backend_tasks_completed as f64),
    );
    metric(
        "backend_avg_completion_time",
        "gauge",
        "Task turnaround time in seconds, first claim to done",
        m.backend_avg_completion_time,
    );
    metric(
        "backend_success_rate",
        "gauge",
        "Share of tasks that passed on their first attempt",
        m.backend_success_rate,
    );
    metric("security_audit_pass_rate", "gauge", "Share of security gate runs that passed", m.security_audit_pass_rate);
    metric(
        "api_endpoint_coverage",
        "gauge",
        "Share of the contract's operations the latest contract test exercised with a conforming answer",
        m.api_endpoint_coverage,
    );
    metric(
        "test_coverage",
        "gauge",
        "Share of lines covered (0 to 1, Prometheus' ratio convention; the JSON format keeps the percent), from the coverage report the latest gate run found",
        m.test_coverage.map(|percent| percent / 100.0),
    );
    metric(
        "api_response_time_p95",
        "gauge",
        "95th percentile answer time of the built API in the latest contract test, seconds",
        m.api_response_time_p95,
    );
    metric(
        "database_query_performance",
        "gauge",
        "Mean execution time of the database queries the contract tests' requests caused, seconds (the service's pg_stat_statements)",
        m.database_query_performance,
    );
    metric("coord_gate_runs_total", "counter", "Quality gate runs recorded", Some(m.gate_runs as f64));
    let _ = writeln!(out, "# HELP coord_llm_tokens_total LLM tokens used, by specialist");
    let _ = writeln!(out, "# TYPE coord_llm_tokens_total counter");
    for (who, spend) in &m.llm_by_specialist {
        let _ = writeln!(out, "coord_llm_tokens_total{{specialist=\"{}\"}} {}", escape_label(who), spend.tokens);
    }
    let _ = writeln!(out, "# HELP coord_llm_cost_usd_total LLM cost in dollars, by specialist");
    let _ = writeln!(out, "# TYPE coord_llm_cost_usd_total counter");
    for (who, spend) in &m.llm_by_specialist {
        let _ = writeln!(out, "coord_llm_cost_usd_total{{specialist=\"{}\"}} {}", escape_label(who), spend.cost_usd);
    }
    let mut metric = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        if let Some(v) = value {
            let _ = writeln!(out, "{name}{label} {v}");
        }
    };
    metric("coord_attempts_started_total", "counter", "Attempts started", Some(m.attempts_started as f64));
    metric("coord_escalations_raised_total", "counter", "Escalations raised", Some(m.escalations_raised as f64));
    metric("coord_queue_depth", "gauge", "Tasks claimable now in running runs", Some(m.queue_depth as f64));
    metric(
        "coord_lease_expiries_total",
        "counter",
        "Attempts ended by an expired lease or a dead owner",
        Some(m.lease_expiries as f64),
    );
    let _ = writeln!(out, "# HELP coord_claim_latency_seconds From claimable to claimed");
    let _ = writeln!(out, "# TYPE coord_claim_latency_seconds summary");
    if let Some(l) = &m.claim_latency {
        let sep = if label.is_empty() { String::new() } else { format!("{},", &label[1..label.len() - 1]) };
        let _ = writeln!(out, "coord_claim_latency_seconds{{{sep}quantile=\"0.5\"}} {}", l.p50_ms / 1000.0);
        let _ = writeln!(out, "coord_claim_latency_seconds{{{sep}quantile=\"0.99\"}} {}", l.p99_ms / 1000.0);
        let _ = writeln!(out, "coord_claim_latency_seconds_sum{label} {}", l.mean_ms * l.count as f64 / 1000.0);
        let _ = writeln!(out, "coord_claim_latency_seconds_count{label} {}", l.count);
    }
    let _ = writeln!(
        out,
        "# HELP coord_task_duration_seconds Turnaround of done tasks, first claim to done, by specialist and kind of work"
    );
    let _ = writeln!(out, "# TYPE coord_task_duration_seconds histogram");
    let run_label = if label.is_empty() { String::new() } else { format!("{},", &label[1..label.len() - 1]) };
    for ((who, kind), h) in &m.task_durations {
        let labels = format!("{run_label}specialist=\"{}\",kind=\"{kind}\"", escape_label(who));
        h.render(&mut out, "coord_task_duration_seconds", &labels);
    }
    let _ = writeln!(
        out,
        "# HELP coord_database_query_duration_seconds Execution time of the database queries the contract tests' requests caused, from the service's pg_stat_statements (each statement's calls counted at its mean)"
    );
    let _ = writeln!(out, "# TYPE coord_database_query_duration_seconds histogram");
    if let Some(h) = &m.database_queries {
        h.render(&mut out, "coord_database_query_duration_seconds", run_label.trim_end_matches(','));
    }
    out
}

/// A label value in the Prometheus text format (backslash, quote and newline escaped).
pub fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// LLM spending of a run (or an attempt).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spend {
    /// Tokens: input, cached input and output.
    pub tokens: u64,
    /// Dollars.
    pub cost_usd: f64,
}

impl Spend {
    /// Adds an `llm_usage` record.
    pub fn add(&mut self, u: &serde_json::Value) {
        let n = |k: &str| u.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        self.tokens += n("input_tokens") + n("cached_input_tokens") + n("output_tokens");
        self.cost_usd += u.get("cost_usd").and_then(|v| v.as_f64()).unwrap_or(0.0);
    }
}

/// What a run has spent on LLM work so far, from its `llm_usage` events.
pub async fn run_spend<S: Store>(store: &S, run: &str) -> Result<Spend, StoreError> {
    let mut spend = Spend::default();
    crate::events::each_event(store, run, |e| {
        if e.kind == "llm_usage" {
            spend.add(&e.data);
        }
    })
    .await?;
    Ok(spend)
}

/// The usage an LLM attempt recorded in its transcript, as an `llm_usage` record.
pub fn transcript_usage(attempt_dir: &std::path::Path, specialist: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(attempt_dir.join("transcript.json")).ok()?;
    let t: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(serde_json::json!({
        "specialist": specialist,
        "model": t.get("model"),
        "input_tokens": t.pointer("/usage/input_tokens").and_then(|v| v.as_u64()).unwrap_or(0),
        "cached_input_tokens": t.pointer("/usage/cached_input_tokens").and_then(|v| v.as_u64()).unwrap_or(0),
        "output_tokens": t.pointer("/usage/output_tokens").and_then(|v| v.as_u64()).unwrap_or(0),
        "cost_usd": t.get("cost_usd").and_then(|v| v.as_f64()).unwrap_or(0.0),
    }))
}
