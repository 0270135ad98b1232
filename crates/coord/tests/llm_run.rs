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
                post(move || {
                    let replies = replies.clone();
                    // After the agent's two replies, the judge's call: no verdict on any item
                    // (every item `unknown`, which does not block), for no tokens.
                    let judge = serde_json::json!({ "model": "scripted", "choices": [{ "message": { "role": "assistant", "content": "{\"verdicts\": []}" }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 0, "completion_tokens": 0 } });
                    async move { axum::Json(replies.lock().unwrap().pop().unwrap_or(judge)) }
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("the LLM judge failed 1 checklist item"), "{stdout}");
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
    p.write("coord.toml", &format!("{}[budget]\nrun_tokens = 100\n", config(&addr)));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json"])
        .current_dir(p.path())
        .env("COORD_TEST_LLM_KEY", CANARY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("LLM budget is reached"), "{stdout}");
    let run = p.only_run();
    assert_eq!(p.states(&run), vec![("t1".into(), "done".into()), ("t2".into(), "escalated".into())]);
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains("coord_llm_tokens_total{specialist=\"nodejs-expert\"} 550"), "{metrics}");
    assert!(metrics.contains("coord_llm_cost_usd_total{specialist=\"nodejs-expert\"} 0.00225"), "{metrics}");
}
