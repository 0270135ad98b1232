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
}
