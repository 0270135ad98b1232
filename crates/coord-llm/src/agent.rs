//! The agent loop of an LLM specialist: the persona is the system prompt, the brief the first
//! message; the model calls the workspace tools until it gives a final answer, reaches the step
//! limit, or would pass its token or cost budget. The outcome holds the files changed, the usage
//! and cost, and the transcript (with the key scrubbed).

use crate::client::LlmClient;
use crate::error::LlmError;
use crate::tools::{ToolLimits, Workspace, specs_for};
use crate::types::{Message, Part, Request, Role, StopReason, Usage};
use std::io::Write;
use std::path::Path;

/// Limits of one agent run.
#[derive(Debug, Clone)]
pub struct AgentLimits {
    /// Model calls at most.
    pub max_steps: u32,
    /// Output tokens per call.
    pub max_tokens: u32,
    /// Total tokens (input + cached + output) the run may use.
    pub token_budget: Option<u64>,
    /// Dollars the run may spend.
    pub cost_budget: Option<f64>,
    /// The tools' limits.
    pub tools: ToolLimits,
    /// The run's spending cap, shared with the other calls under way: each call reserves its
    /// worst case first.
    pub run_cap: Option<std::sync::Arc<crate::SpendCap>>,
    /// Where the answer being streamed is appended as it arrives (each call's text after a
    /// `--- step N ---` line), when the provider streams.
    pub partial: Option<std::path::PathBuf>,
}

impl Default for AgentLimits {
    fn default() -> Self {
        AgentLimits {
            max_steps: 30,
            max_tokens: 4096,
            token_budget: None,
            cost_budget: None,
            tools: ToolLimits::default(),
            run_cap: None,
            partial: None,
        }
    }
}

/// Why the loop stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentStop {
    /// The model answered without calling tools.
    Final,
    /// `max_steps` model calls were made.
    StepLimit,
    /// The next call could pass the budget; what was spent.
    Budget(String),
    /// A provider call failed.
    Error(LlmError),
    /// The answer was cut off at the output limit (`max_tokens`, `finish_reason: length`).
    Truncated(String),
    /// The provider refused or filtered the answer (`content_filter`, `refusal`).
    Refused(String),
    /// The model answered with neither text nor a tool call.
    Empty,
}

/// Stop reasons that mean the provider withheld the answer.
fn is_refusal(reason: &str) -> bool {
    matches!(reason, "content_filter" | "refusal" | "safety" | "recitation" | "prohibited_content" | "blocklist")
}

/// What an agent run produced.
#[derive(Debug, Clone)]
pub struct AgentOutcome {
    /// The final answer (or the last text).
    pub answer: String,
    /// Files written or edited, relative to the workspace.
    pub files_changed: Vec<String>,
    /// The conversation.
    pub transcript: Vec<Message>,
    /// Tokens used.
    pub usage: Usage,
    /// Cost in dollars.
    pub cost: f64,
    /// Model calls made.
    pub steps: u32,
    /// Why it stopped.
    pub stop: AgentStop,
}

fn total(u: &Usage) -> u64 {
    u.input_tokens + u.cached_input_tokens + u.output_tokens
}

