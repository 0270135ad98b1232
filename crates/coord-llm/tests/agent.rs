//! The agent loop against a scripted model served in the OpenAI wire format: tool use, path
//! confinement (many escape attempts), the allow-listed command runner, the step limit and the
//! token budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use coord_llm::agent::{AgentLimits, AgentStop, run_agent};
use coord_llm::tools::{ToolLimits, Workspace};
use coord_llm::{LlmClient, Part, ProviderConfig, ProviderKind, Secret};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Script = Arc<Mutex<(VecDeque<serde_json::Value>, Vec<serde_json::Value>)>>;

/// The scripted reply, streamed (the agent loop streams by default) as the OpenAI wire format
/// streams a completion, or whole when the request did not ask for a stream.
async fn handle(State(s): State<Script>, body: Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut s = s.lock().unwrap();
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let streamed = request["stream"] == true;
    s.1.push(request);
    let next = s.0.pop_front().unwrap_or_else(|| answer("(script exhausted)"));
    if !streamed {
        return axum::Json(next).into_response();
    }
    let choice = &next["choices"][0];
    let msg = &choice["message"];
    let mut delta = serde_json::json!({ "role": "assistant" });
    if let Some(t) = msg["content"].as_str() {
        delta["content"] = t.into();
    }
    if let Some(calls) = msg["tool_calls"].as_array() {
        delta["tool_calls"] = calls
            .iter()
            .enumerate()
            .map(|(i, c)| serde_json::json!({ "index": i, "id": c["id"], "type": "function", "function": c["function"] }))
            .collect();
    }
    let chunks = [
        serde_json::json!({ "model": "scripted", "choices": [{ "index": 0, "delta": delta, "finish_reason": null }] }),
        serde_json::json!({ "model": "scripted", "choices": [{ "index": 0, "delta": {}, "finish_reason": choice["finish_reason"] }] }),
        serde_json::json!({ "model": "scripted", "choices": [], "usage": next["usage"] }),
    ];
    let text = chunks.iter().map(|c| format!("data: {c}\n\n")).collect::<String>() + "data: [DONE]\n\n";
    ([(axum::http::header::CONTENT_TYPE, "text/event-stream")], text).into_response()
}

fn call(id: &str, name: &str, args: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "model": "scripted",
        "choices": [{ "message": { "role": "assistant", "content": null, "tool_calls": [{ "id": id, "type": "function", "function": { "name": name, "arguments": args.to_string() } }] }, "finish_reason": "tool_calls" }],
        "usage": { "prompt_tokens": 100, "completion_tokens": 10 }
    })
}

