//! The OpenAI-compatible chat completions format (`POST {base}/chat/completions`): wire types,
//! conversion to and from the neutral types, and the streaming accumulator.

pub mod convert;
pub mod stream;
pub mod wire;
