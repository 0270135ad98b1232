//! The client: one provider, one model, one key; retries with `retry-after`; streaming and
//! non-streaming calls; cost from a price table.

use crate::error::LlmError;
use crate::sse::Parser;
use crate::types::{Request, Response, Usage};
use crate::{anthropic, openai};
use futures_util::StreamExt;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// A secret that never prints: `Debug` and `Display` show `[redacted]`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions.
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
}

/// Prices in US dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct Price {
    /// Full-rate input.
    #[serde(default)]
    pub input_per_mtok: f64,
    /// Output.
    #[serde(default)]
    pub output_per_mtok: f64,
    /// Input read from the cache.
    #[serde(default)]
    pub cached_input_per_mtok: f64,
}

impl Price {
    /// The cost of a usage.
    pub fn cost(&self, u: &Usage) -> f64 {
        (u.input_tokens as f64 * self.input_per_mtok
            + u.output_tokens as f64 * self.output_per_mtok
            + u.cached_input_tokens as f64 * self.cached_input_per_mtok)
            / 1e6
    }
}

/// One provider and model (`[llm]` in coord.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Wire format.
    pub provider: ProviderKind,
    /// Model name.
    pub model: String,
    /// Base URL (defaults: `https://api.openai.com/v1`, `https://api.anthropic.com`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The environment variable holding the key (defaults: `OPENAI_API_KEY`,
    /// `ANTHROPIC_API_KEY`). Local servers that need no key may name an unset variable and set
    /// `key_required = false`.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Whether a missing key is an error.
    #[serde(default = "yes")]
    pub key_required: bool,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Retries on 429, 5xx, 529 and transport errors.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Prices.
    #[serde(default)]
    pub price: Price,
    /// Output tokens one call may produce (default 16384; a specialist's
    /// `max_output_tokens` overrides it).
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// Whether the model is a reasoning model (OpenAI o-series, gpt-5...): no temperature,
    /// `max_completion_tokens` instead of `max_tokens`. Default: from the model's name.
    #[serde(default)]
    pub reasoning: Option<bool>,
    /// A reasoning model's effort (`minimal`, `low`, `medium`, `high`), sent as
    /// `reasoning_effort` on the OpenAI wire format.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// Whether agent calls stream (default true; a server without streaming: false).
    #[serde(default)]
    pub stream: Option<bool>,
    /// A stream that sends nothing for this long is cut (and retried when nothing had arrived).
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: u64,
}

fn default_idle() -> u64 {
    60
}

/// The model a Claude alias of an agent file (`model: sonnet`) names on the Anthropic API:
/// Anthropic's own `-latest`-style aliases of the current generation (December 2026).
pub fn model_alias(alias: &str) -> &str {
    match alias {
        "sonnet" => "claude-sonnet-4-5",
        "opus" => "claude-opus-4-5",
        "haiku" => "claude-haiku-4-5",
        other => other,
    }
}

/// Model-name prefixes of OpenAI's reasoning models, which reject `temperature` and
/// `max_tokens`.
const REASONING_PREFIXES: &[&str] = &["o1", "o3", "o4", "gpt-5"];

fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    120
}
fn default_retries() -> u32 {
    3
}

impl ProviderConfig {
    /// A configuration with defaults for `provider` and `model`.
    pub fn new(provider: ProviderKind, model: impl Into<String>) -> ProviderConfig {
        ProviderConfig {
            provider,
            model: model.into(),
            base_url: None,
            api_key_env: None,
            key_required: true,
            timeout_secs: default_timeout(),
            max_retries: default_retries(),
            price: Price::default(),
            max_output_tokens: None,
            reasoning: None,
            reasoning_effort: None,
            stream: None,
            idle_timeout_secs: default_idle(),
        }
    }

    /// Whether agent calls stream.
    pub fn streams(&self) -> bool {
        self.stream.unwrap_or(true)
    }

    /// Whether requests must take the reasoning models' shape.
    pub fn is_reasoning(&self) -> bool {
        self.reasoning.unwrap_or_else(|| {
            let m = self.model.rsplit('/').next().unwrap_or(&self.model).to_ascii_lowercase();
            REASONING_PREFIXES
                .iter()
                .any(|p| m == *p || m.starts_with(&format!("{p}-")) || m.starts_with(&format!("{p}.")))
        })
    }

    /// Output tokens per call.
    pub fn output_tokens(&self) -> u32 {
        self.max_output_tokens.unwrap_or(16_384).max(1)
    }

    fn key_var(&self) -> String {
        self.api_key_env.clone().unwrap_or_else(|| match self.provider {
            ProviderKind::Openai => "OPENAI_API_KEY".into(),
            ProviderKind::Anthropic => "ANTHROPIC_API_KEY".into(),
        })
    }

