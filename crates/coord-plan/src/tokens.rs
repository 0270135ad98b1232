//! Token counting with a real BPE tokenizer (OpenAI's `cl100k_base`, embedded by
//! `tiktoken-rs`, so it works offline), and the measured effect of context filtering on a brief.

use coord_core::{Brief, ContextPolicy, Plan, Roster, Task, render_brief};
use serde::Serialize;

/// The number of `cl100k_base` tokens in `text`.
pub fn count_tokens(text: &str) -> usize {
    tiktoken_rs::cl100k_base_singleton().encode_ordinary(text).len()
}

/// What context filtering did to one brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefStats {
    /// Tokens of the brief as sent (filtered by the specialist's policy).
    pub tokens: usize,
    /// Tokens the same brief would have with every context item of the task.
    pub unfiltered_tokens: usize,
    /// Context items included.
    pub items_included: usize,
    /// Context items the task carries before filtering.
    pub items_total: usize,
    /// Share of tokens saved by filtering, in percent.
    pub saved_percent: f64,
}

/// Renders the brief of `task` for its specialist and measures it against the unfiltered brief.
/// A specialist missing from the roster (validation prevents it) sees everything.
pub fn brief_with_stats(plan: &Plan, task: &Task, roster: &Roster, feedback: &[String]) -> (Brief, BriefStats) {
    let policy = roster.get(&task.specialist).map(|s| s.context.clone()).unwrap_or_else(ContextPolicy::everything);
    let brief = render_brief(plan, task, &policy, feedback);
    let full = render_brief(plan, task, &ContextPolicy::everything(), feedback);
    let tokens = count_tokens(&brief.markdown);
    let unfiltered_tokens = count_tokens(&full.markdown);
    let saved_percent = if unfiltered_tokens == 0 {
        0.0
    } else {
        100.0 * (unfiltered_tokens.saturating_sub(tokens)) as f64 / unfiltered_tokens as f64
    };
    let stats = BriefStats {
        tokens,
        unfiltered_tokens,
        items_included: brief.included.len(),
        items_total: brief.included.len() + brief.excluded.len(),
        saved_percent,
    };
    (brief, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_real_tokens() {
        assert_eq!(count_tokens(""), 0);
        // "hello world" is two tokens in cl100k_base.
        assert_eq!(count_tokens("hello world"), 2);
    }
}
