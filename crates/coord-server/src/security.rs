//! What keeps the server safe to run: the bind rule (loopback unless a bearer token is
//! configured), the bearer token (read from an environment variable, compared in constant
//! time, never printed), the rate limit on mutating requests (a token bucket), CORS (closed
//! unless origins are named), and the Host and Origin checks that keep a page in the user's
//! browser from reaching a server on loopback (DNS rebinding, cross-site requests).

use crate::error::{AppError, ServerError};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use subtle::ConstantTimeEq;

/// A bearer token. Its `Debug` prints nothing of it.
#[derive(Clone)]
pub struct Token(Arc<[u8]>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Reads the token from the environment variable `var`; `Ok(None)` when it is unset or
    /// empty. Shorter than 16 characters is refused.
    pub fn from_env(var: &str) -> Result<Option<Token>, ServerError> {
        match std::env::var(var) {
            Ok(v) if v.is_empty() => Ok(None),
            Ok(v) => Token::new(&v).map(Some).ok_or_else(|| ServerError::WeakToken { var: var.to_string() }),
            Err(_) => Ok(None),
        }
    }

    /// A token from its text; `None` when shorter than 16 characters.
    pub fn new(text: &str) -> Option<Token> {
        (text.chars().count() >= 16).then(|| Token(Arc::from(text.as_bytes())))
    }

    /// Whether an `Authorization` header carries this token. The comparison takes the same
    /// time wherever the first difference is (it depends only on the lengths).
    pub fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(value) = authorization.map(HeaderValue::as_bytes) else { return false };
        // The scheme is case-insensitive (RFC 9110); the token is compared exactly.
        let Some(given) = value.get(7..).filter(|_| value[..7].eq_ignore_ascii_case(b"bearer ")) else {
            return false;
        };
        bool::from(given.ct_eq(&self.0))
    }
}

/// Which `Host` and `Origin` a request may carry: the address the server is bound to, the
/// loopback names on its port, and the names configured (`--allow-host`).
#[derive(Debug, Clone)]
pub struct Origins {
    hosts: Vec<String>,
    any_host: bool,
    cors: Vec<String>,
}

impl Origins {
    /// The rule for a server bound to `addr`, with extra host names (with or without a port)
    /// and the CORS origins (which may also send requests with side effects).
    pub fn new(addr: SocketAddr, names: &[String], cors: &[String]) -> Origins {
        let port = addr.port();
        let mut hosts: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        for n in names {
            if !n.contains(':') {
                hosts.push(format!("{}:{port}", n.to_ascii_lowercase()));
            }
        }
        hosts.push(addr.to_string());
        if addr.ip().is_loopback() {
            hosts.extend([format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")]);
        }
        // Bound to every interface (only with a token): any name reaches it, unless names
        // were given.
        let any_host = addr.ip().is_unspecified() && names.is_empty();
        Origins { hosts, any_host, cors: cors.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()).collect() }
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.any_host || self.hosts.iter().any(|h| h == &host.to_ascii_lowercase())
    }
}

/// Middleware: a `Host` the server does not answer to is refused (a DNS-rebinding page sends
/// its own name), and a request with side effects from another origin is refused (a page on
/// another site posting to loopback), unless that origin is one of the CORS origins.
pub async fn check_origin(State(rule): State<Arc<Origins>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    if let Some(host) = &host
        && !rule.host_allowed(host)
    {
        return AppError::forbidden(
            "host_not_allowed",
            format!("this server does not answer to the host `{host}` (coord serve --allow-host NAME adds one)"),
        )
        .into_response();
    }
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).map(|o| o.to_ascii_lowercase());
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|s| s.to_str().ok())
            .is_some_and(|s| s.eq_ignore_ascii_case("cross-site"));
        let same_origin = |o: &str| {
            let rest = o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")).unwrap_or(o);
            host.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(rest)) || rule.host_allowed(rest)
        };
        let foreign = match &origin {
            Some(o) if o == "null" => true,
            Some(o) => !same_origin(o) && !rule.cors.iter().any(|c| c == o),
            None => cross_site,
        };
        if foreign {
            return AppError::forbidden(
                "cross_origin",
                format!(
                    "a request with side effects from another origin ({}) is refused (coord serve --cors-origin ORIGIN allows one)",
                    origin.as_deref().unwrap_or("a cross-site page")
                ),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Refuses a non-loopback address unless a token is configured.
pub fn check_bind(addr: SocketAddr, token: Option<&Token>) -> Result<(), ServerError> {
    if addr.ip().is_loopback() || token.is_some() { Ok(()) } else { Err(ServerError::UnsafeBind { addr }) }
}

/// Paths anyone may read without the token: the dashboard's files (they hold no data; the
/// page asks for the token before it calls the API), the API's description and its docs page.
fn is_public(path: &str) -> bool {
    path == "/" || path == "/health" || path == "/openapi.json" || path.starts_with("/ui/") || path.starts_with("/docs")
}

/// Middleware: with a token configured, every request outside the public paths must carry it.
pub async fn require_token(State(token): State<Option<Token>>, request: Request, next: Next) -> Response {
    if let Some(token) = &token
        && !is_public(request.uri().path())
        && !token.admits(request.headers().get(header::AUTHORIZATION))
    {
        return AppError::unauthorized().into_response();
    }
    next.run(request).await
}

/// A token bucket: `burst` requests at once, refilled at `per_sec`.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A bucket allowing `per_sec` requests a second on average and `burst` at once.
    pub fn new(per_sec: u32, burst: u32) -> RateLimiter {
        let burst = f64::from(burst.max(1));
        RateLimiter { per_sec: f64::from(per_sec.max(1)), burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// Takes one request's token; `Err(seconds to wait)` when the bucket is empty.
    pub fn take(&self) -> Result<(), u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = &mut *state;
        let now = Instant::now();
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_sec).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

/// Middleware: mutating requests (anything but GET, HEAD and OPTIONS) take a token from the
/// bucket or get 429 with `Retry-After`.
pub async fn rate_limit(State(limiter): State<Arc<RateLimiter>>, request: Request, next: Next) -> Response {
    let reads = [Method::GET, Method::HEAD, Method::OPTIONS];
    if !reads.contains(request.method())
        && let Err(wait) = limiter.take()
    {
        return AppError::rate_limited(wait).into_response();
    }
    next.run(request).await
}

/// The CORS layer for the named origins; `None` (no layer: browsers refuse cross-origin
/// calls) when there are none.
pub fn cors(origins: &[String]) -> Result<Option<tower_http::cors::CorsLayer>, ServerError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let mut values = Vec::new();
    for o in origins {
        let ok =
            (o.starts_with("http://") || o.starts_with("https://")) && !o.trim_end_matches('/').contains(['?', '#']);
        let value = HeaderValue::from_str(o.trim_end_matches('/')).ok().filter(|_| ok);
        values.push(value.ok_or_else(|| ServerError::BadOrigin(o.clone()))?);
    }
    Ok(Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(values)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
    ))
}
