//! Claude Code: `claude -p --output-format stream-json --verbose`, the brief on stdin, the
//! persona through `--append-system-prompt`. Its output is one JSON message per line: `system`
//! (`init`: session, model), `assistant` (with the API's usage per message), `user` (tool
//! results), and a final `result` (`subtype` `success`, `error_max_turns`,
//! `error_during_execution`...; `is_error`, `result`, `num_turns`, `session_id`,
//! `total_cost_usd`, `usage` with the cache's read and creation tokens).

use super::Invocation;
use super::report::{AgentReport, Usage, is_rate_limit, json_lines, n, s};

/// The versions this adapter was written against.
pub const WRITTEN_AGAINST: &str = "Claude Code 1.0 and 2.x (stream-json output)";

/// Its provider keys and endpoints.
pub const KEY_VARIABLES: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CONFIG_DIR",
];

/// Tools a writing agent gets when its agent file lists none.
const ALL_TOOLS: &str = "Bash,Edit,MultiEdit,Write,NotebookEdit,Read,Grep,Glob,LS,TodoWrite,WebFetch,WebSearch,Task";

pub(super) fn argv(inv: &Invocation) -> Vec<String> {
    let mut a: Vec<String> =
        [inv.program, "-p", "--output-format", "stream-json", "--verbose"].iter().map(|s| s.to_string()).collect();
    if let Some(m) = inv.model {
        a.extend(["--model".into(), m.to_string()]);
    }
    if !inv.persona.trim().is_empty() {
        a.extend(["--append-system-prompt".into(), inv.persona.trim().to_string()]);
    }
    if let Some(t) = inv.max_turns {
        a.extend(["--max-turns".into(), t.to_string()]);
    }
    if let Some(id) = inv.resume {
        a.extend(["--resume".into(), id.to_string()]);
    }
    // Claude Code stops itself at a spending limit: the run's cap holds inside its loop too.
    if let Some(usd) = inv.max_budget_usd {
        a.extend(["--max-budget-usd".into(), format!("{usd:.4}")]);
    }
    if inv.read_only {
        a.extend(["--permission-mode".into(), "default".into()]);
        a.extend(["--allowedTools".into(), inv.tools.join(",")]);
        a.extend(["--disallowedTools".into(), "Bash,Edit,MultiEdit,Write,NotebookEdit".into()]);
    } else {
        // Edits and commands without asking: coord's sandbox is what confines them.
        a.extend(["--permission-mode".into(), "acceptEdits".into()]);
        let tools = if inv.tools.is_empty() { ALL_TOOLS.to_string() } else { inv.tools.join(",") };
        a.extend(["--allowedTools".into(), tools]);
    }
    a
}

