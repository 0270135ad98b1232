//! The JSON API: the shared state of the handlers, the extractors that turn every bad input
//! into an [`AppError`], id validation, and the routes ([`routes`]). Handlers live by resource:
//! [`runs`], [`tasks`], [`escalations`], [`events`] (server-sent events) and [`misc`] (agents,
//! metrics, health).

pub mod escalations;
pub mod events;
pub mod misc;
pub mod runs;
pub mod tasks;
pub mod types;

use crate::completions::Completions;
use crate::error::{ApiResult, AppError};
use crate::prometheus::RequestMetrics;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use coord_core::Plan;
use coord_runtime::Runtime;
use coord_runtime::driver::Driver;
use coord_store::Store;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use types::MetricsSample;

/// A run's plan with the lookups the task views need. Plans never change once stored.
#[derive(Debug)]
pub struct PlanIndex {
    /// The plan.
    pub plan: Plan,
    /// Task id → (position in the plan, parallel group).
    pub position: HashMap<String, (usize, usize)>,
    /// Tasks on the critical path.
    pub critical: HashSet<String>,
}

impl PlanIndex {
    fn new(plan: Plan) -> PlanIndex {
        let groups: HashMap<&str, usize> =
            plan.groups.iter().enumerate().flat_map(|(g, ids)| ids.iter().map(move |id| (id.as_str(), g))).collect();
        let position = plan
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), (i, groups.get(t.id.as_str()).copied().unwrap_or(0))))
            .collect();
        let critical = plan.critical_path.iter().cloned().collect();
        PlanIndex { plan, position, critical }
    }
}

/// Parsed plans kept at most.
const MAX_CACHED_PLANS: usize = 1_000;

/// What every handler shares.
pub struct AppState<S: Store + Clone + 'static> {
    /// The engine: store, roster, configuration.
    pub runtime: Arc<Runtime<S>>,
    /// Background drives of runs.
    pub driver: Driver<S>,
    /// Group commit of manual completions with nothing to check.
    pub completions: Arc<Completions<S>>,
    /// Specialists the runtime executes itself (read once: it may build an LLM client).
    pub automatic: Arc<HashSet<String>>,
    /// Latency histograms.
    pub requests: Arc<RequestMetrics>,
    /// Metric samples over time, for the dashboard.
    pub history: Arc<Mutex<VecDeque<MetricsSample>>>,
    /// Attempt files (`.coord/runs`).
    pub runs_dir: PathBuf,
    /// How often a server-sent event stream looks for new events.
    pub sse_poll: Duration,
    plans: Arc<Mutex<HashMap<String, Arc<PlanIndex>>>>,
    /// Held by the handlers whose work is only store transactions (claim, fail, cancel,
    /// resolve; completions with nothing to check go through [`Completions`] instead). SQLite has one writer at a time and its busy handler sleeps
    /// (1, 2, 5, 10 ms...) when two transactions collide, so concurrent requests queue here
    /// instead of on the file lock. Planning, gates and consultations never hold it.
    writes: Arc<tokio::sync::Mutex<()>>,
}

impl<S: Store + Clone + 'static> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            runtime: self.runtime.clone(),
            driver: self.driver.clone(),
            completions: self.completions.clone(),
            automatic: self.automatic.clone(),
            requests: self.requests.clone(),
            history: self.history.clone(),
            runs_dir: self.runs_dir.clone(),
            sse_poll: self.sse_poll,
            plans: self.plans.clone(),
            writes: self.writes.clone(),
        }
    }
}

