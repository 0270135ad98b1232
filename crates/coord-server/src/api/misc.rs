//! Health, the roster, and metrics (Prometheus text, and the sampled history the dashboard
//! charts).

use super::AppState;
use super::types::{AgentView, Health, MetricsHistory};
use crate::error::{ApiResult, AppError};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use coord_store::Store;

/// Whether the server answers.
#[utoipa::path(get, path = "/health", operation_id = "getHealth", tag = "server", security(()), responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

/// The specialists of the roster and how their tasks are executed.
#[utoipa::path(get, path = "/agents", operation_id = "listAgents", tag = "server", responses((status = 200, body = Vec<AgentView>)))]
pub async fn agents<S: Store + Clone + 'static>(State(st): State<AppState<S>>) -> Json<Vec<AgentView>> {
    let rt = &st.runtime;
    let list = rt
        .roster()
        .names()
        .map(|name| AgentView {
            name: name.to_string(),
            description: rt.roster().get(name).map(|s| s.description.clone()).unwrap_or_default(),
            executor: format!("{:?}", rt.config().specialist(name).executor).to_lowercase(),
            automatic: st.automatic.contains(name),
        })
        .collect();
    Json(list)
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "server",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
pub async fn metrics<S: Store + Clone + 'static>(State(st): State<AppState<S>>) -> ApiResult<impl IntoResponse> {
    let text = crate::prometheus::render(st.store(), &st.requests).await.map_err(AppError::from)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}

/// Metric samples over time (one every few seconds while the server runs), oldest first.
#[utoipa::path(get, path = "/metrics/history", operation_id = "getMetricsHistory", tag = "server", responses((status = 200, body = MetricsHistory)))]
pub async fn history<S: Store + Clone + 'static>(State(st): State<AppState<S>>) -> Json<MetricsHistory> {
    let samples = st.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().cloned().collect();
    Json(MetricsHistory { samples })
}
