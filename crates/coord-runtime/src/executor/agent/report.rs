//! What an agent CLI reported about its work, read from its machine-readable output: the
//! common shape every CLI module fills, and the helpers they share for JSON lines.

use serde::Serialize;

/// Tokens, as the CLIs report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Input tokens not read from a cache (cache writes included).
    pub input_tokens: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Output tokens (reasoning included).
    pub output_tokens: u64,
}

impl Usage {
    /// Adds another usage.
    pub fn add(&mut self, o: &Usage) {
        self.input_tokens += o.input_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.output_tokens += o.output_tokens;
    }

    /// All tokens.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.cached_input_tokens + self.output_tokens
    }
}

/// An agent CLI's account of one call.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentReport {
    /// Its final event was seen (a run cut off in the middle has none).
    pub finished: bool,
    /// It says the work succeeded.
    pub success: bool,
    /// Its error, when it reported one (rate limits included).
    pub error: Option<String>,
    /// It was rate-limited at some point.
    pub rate_limited: bool,
    /// Its final message.
    pub message: String,
    /// Turns (model calls or agent turns, as the CLI counts them).
    pub turns: u32,
    /// Tokens.
    pub usage: Usage,
    /// Dollars, where the CLI reports them.
    pub cost_usd: Option<f64>,
    /// Its session (thread) id, to resume.
    pub session: Option<String>,
    /// The model it used, where it says.
    pub model: Option<String>,
    /// Lines of its output that were not JSON events (progress text, warnings).
    pub non_json_lines: usize,
    /// What the adapter noticed.
    pub notes: Vec<String>,
}

impl AgentReport {
    /// "3 turns, 1200 input + 300 cached + 80 output tokens, $0.0123" for summaries.
    pub fn spent(&self) -> String {
        let cost = match self.cost_usd {
            Some(c) => format!("${c:.4}"),
            None => "cost not reported".to_string(),
        };
        format!(
            "{} turns, {} input + {} cached + {} output tokens, {cost}",
            self.turns, self.usage.input_tokens, self.usage.cached_input_tokens, self.usage.output_tokens
        )
    }
}

/// The JSON objects of a JSON-lines stream, counting the lines that are not.
pub(super) fn json_lines(text: &str) -> (Vec<serde_json::Value>, usize) {
    let mut events = Vec::new();
    let mut other = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if v.is_object() => events.push(v),
            _ => other += 1,
        }
    }
    (events, other)
}

/// A non-negative integer field.
pub(super) fn n(v: &serde_json::Value, key: &str) -> u64 {
    v.get(key).and_then(|x| x.as_u64()).unwrap_or(0)
}

/// A string field.
pub(super) fn s(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_string)
}

/// Whether an error text is about a rate limit or overload.
pub(super) fn is_rate_limit(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("rate limit")
        || t.contains("rate_limit")
        || t.contains("429")
        || t.contains("overloaded")
        || t.contains("quota")
}
