//! Reading the text of code migrations (Python, JavaScript, Ruby) without a parser for each
//! language: quoted strings and braces, top-level arguments of a call, keyword arguments, string
//! literals (concatenated, triple-quoted, template), and callee names.

use crate::checker::call_arguments;
use crate::migrations::re;
use regex::Regex;
use std::sync::LazyLock;

static KWARG: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\w+)\s*(=)[^=]"));

/// The index after a quoted string starting at `i` (the quote), backslash escapes skipped.
pub(super) fn skip_quote(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            return j;
        }
        j += 1;
    }
    b.len()
}

/// The index of the `}` matching the `{` at `open`, skipping strings and comments.
pub(super) fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quote(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of the keyword argument `name` (`name=value`) of one argument, trimmed.
pub(super) fn kwarg<'a>(part: &'a str, name: &str) -> Option<&'a str> {
    let c = KWARG.captures(part)?;
    let eq = c.get(2)?;
    (&c[1] == name).then(|| part[eq.end()..].trim())
}

/// The value of the keyword argument `name` among the parts of an argument list.
pub(super) fn find_kwarg<'a>(parts: &[(usize, &'a str)], name: &str) -> Option<&'a str> {
    parts.iter().find_map(|(_, p)| kwarg(p, name))
}

/// The positional arguments among the parts of an argument list.
pub(super) fn positional<'a>(parts: &[(usize, &'a str)]) -> Vec<(usize, &'a str)> {
    parts.iter().copied().filter(|(_, p)| !KWARG.is_match(p)).collect()
}

/// Top-level comma-separated parts of an argument list: `(offset, trimmed part)`.
pub(super) fn split_top(s: &str) -> Vec<(usize, &str)> {
    fn push<'s>(s: &'s str, mut from: usize, to: usize, parts: &mut Vec<(usize, &'s str)>) {
        // Leading blanks and comment lines are not part of the argument.
        loop {
            let raw = &s[from..to];
            let trimmed = raw.trim_start();
            from += raw.len() - trimmed.len();
            if !(trimmed.starts_with('#') || trimmed.starts_with("//")) {
                break;
            }
            match trimmed.find('\n') {
                Some(nl) => from += nl + 1,
                None => return,
            }
        }
        let part = s[from..to].trim_end();
        if !part.is_empty() {
            parts.push((from, part));
        }
    }
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quote(b, i),
            // A Python or Ruby comment, to the end of the line.
            b'#' => {
                while i + 1 < b.len() && b[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                push(s, start, i, &mut parts);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    push(s, start, s.len(), &mut parts);
    parts
}

/// A string literal.
pub(super) struct Lit {
    /// Offset of its content.
    pub(super) start: usize,
    /// Offset after it (and after literals concatenated to it).
    pub(super) end: usize,
    /// Its value, escapes of its quotes undone.
    pub(super) value: String,
}

/// The string literal at `i` (after blanks): Python (`r`/`b`/`u` prefixes, triple quotes), JS
/// (template literals without `${}`), Ruby; adjacent or `+`-joined literals are concatenated.
pub(super) fn literal_at(s: &str, i: usize) -> Option<Lit> {
    let b = s.as_bytes();
    let mut lit: Option<Lit> = None;
    let mut j = i;
    loop {
        while j < b.len() && (b[j].is_ascii_whitespace() || (lit.is_some() && b[j] == b'+') || b[j] == b'\\') {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && k < j + 2 && matches!(b[k], b'r' | b'R' | b'b' | b'B' | b'u' | b'U') {
            k += 1;
        }
        let Some(&q) = b.get(k) else { break };
        if !matches!(q, b'\'' | b'"' | b'`') {
            break;
        }
        let triple = b.get(k + 1) == Some(&q) && b.get(k + 2) == Some(&q);
        let (content_start, content_end, after) = if triple {
            let open = k + 3;
            let close = s[open..].find(&s[k..k + 3]).map(|p| open + p)?;
            (open, close, close + 3)
        } else {
            let close = skip_quote(b, k);
            if close >= b.len() {
                return None;
            }
            (k + 1, close, close + 1)
        };
        let content = &s[content_start..content_end];
        if q == b'`' && content.contains("${") {
            return None;
        }
        let value = content.replace("\\'", "'").replace("\\\"", "\"");
        match &mut lit {
            Some(l) => {
                l.value.push_str(&value);
                l.end = after;
            }
            None => lit = Some(Lit { start: content_start, end: after, value }),
        }
        j = after;
    }
    lit
}

/// Every simple string literal (and Ruby symbol) in `s`, in order.
pub(super) fn literals(s: &str) -> Vec<String> {
    static WORD: LazyLock<Regex> = LazyLock::new(|| re(r#"['"`]|(?:^|[^\w:]):(\w+)"#));
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(c) = WORD.captures_at(s, at) {
        let Some(m) = c.get(0) else { break };
        if let Some(sym) = c.get(1) {
            out.push(sym.as_str().to_string());
            at = m.end();
            continue;
        }
        match literal_at(s, m.start()) {
            Some(l) => {
                out.push(l.value);
                at = l.end.max(m.end());
            }
            None => at = m.end(),
        }
    }
    out
}

/// The SQL string of an argument: a literal, `sa.text("...")`, or `sql="..."`.
pub(super) fn sql_literal(part: &str) -> Option<Lit> {
    let after_eq = KWARG.captures(part).and_then(|c| c.get(2)).map_or(0, |m| m.end());
    let rest = &part[after_eq..];
    let start = after_eq + rest.len() - rest.trim_start().len();
    let value = &part[start..];
    let start = if callee(value) == "text" { value.find('(').map_or(start, |i| start + i + 1) } else { start };
    literal_at(part, start)
}

/// The first string literal (or Ruby symbol) in `s`.
pub(super) fn first_literal(s: &str) -> Option<String> {
    literals(s).into_iter().next()
}

/// The name of the call a part starts with: `sa.Column(...)` → `Column`.
pub(super) fn callee(part: &str) -> &str {
    let head = part.split('(').next().unwrap_or("").trim();
    if head.len() == part.trim().len() {
        return "";
    }
    head.rsplit('.').next().unwrap_or(head)
}

/// The argument text of the call a part starts with.
pub(super) fn inner_args(part: &str) -> &str {
    part.find('(').map_or("", |i| call_arguments(part, i + 1, part.len()))
}

/// The text without its white space, for matching options (`null:false`).
pub(super) fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_literals_are_read() {
        let parts = split_top(r#""users", sa.Column("a", sa.String(64), nullable=False), x=[1, 2]"#);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].1, r#"sa.Column("a", sa.String(64), nullable=False)"#);
        assert_eq!(literals(r#"["a", 'b'], :c"#), vec!["a", "b", "c"]);
        let l = literal_at(r#"  """SELECT 1""" "#, 0).unwrap();
        assert_eq!(l.value, "SELECT 1");
        let l = literal_at(r#"("ALTER TABLE a " "DROP COLUMN b")"#, 1).unwrap();
        assert_eq!(l.value, "ALTER TABLE a DROP COLUMN b");
        assert!(literal_at("`DROP ${x}`", 0).is_none());
    }
}
