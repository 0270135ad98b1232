//! `cargo bench -p coord-workflows --bench workflows`: replay of 200 migrations (up, down, up,
//! with schema snapshots) on SQLite and on PostgreSQL; the contract diff of a 500-operation
//! spec; and the contract test's requests per second against a local service. Prints figures;
//! asserts nothing about time.

use axum::Router;
use coord_gates::SourceFile;
use serde_json::{Value, json};
use std::time::Instant;

fn migrations(n: usize) -> Vec<SourceFile> {
    let mut files = Vec::new();
    for i in 0..n {
        let up = format!(
            "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER{});\nCREATE INDEX t{i}_name_idx ON t{i} (name);\n",
            if i > 0 { format!(" REFERENCES t{} (id)", i - 1) } else { String::new() }
        );
        let down = format!("DROP INDEX t{i}_name_idx;\nDROP TABLE t{i};\n");
        for (suffix, text) in [("up", up), ("down", down)] {
            let rel = format!("migrations/{:04}_t{i}.{suffix}.sql", i + 1);
            files.push(SourceFile { rel: rel.clone(), path: rel.into(), text });
        }
    }
    files
}

fn spec(ops: usize, drift: bool) -> Value {
    let mut paths = serde_json::Map::new();
    for i in 0..ops / 2 {
        let total = if drift && i % 10 == 0 { "string" } else { "number" };
        paths.insert(
            format!("/v1/r{i}"),
            json!({
                "get": { "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer" } }],
                         "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string" }, "total": { "type": total } } } } } } } },
                "post": { "requestBody": { "content": { "application/json": { "schema": { "type": "object", "properties": { "total": { "type": "number" } } } } } },
                          "responses": { "201": { "description": "created", "content": { "application/json": { "schema": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } } } } } } } }
            }),
        );
    }
    json!({ "openapi": "3.1.0", "info": { "title": "bench", "version": "1" }, "paths": paths })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("workflows: bench");
        return;
    }
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else { return };
    let files = migrations(200);
    let scratch = std::env::temp_dir().join(format!("coord-workflows-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&scratch);
    let t = Instant::now();
    let r = rt.block_on(coord_workflows::replay_sqlite(&files, &scratch));
    match r {
        Ok(r) => println!(
            "replay of 200 migrations up/down/up on SQLite: {:.2} s ({} replayed, {} findings)",
            t.elapsed().as_secs_f64(),
            r.replayed,
            r.findings.len()
        ),
        Err(e) => println!("SQLite replay failed: {e}"),
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let url = std::env::var("COORD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let t = Instant::now();
    match rt.block_on(coord_workflows::replay::replay_postgres(&files, &url)) {
        Ok(r) => println!(
            "replay of 200 migrations up/down/up on PostgreSQL: {:.2} s ({} replayed, {} findings)",
            t.elapsed().as_secs_f64(),
            r.replayed,
            r.findings.len()
        ),
        Err(e) => println!("PostgreSQL replay not measured ({url}: {e})"),
    }

    let (old, new) = (spec(500, false), spec(500, true));
    let mut best = f64::MAX;
    let mut changes = 0;
    for _ in 0..20 {
        let t = Instant::now();
        changes = coord_gates::contract::diff(&old, &new).len();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("contract diff of two 500-operation specs: {:.2} ms ({changes} changes, best of 20)", best * 1e3);

    rt.block_on(async {
        let app = Router::new().fallback(|method: axum::http::Method| async move {
            if method == axum::http::Method::POST {
                (axum::http::StatusCode::CREATED, axum::Json(json!({ "id": "new" })))
            } else {
                (axum::http::StatusCode::OK, axum::Json(json!({ "id": "x", "total": 1.5 })))
            }
        });
        let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { return };
        let Ok(addr) = listener.local_addr() else { return };
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut best = f64::MAX;
        let mut coverage = 0.0;
        for _ in 0..3 {
            let t = Instant::now();
            let r = coord_workflows::contract_test(&old, &format!("http://{addr}"), &[], std::time::Duration::from_secs(5)).await;
            best = best.min(t.elapsed().as_secs_f64());
            coverage = r.api_endpoint_coverage;
        }
        println!("contract test of 500 operations against a local service: {:.0} requests/s (coverage {coverage:.2}, best of 3, one request at a time)", 500.0 / best);
    });
}
