//! `executor = "llm"` end to end: `coord run` drives a specialist through a model (a local
//! server speaking the OpenAI wire format) that writes a file with its tools; the run finishes,
//! the transcript is kept, and the planted key appears nowhere in what coord wrote. Without the
//! key, the run says why the LLM parts are off and the task waits for a person.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::Router;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use support::{Project, plan_json};

const CANARY: &str = "canary-key-5e1f0a9b7c3d";

fn scripted_model() -> String {
    let replies = Arc::new(Mutex::new(vec![
        serde_json::json!({ "model": "scripted", "choices": [{ "message": { "role": "assistant", "content": "Done: health check added." }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 300, "completion_tokens": 20 } }),
        serde_json::json!({ "model": "scripted", "choices": [{ "message": { "role": "assistant", "content": null, "tool_calls": [{ "id": "c1", "type": "function", "function": { "name": "write_file", "arguments": "{\"path\":\"src/health.js\",\"content\":\"module.exports = () => 'ok';\\n\"}" } }] }, "finish_reason": "tool_calls" }], "usage": { "prompt_tokens": 200, "completion_tokens": 30 } }),
    ]));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = Router::new().route(
                "/v1/chat/completions",
                post(move |body: String| {
                    let replies = replies.clone();
                    // After the agent's two replies, the judge's call: no verdict on any item
                    // (every item `unknown`, which does not block), for no tokens.
                    let judge = serde_json::json!({ "model": "scripted", "choices": [{ "message": { "role": "assistant", "content": "{\"verdicts\": []}" }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 0, "completion_tokens": 0 } });
                    async move { support::openai_reply(&body, replies.lock().unwrap().pop().unwrap_or(judge)) }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn config(addr: &str) -> String {
    format!(
        "[llm]\nprovider = \"openai\"\nmodel = \"scripted\"\nbase_url = \"http://{addr}/v1\"\napi_key_env = \"COORD_TEST_LLM_KEY\"\nprice = {{ input_per_mtok = 3.0, output_per_mtok = 15.0 }}\n[specialists.nodejs-expert]\nexecutor = \"llm\"\nmax_steps = 5\n"
    )
}

fn all_bytes_under(dir: &std::path::Path, out: &mut Vec<u8>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            all_bytes_under(&p, out);
        } else {
            out.extend(std::fs::read(&p).unwrap_or_default());
        }
    }
}

#[test]
fn an_llm_specialist_does_the_task_and_the_key_stays_secret() {
    let addr = scripted_model();
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write("coord.toml", &config(&addr));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json"])
        .current_dir(p.path())
        .env("COORD_TEST_LLM_KEY", CANARY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(p.path().join("src/health.js")).unwrap(), "module.exports = () => 'ok';\n");
    assert!(
        stdout.contains("LLM: 550 tokens, $0.0022")
            && stdout.contains("@nodejs-expert: 550 tokens")
            && stdout.contains("t1: 550 tokens"),
        "{stdout}"
    );
    let run = p.only_run();
    assert_eq!(p.status(&run)["state"], "done");
    let transcript = p.path().join(format!(".coord/runs/{run}/t1/attempt-1/transcript.json"));
    let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(transcript).unwrap()).unwrap();
    assert_eq!(t["steps"], 2);
    assert_eq!(t["usage"]["input_tokens"], 500);
    // The calls streamed; what arrived was written as it came.
    let partial =
        std::fs::read_to_string(p.path().join(format!(".coord/runs/{run}/t1/attempt-1/partial.txt"))).unwrap();
    assert!(partial.contains("--- step 2 ---\nDone: health check added."), "{partial}");
    // The key appears nowhere coord wrote: database, transcripts, briefs, logs, output.
    let mut written = Vec::new();
    all_bytes_under(&p.path().join(".coord"), &mut written);
    written.extend(out.stdout);
    written.extend(out.stderr);
    assert!(!written.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "the key leaked");
}

#[test]
fn without_a_key_the_llm_parts_are_off_and_say_why() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write("coord.toml", &config("127.0.0.1:9"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json"])
        .current_dir(p.path())
        .env_remove("COORD_TEST_LLM_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("LLM specialists are off") && stderr.contains("COORD_TEST_LLM_KEY"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("wait for a person"));
    assert_eq!(out.status.code(), Some(3), "the run waits for a person");
}

/// A model that only judges: it fails "error handling" the first time and passes it after;
/// when `malformed`, it never gives a usable verdict (no evidence, a verdict out of the enum).
fn judging_model(malformed: bool) -> String {
    let calls = Arc::new(Mutex::new(0u32));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = Router::new().route(
                "/v1/chat/completions",
                post(move || {
                    let calls = calls.clone();
                    async move {
                        let n = {
                            let mut c = calls.lock().unwrap();
                            *c += 1;
                            *c
                        };
                        // Upper case is still a verdict.
                        let verdict = if n == 1 { "FAIL" } else { "pass" };
                        let content = if malformed {
                            serde_json::json!({ "verdicts": [
                                { "item": "code.error-handling", "verdict": "looks fine", "reasons": "ok" }
                            ] })
                        } else {
                            serde_json::json!({ "verdicts": [
                                { "item": "code.error-handling", "verdict": verdict, "reasons": "the handler swallows database errors", "evidence": ["src/handler.js:1"] },
                                { "item": "code.style", "verdict": "pass", "reasons": "consistent", "evidence": ["src/handler.js:1"] }
                            ] })
                        }
                        .to_string();
                        axum::Json(serde_json::json!({ "model": "judge", "choices": [{ "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 50, "completion_tokens": 20 } }))
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn llm_judged_items_fail_a_task_with_reasons_as_feedback() {
    let (p, out) = judged_run(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    // Progress lines go to stderr.
    assert!(stderr.contains("the LLM judge failed 1 checklist item"), "{stderr}");
    let run = p.only_run();
    let second = p.brief_of(&run, "t1", 2);
    assert!(second.contains("code.error-handling: the handler swallows database errors"), "{second}");
    assert_eq!(p.status(&run)["state"], "done");
    // The judge's tokens are the run's spending too: two calls of 70 tokens.
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains("coord_llm_tokens_total{specialist=\"llm-judge\"} 140"), "{metrics}");
}

#[test]
fn a_judge_that_gives_no_usable_verdict_parks_the_task_for_a_person() {
    let (p, out) = judged_run(true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "the run waits for a person: {stdout}");
    let run = p.only_run();
    assert_eq!(p.states(&run)[0].1, "escalated", "{stdout}");
    let list = p.ok(&["escalation", "list"]);
    assert!(list.contains("the LLM judge gave no usable verdict, even when asked again"), "{list}");
    assert!(list.contains("must be pass, fail or unknown"), "{list}");
    // Asked, then asked again: both malformed answers' tokens count.
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains("coord_llm_tokens_total{specialist=\"llm-judge\"} 140"), "{metrics}");
}

/// A one-task run whose command writes a handler and whose checklist the judging model judges.
fn judged_run(malformed: bool) -> (Project, std::process::Output) {
    let addr = judging_model(malformed);
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write(
        "coord.toml",
        &format!(
            "[llm]\nprovider = \"openai\"\nmodel = \"judge\"\nbase_url = \"http://{addr}/v1\"\napi_key_env = \"COORD_TEST_LLM_KEY\"\n[escalation]\nbackoff_base_ms = 10\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"cat > brief-$COORD_ATTEMPT.md; mkdir -p src; echo 'module.exports = (req, res) => res.json({{ ok: true }});' > src/handler.js\"]\n"
        ),
    );
    // The task's artifacts are its diff on its branch: make the project a repository.
    for args in [
        &["init", "-q"][..],
        &["config", "user.email", "t@example.com"],
        &["config", "user.name", "t"],
        &["commit", "-q", "--allow-empty", "-m", "init"],
    ] {
        assert!(std::process::Command::new("git").args(args).current_dir(p.path()).status().unwrap().success());
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json"])
        .current_dir(p.path())
        .env("COORD_TEST_LLM_KEY", CANARY)
        .output()
        .unwrap();
    (p, out)
}

#[test]
fn a_run_past_its_llm_budget_stops_llm_work_and_escalates_and_metrics_show_the_spend() {
    let addr = scripted_model();
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[]), ("t2", "nodejs-expert", &["t1"])]));
    // t1's first call (230 tokens) leaves the run under its cap, so its second may start (the
    // cap can be passed by one call); after it, nothing more starts.
    p.write("coord.toml", &format!("{}[budget]\nrun_tokens = 300\n", config(&addr)));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json"])
        .current_dir(p.path())
        .env("COORD_TEST_LLM_KEY", CANARY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("LLM budget is reached"), "{stderr}");
    let run = p.only_run();
    assert_eq!(p.states(&run), vec![("t1".into(), "done".into()), ("t2".into(), "escalated".into())]);
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains("coord_llm_tokens_total{specialist=\"nodejs-expert\"} 550"), "{metrics}");
    assert!(metrics.contains("coord_llm_cost_usd_total{specialist=\"nodejs-expert\"} 0.00225"), "{metrics}");
}

/// A model that never finishes: every answer calls `list_files`, for 1000 input and 500 output
/// tokens ($0.0105 at $3 and $15 per million).
fn endless_model() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let app = Router::new().route(
                "/v1/chat/completions",
                post(|body: String| async move {
                    // A little latency, so parallel calls overlap.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    support::openai_reply(&body, serde_json::json!({ "model": "endless", "choices": [{ "message": { "role": "assistant", "content": null, "tool_calls": [{ "id": "c", "type": "function", "function": { "name": "list_files", "arguments": "{}" } }] }, "finish_reason": "tool_calls" }], "usage": { "prompt_tokens": 1000, "completion_tokens": 500 } }))
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn parallel_llm_tasks_cannot_overspend_the_run_budget_together_and_the_run_never_hangs() {
    let addr = endless_model();
    for round in 0..20 {
        let p = Project::new();
        let tasks: Vec<(String, &str, &[&str])> = (0..4).map(|i| (format!("t{i}"), "nodejs-expert", &[][..])).collect();
        let tasks: Vec<(&str, &str, &[&str])> = tasks.iter().map(|(t, s, d)| (t.as_str(), *s, *d)).collect();
        p.write("plan.json", &plan_json(&tasks));
        // Each attempt stops at its step limit and is retried: a retry waits while the budget
        // runs out (the case that used to hang).
        p.write(
            "coord.toml",
            &format!(
                "[llm]\nprovider = \"openai\"\nmodel = \"endless\"\nbase_url = \"http://{addr}/v1\"\napi_key_env = \"COORD_TEST_LLM_KEY\"\n\
                 max_output_tokens = 500\nprice = {{ input_per_mtok = 3.0, output_per_mtok = 15.0 }}\n\
                 [run]\nparallel = 4\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 20\n[budget]\nrun_cost_usd = 0.05\n\
                 [specialists.\"*\"]\nexecutor = \"llm\"\nmax_steps = 2\n"
            ),
        );
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
            .args(["run", "--plan", "plan.json"])
            .current_dir(p.path())
            .env("COORD_TEST_LLM_KEY", CANARY)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let finished = support::wait_for(120, || child.try_wait().unwrap().is_some());
        if !finished {
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(finished, "round {round}: the run hung\n{stdout}");
        assert_eq!(out.status.code(), Some(3), "round {round}: parked for a person\n{stdout}");
        let run = p.only_run();
        assert!(p.states(&run).iter().all(|(_, s)| s == "escalated"), "round {round}: {:?}", p.states(&run));
        // Spent: at most the cap and one call's reservation (500 output and the input estimate
        // of a short conversation: well under $0.02).
        let log = p.ok(&["log", &run, "--json"]);
        let spent: f64 = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["kind"] == "llm_usage")
            .map(|e| e["data"]["cost_usd"].as_f64().unwrap_or(0.0))
            .sum();
        assert!(spent > 0.04, "round {round}: the budget was used: ${spent}");
        assert!(spent <= 0.05 + 0.02, "round {round}: overspent: ${spent}\n{stdout}");
        let list = p.ok(&["escalation", "list"]);
        assert!(list.contains("the run's LLM budget is reached"), "round {round}: {list}");
    }
}

#[test]
fn an_llm_planner_that_falls_back_says_so_and_exits_3_unless_the_fallback_is_accepted() {
    let p = Project::new();
    // No [llm] section: the model cannot plan.
    let out = p.coord(&["plan", "Add user authentication system with OAuth2 and JWT", "--planner", "llm"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("warning: the LLM planner is off"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("backend-T001"), "the fallback plan is printed");
    let out = p.coord(&[
        "plan",
        "Add user authentication system with OAuth2 and JWT",
        "--planner",
        "llm",
        "--fallback",
        "rules",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = p.coord(&["run", "Add user authentication system with OAuth2 and JWT", "--planner", "llm"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no run started (add --fallback rules"), "{stderr}");
}

#[test]
fn the_planners_tokens_are_the_runs_spending_even_when_its_answers_are_unusable() {
    // The model answers the planner with prose three times (the answer and two repairs).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = Router::new().route(
                "/v1/chat/completions",
                post(|| async {
                    axum::Json(serde_json::json!({ "model": "planner", "choices": [{ "message": { "role": "assistant", "content": "Sure! First, design the API." }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 900, "completion_tokens": 100 } }))
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr: String = rx.recv().unwrap();
    let p = Project::new();
    p.write(
        "coord.toml",
        &format!("[llm]\nprovider = \"openai\"\nmodel = \"planner\"\nbase_url = \"http://{addr}/v1\"\napi_key_env = \"COORD_TEST_LLM_KEY\"\n"),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args([
            "run",
            "Add user authentication system with OAuth2 and JWT",
            "--planner",
            "llm",
            "--fallback",
            "rules",
            "--no-workflows",
        ])
        .current_dir(p.path())
        .env("COORD_TEST_LLM_KEY", CANARY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the LLM planner could not plan"), "{stderr}");
    let run = p.only_run();
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains("coord_llm_tokens_total{specialist=\"llm-planner\"} 3000"), "{metrics}");
}