fn answer(text: &str) -> serde_json::Value {
    serde_json::json!({
        "model": "scripted",
        "choices": [{ "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 100, "completion_tokens": 10 }
    })
}

async fn model(replies: Vec<serde_json::Value>) -> (LlmClient, Script) {
    let script: Script = Arc::new(Mutex::new((replies.into(), Vec::new())));
    let app = Router::new().route("/v1/chat/completions", post(handle)).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut c = ProviderConfig::new(ProviderKind::Openai, "scripted");
    c.base_url = Some(format!("http://{addr}/v1"));
    (LlmClient::with_key(c, Secret::new("k")).unwrap(), script)
}

#[tokio::test]
async fn the_loop_uses_tools_until_a_final_answer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "# svc\n").unwrap();
    let (client, script) = model(vec![
        call("c1", "write_file", serde_json::json!({ "path": "src/auth.js", "content": "const ttl = 900;\n" })),
        call("c2", "edit_file", serde_json::json!({ "path": "src/auth.js", "old": "900", "new": "600" })),
        call("c3", "read_file", serde_json::json!({ "path": "../outside.txt" })),
        call("c4", "search", serde_json::json!({ "pattern": "ttl = \\d+" })),
        answer("Done: short-lived access tokens."),
    ])
    .await;
    let out = run_agent(&client, "You are nodejs-expert.", "BRIEF", dir.path(), &AgentLimits::default()).await;
    assert_eq!(out.stop, AgentStop::Final);
    assert_eq!(out.answer, "Done: short-lived access tokens.");
    assert_eq!(out.files_changed, vec!["src/auth.js"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("src/auth.js")).unwrap(), "const ttl = 600;\n");
    assert_eq!((out.steps, out.usage.input_tokens, out.usage.output_tokens), (5, 500, 50));
    // The refused read went back to the model as an error result; the search found the edit.
    let results: Vec<(&str, bool)> = out
        .transcript
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::ToolResult { content, is_error, .. } => Some((content.as_str(), *is_error)),
            _ => None,
        })
        .collect();
    assert!(results[2].1 && results[2].0.contains("leaves the workspace"), "{results:?}");
    assert_eq!(results[3], ("src/auth.js:1: const ttl = 600;", false));
    let s = script.lock().unwrap();
    assert_eq!(s.1[0]["messages"][0]["content"], "You are nodejs-expert.");
    assert_eq!(s.1[0]["tools"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn step_limit_and_budget_stop_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let looping: Vec<_> = (0..10).map(|i| call(&format!("c{i}"), "list_files", serde_json::json!({}))).collect();
    let (client, _) = model(looping.clone()).await;
    let limits = AgentLimits { max_steps: 3, ..AgentLimits::default() };
    let out = run_agent(&client, "p", "b", dir.path(), &limits).await;
    assert_eq!((out.stop, out.steps), (AgentStop::StepLimit, 3));

    let (client, _) = model(looping).await;
    let limits = AgentLimits { token_budget: Some(250), max_tokens: 50, ..AgentLimits::default() };
    let out = run_agent(&client, "p", "b", dir.path(), &limits).await;
    assert!(matches!(&out.stop, AgentStop::Budget(m) if m.contains("of 250 tokens")), "{:?}", out.stop);
    assert!(out.usage.input_tokens + out.usage.output_tokens <= 250, "stopped before passing the budget");
}

#[tokio::test]
async fn every_escape_attempt_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    std::fs::create_dir(root.path().join("inner")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("link-out")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.path().join("inner/file-out")).unwrap();
    std::os::unix::fs::symlink("..", root.path().join("inner/up")).unwrap();
    std::os::unix::fs::symlink(root.path().join("loop"), root.path().join("loop")).unwrap();
    std::fs::write(root.path().join("ok.txt"), "fine").unwrap();
    let mut ws = Workspace::new(root.path(), ToolLimits::default()).unwrap();
    let attempts = [
        "../secret.txt",
        "/etc/passwd",
        "inner/../../x",
        "./../x",
        "link-out/secret.txt",
        "link-out",
        "inner/file-out",
        "inner/up/../../etc",
        "loop/x",
        "a\0b",
    ];
    for path in attempts {
        for (tool, input) in [
            ("read_file", serde_json::json!({ "path": path })),
            ("write_file", serde_json::json!({ "path": path, "content": "pwned" })),
            ("edit_file", serde_json::json!({ "path": path, "old": "top", "new": "pwned" })),
            ("list_files", serde_json::json!({ "path": path })),
            ("search", serde_json::json!({ "pattern": "secret", "path": path })),
        ] {
            let (out, is_error) = ws.call(tool, &input).await;
            assert!(is_error, "{tool} {path:?} was allowed: {out}");
            assert!(!out.contains("top secret"), "{tool} {path:?} leaked");
        }
    }
    assert_eq!(std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(), "top secret");
    let (out, is_error) = ws.call("read_file", &serde_json::json!({ "path": "ok.txt" })).await;
    assert_eq!((out.as_str(), is_error), ("fine", false));
    let (out, _) = ws.call("list_files", &serde_json::json!({})).await;
    assert!(!out.contains("secret"), "symlinked folders are not followed: {out}");
}

#[tokio::test]
async fn commands_are_allow_listed_timed_and_capped() {
    let root = tempfile::tempdir().unwrap();
    let limits = ToolLimits {
        allow_commands: vec!["echo".into(), "sleep".into(), "yes".into()],
        command_timeout: Duration::from_millis(300),
        output_cap: 1000,
        ..ToolLimits::default()
    };
    let mut ws = Workspace::new(root.path(), limits).unwrap();
    let (out, err) = ws.call("run_command", &serde_json::json!({ "argv": ["echo", "hello"] })).await;
    assert_eq!((out.as_str(), err), ("exit code 0\nhello\n", false));
    let (out, err) = ws.call("run_command", &serde_json::json!({ "argv": ["rm", "-rf", "/"] })).await;
    assert!(err && out.contains("not an allowed command"), "{out}");
    let (out, err) = ws.call("run_command", &serde_json::json!({ "argv": ["/bin/echo", "x"] })).await;
    assert!(err && out.contains("not an allowed command"), "{out}");
    let (out, err) = ws.call("run_command", &serde_json::json!({ "argv": ["sleep", "30"] })).await;
    assert!(err && out.contains("timed out"), "{out}");
    let (out, _) = ws.call("run_command", &serde_json::json!({ "argv": ["yes"] })).await;
    assert!(out.len() < 1200 && out.contains("timed out"), "a flood is cut off by the timeout: {}", out.len());
}

