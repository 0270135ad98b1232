//! `cargo bench -p coord-llm --bench stream`: the overhead the client adds per streamed token.
//! A local server streams 50,000 chat-completion chunks (one token each) in the OpenAI wire
//! format; the same bytes are read raw (HTTP only) and through `LlmClient::stream` (SSE parsing,
//! JSON decoding, accumulation, the text callback). The difference per token is the client's
//! overhead. Prints figures; asserts nothing about time.

use axum::Router;
use axum::routing::post;
use coord_llm::{LlmClient, Message, ProviderConfig, ProviderKind, Request, Secret};
use futures_util::StreamExt;
use std::time::Instant;

const TOKENS: usize = 50_000;

fn body() -> String {
    let mut s = String::with_capacity(TOKENS * 90);
    for i in 0..TOKENS {
        s.push_str(&format!("data: {{\"model\":\"bench\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"t{}\"}},\"finish_reason\":null}}]}}\n\n", i % 10));
    }
    s.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":50000}}\n\ndata: [DONE]\n\n");
    s
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("stream: bench");
        return;
    }
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else { return };
    rt.block_on(async {
        let payload = body();
        let bytes = payload.len();
        let app = Router::new().route(
            "/v1/chat/completions",
            post(move || {
                let payload = payload.clone();
                async move { ([("content-type", "text/event-stream")], payload) }
            }),
        );
        let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { return };
        let Ok(addr) = listener.local_addr() else { return };
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let url = format!("http://{addr}/v1/chat/completions");
        let http = reqwest::Client::new();
        let mut cfg = ProviderConfig::new(ProviderKind::Openai, "bench");
        cfg.base_url = Some(format!("http://{addr}/v1"));
        let Ok(client) = LlmClient::with_key(cfg, Secret::new("k")) else { return };
        let req = Request { messages: vec![Message::user("go")], max_tokens: 1, ..Request::default() };

        let mut raw_best = f64::MAX;
        let mut client_best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            let mut n = 0usize;
            if let Ok(resp) = http.post(&url).body("{}").send().await {
                let mut s = resp.bytes_stream();
                while let Some(Ok(chunk)) = s.next().await {
                    n += chunk.len();
                }
            }
            if n == bytes {
                raw_best = raw_best.min(t.elapsed().as_secs_f64());
            }
            let t = Instant::now();
            let mut seen = 0usize;
            if client.stream(&req, &mut |_| seen += 1).await.is_ok() && seen == TOKENS {
                client_best = client_best.min(t.elapsed().as_secs_f64());
            }
        }
        let per = |s: f64| s * 1e6 / TOKENS as f64;
        println!("{TOKENS} streamed tokens ({:.1} MB of SSE) from a local server, best of 5:", bytes as f64 / 1e6);
        println!("  raw HTTP read:           {:.3} µs/token", per(raw_best));
        println!("  LlmClient::stream:       {:.3} µs/token", per(client_best));
        println!(
            "  client overhead:         {:.3} µs/token (SSE parsing, JSON decoding, accumulation, callback)",
            per(client_best - raw_best)
        );
    });
}
