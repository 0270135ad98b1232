//! The dashboard in a real browser: headless Chromium driven over the WebDriver protocol
//! (chromedriver, Debian's `chromium-driver`). A run of the spec's example is started from the
//! page, task states change live (an automatic specialist runs a command; a person completes a
//! task through the API), a task's brief shows while the whole DAG stays in view at 1400×900
//! (screenshot `target/dashboard-task-open.png`), escalations are decided from the page with a
//! note (a retry whose advice reaches the next brief, then an approval), and a screenshot is
//! written to `target/dashboard.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    process: Child,
}

impl Drop for Driver {
    /// Ends the session (chromedriver then closes the browser), even when the test panicked,
    /// then stops chromedriver.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let host = self.base.trim_start_matches("http://").to_string();
        if let Ok(mut s) = std::net::TcpStream::connect(&host) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let request =
                format!("DELETE /session/{} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n", self.session);
            if s.write_all(request.as_bytes()).is_ok() {
                let _ = s.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Driver {
    async fn start(profile: &std::path::Path) -> Driver {
        for tool in ["chromium", "chromedriver"] {
            let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().unwrap();
            assert!(
                found.status.success(),
                "`{tool}` is not installed: the dashboard test needs Debian's chromium and chromium-driver (.ci/run installs them)"
            );
        }
        let port = free_port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1500,1100",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        } } });
        let created: Value =
            http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        let mut process = process;
        let _ = process.try_wait();
        Driver { http, base, session, process }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut r = self.http.request(method.clone(), url);
        if method == reqwest::Method::POST {
            r = r.json(&body);
        }
        let v: Value = r.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {v}");
        }
        v["value"].clone()
    }

    async fn js(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", json!({ "script": script, "args": [] })).await
    }

    /// Waits until `script` returns `want`, reloading nothing.
    async fn wait_for(&self, script: &str, want: Value, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            last = self.js(script).await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: still {last} after 30s");
    }

    async fn element(&self, css: &str) -> String {
        let v = self.cmd(reqwest::Method::POST, "/element", json!({ "using": "css selector", "value": css })).await;
        v.as_object().and_then(|o| o.values().next()).and_then(|id| id.as_str()).unwrap().to_string()
    }

    /// Clicks the element; finds it again when the page redrew it in between (live updates).
    async fn click(&self, css: &str) {
        for _ in 0..20 {
            let id = self.element(css).await;
            let url = format!("{}/session/{}/element/{id}/click", self.base, self.session);
            let v: Value = self.http.post(url).json(&json!({})).send().await.unwrap().json().await.unwrap();
            match v["value"].get("error").and_then(Value::as_str) {
                None => return,
                Some("stale element reference") => tokio::time::sleep(Duration::from_millis(50)).await,
                Some(_) => panic!("webdriver click {css}: {v}"),
            }
        }
        panic!("{css} kept being redrawn");
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), json!({ "text": text })).await;
    }
}

