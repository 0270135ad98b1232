//! LLM provider clients for the two wire formats users have: OpenAI-compatible chat completions
//! (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio, OpenRouter...) and the Anthropic Messages
//! API. Streaming (server-sent events) and non-streaming, tool calling in both formats, usage
//! accounting (input, output, cached tokens), cost from a price table, retries on 429, 5xx and
//! 529 that honour `retry-after`, timeouts, and cancellation by dropping the future.
//!
//! Keys come from an environment variable named in the configuration and live in a [`Secret`]
//! that never prints; error messages are scrubbed of the key before they leave this crate.

pub mod agent;
pub mod budget;
mod client;
pub mod error;
pub mod sse;
pub mod tools;
pub mod types;

pub mod anthropic;
pub mod openai;

pub use budget::{Reservation, SpendCap};
pub use client::{LlmClient, Price, ProviderConfig, ProviderKind, Secret, model_alias};
pub use error::LlmError;
pub use types::{Message, Part, Request, Response, Role, StopReason, ToolSpec, Usage};
