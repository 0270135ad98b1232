//! schemathesis (PyPI; `.ci/run` installs it) against the served `/openapi.json`: every check
//! (no 5xx, documented status codes, content types and headers, responses matching their
//! schemas, invalid data refused, valid data accepted...) over every operation. The event
//! stream runs in a second pass with a short request timeout, since a live stream never ends.
//! Workers: one, because CPython 3.11's compiler is not thread-safe under schemathesis'
//! parallel schema compilation ("AST constructor recursion depth mismatch").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

fn schemathesis(url: &str, run: &str, extra: &[&str]) -> (bool, String) {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    // schemathesis keeps a cache in its working folder: keep it out of the repository.
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new("schemathesis")
        .current_dir(scratch.path())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{url}/openapi.json"), "--checks", "all", "--workers", "1", "--no-color"])
        .args(extra)
        .env("COORD_ST_RUN", run)
        .output()
        .expect("schemathesis is not installed (pip install schemathesis; .ci/run installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing() {
    let p = support::project("").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Generated requests create runs and resolve things at will: no rate limit here.
    let options = coord_server::Options { rate_per_sec: 1_000_000, rate_burst: 1_000_000, ..Default::default() };
    let server = tokio::spawn(coord_server::serve(listener, p.state.clone(), options, std::future::pending()));
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{url}/runs"))
        .json(&serde_json::json!({ "objective": support::OBJECTIVE, "planner": "rules" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = created["run"]["id"].as_str().unwrap().to_string();
    let (url2, run2) = (url.clone(), run.clone());
    let (ok, text) = tokio::task::spawn_blocking(move || {
        schemathesis(
            &url2,
            &run2,
            &["--exclude-path", "/runs/{run}/events", "--max-examples", "25", "--request-timeout", "20"],
        )
    })
    .await
    .unwrap();
    assert!(ok, "schemathesis found problems:\n{text}");
    let generated = text
        .lines()
        .find(|l| l.contains(" generated, "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(generated > 100, "schemathesis generated only {generated} cases:\n{text}");
    let (ok, text) = tokio::task::spawn_blocking(move || {
        schemathesis(
            &url,
            &run,
            &["--include-path", "/runs/{run}/events", "--max-examples", "8", "--request-timeout", "1"],
        )
    })
    .await
    .unwrap();
    assert!(ok, "schemathesis found problems in the event stream:\n{text}");
    server.abort();
}
