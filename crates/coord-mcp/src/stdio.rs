//! The line transport between the host and the SDK. Messages are newline-delimited JSON; the
//! SDK silently drops a line that is not JSON at all (as the other official SDKs do), so this
//! layer answers such a line itself with a JSON-RPC parse error (-32700) naming what is wrong,
//! and the session goes on. Well-formed JSON that is not JSON-RPC reaches the SDK, which
//! answers with an Invalid Request error. One writer owns the output, so replies and these
//! errors never interleave within a line, and replies are relayed whole whatever their size.

use crate::{CoordMcp, McpError};
use coord_store::Store;
use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Longest accepted line (a message), bytes.
const MAX_LINE: usize = 8 * 1024 * 1024;

fn parse_error(message: String) -> Vec<u8> {
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32700, "message": message },
    });
    let mut line = error.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// Reads one line of at most `MAX_LINE` bytes (the rest of a longer line is skipped);
/// `None` at the end of input.
async fn read_line<R: AsyncRead + Unpin>(input: &mut BufReader<R>, line: &mut Vec<u8>) -> Option<bool> {
    line.clear();
    let mut too_long = false;
    loop {
        let buf = match input.fill_buf().await {
            Ok(b) => b,
            Err(_) => return None,
        };
        if buf.is_empty() {
            return if line.is_empty() && !too_long { None } else { Some(too_long) };
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let n = chunk.len();
        if line.len() + n <= MAX_LINE {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
        }
        input.consume(n);
        if done {
            return Some(too_long);
        }
    }
}

/// Relays the SDK's replies to the writer, each whole whatever its size: the input's line limit
/// protects coord from a host, but cutting a reply would splice it onto the next one (invalid
/// JSON, a lost answer). Each reply ends with exactly one newline.
async fn relay<R: AsyncRead + Unpin>(from_sdk: R, lines: mpsc::Sender<Vec<u8>>) {
    let mut from_sdk = BufReader::new(from_sdk);
    loop {
        let mut line = Vec::new();
        match from_sdk.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        if lines.send(line).await.is_err() {
            break;
        }
    }
}

/// Serves MCP over any line-oriented pair of streams until the input ends.
pub async fn serve_lines<S, R, W>(server: CoordMcp<S>, input: R, output: W) -> Result<(), McpError>
where
    S: Store + Clone + 'static,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (mut to_sdk, sdk_in) = tokio::io::duplex(1 << 16);
    let (sdk_out, from_sdk) = tokio::io::duplex(1 << 16);
    let (lines, mut outbox) = mpsc::channel::<Vec<u8>>(64);

    let errors = lines.clone();
    let reader = tokio::spawn(async move {
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        while let Some(too_long) = read_line(&mut input, &mut line).await {
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            let verdict = if too_long {
                Err(format!("Parse error: the message is longer than {MAX_LINE} bytes"))
            } else {
                serde_json::from_slice::<serde_json::Value>(&line).map(|_| ()).map_err(|e| {
                    format!("Parse error: the message is not JSON ({e}); send one JSON-RPC 2.0 message per line")
                })
            };
            match verdict {
                Ok(()) => {
                    if to_sdk.write_all(&line).await.is_err() {
                        break;
                    }
                    if !line.ends_with(b"\n") && to_sdk.write_all(b"\n").await.is_err() {
                        break;
                    }
                }
                Err(message) => {
                    eprintln!("coord mcp: {message}");
                    if errors.send(parse_error(message)).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `to_sdk` ends the SDK's input: the session closes.
    });
    let relay = tokio::spawn(relay(from_sdk, lines));
    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(line) = outbox.recv().await {
            if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });

    let served = async {
        let service = server.serve((sdk_in, sdk_out)).await.map_err(|e| McpError::Session(e.to_string()))?;
        service.waiting().await.map_err(|e| McpError::Session(e.to_string()))?;
        Ok(())
    }
    .await;
    reader.abort();
    let _ = relay.await;
    let _ = writer.await;
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reply_larger_than_the_input_limit_is_relayed_whole_and_apart_from_the_next() {
        let (mut sdk, from_sdk) = tokio::io::duplex(1 << 16);
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4);
        let relaying = tokio::spawn(relay(from_sdk, tx));
        let big = format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"{}\"}}\n", "x".repeat(12 * 1024 * 1024));
        let writing = tokio::spawn(async move {
            sdk.write_all(big.as_bytes()).await.unwrap();
            sdk.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}").await.unwrap();
        });
        let first = rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        writing.await.unwrap();
        relaying.await.unwrap();
        assert!(first.len() > MAX_LINE, "whole: {} bytes", first.len());
        let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(v["id"], 1);
        assert_eq!(second, b"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n");
    }
}