impl<S: Store + Clone + 'static> AppState<S> {
    /// The state for a runtime whose attempt files are in `runs_dir`.
    pub fn new(runtime: Runtime<S>, runs_dir: PathBuf) -> Self {
        let runtime = Arc::new(runtime);
        let driver = Driver::new(runtime.clone());
        AppState {
            completions: Arc::new(Completions::new(runtime.clone(), driver.clone())),
            driver,
            automatic: Arc::new(runtime.automatic_specialists().into_iter().collect()),
            runtime,
            requests: Arc::default(),
            history: Arc::default(),
            runs_dir,
            sse_poll: Duration::from_millis(200),
            plans: Arc::default(),
            writes: Arc::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.runtime.store()
    }

    /// Waits for this server's turn to write.
    pub async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    /// The run's plan, parsed once.
    pub async fn plan(&self, run: &str) -> ApiResult<Arc<PlanIndex>> {
        if let Some(p) = self.plans.lock().unwrap_or_else(PoisonError::into_inner).get(run) {
            return Ok(p.clone());
        }
        let plan = coord_runtime::manual::stored_plan(self.store(), run).await?;
        let index = Arc::new(PlanIndex::new(plan));
        let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        // Plans never change once stored, so the cache is never stale; it is only bounded (a
        // server that lives for months sees many runs): past the bound it starts again empty.
        if plans.len() >= MAX_CACHED_PLANS {
            plans.clear();
        }
        plans.insert(run.to_string(), index.clone());
        Ok(index)
    }
}

/// A JSON body whose every rejection is an [`AppError`].
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// Path parameters whose every rejection is an [`AppError`].
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// A query string whose every rejection is an [`AppError`].
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Query(value) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// Checks an id taken from a path: letters, digits, `.`, `_` and `-`, at most 128 characters,
/// and not `.` or `..` — ids become folder names under `.coord/runs`.
pub fn check_id<'a>(what: &str, id: &'a str) -> ApiResult<&'a str> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && id.bytes().any(|b| b != b'.');
    if ok {
        Ok(id)
    } else {
        let shown: String = id.chars().take(64).collect();
        Err(AppError::bad_request(format!(
            "{what} id `{}` is not valid: use letters, digits, `.`, `_` and `-` (at most 128)",
            shown.escape_debug()
        )))
    }
}

/// Page size and offset from a query, with bounds.
pub fn page(limit: Option<i64>, offset: Option<i64>) -> ApiResult<(u64, u64)> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(format!("limit {limit} is out of range: use 1 to 1000")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(AppError::bad_request(format!("offset {offset} is negative")));
    }
    Ok((limit as u64, offset as u64))
}

/// Who did manual work, from a body: at most 64 printable characters; `web` by default.
pub fn who(name: Option<String>) -> ApiResult<String> {
    match name {
        None => Ok("web".into()),
        Some(n) if !n.is_empty() && n.chars().count() <= 64 && n.chars().all(|c| !c.is_control()) => Ok(n),
        Some(_) => Err(AppError::bad_request("`who` must be 1 to 64 printable characters")),
    }
}

/// The API's routes over `state`.
pub fn routes<S: Store + Clone + 'static>(state: AppState<S>) -> Router {
    Router::new()
        .route("/health", get(misc::health))
        .route("/runs", get(runs::list::<S>).post(runs::create::<S>))
        .route("/runs/{run}", get(runs::get_run::<S>))
        .route("/runs/{run}/plan", get(runs::plan::<S>))
        .route("/runs/{run}/cancel", post(runs::cancel::<S>))
        .route("/runs/{run}/resume", post(runs::resume::<S>))
        .route("/runs/{run}/events", get(events::stream::<S>))
        .route("/runs/{run}/tasks", get(tasks::list::<S>))
        .route("/runs/{run}/tasks/{task}", get(tasks::get_task::<S>))
        .route("/runs/{run}/tasks/{task}/brief", get(tasks::brief::<S>))
        .route("/runs/{run}/tasks/{task}/gates", get(tasks::gates::<S>))
        .route("/runs/{run}/tasks/{task}/attempts/{attempt}", get(tasks::transcript::<S>))
        .route("/runs/{run}/tasks/{task}/claim", post(tasks::claim::<S>))
        .route("/runs/{run}/tasks/{task}/complete", post(tasks::complete::<S>))
        .route("/runs/{run}/tasks/{task}/fail", post(tasks::fail::<S>))
        .route("/escalations", get(escalations::list::<S>))
        .route("/escalations/{id}/resolve", post(escalations::resolve::<S>))
        .route("/agents", get(misc::agents::<S>))
        .route("/metrics", get(misc::metrics::<S>))
        .route("/metrics/history", get(misc::history::<S>))
        .with_state(state)
}
