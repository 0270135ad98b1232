//! The dashboard: one page of plain HTML, CSS and JavaScript embedded in the binary (no build
//! step, nothing fetched from elsewhere), served at `/` and `/ui/*`. It draws the run's plan as
//! a DAG by parallel group with live task states (from `/runs/{id}/events`), a task's brief,
//! attempts, gate findings and transcript, the escalation queue with resolve buttons, and
//! charts of the metrics over time from [`sample_metrics`]' history.

use crate::api::AppState;
use crate::api::types::MetricsSample;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use coord_store::{Store, TaskState};
use std::time::Duration;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// Samples kept: an hour at the default interval.
const HISTORY: usize = 720;

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            // The page loads only its own files and talks only to this server.
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

/// The dashboard's routes.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/ui/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/ui/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
}

/// One sample of the metrics over every run.
pub async fn sample<S: Store + Clone + 'static>(st: &AppState<S>) -> Result<MetricsSample, coord_store::StoreError> {
    let store = st.store();
    let runs = store.runs().await?;
    let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
    let m = coord_runtime::metrics::compute(store, &ids).await?;
    let (mut queue_depth, mut running) = (0, 0);
    for r in &runs {
        for t in store.tasks(&r.id).await? {
            match t.state {
                TaskState::Ready | TaskState::Retrying => queue_depth += 1,
                TaskState::Running | TaskState::Gating => running += 1,
                _ => {}
            }
        }
    }
    Ok(MetricsSample {
        at: coord_runtime::now_ms(),
        tasks_completed: m.backend_tasks_completed,
        success_rate: m.backend_success_rate,
        avg_completion_time: m.backend_avg_completion_time,
        security_audit_pass_rate: m.security_audit_pass_rate,
        queue_depth,
        running,
        escalations_open: store.escalations(None, true).await?.len() as u64,
        tokens: m.llm_by_specialist.values().map(|s| s.tokens).sum(),
        cost_usd: m.llm_by_specialist.values().map(|s| s.cost_usd).sum(),
    })
}

/// Samples the metrics every `every` into the state's history, for ever.
pub async fn sample_metrics<S: Store + Clone + 'static>(st: AppState<S>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    loop {
        tick.tick().await;
        match sample(&st).await {
            Ok(s) => {
                let mut h = st.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if h.len() == HISTORY {
                    h.pop_front();
                }
                h.push_back(s);
            }
            Err(e) => eprintln!("coord serve: metrics sample failed: {e}"),
        }
    }
}
