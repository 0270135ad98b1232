//! The API end to end without a port: a manual run of the spec's example from creation to
//! done, filters and pagination, the escalation queue, cancel and resume, SSE, metrics, and the
//! OpenAPI document covering every route.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{app, code, get, post, project, start};
use tower::ServiceExt;

#[tokio::test]
async fn a_manual_run_goes_from_objective_to_done() {
    let p = project("").await;
    let app = app(&p);
    let (status, created) =
        post(&app, "/runs", json!({ "objective": support::OBJECTIVE, "planner": "rules", "workflows": false })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let run = created["run"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["run"]["total_tasks"], 8);
    assert_eq!(created["groups"][0], json!(["backend-T001", "backend-T002"]));
    assert_eq!(created["run"]["driving"], false, "every specialist is manual: nothing to drive");

    let (_, list) = get(&app, "/runs").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["runs"][0]["id"], run.as_str());

    // Complete tasks in plan order until the run is done; each completion names what is ready.
    for round in 0..20 {
        let (status, ready) = get(&app, &format!("/runs/{run}/tasks?state=ready")).await;
        assert_eq!(status, StatusCode::OK);
        let Some(task) = ready["tasks"][0]["task_id"].as_str().map(String::from) else { break };
        let (status, brief) = get(&app, &format!("/runs/{run}/tasks/{task}/brief")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(brief["markdown"].as_str().unwrap().contains(&task), "round {round}: {brief}");
        let (status, out) =
            post(&app, &format!("/runs/{run}/tasks/{task}/complete"), json!({ "note": "done by hand" })).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(out["accepted"], true);
        assert_eq!(out["next"]["action"], "done");
    }
    let (_, r) = get(&app, &format!("/runs/{run}")).await;
    assert_eq!(r["state"], "done", "{r}");
    assert_eq!(r["tasks"]["done"], 8);

    let (_, detail) = get(&app, &format!("/runs/{run}/tasks/backend-T003")).await;
    assert_eq!(detail["task"]["state"], "done");
    assert_eq!(detail["task"]["group"], 1);
    assert_eq!(detail["attempts"][0]["owner"], "person:web");
    let (status, transcript) = get(&app, &format!("/runs/{run}/tasks/backend-T003/attempts/1")).await;
    assert_eq!(status, StatusCode::OK, "{transcript}");
    assert_eq!(transcript["transcript"], serde_json::Value::Null);

    let (missing, _) = get(&app, "/runs/no-such-run").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    let (_, metrics) = get(&app, "/metrics").await;
    let text = metrics.as_str().unwrap();
    assert!(text.contains("backend_tasks_completed_total 8"), "{text}");
    assert!(text.contains("backend_success_rate 1"), "{text}");
    for name in ["api_endpoint_coverage", "test_coverage", "database_query_performance", "api_response_time_p95"] {
        assert!(text.contains(&format!("# TYPE {name} gauge")), "{name} missing");
    }
    // A valid exposition: every metric family is described once.
    let mut families: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).collect();
    let described = families.len();
    families.sort_unstable();
    families.dedup();
    assert_eq!(families.len(), described, "a metric family is described twice: {text}");
    promtool_check(text);
    promql_in_docs_reads_exposed_metrics(text);
    assert!(text.contains("coord_queue_depth 0"), "{text}");
    // Task turnaround by specialist and kind: the eight tasks are counted once each, with
    // cumulative buckets (each at least the one before, the +Inf bucket the count).
    let counts: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("coord_task_duration_seconds_count{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 8, "{text}");
    assert!(
        text.contains("coord_task_duration_seconds_count{specialist=\"api-architect\",kind=\"api-design\"} 1"),
        "{text}"
    );
    let buckets: Vec<u64> = text
        .lines()
        .filter(|l| {
            l.starts_with("coord_task_duration_seconds_bucket{specialist=\"api-architect\",kind=\"api-design\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 15, "{text}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]) && buckets[14] == 1, "{buckets:?}");
    assert!(text.contains("coord_escalations_open 0"), "{text}");
    assert!(
        text.contains(
            "coord_http_request_duration_seconds_count{method=\"POST\",route=\"/runs/{run}/tasks/{task}/complete\",status=\"200\"} 8"
        ),
        "{text}"
    );
    // Errors are counted apart: an error rate can be read.
    assert!(
        text.contains(
            "coord_http_request_duration_seconds_count{method=\"GET\",route=\"/runs/{run}\",status=\"404\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn tasks_filter_and_page() {
    let p = project("").await;
    let app = app(&p);
    let run = start(&app).await;
    let (_, all) = get(&app, &format!("/runs/{run}/tasks")).await;
    assert_eq!(all["total"], 8);
    let (_, page) = get(&app, &format!("/runs/{run}/tasks?limit=3&offset=6")).await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(page["tasks"][0]["task_id"], "backend-T007");
    let (_, pending) = get(&app, &format!("/runs/{run}/tasks?state=pending")).await;
    assert_eq!(pending["total"], 6);
    let (_, api) = get(&app, &format!("/runs/{run}/tasks?specialist=@api-architect")).await;
    assert!(api["tasks"].as_array().unwrap().iter().all(|t| t["specialist"] == "api-architect"));
    assert!(api["total"].as_u64().unwrap() >= 1);
    let (status, body) = get(&app, &format!("/runs/{run}/tasks?state=sleeping")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("sleeping"), "{body}");
    let (status, _) = get(&app, &format!("/runs/{run}/tasks?limit=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn failures_escalate_and_decisions_continue_the_run() {
    let p = project("").await;
    let app = app(&p);
    let run = start(&app).await;
    // An ordinary failure: level 1, back to ready after a backoff, with feedback.
    let (status, out) =
        post(&app, &format!("/runs/{run}/tasks/backend-T001/fail"), json!({ "note": "the spec does not parse" })).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["next"]["action"], "retry");
    assert_eq!(out["next"]["level"], 1);
    let (_, detail) = get(&app, &format!("/runs/{run}/tasks/backend-T001")).await;
    assert!(detail["feedback"][0]["text"].as_str().unwrap().contains("does not parse"), "{detail}");

    // A security concern jumps to level 4: parked, escalation open, dependents blocked.
    let (_, out) = post(
        &app,
        &format!("/runs/{run}/tasks/backend-T002/fail"),
        json!({ "note": "passwords would be stored in clear", "category": "security" }),
    )
    .await;
    assert_eq!(out["next"]["action"], "escalated", "{out}");
    assert_eq!(out["next"]["level"], 4);
    let (_, open) = get(&app, &format!("/escalations?run={run}")).await;
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    let id = open[0]["id"].as_i64().unwrap();
    assert_eq!(open[0]["category"], "security");
    let (_, m) = get(&app, "/metrics").await;
    assert!(m.as_str().unwrap().contains("coord_escalations_open 1"));

    let (status, bad) =
        post(&app, &format!("/escalations/{id}/resolve"), json!({ "decision": "reassign:nobody" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad["error"]["message"].as_str().unwrap().contains("nobody"));
    let (status, bad) =
        post(&app, &format!("/escalations/{id}/resolve"), json!({ "decision": "retry", "note": "x".repeat(8_001) }))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("8001 characters"), "{bad}");
    let note = "store refresh tokens hashed, with a revocation list";
    let (status, resolved) =
        post(&app, &format!("/escalations/{id}/resolve"), json!({ "decision": "retry", "note": note })).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!((&resolved["state"], &resolved["note"]), (&json!("resolved"), &json!(note)));
    let (_, brief) = get(&app, &format!("/runs/{run}/tasks/backend-T002/brief")).await;
    assert!(brief["markdown"].as_str().unwrap().contains(note), "{brief}");
    let (status, again) = post(&app, &format!("/escalations/{id}/resolve"), json!({ "decision": "retry" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (_, t) = get(&app, &format!("/runs/{run}/tasks/backend-T002")).await;
    assert_eq!(t["task"]["state"], "ready");
    let (_, all) = get(&app, "/escalations?state=all").await;
    assert_eq!(all[0]["decision"], "retry");
}

#[tokio::test]
async fn cancel_and_resume() {
    let p = project("").await;
    let app = app(&p);
    let run = start(&app).await;
    let (status, r) = post(&app, &format!("/runs/{run}/resume"), json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, r) = post(&app, &format!("/runs/{run}/cancel"), json!(null)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["state"], "cancelled");
    assert_eq!(r["tasks"]["cancelled"], 8);
    let (status, e) = post(&app, &format!("/runs/{run}/cancel"), json!(null)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&e), "conflict");
    let (status, _) = post(&app, &format!("/runs/{run}/resume"), json!(null)).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_plan_can_be_posted_and_invalid_plans_are_named() {
    let p = project("").await;
    let app = app(&p);
    let plan = json!({
        "objective": "two steps",
        "tasks": [
            { "id": "a", "title": "first", "specialist": "api-architect" },
            { "id": "b", "title": "second", "specialist": "nodejs-expert", "depends_on": ["a"] },
        ]
    });
    let (status, created) = post(&app, "/runs", json!({ "plan": plan })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["groups"], json!([["a"], ["b"]]));
    let cyclic = json!({ "objective": "loop", "tasks": [
        { "id": "a", "title": "x", "specialist": "api-architect", "depends_on": ["b"] },
        { "id": "b", "title": "y", "specialist": "api-architect", "depends_on": ["a"] } ] });
    let (status, e) = post(&app, "/runs", json!({ "plan": cyclic })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"]["message"].as_str().unwrap().contains("cycle"), "{e}");
    let (status, e) = post(
        &app,
        "/runs",
        json!({ "plan": { "objective": "x", "tasks": [{ "id": "a", "title": "t", "specialist": "wizard" }] } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"]["message"].as_str().unwrap().contains("wizard"), "{e}");
}

#[tokio::test]
async fn events_stream_as_server_sent_events() {
    let p = project("").await;
    let app = app(&p);
    let run = start(&app).await;
    let request = Request::get(format!("/runs/{run}/events")).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let first = String::from_utf8(body.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains("id: 1") && first.contains("run_created"), "{first}");
    // Resuming after the last id sent gives only later events: a completion made now arrives.
    let request =
        Request::get(format!("/runs/{run}/events")).header("last-event-id", "100000").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let mut later = response.into_body().into_data_stream();
    let (_, _) = post(&app, &format!("/runs/{run}/tasks/backend-T001/complete"), json!({})).await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), later.next()).await;
    // Sequence numbers are far below 100000: nothing may arrive but keep-alives.
    if let Ok(Some(Ok(chunk))) = next {
        let text = String::from_utf8_lossy(&chunk).to_string();
        assert!(!text.contains("data:"), "{text}");
    }
    let request = Request::get(format!("/runs/{run}/events?after=1")).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let mut from_two = response.into_body().into_data_stream();
    let chunk = String::from_utf8(from_two.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(chunk.contains("id: 2"), "{chunk}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let p = project("").await;
    let app = app(&p);
    let (status, doc) = get(&app, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/health",
        "/runs",
        "/runs/{run}",
        "/runs/{run}/plan",
        "/runs/{run}/cancel",
        "/runs/{run}/resume",
        "/runs/{run}/events",
        "/runs/{run}/tasks",
        "/runs/{run}/tasks/{task}",
        "/runs/{run}/tasks/{task}/brief",
        "/runs/{run}/tasks/{task}/gates",
        "/runs/{run}/tasks/{task}/attempts/{attempt}",
        "/runs/{run}/tasks/{task}/claim",
        "/runs/{run}/tasks/{task}/complete",
        "/runs/{run}/tasks/{task}/fail",
        "/escalations",
        "/escalations/{id}/resolve",
        "/agents",
        "/metrics",
        "/metrics/history",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    assert_eq!(paths.len(), 20, "a documented path has no route test: {:?}", paths.keys().collect::<Vec<_>>());
    let (status, page) = get(&app, "/docs/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("swagger"), "the docs page is embedded");
    let (_, agents) = get(&app, "/agents").await;
    assert!(agents.as_array().unwrap().iter().any(|a| a["name"] == "nodejs-expert" && a["executor"] == "manual"));
    let (_, dashboard) = get(&app, "/").await;
    assert!(dashboard.as_str().unwrap().contains("/ui/app.js"));
}

/// A lint-clean OpenAPI document of one operation (shared with the other contract tests).
const USERS_API: &str = include_str!("../../coord-workflows/tests/fixtures/contracts/users-api.yaml");

#[tokio::test]
async fn with_the_workflows_the_server_runs_the_coordinators_own_steps() {
    let p = project("").await;
    let app = app(&p);
    let (status, created) = post(&app, "/runs", json!({ "objective": support::OBJECTIVE, "planner": "rules" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["run"]["total_tasks"], 13, "the workflows are on by default: {created}");
    let run = created["run"]["id"].as_str().unwrap().to_string();
    let (_, t9) = get(&app, &format!("/runs/{run}/tasks/backend-T009")).await;
    assert_eq!(t9["task"]["specialist"], "backend-coordinator", "{t9}");

    // The api-architect's work is done by a person; the coordinator publishes it by itself.
    std::fs::create_dir_all(p.dir.path().join("api")).unwrap();
    std::fs::write(p.dir.path().join("api/openapi.yaml"), USERS_API).unwrap();
    let (status, out) = post(
        &app,
        &format!("/runs/{run}/tasks/backend-T001/complete"),
        json!({ "note": "the contract", "artifacts": ["api/openapi.yaml"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["accepted"], true, "{out}");
    let mut state = Value::Null;
    for _ in 0..200 {
        let (_, t9) = get(&app, &format!("/runs/{run}/tasks/backend-T009")).await;
        state = t9["task"]["state"].clone();
        if state == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "done", "the publish step ran in the background");
    assert!(p.dir.path().join("contracts/users-api/v1.json").exists());
    // Now the frontend review waits for a person, with the published contract in its brief.
    let (_, t10) = get(&app, &format!("/runs/{run}/tasks/backend-T010")).await;
    assert_eq!(t10["task"]["state"], "ready", "{t10}");
    assert_eq!(t10["task"]["specialist"], "frontend-coordinator", "{t10}");
    let (_, brief) = get(&app, &format!("/runs/{run}/tasks/backend-T010/brief")).await;
    assert!(brief["markdown"].as_str().unwrap().contains("contracts/users-api/v1.json"), "{brief}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_arriving_together_are_recorded_together_and_each_gets_its_own_answer() {
    let p = project("").await;
    let app = app(&p);
    let mut tasks: Vec<Value> = (0..40)
        .map(|i| json!({ "id": format!("t{i:02}"), "title": format!("part {i}"), "specialist": "nodejs-expert" }))
        .collect();
    let all: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
    tasks.push(json!({ "id": "z", "title": "after all", "specialist": "nodejs-expert", "depends_on": all }));
    let (status, created) = post(&app, "/runs", json!({ "plan": { "objective": "many hands", "tasks": tasks } })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let run = created["run"]["id"].as_str().unwrap().to_string();
    // Every task once, five of them twice, one unknown task, and z before its dependencies.
    let mut targets: Vec<String> = all.clone();
    targets.extend(all[..5].iter().cloned());
    targets.push("nope".into());
    let calls = targets.iter().map(|task| {
        let (app, uri) = (app.clone(), format!("/runs/{run}/tasks/{task}/complete"));
        let task = task.clone();
        tokio::spawn(
            async move { (task.clone(), post(&app, &uri, json!({ "note": format!("{task} by hand") })).await) },
        )
    });
    let answers: Vec<(String, (StatusCode, Value))> =
        futures_util::future::join_all(calls).await.into_iter().map(|r| r.unwrap()).collect();
    let mut accepted = std::collections::HashMap::<String, usize>::new();
    for (task, (status, body)) in &answers {
        match status.as_u16() {
            200 => {
                assert_eq!(body["task"], task.as_str(), "{body}");
                assert_eq!(body["accepted"], true, "{body}");
                assert_eq!(body["next"]["action"], "done", "{body}");
                *accepted.entry(task.clone()).or_default() += 1;
            }
            409 => assert!(all[..5].contains(task), "only a second completion conflicts: {task} {body}"),
            404 => assert_eq!(task, "nope", "{body}"),
            other => panic!("{task}: {other} {body}"),
        }
    }
    assert_eq!(accepted.len(), 40, "{accepted:?}");
    assert!(accepted.values().all(|n| *n == 1), "a task was accepted twice: {accepted:?}");
    // Each recorded once, as one attempt of its person; the dependent is ready.
    let (_, t0) = get(&app, &format!("/runs/{run}/tasks/t00")).await;
    assert_eq!(t0["attempts"].as_array().unwrap().len(), 1, "{t0}");
    assert_eq!(t0["attempts"][0]["owner"], "person:web");
    assert!(t0["attempts"][0]["detail"].as_str().unwrap().contains("t00 by hand"), "{t0}");
    let (_, z) = get(&app, &format!("/runs/{run}/tasks/z")).await;
    assert_eq!(z["task"]["state"], "ready", "{z}");
    let (status, out) = post(&app, &format!("/runs/{run}/tasks/z/complete"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["run_state"], "done", "{out}");
}

/// `promtool check metrics` (Prometheus' own linter) on an exposition: no error, no lint
/// problem (counters end in `_total`, units, names). promtool comes from Debian's `prometheus`
/// package, which `.ci/run` installs.
fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is needed for this test (Debian package prometheus; .ci/run installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}\n{text}");
}

/// The metric families a PromQL text reads (`coord:*` recording-rule names left out).
fn families_read(promql: &str) -> std::collections::BTreeSet<String> {
    let mut used = std::collections::BTreeSet::new();
    for word in promql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
        let known = ["backend_", "coord_", "security_", "api_", "test_coverage"];
        if !word.contains(':') && known.iter().any(|k| word.starts_with(k)) {
            let family = ["_bucket", "_count", "_sum"].iter().fold(word, |w, s| w.strip_suffix(s).unwrap_or(w));
            used.insert(family.to_string());
        }
    }
    used
}

fn promtool_ok(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("promtool").args(args).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PromQL in `docs/prometheus` — the recording rules and the Grafana dashboard's panels —
/// reads only metric families this page describes (a renamed metric would leave a rule or a
/// panel silently empty), and promtool accepts it: the rules are checked and pass their unit
/// tests (`coord.rules.test.yml`); each panel's query is checked as a rule of its own.
fn promql_in_docs_reads_exposed_metrics(text: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/prometheus");
    let rules = std::fs::read_to_string(dir.join("coord.rules.yml")).unwrap();
    let exprs: Vec<&str> = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.contains("record:"))
        .map(|l| l.trim_start().strip_prefix("expr:").unwrap_or(l))
        .collect();
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grafana-dashboard.json")).unwrap()).unwrap();
    let panel_exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(panel_exprs.len() >= 12, "{panel_exprs:?}");
    let rule_families = families_read(&exprs.join("\n"));
    let panel_families = families_read(&panel_exprs.join("\n"));
    assert!(rule_families.len() >= 10 && panel_families.len() >= 10, "{rule_families:?} {panel_families:?}");
    for family in rule_families.iter().chain(&panel_families) {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "docs/prometheus reads `{family}`, which /metrics does not describe"
        );
    }
    promtool_ok(&dir, &["check", "rules", "coord.rules.yml"]);
    promtool_ok(&dir, &["test", "rules", "coord.rules.test.yml"]);
    // The panels' queries as recording rules, for promtool's PromQL parser.
    let scratch = tempfile::tempdir().unwrap();
    let rules: Vec<Value> = panel_exprs
        .iter()
        .enumerate()
        .map(|(i, e)| json!({ "record": format!("coord_dashboard:panel_{i}"), "expr": e }))
        .collect();
    let file = scratch.path().join("panels.rules.yml");
    // JSON is YAML: promtool reads it as is.
    std::fs::write(&file, json!({ "groups": [{ "name": "panels", "rules": rules }] }).to_string()).unwrap();
    promtool_ok(scratch.path(), &["check", "rules", "panels.rules.yml"]);
}
