//! Every kind of bad input gets a clear JSON error naming what is wrong, and the server keeps
//! serving: malformed JSON, wrong types, unknown fields and ids, oversize bodies, path
//! traversal in ids, a missing content type, and a client that disconnects mid-stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use support::{app, code, get, post, project, send, start};

fn raw_post(uri: &str, body: &'static str) -> Request<Body> {
    Request::post(uri).header("content-type", "application/json").body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn each_bad_request_gets_a_clear_error_and_the_server_keeps_serving() {
    let p = project("").await;
    let app = app(&p);
    let run = start(&app).await;
    let complete = format!("/runs/{run}/tasks/backend-T001/complete");

    // Malformed JSON: 400 with where it broke.
    let (status, e) = send(&app, raw_post(&complete, "{\"note\": ")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(code(&e), "invalid_json");
    assert!(e["error"]["message"].as_str().unwrap().contains("line 1"), "{e}");

    // Wrong types and unknown fields: 422 naming the field.
    let (status, e) = post(&app, &complete, json!({ "artifacts": "not-a-list" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("artifacts"), "{e}");
    let (status, e) = post(&app, &complete, json!({ "notes": "typo" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"]["message"].as_str().unwrap().contains("notes"), "{e}");
    let (status, e) = post(&app, "/runs", json!({ "objective": 42 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"]["message"].as_str().unwrap().contains("objective"), "{e}");
    let (status, e) = post(&app, "/runs", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"]["message"].as_str().unwrap().contains("objective"), "{e}");
    let (status, e) = post(&app, "/runs", json!({ "objective": "   " })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, e) = post(&app, "/runs", json!({ "objective": "x", "stack": "cobol" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["message"].as_str().unwrap().contains("cobol"), "{e}");
    let (status, e) = post(&app, "/escalations/abc/resolve", json!({ "decision": "retry" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, e) =
        post(&app, &format!("/runs/{run}/tasks/backend-T001/fail"), json!({ "note": "x", "category": "gremlins" }))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["message"].as_str().unwrap().contains("gremlins"), "{e}");

    // No JSON content type: 415.
    let request = Request::post(&complete).body(Body::from("{}")).unwrap();
    let (status, e) = send(&app, request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{e}");

    // Unknown ids: 404 naming them.
    let (status, e) = get(&app, "/runs/run-nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e["error"]["message"].as_str().unwrap().contains("run-nope"));
    let (status, e) = get(&app, &format!("/runs/{run}/tasks/backend-T999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e["error"]["message"].as_str().unwrap().contains("backend-T999"));
    let (status, _) = post(&app, "/escalations/424242/resolve", json!({ "decision": "skip" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&app, &format!("/runs/{run}/tasks/backend-T001/attempts/7")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, e) = get(&app, "/no/such/path").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&e), "not_found");

    // Path traversal in ids: refused before any file or query is touched.
    for uri in [
        format!("/runs/{run}/tasks/..%2F..%2Fetc/attempts/1"),
        format!("/runs/{run}/tasks/../attempts/1"),
        format!("/runs/..%2F{run}/tasks/backend-T001/attempts/1"),
        "/runs/%2e%2e".to_string(),
        format!("/runs/{run}/tasks/a%00b"),
    ] {
        let (status, e) = get(&app, &uri).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND, "{uri}: {status} {e}");
        assert!(e["error"]["message"].is_string(), "{uri}: {e}");
        assert!(!e.to_string().contains("root:"), "{uri}: {e}");
    }
    let (status, e) = get(&app, "/runs/%2e%2e").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["message"].as_str().unwrap().contains("not valid"), "{e}");
    let (status, e) = post(&app, &complete, json!({ "artifacts": ["../../etc/passwd"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["message"].as_str().unwrap().contains(".."), "{e}");

    // Unknown query parameters and bad values.
    let (status, e) = get(&app, &format!("/runs/{run}/tasks?colour=blue")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["message"].as_str().unwrap().contains("colour"), "{e}");
    let (status, _) = get(&app, "/runs?limit=-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The wrong state: 409.
    let (_, _) = post(&app, &complete, json!({})).await;
    let (status, e) = post(&app, &complete, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");

    // Still serving, and nothing was lost.
    let (status, r) = get(&app, &format!("/runs/{run}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["tasks"]["done"], 1, "{r}");
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    let p = project("").await;
    let options = coord_server::Options { max_body: 4096, ..Default::default() };
    let app = coord_server::app(p.state.clone(), &options).unwrap();
    let big = json!({ "objective": "x".repeat(10_000) }).to_string();
    let request = Request::post("/runs").header("content-type", "application/json").body(Body::from(big)).unwrap();
    let (status, e) = send(&app, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    assert_eq!(code(&e), "payload_too_large");
    // Chunked (no length): refused while reading.
    let chunks = futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let request =
        Request::post("/runs").header("content-type", "application/json").body(Body::from_stream(chunks)).unwrap();
    let (status, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = get(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_does_not_disturb_the_server() {
    let p = project("").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = p.state.clone();
    let server =
        tokio::spawn(coord_server::serve(listener, state, coord_server::Options::default(), std::future::pending()));
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{base}/runs"))
        .json(&json!({ "objective": support::OBJECTIVE, "planner": "rules" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = created["run"]["id"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let mut events = client.get(format!("{base}/runs/{run}/events")).send().await.unwrap();
        assert_eq!(events.status(), 200);
        let chunk = events.chunk().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&chunk).contains("run_created"));
        drop(events); // mid-stream: the connection closes under the server
    }
    // A raw socket that sends half a request and vanishes.
    {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            b"POST /runs HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"obj",
        )
        .await
        .unwrap();
    }
    let ok = client
        .post(format!("{base}/runs/{run}/tasks/backend-T001/complete"))
        .json(&json!({ "note": "after the disconnects" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(!server.is_finished());
    server.abort();
}
