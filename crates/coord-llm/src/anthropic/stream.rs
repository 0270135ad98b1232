//! Accumulates a Messages API stream into a response, handing text deltas to the caller.

use super::convert::{stop, usage};
use super::wire::WireUsage;
use crate::error::LlmError;
use crate::sse::Event;
use crate::types::{Part, Response};

enum Block {
    Text(String),
    Tool { id: String, name: String, json: String },
    Other,
}

/// The state of one stream.
#[derive(Default)]
pub struct Accumulator {
    model: String,
    blocks: Vec<Block>,
    usage: WireUsage,
    stop: Option<String>,
    stopped: bool,
}

fn field<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    v.pointer(path)
}

impl Accumulator {
    /// Takes one event; text deltas go to `on_text`.
    pub fn event(&mut self, ev: &Event, on_text: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        let v: serde_json::Value = serde_json::from_str(&ev.data)
            .map_err(|e| LlmError::Protocol(format!("a stream event is not JSON: {e}")))?;
        let kind = v.get("type").and_then(|t| t.as_str()).unwrap_or(ev.event.as_str());
        match kind {
            "message_start" => {
                if let Some(m) = field(&v, "/message/model").and_then(|m| m.as_str()) {
                    self.model = m.to_string();
                }
                if let Some(u) = field(&v, "/message/usage") {
                    self.usage = serde_json::from_value(u.clone()).unwrap_or_default();
                }
            }
            "content_block_start" => {
                let index = field(&v, "/index").and_then(|i| i.as_u64()).unwrap_or(self.blocks.len() as u64) as usize;
                let block = match field(&v, "/content_block/type").and_then(|t| t.as_str()) {
                    Some("text") => {
                        Block::Text(field(&v, "/content_block/text").and_then(|t| t.as_str()).unwrap_or("").to_string())
                    }
                    Some("tool_use") => Block::Tool {
                        id: field(&v, "/content_block/id").and_then(|t| t.as_str()).unwrap_or("").to_string(),
                        name: field(&v, "/content_block/name").and_then(|t| t.as_str()).unwrap_or("").to_string(),
                        json: String::new(),
                    },
                    _ => Block::Other,
                };
                while self.blocks.len() < index {
                    self.blocks.push(Block::Other);
                }
                if index < self.blocks.len() {
                    self.blocks[index] = block;
                } else {
                    self.blocks.push(block);
                }
            }
            "content_block_delta" => {
                let index = field(&v, "/index").and_then(|i| i.as_u64()).unwrap_or(0) as usize;
                let Some(block) = self.blocks.get_mut(index) else {
                    return Err(LlmError::Protocol(format!("a delta for block {index}, which never started")));
                };
                match (field(&v, "/delta/type").and_then(|t| t.as_str()), block) {
                    (Some("text_delta"), Block::Text(text)) => {
                        let t = field(&v, "/delta/text").and_then(|t| t.as_str()).unwrap_or("");
                        on_text(t);
                        text.push_str(t);
                    }
                    (Some("input_json_delta"), Block::Tool { json, .. }) => {
                        json.push_str(field(&v, "/delta/partial_json").and_then(|t| t.as_str()).unwrap_or(""));
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(r) = field(&v, "/delta/stop_reason").and_then(|r| r.as_str()) {
                    self.stop = Some(r.to_string());
                }
                if let Some(o) = field(&v, "/usage/output_tokens").and_then(|o| o.as_u64()) {
                    self.usage.output_tokens = o;
                }
            }
            "message_stop" => self.stopped = true,
            "error" => {
                let kind = field(&v, "/error/type").and_then(|t| t.as_str()).unwrap_or("error");
                let message = field(&v, "/error/message").and_then(|t| t.as_str()).unwrap_or("");
                return Err(LlmError::StreamError(format!("{kind}: {message}")));
            }
            _ => {} // ping, content_block_stop
        }
        Ok(())
    }

    /// The response, once `message_stop` arrived.
    pub fn finish(self) -> Result<Response, LlmError> {
        if !self.stopped {
            return Err(LlmError::StreamCut("no message_stop event".into()));
        }
        let mut parts = Vec::new();
        for b in self.blocks {
            match b {
                Block::Text(text) if !text.is_empty() => parts.push(Part::Text { text }),
                Block::Tool { id, name, json } => {
                    let input = if json.trim().is_empty() {
                        serde_json::json!({})
                    } else {
                        serde_json::from_str(&json)
                            .map_err(|e| LlmError::Protocol(format!("tool input is not JSON: {e}")))?
                    };
                    parts.push(Part::ToolUse { id, name, input });
                }
                _ => {}
            }
        }
        Ok(Response { parts, stop: stop(self.stop.as_deref()), usage: usage(self.usage), model: self.model })
    }
}
