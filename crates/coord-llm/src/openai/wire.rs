//! Wire types of chat completions, as the API sends and receives them.

use serde::{Deserialize, Serialize};

/// A request body.
#[derive(Debug, Serialize)]
pub struct ChatRequest {
    /// Model name.
    pub model: String,
    /// Messages, system first.
    pub messages: Vec<ChatMessage>,
    /// Tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Output limit (other models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Output limit of a reasoning model (which rejects `max_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// A reasoning model's effort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Stream the answer.
    pub stream: bool,
    /// Ask for usage in the last chunk of a stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<serde_json::Value>,
    /// Structured output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<serde_json::Value>,
}

/// A message.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ChatMessage {
    /// system, user, assistant or tool.
    pub role: String,
    /// Text (null for an assistant message that only calls tools).
    #[serde(default)]
    pub content: Option<String>,
    /// Tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A tool call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function")]
    pub kind: String,
    /// The function and its JSON-encoded arguments.
    pub function: FunctionCall,
}

fn function() -> String {
    "function".into()
}

/// A function call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Name.
    pub name: String,
    /// Arguments, a JSON document in a string.
    pub arguments: String,
}

/// A tool definition.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: FunctionDef,
}

/// A function definition.
#[derive(Debug, Serialize)]
pub struct FunctionDef {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// A non-streamed answer.
#[derive(Debug, Deserialize)]
pub struct ChatResponse {
    /// The model.
    #[serde(default)]
    pub model: String,
    /// Choices; the first is used.
    pub choices: Vec<Choice>,
    /// Usage.
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// A choice.
#[derive(Debug, Deserialize)]
pub struct Choice {
    /// The message.
    pub message: ChatMessage,
    /// stop, tool_calls, length...
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Usage.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
pub struct WireUsage {
    /// Input tokens (cached ones included).
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Details.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

/// Input token details.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
pub struct PromptDetails {
    /// Input tokens served from the cache.
    #[serde(default)]
    pub cached_tokens: u64,
}

/// A streamed chunk.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    /// The model.
    #[serde(default)]
    pub model: String,
    /// Deltas.
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Usage (last chunk, with `include_usage`).
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// A streamed choice.
#[derive(Debug, Deserialize)]
pub struct ChunkChoice {
    /// The delta.
    #[serde(default)]
    pub delta: Delta,
    /// Set on the last delta.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// A delta.
#[derive(Debug, Deserialize, Default)]
pub struct Delta {
    /// Text.
    #[serde(default)]
    pub content: Option<String>,
    /// Partial tool calls, by index.
    #[serde(default)]
    pub tool_calls: Vec<ToolCallDelta>,
}

/// A partial tool call.
#[derive(Debug, Deserialize)]
pub struct ToolCallDelta {
    /// Which call.
    #[serde(default)]
    pub index: usize,
    /// Id (first delta).
    #[serde(default)]
    pub id: Option<String>,
    /// Name and a piece of the arguments.
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

/// A piece of a function call.
#[derive(Debug, Deserialize, Default)]
pub struct FunctionDelta {
    /// Name (first delta).
    #[serde(default)]
    pub name: Option<String>,
    /// A piece of the arguments.
    #[serde(default)]
    pub arguments: Option<String>,
}