#[tokio::test]
async fn protected_paths_and_oversized_writes_are_refused_and_results_redacted() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("coord.toml"), "[run]\n").unwrap();
    let limits = ToolLimits {
        max_write_bytes: 1000,
        redact: coord_llm::tools::Redact::with(|t| t.replace("hunter2", "[REDACTED]")),
        ..ToolLimits::default()
    };
    let mut ws = Workspace::new(root.path(), limits).unwrap();
    for path in
        ["coord.toml", ".git/config", ".claude/agents/x.md", ".mcp.json", ".github/workflows/ci.yml", ".coord/x"]
    {
        let (out, err) = ws.call("write_file", &serde_json::json!({ "path": path, "content": "x" })).await;
        assert!(err && out.contains("protected"), "{path}: {out}");
    }
    assert_eq!(std::fs::read_to_string(root.path().join("coord.toml")).unwrap(), "[run]\n");
    let (out, err) =
        ws.call("edit_file", &serde_json::json!({ "path": "coord.toml", "old": "[run]", "new": "[x]" })).await;
    assert!(err && out.contains("protected"), "{out}");
    let big = "x".repeat(1001);
    let (out, err) = ws.call("write_file", &serde_json::json!({ "path": "big.txt", "content": big })).await;
    assert!(err && out.contains("more than"), "{out}");
    assert!(!root.path().join("big.txt").exists());
    std::fs::write(root.path().join("notes.txt"), "password hunter2").unwrap();
    let (out, _) = ws.call("read_file", &serde_json::json!({ "path": "notes.txt" })).await;
    assert_eq!(out, "password [REDACTED]");
}

fn finished(text: &str, reason: &str) -> serde_json::Value {
    serde_json::json!({
        "model": "scripted",
        "choices": [{ "message": { "role": "assistant", "content": text }, "finish_reason": reason }],
        "usage": { "prompt_tokens": 100, "completion_tokens": 4096 }
    })
}

#[tokio::test]
async fn a_cut_off_withheld_or_empty_answer_is_never_final() {
    let dir = tempfile::tempdir().unwrap();
    // Cut at the output limit (a 12 KB file that did not fit), in text or in a tool call.
    let (client, _) = model(vec![finished("Here is the whole file: const a = ", "length")]).await;
    let out = run_agent(&client, "p", "b", dir.path(), &AgentLimits::default()).await;
    assert!(matches!(&out.stop, AgentStop::Truncated(m) if m.contains("output limit")), "{:?}", out.stop);
    let mut cut_call = call("c1", "write_file", serde_json::json!({ "path": "a.js", "content": "x" }));
    cut_call["choices"][0]["finish_reason"] = "length".into();
    let (client, _) = model(vec![cut_call]).await;
    let out = run_agent(&client, "p", "b", dir.path(), &AgentLimits::default()).await;
    assert!(matches!(&out.stop, AgentStop::Truncated(m) if m.contains("tool call")), "{:?}", out.stop);
    // Filtered, and empty.
    let (client, _) = model(vec![finished("", "content_filter")]).await;
    let out = run_agent(&client, "p", "b", dir.path(), &AgentLimits::default()).await;
    assert!(matches!(&out.stop, AgentStop::Refused(m) if m.contains("content_filter")), "{:?}", out.stop);
    let (client, _) = model(vec![finished("  ", "stop")]).await;
    let out = run_agent(&client, "p", "b", dir.path(), &AgentLimits::default()).await;
    assert_eq!(out.stop, AgentStop::Empty);
    // Their tokens still count.
    assert_eq!(out.usage.output_tokens, 4096);
}

#[tokio::test]
async fn a_read_only_agent_is_offered_no_writing_tools_and_cannot_call_them() {
    let dir = tempfile::tempdir().unwrap();
    let (client, script) = model(vec![
        call("c1", "write_file", serde_json::json!({ "path": "a.js", "content": "x" })),
        call("c2", "run_command", serde_json::json!({ "command": "ls" })),
        answer("Reviewed."),
    ])
    .await;
    let limits =
        AgentLimits { tools: ToolLimits { read_only: true, ..ToolLimits::default() }, ..AgentLimits::default() };
    let out = run_agent(&client, "p", "b", dir.path(), &limits).await;
    assert_eq!(out.stop, AgentStop::Final);
    assert!(!dir.path().join("a.js").exists());
    assert!(out.files_changed.is_empty());
    let s = script.lock().unwrap();
    let offered: Vec<&str> =
        s.1[0]["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert!(!offered.iter().any(|t| ["write_file", "edit_file", "run_command"].contains(t)), "{offered:?}");
    let refused = s.1[1]["messages"].to_string();
    assert!(refused.contains("this agent is read-only"), "{refused}");
}