fn state_of(task: &str) -> String {
    format!(
        "const e = document.querySelector('.task[data-task=\"{task}\"]'); return e ? e.getAttribute('data-state') : null;"
    )
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    digits
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().fold(0u32, |acc, &d| (acc << 6) | d as u32) << (6 * (4 - c.len()));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes.into_iter().take(c.len().saturating_sub(1))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_run_live_and_resolves_an_escalation() {
    // @api-architect runs a command (so states change on their own); everyone else is manual.
    // Unconfined: a library test has no `coord` binary to be the sandbox's trampoline (the
    // sandbox is tested through the binary in crates/coord/tests/confinement.rs).
    let p = support::project(
        "[specialists.api-architect]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"sleep 1\"]\nsandbox = \"off\"\n",
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let options = coord_server::Options { sample_every: Duration::from_millis(250), ..Default::default() };
    let server = tokio::spawn(coord_server::serve(listener, p.state.clone(), options, std::future::pending()));
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;
    d.cmd(reqwest::Method::POST, "/url", json!({ "url": url })).await;
    // With no run yet the badge says the server answers, not "offline".
    d.wait_for("return document.querySelector('#live').textContent", json!("connected"), "the connection badge").await;

    // Start the spec's example from the page, without the coordination workflows (they are on by
    // default; this test is about the page's mechanics).
    d.type_into("#objective", support::OBJECTIVE).await;
    assert_eq!(d.js("return document.querySelector('#workflows').checked").await, json!(true));
    d.click("#workflows").await;
    d.click("#start").await;
    d.wait_for("return document.querySelectorAll('.task').length", json!(8), "the plan's eight tasks").await;
    d.wait_for("return document.querySelectorAll('.group').length", json!(5), "five parallel groups").await;
    let run = d.js("return document.querySelector('#runs').value").await.as_str().unwrap().to_string();
    assert!(run.starts_with("run-"), "{run}");

    // The automatic task runs and finishes while the page watches (no reload).
    d.wait_for(&state_of("backend-T001"), json!("done"), "backend-T001 driven by the server").await;
    // Another person completes a task through the API: the page sees it live.
    let http = reqwest::Client::new();
    let done = http
        .post(format!("{url}/runs/{run}/tasks/backend-T002/complete"))
        .json(&json!({ "note": "schema written" }))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    d.wait_for(&state_of("backend-T002"), json!("done"), "backend-T002 completed elsewhere").await;
    d.wait_for(&state_of("backend-T003"), json!("ready"), "backend-T003 unblocked").await;
    assert_eq!(d.js("return document.querySelector('#live').textContent").await, json!("live"));

    // A task's brief and attempts.
    d.click(".task[data-task=\"backend-T001\"]").await;
    d.wait_for(
        "return document.querySelector('#brief').textContent.includes('backend-T001')",
        json!(true),
        "the brief of backend-T001",
    )
    .await;
    d.wait_for(
        "return document.querySelector('#attempts').textContent.includes('succeeded')",
        json!(true),
        "the attempt list",
    )
    .await;

    // With a task open, at 1400×900 every parallel group of the DAG is still in view (the task
    // panel goes below the DAG instead of squeezing it), and the legend tells blocked from failed.
    d.cmd(reqwest::Method::POST, "/window/rect", json!({ "width": 1400, "height": 900 })).await;
    // The edges are redrawn on the next frame after the resize; until then the drawing keeps
    // the wider window's size.
    d.wait_for(
        "const dag = document.querySelector('#dag'); return dag.scrollWidth <= dag.clientWidth",
        json!(true),
        "the DAG redrawn without horizontal scrolling at 1400×900",
    )
    .await;
    let layout = d
        .js("const dag = document.querySelector('#dag'); const box = dag.getBoundingClientRect();
             const hidden = [...document.querySelectorAll('.group')]
               .filter((g) => { const r = g.getBoundingClientRect(); return r.left < box.left - 1 || r.right > box.right + 1; })
               .map((g) => g.dataset.group);
             const bg = (c) => { const e = document.createElement('span'); e.className = 'state ' + c; document.body.append(e);
               const v = getComputedStyle(e).backgroundColor; e.remove(); return v; };
             return { hidden, overflow: dag.scrollWidth - dag.clientWidth, panel: !document.querySelector('#task-panel').hidden,
                      width: window.innerWidth, groups: document.querySelectorAll('.group').length,
                      legend: document.querySelectorAll('#legend li').length,
                      blocked_like_failed: bg('state-blocked') === bg('state-failed') };")
        .await;
    assert_eq!(layout["panel"], json!(true), "{layout}");
    assert_eq!(layout["groups"], json!(5), "{layout}");
    assert_eq!(layout["hidden"], json!([]), "no group hidden with a task open: {layout}");
    assert!(layout["overflow"].as_i64().unwrap() <= 0, "no horizontal scrolling: {layout}");
    assert_eq!((&layout["legend"], &layout["blocked_like_failed"]), (&json!(9), &json!(false)), "{layout}");
    let shot = d.cmd(reqwest::Method::GET, "/screenshot", json!({})).await;
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("dashboard-task-open.png"), decode_base64(shot.as_str().unwrap())).unwrap();

    // A person completes a manual task from the page.
    d.wait_for(&state_of("backend-T004"), json!("ready"), "backend-T004 ready").await;
    d.click(".task[data-task=\"backend-T004\"]").await;
    d.wait_for(
        "return !document.querySelector('#task-actions').hidden && document.querySelector('#task-title').textContent.startsWith('backend-T004')",
        json!(true),
        "the Complete button of a manual task",
    )
    .await;
    d.type_into("#note", "OAuth2 provider wired").await;
    d.click("#complete").await;
    d.wait_for(&state_of("backend-T004"), json!("done"), "backend-T004 completed from the page").await;
    let t4: Value =
        http.get(format!("{url}/runs/{run}/tasks/backend-T004")).send().await.unwrap().json().await.unwrap();
    assert!(t4["attempts"][0]["detail"].as_str().unwrap().contains("OAuth2 provider wired"), "{t4}");

    // A security concern escalates to level 4; the tech lead decides from the page.
    let failed = http
        .post(format!("{url}/runs/{run}/tasks/backend-T003/fail"))
        .json(&json!({ "note": "tokens would be logged in clear", "category": "security" }))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 200);
    d.wait_for(&state_of("backend-T003"), json!("escalated"), "backend-T003 escalated").await;
    d.wait_for("return document.querySelectorAll('#escalations tbody tr').length", json!(1), "the escalation row")
        .await;
    d.cmd(reqwest::Method::POST, "/window/rect", json!({ "width": 1500, "height": 1400 })).await;
    // A retry with advice: the note goes with the decision and joins the next brief.
    d.type_into("#escalations textarea.note", "hash the tokens before logging the request").await;
    d.click("#escalations button.resolve[data-decision=\"retry\"]").await;
    d.wait_for("return document.querySelectorAll('#escalations tbody tr').length", json!(0), "the queue emptied").await;
    d.wait_for(&state_of("backend-T003"), json!("ready"), "backend-T003 back to ready").await;
    let all: Value = http.get(format!("{url}/escalations?state=all")).send().await.unwrap().json().await.unwrap();
    assert_eq!(all[0]["decision"], "retry", "the page's button resolved it: {all}");
    assert_eq!(all[0]["note"], "hash the tokens before logging the request", "{all}");
    let brief: Value =
        http.get(format!("{url}/runs/{run}/tasks/backend-T003/brief")).send().await.unwrap().json().await.unwrap();
    assert!(brief["markdown"].as_str().unwrap().contains("hash the tokens before logging the request"), "{brief}");

    // Escalated again; this time the tech lead approves the result as it stands, saying why.
    let failed = http
        .post(format!("{url}/runs/{run}/tasks/backend-T003/fail"))
        .json(&json!({ "note": "drops the legacy_sessions table", "category": "security" }))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 200);
    d.wait_for("return document.querySelectorAll('#escalations tbody tr').length", json!(1), "the second escalation")
        .await;
    d.type_into("#escalations textarea.note", "legacy_sessions is empty since the v2 login").await;
    d.click("#escalations button.resolve[data-decision=\"approve\"]").await;
    d.wait_for(&state_of("backend-T003"), json!("done"), "backend-T003 approved from the page").await;
    let all: Value = http.get(format!("{url}/escalations?state=all")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (&all[0]["decision"], &all[0]["note"]),
        (&json!("approve"), &json!("legacy_sessions is empty since the v2 login"))
    );

    // Charts have samples.
    d.wait_for("return document.querySelectorAll('#charts .chart').length", json!(7), "the metric charts").await;

    let shot = d.cmd(reqwest::Method::GET, "/screenshot", json!({})).await;
    // The API docs page renders from the server's own files (the browser has no network).
    d.cmd(reqwest::Method::POST, "/url", json!({ "url": format!("{url}/docs/") })).await;
    d.wait_for(
        "return document.querySelectorAll('.opblock').length >= 20",
        json!(true),
        "the docs page listing the operations",
    )
    .await;
    let png = decode_base64(shot.as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(target.join("dashboard.png"), &png).unwrap();
    drop(d);
    server.abort();
}
