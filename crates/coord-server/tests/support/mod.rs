//! Shared set-up of the server tests: a project in a temporary folder with its SQLite store,
//! the built-in roster, and helpers that call the app without a port.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use coord_runtime::{Config, Runtime};
use coord_server::{AppState, Options};
use coord_store::SqliteStore;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// The spec's example objective.
pub const OBJECTIVE: &str = "Add user authentication system with OAuth2 and JWT";

/// A project folder and the server state over it.
pub struct Project {
    pub dir: TempDir,
    pub state: AppState<SqliteStore>,
}

/// A project with `coord.toml` text (empty: every specialist manual).
pub async fn project(config: &str) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".coord/coord.db")).await.unwrap();
    let config = Config::parse(config, "coord.toml").unwrap();
    let runs_dir = dir.path().join(".coord/runs");
    let runtime =
        Runtime::new(store, coord_agents::builtin_roster(), config, dir.path().to_path_buf(), runs_dir.clone());
    let state = AppState::new(runtime, runs_dir);
    Project { dir, state }
}

/// The app with default options.
pub fn app(p: &Project) -> Router {
    coord_server::app(p.state.clone(), &Options::default()).unwrap()
}

/// Sends a request; returns the status and the body as JSON (`Value::Null` when empty, a string
/// when not JSON).
pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, body)
}

/// GET.
pub async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// POST with a JSON body.
pub async fn post(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let request =
        Request::post(uri).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap();
    send(app, request).await
}

/// Starts a run of the spec's example; returns its id.
pub async fn start(app: &Router) -> String {
    let (status, body) =
        post(app, "/runs", serde_json::json!({ "objective": OBJECTIVE, "planner": "rules", "workflows": false })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["run"]["id"].as_str().unwrap().to_string()
}

/// The error code of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}
