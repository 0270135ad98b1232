//! The real client against a local HTTP server that speaks each provider's wire format:
//! non-streamed and streamed answers (text and tool calls), usage and cost, 429 with
//! retry-after, 500, 529 overloaded, a stream cut mid-way, malformed JSON, an error event inside
//! a stream, and a canary key that must never appear in anything the client returns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use coord_llm::{
    LlmClient, LlmError, Message, Part, Price, ProviderConfig, ProviderKind, Request, Secret, StopReason, ToolSpec,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// Split (`concat!`) so that no key-shaped string sits whole in the repository.
const CANARY: &str = concat!("sk-", "canary-7f3a9c1e5b2d4f6a8c0e");

/// What the server answers next.
#[derive(Clone)]
enum Reply {
    Json(u16, Vec<(&'static str, String)>, String),
    /// SSE chunks; `cut` ends the body with an I/O error after them.
    Stream(Vec<String>, bool),
    /// SSE chunks, then nothing, for ever (the connection stays open).
    Stall(Vec<String>),
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    requests: Vec<(HeaderMap, serde_json::Value)>,
}

type Shared = Arc<Mutex<Script>>;

async fn handle(State(script): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let reply = {
        let mut s = script.lock().unwrap();
        s.requests.push((headers, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)));
        s.replies.pop_front().unwrap_or(Reply::Json(
            500,
            vec![],
            "{\"error\":{\"message\":\"script exhausted\"}}".into(),
        ))
    };
    match reply {
        Reply::Json(status, headers, body) => {
            let mut r = Response::builder()
                .status(StatusCode::from_u16(status).unwrap())
                .header("content-type", "application/json");
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.body(Body::from(body)).unwrap()
        }
        Reply::Stream(chunks, cut) => {
            let mut items: Vec<Result<Bytes, std::io::Error>> =
                chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
            if cut {
                items.push(Err(std::io::Error::other("connection dropped")));
            }
            // A pause before each piece, so what was sent reaches the client before a cut.
            let stream = futures_util::StreamExt::then(futures_util::stream::iter(items), |item| async move {
                tokio::time::sleep(Duration::from_millis(15)).await;
                item
            });
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        Reply::Stall(chunks) => {
            let items: Vec<Result<Bytes, std::io::Error>> = chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
            let stream =
                futures_util::StreamExt::chain(futures_util::stream::iter(items), futures_util::stream::pending());
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

async fn server(replies: Vec<Reply>) -> (String, Shared) {
    let script: Shared = Arc::new(Mutex::new(Script { replies: replies.into(), requests: Vec::new() }));
    let app = Router::new()
        .route("/v1/chat/completions", post(handle))
        .route("/v1/messages", post(handle))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

fn client(kind: ProviderKind, base: &str) -> LlmClient {
    let mut c = ProviderConfig::new(kind, "test-model");
    c.base_url = Some(match kind {
        ProviderKind::Openai => format!("{base}/v1"),
        ProviderKind::Anthropic => base.to_string(),
    });
    c.price = Price { input_per_mtok: 3.0, output_per_mtok: 15.0, cached_input_per_mtok: 0.3 };
    c.max_retries = 2;
    c.timeout_secs = 5;
    LlmClient::with_key(c, Secret::new(CANARY)).unwrap().with_backoff(Duration::from_millis(5))
}

fn request() -> Request {
    Request {
        system: "You are the api-architect.".into(),
        messages: vec![
            Message::user("Design the auth API"),
            Message {
                role: coord_llm::Role::Assistant,
                parts: vec![Part::ToolUse {
                    id: "call_1".into(),
                    name: "read_file".into(),
                    input: serde_json::json!({ "path": "a.yaml" }),
                }],
            },
            Message {
                role: coord_llm::Role::User,
                parts: vec![Part::ToolResult {
                    id: "call_1".into(),
                    content: "openapi: 3.1.0".into(),
                    is_error: false,
                }],
            },
        ],
        tools: vec![ToolSpec {
            name: "read_file".into(),
            description: "Read a file".into(),
            input_schema: serde_json::json!({ "type": "object", "properties": { "path": { "type": "string" } }, "required": ["path"] }),
        }],
        max_tokens: 512,
        temperature: Some(0.0),
        json_schema: None,
    }
}

fn sse(data: &[serde_json::Value]) -> Vec<String> {
    let mut out: Vec<String> = data.iter().map(|d| format!("data: {d}\n\n")).collect();
    out.push("data: [DONE]\n\n".into());
    out
}

fn anthropic_sse(events: &[(&str, serde_json::Value)]) -> Vec<String> {
    events.iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")).collect()
}

#[tokio::test]
async fn openai_non_streamed_with_usage_cost_and_the_request_body() {
    let body = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "Here is the contract." }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500, "prompt_tokens_details": { "cached_tokens": 200 } }
    });
    let (base, script) = server(vec![Reply::Json(200, vec![], body.to_string())]).await;
    let c = client(ProviderKind::Openai, &base);
    let r = c.complete(&request()).await.unwrap();
    assert_eq!(r.text(), "Here is the contract.");
    assert_eq!((r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens), (1000, 200, 300));
    assert!((c.cost(&r.usage) - (1000.0 * 3.0 + 200.0 * 0.3 + 300.0 * 15.0) / 1e6).abs() < 1e-12);
    let s = script.lock().unwrap();
    let (headers, sent) = &s.requests[0];
    assert_eq!(headers["authorization"], format!("Bearer {CANARY}"));
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][2]["tool_calls"][0]["function"]["name"], "read_file");
    assert_eq!(sent["messages"][3]["role"], "tool");
    assert_eq!(sent["messages"][3]["tool_call_id"], "call_1");
    assert_eq!(sent["tools"][0]["type"], "function");
    assert_eq!(sent["stream"], false);
}

