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
    /// Where in the evidence: `file:line` or `file:from-to` of a changed file (required for
    /// `pass` and `fail`).
    #[serde(default)]
    pub evidence: String,
}

/// What the judge said, and what it cost.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The verdicts, or why the judge's answers (the first and the repair) were unusable.
    pub verdicts: Result<Vec<Verdict>, String>,
    /// Tokens of every call, malformed answers included.
    pub usage: coord_llm::Usage,
    /// Their cost.
    pub cost_usd: f64,
}

/// The judge-decided items of these gates.
pub fn judged_items(gates: &[&str]) -> Vec<&'static Item> {
    ITEMS.iter().filter(|i| i.decider == Decider::LlmJudge && gates.contains(&i.gate)).collect()
}

/// The evidence: the changed files' contents with line numbers, capped at `limit` bytes.
pub fn evidence(root: &Path, artifacts: &[String], limit: usize) -> String {
    let mut out = String::new();
    for a in artifacts {
        if out.len() >= limit {
            out.push_str("\n[more files omitted]\n");
            break;
        }
        let Ok(text) = std::fs::read_to_string(root.join(a)) else { continue };
        out.push_str(&format!("\n=== {a} ===\n"));
        for (n, line) in text.lines().enumerate() {
            if out.len() >= limit {
                out.push_str("[cut]\n");
                break;
            }
            out.push_str(&format!("{:>4}| {line}\n", n + 1));
        }
    }
    out
}

/// Checks a `file:line` or `file:from-to` reference against the changed files.
fn check_reference(r: &str, artifacts: &[String]) -> Result<(), String> {
    let r = r.trim();
    let (file, lines) = r.rsplit_once(':').ok_or_else(|| format!("evidence `{r}` is not `file:line`"))?;
    if !artifacts.iter().any(|a| a == file) {
        return Err(format!("evidence `{r}` names `{file}`, which is not one of the changed files"));
    }
    let ok = lines.split('-').all(|n| n.trim().parse::<usize>().is_ok_and(|n| n > 0));
    if !ok {
        return Err(format!("evidence `{r}` has no line number"));
    }
    Ok(())
}

/// Parses the judge's answer strictly: JSON `{"verdicts": [...]}`, each entry naming a known
/// item, a verdict among pass / fail / unknown (any case), reasons, and for pass and fail the
/// evidence as `file:line` of a changed file. Items left out are `unknown`.
pub fn parse_verdicts(text: &str, items: &[&Item], artifacts: &[String]) -> Result<Vec<Verdict>, String> {
    let t = text.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    let v: serde_json::Value = serde_json::from_str(t).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let list = v.get("verdicts").and_then(|l| l.as_array()).ok_or("the answer has no `verdicts` list")?;
    let mut found: Vec<Verdict> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let field = |k: &str| entry.get(k).and_then(|x| x.as_str()).map(str::trim).unwrap_or("");
        let item = field("item");
        if !items.iter().any(|it| it.id == item) {
            return Err(format!("verdict {} names the item `{item}`, which was not asked", i + 1));
        }
        let verdict = field("verdict").to_ascii_lowercase();
        if !matches!(verdict.as_str(), "pass" | "fail" | "unknown") {
            return Err(format!("the verdict on `{item}` is `{}`: it must be pass, fail or unknown", field("verdict")));
        }
        let reasons = field("reasons");
        if reasons.is_empty() {
            return Err(format!("the verdict on `{item}` gives no reasons"));
        }
        let evidence = match entry.get("evidence") {
            Some(serde_json::Value::Array(refs)) => {
                refs.iter().filter_map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            }
            Some(serde_json::Value::String(r)) => r.clone(),
            _ => String::new(),
        };
        if verdict != "unknown" {
            if evidence.trim().is_empty() {
                return Err(format!("the verdict `{verdict}` on `{item}` cites no evidence (file:line)"));
            }
            for r in evidence.split(',') {
                check_reference(r, artifacts).map_err(|e| format!("the verdict on `{item}`: {e}"))?;
            }
        }
        found.push(Verdict { item: item.to_string(), verdict, reasons: reasons.to_string(), evidence });
    }
    Ok(items
        .iter()
        .map(|i| {
            found.iter().find(|v| v.item == i.id).cloned().unwrap_or(Verdict {
                item: i.id.to_string(),
                verdict: "unknown".into(),
                reasons: "the judge gave no verdict".into(),
                evidence: String::new(),
            })
        })
        .collect())
}

