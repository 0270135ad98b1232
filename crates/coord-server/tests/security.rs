//! The server's safety rules: loopback unless a token is configured, the bearer token on every
//! API request, the token never in a response, the rate limit on mutating requests, CORS
//! closed by default.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use coord_server::{Options, ServerError, Token};
use serde_json::json;
use support::{code, project, send};

const CANARY: &str = "canary-token-6f1e2d3c4b5a6978";

#[test]
fn only_loopback_without_a_token() {
    let open: std::net::SocketAddr = "0.0.0.0:8787".parse().unwrap();
    let e = coord_server::security::check_bind(open, None).unwrap_err();
    assert!(matches!(e, ServerError::UnsafeBind { .. }));
    assert!(e.to_string().contains("0.0.0.0:8787") && e.to_string().contains("token"), "{e}");
    let token = Token::new(CANARY).unwrap();
    assert!(coord_server::security::check_bind(open, Some(&token)).is_ok());
    assert!(coord_server::security::check_bind("127.0.0.1:1".parse().unwrap(), None).is_ok());
    assert!(coord_server::security::check_bind("[::1]:1".parse().unwrap(), None).is_ok());
    assert!(Token::new("short").is_none(), "short tokens are refused");
    assert!(!format!("{token:?}").contains("canary"), "Debug hides the token");
}

#[tokio::test]
async fn a_non_loopback_bind_is_refused_before_listening() {
    let p = project("").await;
    let options = Options { addr: "0.0.0.0:0".parse().unwrap(), ..Default::default() };
    let e = coord_server::bind(&options).await.unwrap_err();
    assert!(matches!(e, ServerError::UnsafeBind { .. }), "{e}");
    drop(p);
}

fn with_auth(uri: &str, auth: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_token_guards_the_api_and_never_comes_back() {
    let p = project("").await;
    let options = Options { token: Token::new(CANARY), ..Default::default() };
    let app = coord_server::app(p.state.clone(), &options).unwrap();
    let good = format!("Bearer {CANARY}");
    let mut seen = String::new();
    for auth in
        [None, Some("Bearer wrong-token-0000000000"), Some(CANARY), Some("Basic abc"), Some(&good[..good.len() - 1])]
    {
        for uri in ["/runs", "/metrics", "/escalations", "/agents"] {
            let (status, body) = send(&app, with_auth(uri, auth)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} with {auth:?}");
            assert_eq!(code(&body), "unauthorized");
            seen.push_str(&body.to_string());
        }
    }
    let request = Request::post("/runs")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "objective": support::OBJECTIVE }).to_string()))
        .unwrap();
    let (status, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "mutations need the token too");
    for uri in ["/runs", "/metrics", "/agents"] {
        let (status, body) = send(&app, with_auth(uri, Some(&good))).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        seen.push_str(&body.to_string());
    }
    // The dashboard's files, the API description and health need no token (they hold no data).
    for uri in ["/", "/ui/app.js", "/health", "/openapi.json"] {
        let (status, body) = send(&app, with_auth(uri, None)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        seen.push_str(&body.to_string());
    }
    assert!(!seen.contains(CANARY), "the token appeared in a response");
}

#[tokio::test]
async fn mutating_requests_are_rate_limited() {
    let p = project("").await;
    let options = Options { rate_per_sec: 1, rate_burst: 3, ..Default::default() };
    let app = coord_server::app(p.state.clone(), &options).unwrap();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let request = Request::post("/escalations/1/resolve")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"decision":"retry"}"#))
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.clone(), request).await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = response.headers().get("retry-after").cloned();
        }
        statuses.push(response.status());
    }
    assert_eq!(&statuses[..3], &[StatusCode::NOT_FOUND; 3], "the burst passes: {statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert_eq!(retry_after.unwrap(), "1");
    // Reads are not limited.
    for _ in 0..10 {
        let (status, _) = support::get(&app, "/runs").await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn cors_is_closed_unless_origins_are_named() {
    let p = project("").await;
    let preflight = || {
        Request::options("/runs")
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let app = coord_server::app(p.state.clone(), &Options::default()).unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), preflight()).await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
    let get = Request::get("/runs").header("origin", "https://evil.example").body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(app, get).await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());

    let options = Options { cors_origins: vec!["https://ops.example".into()], ..Default::default() };
    let app = coord_server::app(p.state.clone(), &options).unwrap();
    let request = Request::get("/runs").header("origin", "https://ops.example").body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request).await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "https://ops.example");
    let response = tower::ServiceExt::oneshot(app, preflight()).await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "other origins stay out");
    let bad = Options { cors_origins: vec!["*".into()], ..Default::default() };
    assert!(matches!(coord_server::app(p.state.clone(), &bad), Err(ServerError::BadOrigin(_))));
}

fn post_from(host: &str, origin: Option<&str>, fetch_site: Option<&str>) -> Request<Body> {
    let mut r = Request::post("/runs").header("host", host).header("content-type", "application/json");
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    if let Some(s) = fetch_site {
        r = r.header("sec-fetch-site", s);
    }
    r.body(Body::from(
        json!({ "objective": "Add user authentication system with OAuth2 and JWT", "planner": "rules" }).to_string(),
    ))
    .unwrap()
}

#[tokio::test]
async fn a_page_in_the_browser_cannot_reach_the_loopback_server() {
    let p = project("").await;
    let options = Options { addr: "127.0.0.1:8787".parse().unwrap(), ..Default::default() };
    let app = coord_server::app(p.state.clone(), &options).unwrap();
    // DNS rebinding: the page's own name in Host, reading or writing.
    let (status, body) = send(&app, post_from("evil.example", Some("http://evil.example"), None)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "host_not_allowed"), "{body}");
    let read = Request::get("/runs").header("host", "evil.example:8787").body(Body::empty()).unwrap();
    assert_eq!(send(&app, read).await.0, StatusCode::FORBIDDEN);
    // Another site posting to the right host.
    let (status, body) = send(&app, post_from("127.0.0.1:8787", Some("http://evil.example"), None)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "cross_origin"), "{body}");
    let (status, _) = send(&app, post_from("localhost:8787", Some("null"), None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a sandboxed page's null origin");
    let (status, _) = send(&app, post_from("localhost:8787", None, Some("cross-site"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a cross-site fetch without Origin");
    assert!(coord_store::Store::runs(p.state.runtime.store()).await.unwrap().is_empty(), "no run was started");
    // The dashboard itself (same origin), and clients that send no Origin (curl), go through.
    let (status, body) =
        send(&app, post_from("127.0.0.1:8787", Some("http://127.0.0.1:8787"), Some("same-origin"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = send(&app, post_from("localhost:8787", None, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A configured name and a CORS origin are allowed.
    let options = Options {
        addr: "127.0.0.1:8787".parse().unwrap(),
        allowed_hosts: vec!["coord.internal".into()],
        cors_origins: vec!["https://ops.example".into()],
        ..Default::default()
    };
    let app = coord_server::app(p.state.clone(), &options).unwrap();
    let (status, body) = send(&app, post_from("coord.internal", Some("https://ops.example"), Some("cross-site"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
