//! Where the keys of a document are: the line of a path, an operation or a response, read from
//! the YAML or pretty-printed JSON text by indentation, so that findings point at their line.

use crate::checker::line_at;
use std::collections::HashMap;

/// A line that starts with a mapping key.
#[derive(Debug)]
struct Entry {
    line: usize,
    indent: usize,
    key: String,
}

/// The key of a YAML or pretty-printed JSON line, with its indentation.
fn key_of(line: &str) -> Option<(usize, String)> {
    let line = line.trim_end();
    let mut indent = line.len() - line.trim_start().len();
    let mut t = line.trim_start();
    while let Some(rest) = t.strip_prefix("- ") {
        indent += 2 + (rest.len() - rest.trim_start().len());
        t = rest.trim_start();
    }
    let t = t.trim_start_matches(['{', ',', ' ', '\t']);
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let first = t.chars().next()?;
    if first == '"' || first == '\'' {
        let rest = &t[1..];
        let end = rest.find(first)?;
        let after = rest[end + 1..].trim_start();
        return after.starts_with(':').then(|| (indent, rest[..end].to_string()));
    }
    let end = t.find(": ").or_else(|| t.find(":\t")).or_else(|| t.strip_suffix(':').map(str::len))?;
    let key = t[..end].trim_end();
    (!key.is_empty()).then(|| (indent, key.to_string()))
}

/// Where the keys of a document are, to report findings on the line of the path, the operation
/// or the response. Good approximations: a key not found falls back to its parent's line.
pub(super) struct Lines<'t> {
    text: &'t str,
    entries: Vec<Entry>,
    /// Path key → index in `entries`.
    paths: HashMap<String, usize>,
}

impl<'t> Lines<'t> {
    /// Reads the keys of every line, and where each path of `paths` is.
    pub(super) fn new(text: &'t str) -> Self {
        let entries: Vec<Entry> = text
            .lines()
            .enumerate()
            .filter_map(|(i, l)| key_of(l).map(|(indent, key)| Entry { line: i + 1, indent, key }))
            .collect();
        let mut paths = HashMap::new();
        let root = entries.iter().map(|e| e.indent).min().unwrap_or(0);
        if let Some(p) = entries.iter().position(|e| e.key == "paths" && e.indent == root) {
            for j in Self::children(&entries, p) {
                paths.entry(entries[j].key.clone()).or_insert(j);
            }
        }
        Lines { text, entries, paths }
    }

    /// The indices of the direct children of entry `parent`.
    fn children(entries: &[Entry], parent: usize) -> Vec<usize> {
        let pi = entries[parent].indent;
        let Some(child_indent) = entries.get(parent + 1).map(|e| e.indent).filter(|&i| i > pi) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (j, e) in entries.iter().enumerate().skip(parent + 1) {
            if e.indent <= pi {
                break;
            }
            if e.indent == child_indent {
                out.push(j);
            }
        }
        out
    }

    /// The direct child `key` of entry `parent`.
    fn child(&self, parent: usize, key: &str) -> Option<usize> {
        Self::children(&self.entries, parent).into_iter().find(|&j| self.entries[j].key == key)
    }

    /// The line of `paths.<path>.<keys...>`, as deep as it is found.
    pub(super) fn at(&self, path: &str, keys: &[&str]) -> usize {
        let Some(&start) = self.paths.get(path) else {
            return [format!("\"{path}\""), format!("{path}:")]
                .iter()
                .filter_map(|n| self.text.find(n.as_str()))
                .min()
                .map_or(1, |i| line_at(self.text, i));
        };
        let mut cur = start;
        for k in keys {
            match self.child(cur, k) {
                Some(j) => cur = j,
                None => break,
            }
        }
        self.entries[cur].line
    }

    /// The line of a top-level key, or 1.
    pub(super) fn top(&self, key: &str) -> usize {
        let root = self.entries.iter().map(|e| e.indent).min().unwrap_or(0);
        self.entries.iter().find(|e| e.indent == root && e.key == key).map_or(1, |e| e.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_lines() {
        assert_eq!(key_of("  /orders/{id}:"), Some((2, "/orders/{id}".into())));
        assert_eq!(key_of("    get: # comment"), Some((4, "get".into())));
        assert_eq!(key_of(r#"    "/orders": {"#), Some((4, "/orders".into())));
        assert_eq!(key_of("        '200': { description: x }"), Some((8, "200".into())));
        assert_eq!(key_of("      - name: id"), Some((8, "name".into())));
        assert_eq!(key_of("  # comment: no"), None);
        assert_eq!(key_of("  - plain item"), None);
        assert_eq!(key_of("  description: a: b"), Some((2, "description".into())));
    }

    #[test]
    fn lines_of_paths_operations_and_responses() {
        let text = "openapi: 3.1.0\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          \
                    application/json:\n            schema:\n              properties:\n                get: {}\n    \
                    get:\n      responses:\n        '404': {}\n";
        let lines = Lines::new(text);
        assert_eq!(lines.at("/a", &[]), 3);
        assert_eq!(lines.at("/a", &["post"]), 4);
        assert_eq!(lines.at("/a", &["get"]), 11, "a property named `get` is not the operation");
        assert_eq!(lines.at("/a", &["get", "responses", "404"]), 13);
        assert_eq!(lines.at("/missing", &["get"]), 1);
        assert_eq!(lines.top("openapi"), 1);
    }
}
