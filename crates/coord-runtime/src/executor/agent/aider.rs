//! Aider: `aider --message-file BRIEF --yes-always`, one message and exit. It prints text, not
//! events: after each model reply a line `Tokens: 2.3k sent, 1.1k cache hit, 123 received.
//! Cost: $0.01 message, $0.02 session.` (the cache parts only when there were any), and errors
//! as text. Coord commits the worktree itself, so aider's own commits are off, and it must not
//! edit `.gitignore`. A read-only agent runs with `--dry-run` (no file is written).

use super::Invocation;
use super::report::{AgentReport, is_rate_limit};

/// The versions this adapter was written against.
pub const WRITTEN_AGAINST: &str = "aider 0.80 and later (its `Tokens: ... Cost: ...` report line)";

/// Its provider keys and endpoints (aider reaches any provider through litellm).
pub const KEY_VARIABLES: &[&str] = &[
    "OPENAI_API_KEY",
    "OPENAI_API_BASE",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "OLLAMA_API_BASE",
    "AIDER_MODEL",
];

pub(super) fn argv(inv: &Invocation) -> Vec<String> {
    let mut a: Vec<String> = [
        inv.program,
        "--message-file",
        "{brief_file}",
        "--yes-always",
        "--no-pretty",
        "--no-stream",
        "--no-auto-commits",
        "--no-dirty-commits",
        "--no-gitignore",
        "--no-check-update",
        "--no-show-release-notes",
        "--analytics-disable",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(m) = inv.model {
        a.extend(["--model".into(), m.to_string()]);
    }
    if inv.read_only {
        a.push("--dry-run".into());
    }
    a
}

/// `2.3k` → 2300, `1.2M` → 1200000, `123` → 123.
fn count(word: &str) -> Option<u64> {
    let w = word.trim().trim_end_matches(',');
    let (num, mult) = match w.chars().last()? {
        'k' | 'K' => (&w[..w.len() - 1], 1_000.0),
        'm' | 'M' => (&w[..w.len() - 1], 1_000_000.0),
        _ => (w, 1.0),
    };
    let v: f64 = num.replace(',', "").parse().ok()?;
    Some((v * mult).round() as u64)
}

fn dollars(word: &str) -> Option<f64> {
    word.trim().trim_start_matches('$').trim_end_matches([',', '.']).parse().ok()
}

/// Error lines aider prints when a model call or its setup fails.
fn is_error_line(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("litellm.")
        || l.contains("AuthenticationError")
        || l.contains("RateLimitError")
        || l.contains("APIConnectionError")
        || l.contains("NotFoundError")
        || l.starts_with("Error:")
        || l.starts_with("Unable to")
        || l.starts_with("Model ") && l.contains("not found")
}

pub(super) fn parse(stdout: &str, stderr: &str) -> AgentReport {
    let mut r = AgentReport { finished: true, ..Default::default() };
    let mut errors = Vec::new();
    let mut text = Vec::new();
    for line in stdout.lines().chain(stderr.lines()) {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("Tokens:") {
            r.turns += 1;
            let (tokens, cost) = rest.split_once("Cost:").unwrap_or((rest, ""));
            for part in tokens.split(',') {
                let mut words = part.split_whitespace();
                let (Some(num), kind) = (words.next().and_then(count), words.collect::<Vec<_>>().join(" ")) else {
                    continue;
                };
                match kind.trim_end_matches('.') {
                    "sent" => r.usage.input_tokens += num,
                    "cache hit" => r.usage.cached_input_tokens += num,
                    "received" => r.usage.output_tokens += num,
                    _ => {}
                }
            }
            // "$0.01 message, $0.02 session." — the session's total is the run's.
            if let Some(session) = cost.split(',').find(|p| p.contains("session")) {
                r.cost_usd = session.split_whitespace().next().and_then(dollars).or(r.cost_usd);
            }
        } else if is_error_line(l) {
            errors.push(l.to_string());
        } else if !l.is_empty() {
            text.push(l.to_string());
        }
    }
    // "sent" counts every input token, cache hits included.
    r.usage.input_tokens = r.usage.input_tokens.saturating_sub(r.usage.cached_input_tokens);
    r.message = text.iter().rev().take(20).rev().cloned().collect::<Vec<_>>().join("\n");
    if errors.is_empty() || r.turns > 0 && !errors.iter().any(|e| is_rate_limit(e)) {
        r.success = errors.is_empty();
    }
    if !errors.is_empty() {
        r.rate_limited = errors.iter().any(|e| is_rate_limit(e));
        r.error = Some(errors.join("\n"));
        r.success = false;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_cost_lines_add_up() {
        let out = "Aider v0.86.1\nModel: claude-sonnet-4-5 with diff edit format\n\
                   Tokens: 2.3k sent, 1.0k cache hit, 123 received. Cost: $0.01 message, $0.01 session.\n\
                   Applied edit to src/users.js\n\
                   Tokens: 3k sent, 200 received. Cost: $0.02 message, $0.03 session.\n";
        let r = parse(out, "");
        assert!(r.success, "{r:?}");
        assert_eq!((r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens), (4300, 1000, 323));
        assert_eq!(r.cost_usd, Some(0.03));
        assert_eq!(r.turns, 2);
    }

    #[test]
    fn an_auth_error_is_a_failure() {
        let r = parse("litellm.AuthenticationError: AnthropicException - invalid x-api-key\n", "");
        assert!(!r.success);
        assert!(r.error.unwrap().contains("invalid x-api-key"));
    }
}
