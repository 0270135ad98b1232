//! Errors of provider calls, each saying whether trying again can help.

use std::time::Duration;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// No API key in the environment.
    #[error("no API key: set the environment variable {0}")]
    NoKey(String),
    /// The provider answered with an error status.
    #[error("the provider answered {status}: {message}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The provider's message (scrubbed of the key).
        message: String,
        /// What `retry-after` asked for.
        retry_after: Option<Duration>,
    },
    /// No answer in time.
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("cannot reach the provider: {0}")]
    Connect(String),
    /// The answer was not in the expected format (malformed JSON, unexpected shape).
    #[error("the provider's answer is malformed: {0}")]
    Protocol(String),
    /// A stream ended before the message was complete.
    #[error("the stream was cut before the message ended: {0}")]
    StreamCut(String),
    /// The provider reported an error inside a stream (e.g. overloaded).
    #[error("the provider reported an error in the stream: {0}")]
    StreamError(String),
}

impl LlmError {
    /// Whether the same request may succeed if sent again.
    pub fn retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => matches!(*status, 408 | 409 | 425 | 429 | 500..=599),
            LlmError::Timeout(_) | LlmError::Connect(_) | LlmError::StreamCut(_) => true,
            LlmError::StreamError(m) => m.contains("overloaded") || m.contains("rate_limit") || m.contains("api_error"),
            LlmError::NoKey(_) | LlmError::Protocol(_) => false,
        }
    }
}
