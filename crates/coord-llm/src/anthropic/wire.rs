//! Wire types of the Messages API.

use serde::{Deserialize, Serialize};

/// A request body.
#[derive(Debug, Serialize)]
pub struct MessagesRequest {
    /// Model name.
    pub model: String,
    /// Output limit.
    pub max_tokens: u32,
    /// System prompt, as text blocks (the persona is marked for the prompt cache).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemBlock>,
    /// Messages.
    pub messages: Vec<WireMessage>,
    /// Tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool>,
    /// Temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Stream the answer.
    pub stream: bool,
}

/// A block of the system prompt.
#[derive(Debug, Serialize)]
pub struct SystemBlock {
    /// Always `text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text.
    pub text: String,
    /// `{"type": "ephemeral"}`: cache the prompt up to here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<serde_json::Value>,
}

/// A message.
#[derive(Debug, Serialize)]
pub struct WireMessage {
    /// user or assistant.
    pub role: &'static str,
    /// Content blocks.
    pub content: Vec<Block>,
}

/// A content block.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Cache the prompt up to here (sent only; the brief is marked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<serde_json::Value>,
    },
    /// A tool call.
    ToolUse {
        /// Id.
        id: String,
        /// Tool.
        name: String,
        /// Arguments.
        input: serde_json::Value,
    },
    /// A tool result.
    ToolResult {
        /// The call answered.
        tool_use_id: String,
        /// Output.
        content: String,
        /// Failure.
        #[serde(default)]
        is_error: bool,
    },
    /// Extended thinking and other blocks we pass over.
    #[serde(other)]
    Other,
}

/// A tool definition.
#[derive(Debug, Serialize)]
pub struct WireTool {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// JSON Schema of the input.
    pub input_schema: serde_json::Value,
}

/// A non-streamed answer.
#[derive(Debug, Deserialize)]
pub struct MessagesResponse {
    /// The model.
    #[serde(default)]
    pub model: String,
    /// Content.
    pub content: Vec<Block>,
    /// end_turn, tool_use, max_tokens...
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Usage.
    #[serde(default)]
    pub usage: WireUsage,
}

/// Usage.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
pub struct WireUsage {
    /// Input tokens at the full rate.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens read from the cache.
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the cache (billed as input).
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
}
