//! Accumulates a chat completions stream (`data: {chunk}` ... `data: [DONE]`) into a response,
//! handing text deltas to the caller as they arrive.

use super::convert::{arguments, stop, usage};
use super::wire::Chunk;
use crate::error::LlmError;
use crate::sse::Event;
use crate::types::{Part, Response};

/// The state of one stream.
#[derive(Debug, Default)]
pub struct Accumulator {
    model: String,
    text: String,
    calls: Vec<(String, String, String)>,
    finish: Option<String>,
    usage: Option<super::wire::WireUsage>,
    done: bool,
}

impl Accumulator {
    /// Takes one event; text deltas go to `on_text`.
    pub fn event(&mut self, ev: &Event, on_text: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        if ev.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        // An error object inside a stream is looked for in the text first, so ordinary chunks
        // are decoded once, straight into their type.
        if ev.data.contains("\"error\"") {
            let value: serde_json::Value = serde_json::from_str(&ev.data)
                .map_err(|e| LlmError::Protocol(format!("a stream chunk is not JSON: {e}")))?;
            if let Some(err) = value.get("error") {
                return Err(LlmError::StreamError(err.to_string()));
            }
        }
        let chunk: Chunk =
            serde_json::from_str(&ev.data).map_err(|e| LlmError::Protocol(format!("unexpected stream chunk: {e}")))?;
        if !chunk.model.is_empty() {
            self.model = chunk.model;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for choice in chunk.choices {
            if let Some(t) = choice.delta.content.filter(|t| !t.is_empty()) {
                on_text(&t);
                self.text.push_str(&t);
            }
            for d in choice.delta.tool_calls {
                while self.calls.len() <= d.index {
                    self.calls.push(Default::default());
                }
                let call = &mut self.calls[d.index];
                if let Some(id) = d.id {
                    call.0 = id;
                }
                if let Some(f) = d.function {
                    if let Some(n) = f.name {
                        call.1.push_str(&n);
                    }
                    if let Some(a) = f.arguments {
                        call.2.push_str(&a);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                self.finish = choice.finish_reason;
            }
        }
        Ok(())
    }

    /// The response, once the stream ended; a stream without `[DONE]` or a finish reason was cut.
    pub fn finish(self) -> Result<Response, LlmError> {
        if !self.done && self.finish.is_none() {
            return Err(LlmError::StreamCut("no finish_reason and no [DONE]".into()));
        }
        let mut parts = Vec::new();
        if !self.text.is_empty() {
            parts.push(Part::Text { text: self.text });
        }
        for (id, name, args) in self.calls {
            parts.push(Part::ToolUse { id, name, input: arguments(&args)? });
        }
        Ok(Response { parts, stop: stop(self.finish.as_deref()), usage: usage(self.usage), model: self.model })
    }
}