#[tokio::test]
async fn openai_streamed_text_and_tool_calls() {
    let chunks = sse(&[
        serde_json::json!({ "model": "test-model", "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "Reading" }, "finish_reason": null }] }),
        serde_json::json!({ "choices": [{ "index": 0, "delta": { "content": " the spec" }, "finish_reason": null }] }),
        serde_json::json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "id": "call_9", "type": "function", "function": { "name": "read_file", "arguments": "{\"pa" } }] }, "finish_reason": null }] }),
        serde_json::json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "function": { "arguments": "th\": \"openapi.yaml\"}" } }] }, "finish_reason": null }] }),
        serde_json::json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }] }),
        serde_json::json!({ "choices": [], "usage": { "prompt_tokens": 50, "completion_tokens": 20 } }),
    ]);
    let (base, script) = server(vec![Reply::Stream(chunks, false)]).await;
    let c = client(ProviderKind::Openai, &base);
    let mut seen = String::new();
    let r = c.stream(&request(), &mut |t| seen.push_str(t)).await.unwrap();
    assert_eq!(seen, "Reading the spec");
    assert_eq!(r.stop, StopReason::ToolUse);
    assert_eq!(r.tool_calls(), vec![("call_9", "read_file", &serde_json::json!({ "path": "openapi.yaml" }))]);
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (50, 20));
    assert_eq!(script.lock().unwrap().requests[0].1["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn anthropic_non_streamed_tool_use_and_headers() {
    let body = serde_json::json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "test-model",
        "content": [{ "type": "text", "text": "Let me look." }, { "type": "tool_use", "id": "toolu_1", "name": "read_file", "input": { "path": "a.yaml" } }],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": { "input_tokens": 900, "output_tokens": 40, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 50 }
    });
    let (base, script) = server(vec![Reply::Json(200, vec![], body.to_string())]).await;
    let r = client(ProviderKind::Anthropic, &base).complete(&request()).await.unwrap();
    assert_eq!(r.text(), "Let me look.");
    assert_eq!(r.stop, StopReason::ToolUse);
    assert_eq!(r.tool_calls()[0].1, "read_file");
    assert_eq!((r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens), (950, 100, 40));
    let s = script.lock().unwrap();
    let (headers, sent) = &s.requests[0];
    assert_eq!(headers["x-api-key"], CANARY);
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    // The persona and the brief are marked for the prompt cache.
    assert_eq!(sent["system"][0]["text"], "You are the api-architect.");
    assert_eq!(sent["system"][0]["cache_control"]["type"], "ephemeral");
    assert_eq!(sent["messages"][0]["content"][0]["cache_control"]["type"], "ephemeral");
    assert!(sent["messages"][2]["content"][0].get("cache_control").is_none());
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(sent["tools"][0]["input_schema"]["required"][0], "path");
}