/// Asks the model for a verdict on each item, and once more with the reason when the answer is
/// unusable. Err: the model could not be called.
pub async fn judge(
    client: &LlmClient,
    items: &[&Item],
    evidence: &str,
    artifacts: &[String],
) -> Result<Judged, String> {
    let mut judged = Judged { verdicts: Ok(Vec::new()), usage: coord_llm::Usage::default(), cost_usd: 0.0 };
    if items.is_empty() {
        return Ok(judged);
    }
    let list: Vec<String> = items.iter().map(|i| format!("- {}: {}", i.id, i.text)).collect();
    let schema = serde_json::json!({
        "type": "object",
        "properties": { "verdicts": { "type": "array", "items": {
            "type": "object",
            "properties": {
                "item": { "type": "string" },
                "verdict": { "enum": ["pass", "fail", "unknown"] },
                "reasons": { "type": "string" },
                "evidence": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["item", "verdict", "reasons", "evidence"] } } },
        "required": ["verdicts"]
    });
    let mut messages = vec![Message::user(format!(
        "Judge each checklist item against the evidence (the changed files, with line numbers). Answer with JSON: {{\"verdicts\": [{{\"item\", \"verdict\": \"pass|fail|unknown\", \"reasons\", \"evidence\": [\"file:line\" or \"file:from-to\"]}}]}}. A pass or a fail must cite the lines that show it; say unknown when the evidence does not.\n\nITEMS:\n{}\n\nEVIDENCE:\n{evidence}",
        list.join("\n")
    ))];
    for round in 0..2 {
        let req = Request {
            system: "You are a strict backend reviewer. Judge only from the evidence; say `unknown` when it does not show the answer.".into(),
            messages: messages.clone(),
            tools: Vec::new(),
            max_tokens: 4096,
            temperature: Some(0.0),
            json_schema: Some(("verdicts".into(), schema.clone())),
        };
        let resp = client.complete(&req).await.map_err(|e| e.to_string())?;
        judged.usage.add(resp.usage);
        judged.cost_usd = client.cost(&judged.usage);
        let text = resp.text();
        let parsed = if resp.stop == coord_llm::StopReason::MaxTokens {
            Err("the answer was cut off at the output limit".to_string())
        } else {
            parse_verdicts(&text, items, artifacts)
        };
        match parsed {
            Ok(v) => {
                judged.verdicts = Ok(v);
                return Ok(judged);
            }
            Err(e) if round == 0 => {
                messages
                    .push(Message { role: coord_llm::Role::Assistant, parts: vec![coord_llm::Part::Text { text }] });
                messages.push(Message::user(format!(
                    "That answer cannot be used: {e}. Answer again with only the JSON document, every pass or fail citing file:line of the changed files."
                )));
            }
            Err(e) => judged.verdicts = Err(e),
        }
    }
    Ok(judged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<&'static Item> {
        ITEMS.iter().filter(|i| i.decider == Decider::LlmJudge).take(2).collect()
    }

    #[test]
    fn verdicts_are_parsed_strictly() {
        let items = items();
        let (a, b) = (items[0].id, items[1].id);
        let files = vec!["src/a.js".to_string()];
        let ok = format!(
            r#"{{"verdicts":[{{"item":"{a}","verdict":"FAIL","reasons":"no handler","evidence":["src/a.js:3-9"]}},{{"item":"{b}","verdict":"Unknown","reasons":"not shown"}}]}}"#
        );
        let v = parse_verdicts(&ok, &items, &files).unwrap();
        assert_eq!((v[0].verdict.as_str(), v[1].verdict.as_str()), ("fail", "unknown"));
        let bad = |text: String, why: &str| {
            let e = parse_verdicts(&text, &items, &files).unwrap_err();
            assert!(e.contains(why), "{e}");
        };
        bad(
            format!(r#"{{"verdicts":[{{"item":"{a}","verdict":"passed","reasons":"x","evidence":["src/a.js:1"]}}]}}"#),
            "must be pass, fail or unknown",
        );
        bad(format!(r#"{{"verdicts":[{{"item":"{a}","verdict":"pass","reasons":"x"}}]}}"#), "cites no evidence");
        bad(
            format!(
                r#"{{"verdicts":[{{"item":"{a}","verdict":"pass","reasons":"x","evidence":["src/other.js:1"]}}]}}"#
            ),
            "not one of the changed files",
        );
        bad(
            format!(r#"{{"verdicts":[{{"item":"{a}","verdict":"pass","reasons":"x","evidence":["src/a.js"]}}]}}"#),
            "file:line",
        );
        bad(
            format!(r#"{{"verdicts":[{{"item":"{a}","verdict":"pass","reasons":"","evidence":["src/a.js:1"]}}]}}"#),
            "no reasons",
        );
        bad(r#"{"verdicts":[{"item":"made-up","verdict":"pass","reasons":"x"}]}"#.into(), "was not asked");
        bad("All good!".into(), "not JSON");
        bad("{}".into(), "no `verdicts` list");
    }
}
