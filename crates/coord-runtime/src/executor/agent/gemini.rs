//! Google's Gemini CLI: `gemini --output-format json`, the brief (persona first) on stdin. Its
//! output is one JSON object at the end: `response` (the final text), `stats.models.<model>`
//! (`api.totalRequests`, `tokens.prompt` which includes `tokens.cached`, `tokens.candidates`,
//! `tokens.thoughts`), or `error` (`type`, `message`, `code`). It reports no cost, and a run
//! cannot be resumed with new instructions from the command line.

use super::Invocation;
use super::report::{AgentReport, is_rate_limit, n, s};

/// The versions this adapter was written against.
pub const WRITTEN_AGAINST: &str = "Gemini CLI 0.6 and later (--output-format json)";

/// Its provider keys and endpoints.
pub const KEY_VARIABLES: &[&str] = &[
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
];

pub(super) fn argv(inv: &Invocation) -> Vec<String> {
    let mut a: Vec<String> = vec![inv.program.to_string(), "--output-format".into(), "json".into()];
    if let Some(m) = inv.model {
        a.extend(["--model".into(), m.to_string()]);
    }
    if inv.read_only {
        // Its read-only tools only: without approval, edits and shell commands are refused.
        a.extend(["--approval-mode".into(), "default".into()]);
    } else {
        a.extend(["--approval-mode".into(), "yolo".into()]);
    }
    a
}

pub(super) fn parse(stdout: &str) -> AgentReport {
    let mut r = AgentReport::default();
    // The JSON object is the output's last value; anything printed before it is not an event.
    let text = stdout.trim();
    let start = text.find("\n{").map(|i| i + 1).filter(|_| !text.starts_with('{')).unwrap_or(0);
    let (before, json) = text.split_at(start);
    r.non_json_lines = before.lines().filter(|l| !l.trim().is_empty()).count();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        r.non_json_lines += json.lines().filter(|l| !l.trim().is_empty()).count();
        return r;
    };
    r.finished = true;
    r.message = s(&v, "response").unwrap_or_default();
    r.session = s(&v, "session_id");
    if let Some(models) = v.pointer("/stats/models").and_then(|m| m.as_object()) {
        for (name, m) in models {
            r.model.get_or_insert_with(|| name.clone());
            r.turns +=
                u32::try_from(m.pointer("/api/totalRequests").and_then(|x| x.as_u64()).unwrap_or(0)).unwrap_or(0);
            if let Some(t) = m.get("tokens") {
                let cached = n(t, "cached");
                r.usage.input_tokens += n(t, "prompt").saturating_sub(cached);
                r.usage.cached_input_tokens += cached;
                r.usage.output_tokens += n(t, "candidates") + n(t, "thoughts");
            }
        }
    }
    match v.get("error").filter(|e| !e.is_null()) {
        Some(e) => {
            let msg = s(e, "message").unwrap_or_else(|| e.to_string());
            let kind = s(e, "type").map(|t| format!("{t}: ")).unwrap_or_default();
            r.rate_limited = is_rate_limit(&msg) || e.get("code").and_then(|c| c.as_u64()) == Some(429);
            r.error = Some(format!("{kind}{msg}"));
        }
        None => r.success = true,
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_object_gives_text_and_tokens_per_model() {
        let out = r#"Loaded cached credentials.
{
  "response": "Implemented GET /users.",
  "stats": {
    "models": {
      "gemini-2.5-pro": {
        "api": { "totalRequests": 3, "totalErrors": 0, "totalLatencyMs": 5000 },
        "tokens": { "prompt": 5000, "candidates": 300, "total": 5500, "cached": 4000, "thoughts": 200, "tool": 0 }
      }
    },
    "tools": { "totalCalls": 2 },
    "files": { "totalLinesAdded": 10, "totalLinesRemoved": 0 }
  }
}"#;
        let r = parse(out);
        assert!(r.finished && r.success, "{r:?}");
        assert_eq!((r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens), (1000, 4000, 500));
        assert_eq!(r.turns, 3);
        assert_eq!(r.model.as_deref(), Some("gemini-2.5-pro"));
        assert_eq!(r.non_json_lines, 1);
    }

    #[test]
    fn an_error_object_is_a_failure() {
        let r = parse(r#"{"error":{"type":"ApiError","message":"Quota exceeded","code":429}}"#);
        assert!(r.finished && !r.success && r.rate_limited);
        assert_eq!(r.error.as_deref(), Some("ApiError: Quota exceeded"));
        assert!(!parse("{\"response\": \"cut").finished);
    }
}