#[tokio::test]
async fn anthropic_streamed_text_and_tool_input_deltas() {
    let events = anthropic_sse(&[
        (
            "message_start",
            serde_json::json!({ "type": "message_start", "message": { "id": "msg_1", "model": "test-model", "content": [], "usage": { "input_tokens": 70, "output_tokens": 1 } } }),
        ),
        (
            "content_block_start",
            serde_json::json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        ),
        ("ping", serde_json::json!({ "type": "ping" })),
        (
            "content_block_delta",
            serde_json::json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "Checking" } }),
        ),
        (
            "content_block_delta",
            serde_json::json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": " now" } }),
        ),
        ("content_block_stop", serde_json::json!({ "type": "content_block_stop", "index": 0 })),
        (
            "content_block_start",
            serde_json::json!({ "type": "content_block_start", "index": 1, "content_block": { "type": "tool_use", "id": "toolu_2", "name": "search", "input": {} } }),
        ),
        (
            "content_block_delta",
            serde_json::json!({ "type": "content_block_delta", "index": 1, "delta": { "type": "input_json_delta", "partial_json": "{\"pattern\": " } }),
        ),
        (
            "content_block_delta",
            serde_json::json!({ "type": "content_block_delta", "index": 1, "delta": { "type": "input_json_delta", "partial_json": "\"jwt\"}" } }),
        ),
        ("content_block_stop", serde_json::json!({ "type": "content_block_stop", "index": 1 })),
        (
            "message_delta",
            serde_json::json!({ "type": "message_delta", "delta": { "stop_reason": "tool_use" }, "usage": { "output_tokens": 33 } }),
        ),
        ("message_stop", serde_json::json!({ "type": "message_stop" })),
    ]);
    let (base, _) = server(vec![Reply::Stream(events, false)]).await;
    let mut seen = String::new();
    let r = client(ProviderKind::Anthropic, &base).stream(&request(), &mut |t| seen.push_str(t)).await.unwrap();
    assert_eq!(seen, "Checking now");
    assert_eq!(r.tool_calls(), vec![("toolu_2", "search", &serde_json::json!({ "pattern": "jwt" }))]);
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (70, 33));
}

#[tokio::test]
async fn retries_honour_retry_after_and_overload() {
    let ok = serde_json::json!({ "model": "m", "choices": [{ "message": { "role": "assistant", "content": "ok" }, "finish_reason": "stop" }] }).to_string();
    let (base, script) = server(vec![
        Reply::Json(
            429,
            vec![("retry-after", "0".into())],
            "{\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}".into(),
        ),
        Reply::Json(500, vec![], "{\"error\":{\"message\":\"internal\"}}".into()),
        Reply::Json(200, vec![], ok),
    ])
    .await;
    let started = std::time::Instant::now();
    let r = client(ProviderKind::Openai, &base).complete(&request()).await.unwrap();
    assert_eq!(r.text(), "ok");
    assert_eq!(script.lock().unwrap().requests.len(), 3);
    assert!(started.elapsed() < Duration::from_secs(5));

    let overloaded =
        "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}".to_string();
    let (base, script) = server(vec![Reply::Json(529, vec![], overloaded.clone()); 3]).await;
    let err = client(ProviderKind::Anthropic, &base).complete(&request()).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Http { status: 529, message, .. } if message.contains("overloaded_error")),
        "{err}"
    );
    assert_eq!(script.lock().unwrap().requests.len(), 3, "max_retries = 2: three tries");

    let (base, script) = server(vec![Reply::Json(401, vec![], "{\"error\":{\"message\":\"bad key\"}}".into())]).await;
    let err = client(ProviderKind::Openai, &base).complete(&request()).await.unwrap_err();
    assert!(!err.retryable());
    assert_eq!(script.lock().unwrap().requests.len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn cut_streams_malformed_json_and_stream_errors() {
    // Cut after text was delivered: the caller saw a partial answer, so no silent retry.
    let partial =
        vec![format!("data: {}\n\n", serde_json::json!({ "choices": [{ "delta": { "content": "half an ans" } }] }))];
    let (base, script) = server(vec![Reply::Stream(partial.clone(), true)]).await;
    let err = client(ProviderKind::Openai, &base).stream(&request(), &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, LlmError::StreamCut(_)), "{err}");
    assert_eq!(script.lock().unwrap().requests.len(), 1);
    // Cut before any text: retried.
    let full = sse(&[serde_json::json!({ "choices": [{ "delta": { "content": "whole" }, "finish_reason": "stop" }] })]);
    let (base, script) = server(vec![Reply::Stream(vec![], true), Reply::Stream(full, false)]).await;
    let r = client(ProviderKind::Openai, &base).stream(&request(), &mut |_| {}).await.unwrap();
    assert_eq!(r.text(), "whole");
    assert_eq!(script.lock().unwrap().requests.len(), 2);
    // A stream that just ends without [DONE] or a finish reason.
    let (base, _) = server(vec![Reply::Stream(partial, false)]).await;
    assert!(matches!(
        client(ProviderKind::Openai, &base).stream(&request(), &mut |_| {}).await,
        Err(LlmError::StreamCut(_))
    ));
    // Malformed JSON is a protocol error and is not retried.
    let (base, script) = server(vec![Reply::Json(200, vec![], "{\"choices\": [".into())]).await;
    let err = client(ProviderKind::Openai, &base).complete(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Protocol(_)), "{err}");
    assert_eq!(script.lock().unwrap().requests.len(), 1);
    // An overloaded error event inside an Anthropic stream.
    let events = anthropic_sse(&[(
        "error",
        serde_json::json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } }),
    )]);
    let (base, _) = server(vec![
        Reply::Stream(events.clone(), false),
        Reply::Stream(events.clone(), false),
        Reply::Stream(events, false),
    ])
    .await;
    let err = client(ProviderKind::Anthropic, &base).stream(&request(), &mut |_| {}).await.unwrap_err();
    assert!(matches!(&err, LlmError::StreamError(m) if m.contains("overloaded_error")), "{err}");
}