/// Runs the loop. `workspace` must exist.
pub async fn run_agent(
    client: &LlmClient,
    persona: &str,
    brief: &str,
    workspace: &Path,
    limits: &AgentLimits,
) -> AgentOutcome {
    let mut ws = match Workspace::new(workspace, limits.tools.clone()) {
        Ok(w) => w,
        Err(e) => {
            return AgentOutcome {
                answer: String::new(),
                files_changed: Vec::new(),
                transcript: Vec::new(),
                usage: Usage::default(),
                cost: 0.0,
                steps: 0,
                stop: AgentStop::Error(LlmError::Protocol(format!(
                    "the workspace {} cannot be used: {e}",
                    workspace.display()
                ))),
            };
        }
    };
    let mut messages = vec![Message::user(brief)];
    let mut usage = Usage::default();
    let mut answer = String::new();
    let mut steps = 0;
    let mut last_call = 0u64;
    let stop = loop {
        if steps >= limits.max_steps {
            break AgentStop::StepLimit;
        }
        // Stop before a call that could pass the budget: assume it costs what the last one did.
        let spent = total(&usage);
        if let Some(b) = limits.token_budget
            && spent + last_call.max(limits.max_tokens as u64) > b
            && steps > 0
        {
            break AgentStop::Budget(format!("{spent} of {b} tokens used"));
        }
        if let Some(b) = limits.cost_budget
            && steps > 0
            && client.cost(&usage) * (1.0 + 1.0 / steps as f64) > b
        {
            break AgentStop::Budget(format!("${:.4} of ${b:.4} spent", client.cost(&usage)));
        }
        let req = Request {
            system: persona.to_string(),
            messages: messages.clone(),
            tools: specs_for(&limits.tools),
            max_tokens: limits.max_tokens,
            temperature: Some(0.0),
            json_schema: None,
        };
        // The run's cap: reserve this call's worst case (its output limit, and its input
        // estimated at a token per three bytes) before sending it.
        let reservation = match &limits.run_cap {
            None => None,
            Some(cap) => {
                let bytes = req.system.len()
                    + serde_json::to_string(&req.messages).map_or(0, |s| s.len())
                    + serde_json::to_string(&req.tools).map_or(0, |s| s.len());
                let worst = Usage {
                    input_tokens: bytes as u64 / 3,
                    output_tokens: req.max_tokens as u64,
                    cached_input_tokens: 0,
                };
                match cap.reserve(total(&worst), client.cost(&worst)) {
                    Ok(r) => Some(r),
                    Err(why) => break AgentStop::Budget(why),
                }
            }
        };
        steps += 1;
        let resp = if client.config().streams() {
            let mut file = limits
                .partial
                .as_ref()
                .and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
            if let Some(f) = file.as_mut() {
                let _ = writeln!(f, "\n--- step {steps} ---");
            }
            let redact = &limits.tools.redact;
            let mut on_text = |t: &str| {
                if let Some(f) = file.as_mut() {
                    let _ = f.write_all(redact.apply(t.to_string()).as_bytes());
                }
            };
            client.stream(&req, &mut on_text).await
        } else {
            client.complete(&req).await
        };
        let resp = match resp {
            Ok(r) => r,
            Err(e) => break AgentStop::Error(e),
        };
        if let Some(r) = reservation {
            r.settle(total(&resp.usage), client.cost(&resp.usage));
        }
        last_call = total(&resp.usage);
        usage.add(resp.usage);
        let text = resp.text();
        if !text.is_empty() {
            answer = text;
        }
        let calls: Vec<(String, String, serde_json::Value)> =
            resp.tool_calls().into_iter().map(|(i, n, v)| (i.to_string(), n.to_string(), v.clone())).collect();
        messages.push(Message { role: Role::Assistant, parts: resp.parts.clone() });
        // Fail closed: an answer cut off, withheld or empty is never a finished task.
        match &resp.stop {
            StopReason::MaxTokens => {
                break AgentStop::Truncated(format!(
                    "the model's answer was cut off at the output limit ({} tokens){}",
                    limits.max_tokens,
                    if calls.is_empty() { "" } else { ", in the middle of a tool call" }
                ));
            }
            StopReason::Other(r) if is_refusal(r) => {
                break AgentStop::Refused(format!("the provider withheld the answer (stop reason `{r}`)"));
            }
            _ => {}
        }
        if calls.is_empty() {
            if resp.text().trim().is_empty() {
                break AgentStop::Empty;
            }
            break AgentStop::Final;
        }
        let mut results = Vec::new();
        for (id, name, input) in calls {
            let (content, is_error) = ws.call(&name, &input).await;
            results.push(Part::ToolResult { id, content, is_error });
        }
        messages.push(Message { role: Role::User, parts: results });
    };
    let cost = client.cost(&usage);
    AgentOutcome { answer, files_changed: ws.changed().to_vec(), transcript: messages, usage, cost, steps, stop }
}