    fn base(&self) -> String {
        self.base_url.clone().unwrap_or_else(|| match self.provider {
            ProviderKind::Openai => "https://api.openai.com/v1".into(),
            ProviderKind::Anthropic => "https://api.anthropic.com".into(),
        })
    }
}

/// A client for one provider and model.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: ProviderConfig,
    key: Option<Secret>,
    /// First backoff when the provider gives no `retry-after`.
    backoff: Duration,
}

/// Parses `retry-after` (seconds) or `retry-after-ms`.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        headers.get("retry-after-ms").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(Duration::from_millis(ms.max(0.0) as u64));
    }
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|s| Duration::from_millis((s.max(0.0) * 1000.0) as u64))
}

impl LlmClient {
    /// A client; the key is read from the configured environment variable.
    pub fn new(config: ProviderConfig) -> Result<LlmClient, LlmError> {
        let var = config.key_var();
        let key = std::env::var(&var).ok().filter(|k| !k.trim().is_empty()).map(Secret::new);
        if key.is_none() && config.key_required {
            return Err(LlmError::NoKey(var));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .build()
            .map_err(|e| LlmError::Connect(e.to_string()))?;
        Ok(LlmClient { http, config, key, backoff: Duration::from_millis(500) })
    }

    /// A client with a key given directly (embedders and tests; the CLI reads the environment).
    pub fn with_key(config: ProviderConfig, key: Secret) -> Result<LlmClient, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .build()
            .map_err(|e| LlmError::Connect(e.to_string()))?;
        Ok(LlmClient { http, config, key: Some(key), backoff: Duration::from_millis(500) })
    }

    /// Uses a shorter first backoff (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> LlmClient {
        self.backoff = backoff;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The cost of a usage under the configured prices.
    pub fn cost(&self, usage: &Usage) -> f64 {
        self.config.price.cost(usage)
    }

    /// Removes the key from any text that will leave this crate.
    fn scrub(&self, text: &str) -> String {
        match &self.key {
            Some(k) if !k.expose().is_empty() => text.replace(k.expose(), "[redacted]"),
            _ => text.to_string(),
        }
    }

    fn builder(&self, stream: bool, req: &Request) -> Result<reqwest::RequestBuilder, LlmError> {
        let base = self.config.base().trim_end_matches('/').to_string();
        let (url, body) = match self.config.provider {
            ProviderKind::Openai => (
                format!("{base}/chat/completions"),
                serde_json::to_value(openai::convert::request(&self.config, req, stream)),
            ),
            ProviderKind::Anthropic => (
                format!("{base}/v1/messages"),
                serde_json::to_value(anthropic::convert::request(&self.config.model, req, stream)),
            ),
        };
        let body = body.map_err(|e| LlmError::Protocol(e.to_string()))?;
        let mut b = self.http.post(url).json(&body);
        if stream {
            // A stream may take long as a whole; a stalled one is cut by the idle timeout.
            b = b.timeout(Duration::from_secs(self.config.timeout_secs.max(1).saturating_mul(10)));
        }
        match (self.config.provider, &self.key) {
            (ProviderKind::Openai, Some(k)) => b = b.bearer_auth(k.expose()),
            (ProviderKind::Anthropic, Some(k)) => b = b.header("x-api-key", k.expose()),
            _ => {}
        }
        if self.config.provider == ProviderKind::Anthropic {
            b = b.header("anthropic-version", "2023-06-01");
        }
        Ok(b)
    }

    fn transport(&self, e: reqwest::Error) -> LlmError {
        if e.is_timeout() {
            LlmError::Timeout(Duration::from_secs(self.config.timeout_secs))
        } else {
            // reqwest's text names the URL, never the headers; scrub anyway.
            LlmError::Connect(self.scrub(&e.without_url().to_string()))
        }
    }