#[tokio::test]
async fn the_key_never_leaves_in_errors_or_debug_output() {
    // A provider that echoes the key in its error message.
    let echo = format!("{{\"error\":{{\"message\":\"invalid key {CANARY}\"}}}}");
    let (base, _) = server(vec![Reply::Json(401, vec![], echo)]).await;
    let c = client(ProviderKind::Openai, &base);
    let err = c.complete(&request()).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), format!("{c:?}")] {
        assert!(!text.contains(CANARY), "the key leaked: {text}");
    }
    assert!(err.to_string().contains("[redacted]"));
    let missing = ProviderConfig {
        api_key_env: Some("COORD_TEST_SURELY_UNSET_KEY".into()),
        ..ProviderConfig::new(ProviderKind::Anthropic, "m")
    };
    let err = LlmClient::new(missing).unwrap_err();
    assert_eq!(err, LlmError::NoKey("COORD_TEST_SURELY_UNSET_KEY".into()));
}

#[tokio::test]
async fn reasoning_models_get_max_completion_tokens_and_no_temperature() {
    let body = serde_json::json!({
        "id": "c", "object": "chat.completion", "model": "gpt-5-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "ok" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 2 }
    });
    let reply = Reply::Json(200, vec![], body.to_string());
    let (base, script) = server(vec![reply.clone(), reply]).await;
    for (model, effort) in [("gpt-5-mini", Some("low")), ("test-model", None)] {
        let mut c = ProviderConfig::new(ProviderKind::Openai, model);
        c.base_url = Some(format!("{base}/v1"));
        c.reasoning_effort = effort.map(str::to_string);
        let client = LlmClient::with_key(c, Secret::new(CANARY)).unwrap();
        client.complete(&request()).await.unwrap();
    }
    let s = script.lock().unwrap();
    let reasoning = &s.requests[0].1;
    assert_eq!(reasoning["max_completion_tokens"], 512);
    assert!(reasoning.get("max_tokens").is_none() && reasoning.get("temperature").is_none(), "{reasoning}");
    assert_eq!(reasoning["reasoning_effort"], "low");
    let plain = &s.requests[1].1;
    assert_eq!(plain["max_tokens"], 512);
    assert_eq!(plain["temperature"], 0.0);
    assert!(plain.get("max_completion_tokens").is_none() && plain.get("reasoning_effort").is_none(), "{plain}");
}

#[tokio::test]
async fn a_stream_that_goes_silent_is_cut_by_the_idle_timeout() {
    let first = serde_json::json!({ "model": "m", "choices": [{ "index": 0, "delta": { "content": "Hel" }, "finish_reason": null }] });
    let (base, _) = server(vec![Reply::Stall(vec![format!("data: {first}\n\n")])]).await;
    let mut c = ProviderConfig::new(ProviderKind::Openai, "m");
    c.base_url = Some(format!("{base}/v1"));
    c.idle_timeout_secs = 1;
    c.max_retries = 0;
    let client = LlmClient::with_key(c, Secret::new(CANARY)).unwrap();
    let mut seen = String::new();
    let err = client.stream(&request(), &mut |t| seen.push_str(t)).await.unwrap_err();
    assert!(err.to_string().contains("nothing arrived for 1s"), "cut by the idle timeout: {err}");
    assert_eq!(seen, "Hel");
}
