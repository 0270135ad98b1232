//! The coordinator over HTTP (`coord serve`): a JSON API documented by an OpenAPI 3.1 document
//! ([`openapi`]), the run's event log as server-sent events, Prometheus metrics
//! ([`prometheus`]) and the live dashboard ([`dashboard`]), all served by one axum router built
//! by [`app`]. Runs started or resumed here are driven in the background by
//! `coord_runtime::driver::Driver`, with the same `coord_runtime::Runtime` the CLI uses, and manual work goes through
//! `coord_runtime::manual`, shared with the CLI and the MCP server.
//!
//! Security ([`security`]): loopback only unless a bearer token is configured; the token is
//! compared in constant time and never printed; request bodies are limited; CORS is closed
//! unless origins are named; mutating requests are rate limited. Errors are one JSON shape
//! ([`error::AppError`]).
//!
//! ```no_run
//! # async fn demo(runtime: coord_runtime::Runtime<coord_store::SqliteStore>) -> Result<(), coord_server::ServerError> {
//! let options = coord_server::Options::default();
//! let state = coord_server::AppState::new(runtime, ".coord/runs".into());
//! let listener = coord_server::bind(&options).await?;
//! coord_server::serve(listener, state, options, std::future::pending()).await
//! # }
//! ```

pub mod api;
pub mod completions;
pub mod dashboard;
pub mod error;
pub mod openapi;
pub mod prometheus;
pub mod security;

pub use api::AppState;
pub use error::{AppError, ServerError};
pub use security::{RateLimiter, Token};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use coord_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (default 127.0.0.1:8787).
    pub addr: SocketAddr,
    /// The bearer token every API request must carry; required to listen beyond loopback.
    pub token: Option<Token>,
    /// Largest request body, bytes (default 1 MiB).
    pub max_body: usize,
    /// Mutating requests per second, on average (default 50).
    pub rate_per_sec: u32,
    /// Mutating requests at once (default 100).
    pub rate_burst: u32,
    /// Origins allowed to call the API from a browser (default none).
    pub cors_origins: Vec<String>,
    /// How often the dashboard's metric history is sampled.
    pub sample_every: Duration,
    /// Host names the server answers to besides its address and the loopback names.
    pub allowed_hosts: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
            token: None,
            max_body: 1024 * 1024,
            rate_per_sec: 50,
            rate_burst: 100,
            cors_origins: Vec::new(),
            sample_every: Duration::from_secs(5),
            allowed_hosts: Vec::new(),
        }
    }
}

/// The whole application: API, documents, dashboard, with the security layers. Tests call it
/// with `tower::ServiceExt::oneshot`, without a port.
pub fn app<S: Store + Clone + 'static>(state: AppState<S>, options: &Options) -> Result<Router, ServerError> {
    let requests = state.requests.clone();
    let limiter = Arc::new(RateLimiter::new(options.rate_per_sec, options.rate_burst));
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", openapi::document());
    let mut router = Router::new()
        .merge(api::routes(state))
        .merge(docs)
        .merge(dashboard::routes())
        .fallback(|| async { AppError::not_found("no such path (GET /openapi.json describes the API)") })
        .layer(axum::middleware::from_fn_with_state(limiter, security::rate_limit))
        .layer(axum::middleware::from_fn_with_state(options.token.clone(), security::require_token))
        .layer(DefaultBodyLimit::max(options.max_body));
    let origins = Arc::new(security::Origins::new(options.addr, &options.allowed_hosts, &options.cors_origins));
    router = router.layer(axum::middleware::from_fn_with_state(origins, security::check_origin));
    if let Some(cors) = security::cors(&options.cors_origins)? {
        router = router.layer(cors);
    }
    // Outermost, so rejected requests are timed too.
    Ok(router.layer(axum::middleware::from_fn_with_state(requests, prometheus::track)))
}

/// Checks the bind rule and listens on `options.addr`.
pub async fn bind(options: &Options) -> Result<tokio::net::TcpListener, ServerError> {
    security::check_bind(options.addr, options.token.as_ref())?;
    tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| ServerError::Io { addr: options.addr.to_string(), source })
}

/// Serves on `listener` until `shutdown` completes, sampling the metrics for the dashboard's
/// charts. The bind rule is checked again on the listener's address.
pub async fn serve<S: Store + Clone + 'static>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let local = listener.local_addr().map_err(|source| ServerError::Io { addr: options.addr.to_string(), source })?;
    security::check_bind(local, options.token.as_ref())?;
    // The Host rule is about the address really bound (port 0 picks one).
    let options = Options { addr: local, ..options };
    let router = app(state.clone(), &options)?;
    eprintln!(
        "coord serve: listening on http://{local} (dashboard /, API docs /docs){}",
        if options.token.is_some() { "; API requests need the bearer token" } else { "" }
    );
    let sampler = tokio::spawn(dashboard::sample_metrics(state, options.sample_every));
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServerError::Io { addr: local.to_string(), source });
    sampler.abort();
    served
}
