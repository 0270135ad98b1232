//! LLM-judged checklist items: the items no tool can decide ("code comments explain why, not
//! what", "error handling comprehensive"...) are judged by the configured model from the
//! evidence — the files the attempt changed — returning a verdict and reasons per item. Without
//! a model they wait for a person's attestation.

use coord_gates::checklist::{Decider, ITEMS, Item};
use coord_llm::{LlmClient, Message, Request};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One item's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The checklist item id.
    pub item: String,
    /// `pass`, `fail` or `unknown` (not enough evidence).
    pub verdict: String,
    /// Why.
    pub reasons: String,
}

#[derive(Deserialize)]
struct Answer {
    verdicts: Vec<Verdict>,
}

/// The judge-decided items of these gates.
pub fn judged_items(gates: &[&str]) -> Vec<&'static Item> {
    ITEMS.iter().filter(|i| i.decider == Decider::LlmJudge && gates.contains(&i.gate)).collect()
}

/// The evidence: the changed files' contents, capped at `limit` bytes in all.
pub fn evidence(root: &Path, artifacts: &[String], limit: usize) -> String {
    let mut out = String::new();
    for a in artifacts {
        if out.len() >= limit {
            out.push_str("\n[more files omitted]\n");
            break;
        }
        let Ok(text) = std::fs::read_to_string(root.join(a)) else { continue };
        let room = limit.saturating_sub(out.len());
        let mut cut = text.len().min(room);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&format!("\n=== {a} ===\n{}\n", &text[..cut]));
    }
    out
}

/// Asks the model for a verdict on each item. An item the model leaves out is `unknown`.
pub async fn judge(client: &LlmClient, items: &[&Item], evidence: &str) -> Result<Vec<Verdict>, String> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = items.iter().map(|i| format!("- {}: {}", i.id, i.text)).collect();
    let schema = serde_json::json!({
        "type": "object",
        "properties": { "verdicts": { "type": "array", "items": {
            "type": "object",
            "properties": { "item": { "type": "string" }, "verdict": { "enum": ["pass", "fail", "unknown"] }, "reasons": { "type": "string" } },
            "required": ["item", "verdict", "reasons"] } } },
        "required": ["verdicts"]
    });
    let req = Request {
        system: "You are a strict backend reviewer. Judge only from the evidence; say `unknown` when it does not show the answer.".into(),
        messages: vec![Message::user(format!(
            "Judge each checklist item against the evidence. Answer with JSON: {{\"verdicts\": [{{\"item\", \"verdict\": \"pass|fail|unknown\", \"reasons\"}}]}}.\n\nITEMS:\n{}\n\nEVIDENCE:\n{evidence}",
            list.join("\n")
        ))],
        tools: Vec::new(),
        max_tokens: 2048,
        temperature: Some(0.0),
        json_schema: Some(("verdicts".into(), schema)),
    };
    let resp = client.complete(&req).await.map_err(|e| e.to_string())?;
    let text = resp.text();
    let t = text.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    let answer: Answer =
        serde_json::from_str(t).map_err(|e| format!("the judge's answer is not the expected JSON: {e}"))?;
    Ok(items
        .iter()
        .map(|i| {
            answer.verdicts.iter().find(|v| v.item == i.id).cloned().unwrap_or(Verdict {
                item: i.id.to_string(),
                verdict: "unknown".into(),
                reasons: "the judge gave no verdict".into(),
            })
        })
        .collect())
}
