//! The Anthropic Messages API (`POST {base}/v1/messages`): wire types, conversion, and the
//! streaming accumulator (`message_start`, `content_block_*`, `message_delta`, `message_stop`).

pub mod convert;
pub mod stream;
pub mod wire;
