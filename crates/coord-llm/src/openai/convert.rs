//! Neutral types to chat completions and back.

use super::wire::{ChatMessage, ChatRequest, ChatResponse, FunctionCall, FunctionDef, Tool, ToolCall, WireUsage};
use crate::error::LlmError;
use crate::types::{Part, Request, Response, Role, StopReason, Usage};

/// The request body.
pub fn request(config: &crate::ProviderConfig, req: &Request, stream: bool) -> ChatRequest {
    let model = config.model.as_str();
    let reasoning = config.is_reasoning();
    let mut messages = Vec::new();
    if !req.system.is_empty() {
        messages.push(ChatMessage {
            role: "system".into(),
            content: Some(req.system.clone()),
            ..ChatMessage::default()
        });
    }
    for m in &req.messages {
        let mut text = String::new();
        let mut calls = Vec::new();
        for p in &m.parts {
            match p {
                Part::Text { text: t } => text.push_str(t),
                Part::ToolUse { id, name, input } => calls.push(ToolCall {
                    id: id.clone(),
                    kind: "function".into(),
                    function: FunctionCall { name: name.clone(), arguments: input.to_string() },
                }),
                // Each tool result is its own `tool` message.
                Part::ToolResult { id, content, is_error } => messages.push(ChatMessage {
                    role: "tool".into(),
                    content: Some(if *is_error { format!("ERROR: {content}") } else { content.clone() }),
                    tool_call_id: Some(id.clone()),
                    ..ChatMessage::default()
                }),
            }
        }
        if !text.is_empty() || !calls.is_empty() {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(ChatMessage {
                role: role.into(),
                content: (!text.is_empty()).then_some(text),
                tool_calls: calls,
                tool_call_id: None,
            });
        }
    }
    ChatRequest {
        model: model.to_string(),
        messages,
        tools: req
            .tools
            .iter()
            .map(|t| Tool {
                kind: "function",
                function: FunctionDef { name: t.name.clone(), description: t.description.clone(), parameters: t.input_schema.clone() },
            })
            .collect(),
        // Reasoning models reject `max_tokens` and any temperature but the default.
        max_tokens: (!reasoning).then(|| req.max_tokens.max(1)),
        max_completion_tokens: reasoning.then(|| req.max_tokens.max(1)),
        reasoning_effort: config.reasoning_effort.clone().filter(|_| reasoning),
        temperature: req.temperature.filter(|_| !reasoning),
        stream,
        stream_options: stream.then(|| serde_json::json!({ "include_usage": true })),
        response_format: req.json_schema.as_ref().map(|(name, schema)| {
            serde_json::json!({ "type": "json_schema", "json_schema": { "name": name, "schema": schema, "strict": false } })
        }),
    }
}

/// Usage in neutral terms: cached tokens are reported apart from the full-rate input.
pub fn usage(u: Option<WireUsage>) -> Usage {
    let u = u.unwrap_or_default();
    let cached = u.prompt_tokens_details.map_or(0, |d| d.cached_tokens);
    Usage {
        input_tokens: u.prompt_tokens.saturating_sub(cached),
        output_tokens: u.completion_tokens,
        cached_input_tokens: cached,
    }
}

/// The stop reason.
pub fn stop(reason: Option<&str>) -> StopReason {
    match reason {
        Some("stop") | None => StopReason::EndTurn,
        Some("tool_calls") | Some("function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
    }
}

/// Parses a tool call's argument string.
pub fn arguments(raw: &str) -> Result<serde_json::Value, LlmError> {
    if raw.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_str(raw).map_err(|e| LlmError::Protocol(format!("tool call arguments are not JSON: {e}")))
}

/// A non-streamed answer in neutral terms.
pub fn response(body: ChatResponse) -> Result<Response, LlmError> {
    let choice =
        body.choices.into_iter().next().ok_or_else(|| LlmError::Protocol("the answer has no choices".into()))?;
    let mut parts = Vec::new();
    if let Some(text) = choice.message.content.filter(|t| !t.is_empty()) {
        parts.push(Part::Text { text });
    }
    for call in choice.message.tool_calls {
        parts.push(Part::ToolUse {
            id: call.id,
            name: call.function.name,
            input: arguments(&call.function.arguments)?,
        });
    }
    Ok(Response { parts, stop: stop(choice.finish_reason.as_deref()), usage: usage(body.usage), model: body.model })
}
