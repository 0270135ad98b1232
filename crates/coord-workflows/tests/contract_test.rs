//! Contract tests against a small HTTP service: the matching spec passes every operation; a
//! drifted spec finds the retyped field, the missing required field and the undocumented
//! status; a service that is not there is reported, not crashed on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::routing::get;
use coord_workflows::contract_test;
use serde_json::json;
use std::time::Duration;

async fn service() -> String {
    let app = Router::new()
        .route(
            "/v1/orders",
            get(|| async { axum::Json(json!([{ "id": "o1", "total": 12.5 }])) })
                .post(|| async { (axum::http::StatusCode::CREATED, axum::Json(json!({ "id": "new", "total": 1.0 }))) }),
        )
        .route(
            "/v1/orders/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                axum::Json(json!({ "id": id, "total": 10 }))
            }),
        )
        .route("/v1/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn spec(total_type: &str, required: serde_json::Value, extra_delete: bool) -> serde_json::Value {
    let mut s = json!({
        "openapi": "3.1.0",
        "info": { "title": "Orders", "version": "1" },
        "components": { "schemas": { "Order": { "type": "object", "required": required, "properties": { "id": { "type": "string" }, "total": { "type": total_type } } } } },
        "paths": {
            "/v1/orders": {
                "get": { "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer" } }], "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Order" } } } } } } },
                "post": { "requestBody": { "content": { "application/json": { "schema": { "type": "object", "required": ["total"], "properties": { "total": { "type": "number" } } } } } }, "responses": { "201": { "description": "created", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } } } }
            },
            "/v1/orders/{id}": {
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "example": "o7" } }],
                "get": { "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } } } }
            },
            "/v1/health": { "get": { "responses": { "200": { "description": "up", "content": { "text/plain": { "schema": { "type": "string" } } } } } } }
        }
    });
    if extra_delete {
        s["paths"]["/v1/orders/{id}"]["delete"] = json!({ "responses": { "204": { "description": "gone" } } });
    }
    s
}

#[tokio::test]
async fn the_matching_spec_passes_every_operation() {
    let base = service().await;
    let r = contract_test(&spec("number", json!(["id", "total"]), false), &base, &[], Duration::from_secs(5)).await;
    assert_eq!(r.operations.len(), 4);
    assert!(r.operations.iter().all(|o| o.problems.is_empty()), "{:#?}", r.operations);
    assert_eq!(r.api_endpoint_coverage, 1.0);
    assert!(r.operations.iter().any(|o| o.url.ends_with("/v1/orders/o7")), "path parameters use the spec's example");
    // Every answer is timed; the p95 is one of those times (nearest rank), the slowest of four.
    let times: Vec<f64> = r.operations.iter().map(|o| o.elapsed_ms.unwrap()).collect();
    let slowest = times.iter().cloned().fold(0.0, f64::max);
    assert_eq!(r.response_time_p95_ms, Some(slowest), "{times:?}");
}

#[tokio::test]
async fn a_drifted_spec_finds_each_difference() {
    let base = service().await;
    let r =
        contract_test(&spec("string", json!(["id", "total", "currency"]), true), &base, &[], Duration::from_secs(5))
            .await;
    let all: Vec<String> =
        r.operations.iter().flat_map(|o| o.problems.iter().map(move |p| format!("{} {p}", o.operation))).collect();
    assert!(
        all.iter().any(|p| p.contains("GET /v1/orders/{id}") && p.contains("$.total: expected string")),
        "{all:#?}"
    );
    assert!(all.iter().any(|p| p.contains("$.currency: required but missing")), "{all:#?}");
    assert!(
        all.iter().any(|p| p.contains("DELETE /v1/orders/{id}") && p.contains("status 405 is not documented")),
        "{all:#?}"
    );
    assert!(r.api_endpoint_coverage < 0.5, "{}", r.api_endpoint_coverage);
}

#[tokio::test]
async fn a_service_that_is_not_there_is_a_finding() {
    let r =
        contract_test(&spec("number", json!(["id"]), false), "http://127.0.0.1:9", &[], Duration::from_secs(2)).await;
    assert!(
        r.operations.iter().all(|o| o.status.is_none() && o.problems[0].contains("cannot reach")),
        "{:#?}",
        r.operations
    );
    assert_eq!(r.api_endpoint_coverage, 0.0);
    assert_eq!(r.response_time_p95_ms, None, "nothing answered, so no answer time");
}

#[tokio::test]
async fn a_ref_cycle_and_an_answer_that_is_not_json_are_findings_not_hangs() {
    let base = service().await;
    // `Order.parent` refers back to `Order`; `/v1/health` answers plain text where JSON is documented.
    let spec = json!({
        "openapi": "3.1.0",
        "info": { "title": "Orders", "version": "1" },
        "components": { "schemas": {
            "Order": { "type": "object", "required": ["id"], "properties": {
                "id": { "type": "string" }, "parent": { "$ref": "#/components/schemas/Order" } } },
            "Loop": { "$ref": "#/components/schemas/Loop" }
        } },
        "paths": {
            "/v1/orders/{id}": {
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "$ref": "#/components/schemas/Loop" } }],
                "get": { "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } } } }
            },
            "/v1/health": { "get": { "responses": { "200": { "description": "up", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } } } } }
        }
    });
    let r = tokio::time::timeout(Duration::from_secs(20), contract_test(&spec, &base, &[], Duration::from_secs(5)))
        .await
        .expect("the contract test terminates on $ref cycles");
    assert_eq!(r.operations.len(), 2);
    let health = r.operations.iter().find(|o| o.operation == "GET /v1/health").unwrap();
    assert!(health.problems.iter().any(|p| p.to_lowercase().contains("json")), "{:#?}", health.problems);
    // The cyclic diff terminates too, and an identical document has no changes.
    let changes = coord_gates::contract::diff(&spec, &spec);
    assert!(changes.is_empty(), "{changes:?}");
}

#[tokio::test]
async fn a_service_that_never_listens_or_exits_is_an_error_naming_it() {
    use coord_workflows::service::{Service, ServiceError};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let e = Service::start(Some("sleep 30"), dir.path(), &url, Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(e, ServiceError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("never listened") && e.to_string().contains(&port.to_string()), "{e}");
    let e = Service::start(Some("exit 3"), dir.path(), &url, Duration::from_secs(10)).await.unwrap_err();
    assert!(matches!(e, ServiceError::Exited { .. }) && e.to_string().contains("exit status: 3"), "{e}");
    let e = Service::start(None, dir.path(), "ftp://example", Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(e, ServiceError::BadUrl(_)), "{e}");
}
