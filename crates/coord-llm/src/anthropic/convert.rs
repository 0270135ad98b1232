//! Neutral types to the Messages API and back.

use super::wire::{Block, MessagesRequest, MessagesResponse, SystemBlock, WireMessage, WireTool, WireUsage};
use crate::types::{Part, Request, Response, Role, StopReason, Usage};

/// The request body. A JSON schema request is carried as an instruction in the system prompt
/// (the Messages API has no response-format field); the answer is validated by the caller.
pub fn request(model: &str, req: &Request, stream: bool) -> MessagesRequest {
    let mut system = req.system.clone();
    if let Some((name, schema)) = &req.json_schema {
        system.push_str(&format!(
            "\n\nAnswer with one JSON document (no prose, no code fence) named {name} that validates against this JSON Schema:\n{schema}"
        ));
    }
    // Prompt caching: the persona (with the tools before it) and the brief, the first message,
    // are the same on every step of an agent run; marking them lets later steps read them from
    // the cache at a tenth of the price. Prompts under the model's minimum are not cached, and
    // a marker on them costs nothing.
    let ephemeral = || Some(serde_json::json!({ "type": "ephemeral" }));
    let system = if system.is_empty() {
        Vec::new()
    } else {
        vec![SystemBlock { kind: "text", text: system, cache_control: ephemeral() }]
    };
    MessagesRequest {
        model: model.to_string(),
        max_tokens: req.max_tokens.max(1),
        system,
        messages: req
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| WireMessage {
                role: match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                },
                content: m
                    .parts
                    .iter()
                    .map(|p| match p {
                        Part::Text { text } => Block::Text {
                            text: text.clone(),
                            cache_control: if i == 0 && req.messages.len() > 1 { ephemeral() } else { None },
                        },
                        Part::ToolUse { id, name, input } => {
                            Block::ToolUse { id: id.clone(), name: name.clone(), input: input.clone() }
                        }
                        Part::ToolResult { id, content, is_error } => {
                            Block::ToolResult { tool_use_id: id.clone(), content: content.clone(), is_error: *is_error }
                        }
                    })
                    .collect(),
            })
            .collect(),
        tools: req
            .tools
            .iter()
            .map(|t| WireTool {
                name: t.name.clone(),
                description: t.description.clone(),
                input_schema: t.input_schema.clone(),
            })
            .collect(),
        temperature: req.temperature,
        stream,
    }
}

/// Usage in neutral terms (cache writes are billed as input).
pub fn usage(u: WireUsage) -> Usage {
    Usage {
        input_tokens: u.input_tokens + u.cache_creation_input_tokens,
        output_tokens: u.output_tokens,
        cached_input_tokens: u.cache_read_input_tokens,
    }
}

/// The stop reason.
pub fn stop(reason: Option<&str>) -> StopReason {
    match reason {
        Some("end_turn") | Some("stop_sequence") | None => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
    }
}

/// Blocks to parts.
pub fn parts(blocks: Vec<Block>) -> Vec<Part> {
    blocks
        .into_iter()
        .filter_map(|b| match b {
            Block::Text { text, .. } if !text.is_empty() => Some(Part::Text { text }),
            Block::ToolUse { id, name, input } => Some(Part::ToolUse { id, name, input }),
            _ => None,
        })
        .collect()
}

/// A non-streamed answer in neutral terms.
pub fn response(body: MessagesResponse) -> Response {
    Response {
        parts: parts(body.content),
        stop: stop(body.stop_reason.as_deref()),
        usage: usage(body.usage),
        model: body.model,
    }
}