    async fn status_error(&self, resp: reqwest::Response) -> LlmError {
        let status = resp.status().as_u16();
        let retry_after = retry_after(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message").and_then(|m| m.as_str()).map(|m| {
                    let kind = v.pointer("/error/type").and_then(|t| t.as_str()).unwrap_or("");
                    if kind.is_empty() { m.to_string() } else { format!("{kind}: {m}") }
                })
            })
            .unwrap_or_else(|| body.chars().take(500).collect());
        LlmError::Http { status, message: self.scrub(&message), retry_after }
    }

    /// Sends a request, retrying retryable failures; `attempt` does one try.
    async fn with_retries<F, Fut>(&self, mut attempt: F) -> Result<Response, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Response, LlmError>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Ok(r) => return Ok(r),
                Err(e) if e.retryable() && tries < self.config.max_retries => {
                    let wait = match &e {
                        LlmError::Http { retry_after: Some(d), .. } => *d,
                        _ => self.backoff * 2u32.saturating_pow(tries),
                    };
                    tries += 1;
                    tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One completion, not streamed.
    pub async fn complete(&self, req: &Request) -> Result<Response, LlmError> {
        self.with_retries(|| async {
            let resp = self.builder(false, req)?.send().await.map_err(|e| self.transport(e))?;
            if !resp.status().is_success() {
                return Err(self.status_error(resp).await);
            }
            let text = resp.text().await.map_err(|e| self.transport(e))?;
            match self.config.provider {
                ProviderKind::Openai => openai::convert::response(serde_json::from_str(&text).map_err(|e| {
                    LlmError::Protocol(format!("{e} in {}", self.scrub(&text.chars().take(200).collect::<String>())))
                })?),
                ProviderKind::Anthropic => {
                    Ok(anthropic::convert::response(serde_json::from_str(&text).map_err(|e| {
                        LlmError::Protocol(format!(
                            "{e} in {}",
                            self.scrub(&text.chars().take(200).collect::<String>())
                        ))
                    })?))
                }
            }
        })
        .await
    }

    /// One completion, streamed: `on_text` gets text as it arrives. A stream cut before any text
    /// reached `on_text` is retried; after that the error is returned (the caller has seen a
    /// partial answer).
    pub async fn stream(&self, req: &Request, on_text: &mut (dyn FnMut(&str) + Send)) -> Result<Response, LlmError> {
        let mut delivered = false;
        let mut tries = 0;
        loop {
            match self.stream_once(req, on_text, &mut delivered).await {
                Ok(r) => return Ok(r),
                Err(e) if e.retryable() && !delivered && tries < self.config.max_retries => {
                    let wait = match &e {
                        LlmError::Http { retry_after: Some(d), .. } => *d,
                        _ => self.backoff * 2u32.saturating_pow(tries),
                    };
                    tries += 1;
                    tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn stream_once(
        &self,
        req: &Request,
        on_text: &mut (dyn FnMut(&str) + Send),
        delivered: &mut bool,
    ) -> Result<Response, LlmError> {
        let resp = self.builder(true, req)?.send().await.map_err(|e| self.transport(e))?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp).await);
        }
        let mut parser = Parser::new();
        let mut body = resp.bytes_stream();
        let mut sink = |t: &str| {
            *delivered = true;
            on_text(t)
        };
        match self.config.provider {
            ProviderKind::Openai => {
                self.drain(openai::stream::Accumulator::default(), &mut body, &mut parser, &mut sink).await
            }
            ProviderKind::Anthropic => {
                self.drain(anthropic::stream::Accumulator::default(), &mut body, &mut parser, &mut sink).await
            }
        }
    }

    /// Feeds a response body through the SSE parser into a format's accumulator.
    async fn drain<A: Accumulate, B: AsRef<[u8]>>(
        &self,
        mut acc: A,
        body: &mut (impl futures_util::Stream<Item = Result<B, reqwest::Error>> + Unpin),
        parser: &mut Parser,
        sink: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Response, LlmError> {
        let idle = Duration::from_secs(self.config.idle_timeout_secs.max(1));
        loop {
            let chunk = match tokio::time::timeout(idle, body.next()).await {
                Err(_) => {
                    return Err(LlmError::StreamCut(format!("nothing arrived for {}s", idle.as_secs())));
                }
                Ok(None) => break,
                Ok(Some(chunk)) => chunk,
            };
            let chunk = chunk.map_err(|e| LlmError::StreamCut(self.scrub(&e.without_url().to_string())))?;
            for ev in parser.feed(chunk.as_ref()) {
                acc.event(&ev, sink)?;
            }
        }
        acc.finish()
    }
}

/// A wire format's stream accumulator.
trait Accumulate {
    fn event(&mut self, ev: &crate::sse::Event, on_text: &mut dyn FnMut(&str)) -> Result<(), LlmError>;
    fn finish(self) -> Result<Response, LlmError>;
}

impl Accumulate for openai::stream::Accumulator {
    fn event(&mut self, ev: &crate::sse::Event, on_text: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        openai::stream::Accumulator::event(self, ev, on_text)
    }
    fn finish(self) -> Result<Response, LlmError> {
        openai::stream::Accumulator::finish(self)
    }
}

impl Accumulate for anthropic::stream::Accumulator {
    fn event(&mut self, ev: &crate::sse::Event, on_text: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        anthropic::stream::Accumulator::event(self, ev, on_text)
    }
    fn finish(self) -> Result<Response, LlmError> {
        anthropic::stream::Accumulator::finish(self)
    }
}
