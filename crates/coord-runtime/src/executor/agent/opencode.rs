//! OpenCode: `opencode run --format json`, the brief (persona first) on stdin. Its output is one
//! JSON event per line, each with `type`, `timestamp`, `sessionID` and a `part`: `step_start`,
//! `text` (`part.text`), `tool_use`, `step_finish` (`part.reason`, `part.cost`,
//! `part.tokens`: `input`, `output`, `reasoning`, `cache.read`, `cache.write`) and `error`
//! (`error.name`, `error.data.message`). A run ends with a `step_finish` whose reason is not
//! `tool-calls`. A read-only agent runs as OpenCode's built-in `plan` agent.

use super::Invocation;
use super::report::{AgentReport, is_rate_limit, json_lines, n, s};

/// The versions this adapter was written against.
pub const WRITTEN_AGAINST: &str = "OpenCode 0.15 and later (run --format json)";

/// Its provider keys and endpoints.
pub const KEY_VARIABLES: &[&str] =
    &["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY", "OPENCODE_CONFIG"];

pub(super) fn argv(inv: &Invocation) -> Vec<String> {
    let mut a: Vec<String> = vec![inv.program.to_string(), "run".into(), "--format".into(), "json".into()];
    if let Some(m) = inv.model {
        a.extend(["--model".into(), m.to_string()]);
    }
    if let Some(id) = inv.resume {
        a.extend(["--session".into(), id.to_string()]);
    }
    if inv.read_only {
        a.extend(["--agent".into(), "plan".into()]);
    }
    a
}

pub(super) fn parse(stdout: &str) -> AgentReport {
    let (events, other) = json_lines(stdout);
    let mut r = AgentReport { non_json_lines: other, ..Default::default() };
    let mut text = String::new();
    for e in &events {
        if r.session.is_none() {
            r.session = s(e, "sessionID");
        }
        let part = e.get("part").cloned().unwrap_or_default();
        match e.get("type").and_then(|t| t.as_str()) {
            Some("text") => {
                if let Some(t) = part.get("text").and_then(|t| t.as_str()) {
                    text = t.to_string();
                }
            }
            Some("step_finish") => {
                r.turns += 1;
                if let Some(t) = part.get("tokens") {
                    r.usage.input_tokens +=
                        n(t, "input") + t.pointer("/cache/write").and_then(|x| x.as_u64()).unwrap_or(0);
                    r.usage.cached_input_tokens += t.pointer("/cache/read").and_then(|x| x.as_u64()).unwrap_or(0);
                    r.usage.output_tokens += n(t, "output") + n(t, "reasoning");
                }
                if let Some(c) = part.get("cost").and_then(|c| c.as_f64()) {
                    r.cost_usd = Some(r.cost_usd.unwrap_or(0.0) + c);
                }
                let reason = s(&part, "reason").unwrap_or_default();
                r.finished = reason != "tool-calls";
                r.success = r.finished && r.error.is_none();
            }
            Some("error") => {
                let err = e.get("error").cloned().unwrap_or_default();
                let msg = err
                    .pointer("/data/message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
                    .or_else(|| s(&err, "message"))
                    .unwrap_or_else(|| err.to_string());
                let name = s(&err, "name").map(|n| format!("{n}: ")).unwrap_or_default();
                r.rate_limited |= is_rate_limit(&msg);
                r.error = Some(format!("{name}{msg}"));
                r.finished = true;
                r.success = false;
            }
            _ => {}
        }
    }
    r.message = text;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_add_their_tokens_and_cost() {
        let out = r#"{"type":"step_start","timestamp":1,"sessionID":"ses_1","part":{"type":"step-start"}}
{"type":"tool_use","timestamp":2,"sessionID":"ses_1","part":{"type":"tool","tool":"write","state":{"status":"completed"}}}
{"type":"step_finish","timestamp":3,"sessionID":"ses_1","part":{"type":"step-finish","reason":"tool-calls","cost":0.01,"tokens":{"input":100,"output":20,"reasoning":5,"cache":{"read":50,"write":10}}}}
{"type":"text","timestamp":4,"sessionID":"ses_1","part":{"type":"text","text":"Done."}}
{"type":"step_finish","timestamp":5,"sessionID":"ses_1","part":{"type":"step-finish","reason":"stop","cost":0.02,"tokens":{"input":10,"output":2,"reasoning":0,"cache":{"read":150,"write":0}}}}"#;
        let r = parse(out);
        assert!(r.finished && r.success, "{r:?}");
        assert_eq!((r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens), (120, 200, 27));
        assert!((r.cost_usd.unwrap() - 0.03).abs() < 1e-9);
        assert_eq!(r.session.as_deref(), Some("ses_1"));
        assert_eq!(r.message, "Done.");
    }

    #[test]
    fn a_cut_run_is_not_finished() {
        let out =
            r#"{"type":"step_finish","sessionID":"s","part":{"reason":"tool-calls","tokens":{"input":1,"output":1}}}"#;
        assert!(!parse(out).finished);
    }
}