pub(super) fn parse(stdout: &str) -> AgentReport {
    let (events, other) = json_lines(stdout);
    let mut r = AgentReport { non_json_lines: other, ..Default::default() };
    // Usage per API message, for a run cut before its result (several events share a message).
    let mut seen_messages = std::collections::BTreeSet::new();
    let mut streamed = Usage::default();
    let mut last_text = String::new();
    for e in &events {
        match e.get("type").and_then(|t| t.as_str()) {
            Some("system") if e.get("subtype").and_then(|t| t.as_str()) == Some("init") => {
                r.session = s(e, "session_id").or(r.session.take());
                r.model = s(e, "model").or(r.model.take());
            }
            Some("assistant") => {
                let Some(m) = e.get("message") else { continue };
                let id = s(m, "id").unwrap_or_else(|| format!("#{}", seen_messages.len()));
                if seen_messages.insert(id)
                    && let Some(u) = m.get("usage")
                {
                    streamed.add(&usage(u));
                    r.turns += 1;
                }
                if let Some(blocks) = m.get("content").and_then(|c| c.as_array()) {
                    let text: Vec<&str> = blocks
                        .iter()
                        .filter(|b| b.get("type").and_then(|t| t.as_str()) == Some("text"))
                        .filter_map(|b| b.get("text").and_then(|t| t.as_str()))
                        .collect();
                    if !text.is_empty() {
                        last_text = text.join("\n");
                    }
                }
                if let Some(err) = s(e, "error") {
                    r.rate_limited |= is_rate_limit(&err);
                }
            }
            Some("result") => {
                r.finished = true;
                let subtype = s(e, "subtype").unwrap_or_default();
                let is_error = e.get("is_error").and_then(|b| b.as_bool()).unwrap_or(subtype != "success");
                r.success = subtype == "success" && !is_error;
                r.message = s(e, "result").unwrap_or_default();
                r.turns = u32::try_from(n(e, "num_turns")).unwrap_or(u32::MAX).max(r.turns);
                r.session = s(e, "session_id").or(r.session.take());
                r.cost_usd = e.get("total_cost_usd").and_then(|c| c.as_f64()).or(r.cost_usd);
                if let Some(u) = e.get("usage") {
                    r.usage = usage(u);
                }
                if !r.success {
                    let what = match subtype.as_str() {
                        "error_max_turns" => "it reached its turn limit (--max-turns)".to_string(),
                        "error_during_execution" => "it stopped with an error during execution".to_string(),
                        "success" => "it reported an error".to_string(),
                        other => format!("it ended with `{other}`"),
                    };
                    let detail = if r.message.trim().is_empty() {
                        e.get("errors").map(|x| x.to_string()).unwrap_or_default()
                    } else {
                        r.message.clone()
                    };
                    r.rate_limited |= is_rate_limit(&detail);
                    r.error = Some(if detail.is_empty() { what } else { format!("{what}: {}", cut(&detail)) });
                }
            }
            _ => {}
        }
    }
    if !r.finished {
        r.usage = streamed;
        r.message = last_text;
    }
    r
}

fn usage(u: &serde_json::Value) -> Usage {
    Usage {
        input_tokens: n(u, "input_tokens") + n(u, "cache_creation_input_tokens"),
        cached_input_tokens: n(u, "cache_read_input_tokens"),
        output_tokens: n(u, "output_tokens"),
    }
}

fn cut(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 600 { format!("{}…", t.chars().take(600).collect::<String>()) } else { t.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_stream_gives_the_result_usage_cost_and_session() {
        let out = concat!(
            r#"{"type":"system","subtype":"init","cwd":"/w","session_id":"s-1","tools":["Bash"],"model":"claude-sonnet-4-5","permissionMode":"acceptEdits","apiKeySource":"ANTHROPIC_API_KEY"}"#,
            "\n",
            r#"{"type":"assistant","message":{"id":"m1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Working"}],"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":7}},"session_id":"s-1"}"#,
            "\nnot json\n",
            r#"{"type":"result","subtype":"success","is_error":false,"duration_ms":10,"num_turns":2,"result":"Done: added /users","session_id":"s-1","total_cost_usd":0.0123,"usage":{"input_tokens":20,"cache_creation_input_tokens":5,"cache_read_input_tokens":200,"output_tokens":30}}"#,
        );
        let r = parse(out);
        assert!(r.finished && r.success, "{r:?}");
        assert_eq!(r.usage, Usage { input_tokens: 25, cached_input_tokens: 200, output_tokens: 30 });
        assert_eq!(r.cost_usd, Some(0.0123));
        assert_eq!(r.session.as_deref(), Some("s-1"));
        assert_eq!(r.turns, 2);
        assert_eq!(r.non_json_lines, 1);
    }

    #[test]
    fn a_cut_stream_counts_what_was_streamed_and_is_not_finished() {
        let out = r#"{"type":"assistant","message":{"id":"m1","content":[],"usage":{"input_tokens":10,"output_tokens":7}}}
{"type":"assistant","message":{"id":"m1","content":[],"usage":{"input_tokens":10,"output_tokens":7}}}"#;
        let r = parse(out);
        assert!(!r.finished);
        assert_eq!(r.usage.total(), 17, "one message, counted once");
    }

    #[test]
    fn error_subtypes_are_failures_with_their_reason() {
        let r =
            parse(r#"{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":5,"session_id":"s"}"#);
        assert!(r.finished && !r.success);
        assert!(r.error.unwrap().contains("turn limit"));
        let r = parse(
            r#"{"type":"result","subtype":"success","is_error":true,"result":"API Error: 429 rate_limit_error","session_id":"s"}"#,
        );
        assert!(!r.success && r.rate_limited);
    }
}
