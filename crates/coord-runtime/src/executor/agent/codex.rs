//! OpenAI's Codex CLI: `codex exec --experimental-json`, the brief (persona first: Codex has no
//! system-prompt option) on stdin, options first and `resume ID` last, as Codex's own TypeScript
//! SDK calls it (`--experimental-json` prints the thread/turn/item events in every version that
//! has them; `--json` printed an older format before it became the same). Its output is one JSON event per line:
//! `thread.started` (`thread_id`, the session to resume), `turn.started`, `item.started` /
//! `item.updated` / `item.completed` (items: `agent_message` with `text`, `reasoning`,
//! `command_execution`, `file_change`, `mcp_tool_call`, `web_search`, `todo_list`, `error`),
//! `turn.completed` (`usage`: `input_tokens`, which include `cached_input_tokens`, and
//! `output_tokens`), `turn.failed` (`error.message`) and `error` (`message`). It reports no cost.

use super::Invocation;
use super::report::{AgentReport, is_rate_limit, json_lines, n, s};

/// The versions this adapter was written against.
pub const WRITTEN_AGAINST: &str = "Codex CLI 0.50 and later (exec --json thread/turn/item events)";

/// Its provider keys and endpoints.
pub const KEY_VARIABLES: &[&str] = &["OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY", "CODEX_HOME"];

pub(super) fn argv(inv: &Invocation) -> Vec<String> {
    let mut a: Vec<String> =
        vec![inv.program.to_string(), "exec".into(), "--experimental-json".into(), "--skip-git-repo-check".into()];
    if let Some(m) = inv.model {
        a.extend(["--model".into(), m.to_string()]);
    }
    // Codex's own sandbox, nested in coord's: read-only agents cannot write even where coord's
    // sandbox is off; and it never stops to ask.
    let mode = if inv.read_only { "read-only" } else { "workspace-write" };
    a.extend(["--sandbox".into(), mode.into(), "--config".into(), "approval_policy=\"never\"".into()]);
    if let Some(id) = inv.resume {
        a.extend(["resume".into(), id.to_string()]);
    }
    a
}

pub(super) fn parse(stdout: &str) -> AgentReport {
    let (events, other) = json_lines(stdout);
    let mut r = AgentReport { non_json_lines: other, ..Default::default() };
    let mut failed: Option<String> = None;
    for e in &events {
        match e.get("type").and_then(|t| t.as_str()) {
            Some("thread.started") => r.session = s(e, "thread_id"),
            Some("turn.completed") => {
                r.turns += 1;
                if let Some(u) = e.get("usage") {
                    let cached = n(u, "cached_input_tokens");
                    r.usage.input_tokens += n(u, "input_tokens").saturating_sub(cached);
                    r.usage.cached_input_tokens += cached;
                    r.usage.output_tokens += n(u, "output_tokens");
                }
                r.finished = true;
                failed = None;
            }
            Some("turn.failed") => {
                r.turns += 1;
                r.finished = true;
                let msg = e.pointer("/error/message").and_then(|m| m.as_str()).unwrap_or("the turn failed");
                failed = Some(msg.to_string());
            }
            Some("error") => {
                let msg = s(e, "message").unwrap_or_else(|| e.to_string());
                r.rate_limited |= is_rate_limit(&msg);
                r.notes.push(format!("error event: {msg}"));
                failed.get_or_insert(msg);
            }
            Some("item.completed") => {
                let Some(item) = e.get("item") else { continue };
                match item.get("type").and_then(|t| t.as_str()) {
                    Some("agent_message") => r.message = s(item, "text").unwrap_or_default(),
                    Some("error") => r.notes.push(s(item, "message").unwrap_or_default()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    match failed {
        Some(msg) => {
            r.rate_limited |= is_rate_limit(&msg);
            r.error = Some(msg);
        }
        None => r.success = r.finished,
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_sum_their_usage_and_cached_tokens_are_split_out() {
        let out = r#"{"type":"thread.started","thread_id":"t-9"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"thinking"}}
{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Added the endpoint."}}
{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":800,"output_tokens":50}}"#;
        let r = parse(out);
        assert!(r.finished && r.success);
        assert_eq!((r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens), (200, 800, 50));
        assert_eq!(r.session.as_deref(), Some("t-9"));
        assert_eq!(r.message, "Added the endpoint.");
        assert_eq!(r.cost_usd, None);
    }

    #[test]
    fn a_failed_turn_is_an_error() {
        let out = r#"{"type":"thread.started","thread_id":"t"}
{"type":"error","message":"stream error: exceeded retry limit, last status: 429 Too Many Requests"}
{"type":"turn.failed","error":{"message":"exceeded retry limit, last status: 429 Too Many Requests"}}"#;
        let r = parse(out);
        assert!(r.finished && !r.success && r.rate_limited, "{r:?}");
    }

    #[test]
    fn resume_comes_after_the_options() {
        let inv = Invocation {
            program: "codex",
            persona: "",
            model: None,
            read_only: false,
            tools: &[],
            resume: Some("t-9"),
            max_turns: None,
            extra: &[],
            max_budget_usd: None,
        };
        let a = argv(&inv);
        assert_eq!(a[..3], ["codex", "exec", "--experimental-json"]);
        assert_eq!(a[a.len() - 2..], ["resume", "t-9"]);
    }
}
