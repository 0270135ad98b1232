//! A server-sent events parser (the `text/event-stream` format both providers stream): fields
//! `event`, `data` (multi-line joined with `\n`), comments ignored, an event dispatched at each
//! blank line; `\n`, `\r\n` and `\r` line ends; bytes may arrive split anywhere.

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field (empty when absent).
    pub event: String,
    /// The `data:` lines joined.
    pub data: String,
}

/// Incremental parser: feed bytes, take events.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
    has_data: bool,
}

impl Parser {
    /// A new parser.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Adds bytes; returns the events they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        // Lines are taken by index; the consumed prefix is dropped once, at the end.
        while let Some(rel) = self.buf[start..].iter().position(|b| *b == b'\n' || *b == b'\r') {
            let pos = start + rel;
            // A lone \r at the end may be the first half of \r\n: wait for more bytes.
            if self.buf[pos] == b'\r' && pos + 1 == self.buf.len() {
                break;
            }
            let line = String::from_utf8_lossy(&self.buf[start..pos]).into_owned();
            start = pos + 1;
            if self.buf[pos] == b'\r' && self.buf.get(start) == Some(&b'\n') {
                start += 1;
            }
            self.line(line, &mut out);
        }
        self.buf.drain(..start);
        out
    }

    fn line(&mut self, line: String, out: &mut Vec<Event>) {
        if line.is_empty() {
            if self.has_data {
                out.push(Event { event: std::mem::take(&mut self.event), data: self.data.join("\n") });
            }
            self.data.clear();
            self.has_data = false;
            self.event.clear();
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                self.data.push(value.to_string());
                self.has_data = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_and_multiline_data() {
        let text = b"event: message_start\r\ndata: {\"a\":1}\r\n\r\n: ping comment\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
        for split in 1..text.len() {
            let mut p = Parser::new();
            let mut events = p.feed(&text[..split]);
            events.extend(p.feed(&text[split..]));
            assert_eq!(events.len(), 3, "split at {split}");
            assert_eq!(events[0], Event { event: "message_start".into(), data: "{\"a\":1}".into() });
            assert_eq!(events[1].data, "line1\nline2");
            assert_eq!(events[2].data, "[DONE]");
        }
    }
}
