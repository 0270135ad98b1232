//! Versioning: `no-versioning`, an API with no version in its paths (`/v1`, `/2024-01-01`, a
//! `{version}` parameter), its server URLs, a version header or query parameter, or its media
//! types (`application/vnd.acme.v2+json`, `version=2`).

use super::{Lint, Op};
use crate::finding::Severity;
use crate::openapi::paths::{is_param, segments};
use crate::openapi::re;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

static PATH_VERSION: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(^|/)(v\d+(\.\d+)*|\d{4}-\d{2}-\d{2})(/|$)|//v\d+[.-]"));
static VERSION_MEDIA_TYPE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)version=|;\s*v=\d|vnd\.[^;+]*[.-]v\d+"));
static VERSION_WORD: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)version"));
static VERSION_QUERY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(api[-_]?)?version$"));

impl<'a> Lint<'a> {
    /// `no-versioning`, once per document.
    pub(super) fn versioning(&mut self, ops: &[Op<'a>]) {
        let doc = self.doc;
        // A version prefix (/v1), or a version path parameter (/{dataset}/{version}/fields).
        let in_path =
            |p: &str| PATH_VERSION.is_match(p) || segments(p).iter().any(|s| is_param(s) && VERSION_WORD.is_match(s));
        if ops.iter().any(|o| in_path(o.path)) {
            return;
        }
        let servers = doc.get("servers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for server in servers {
            let Some(url) = server.get("url").and_then(Value::as_str) else { continue };
            let mut expanded = url.to_string();
            if let Some(vars) = server.get("variables").and_then(Value::as_object) {
                for (name, var) in vars {
                    if let Some(default) = var.get("default").and_then(Value::as_str) {
                        expanded = expanded.replace(&format!("{{{name}}}"), default);
                    }
                }
            }
            if PATH_VERSION.is_match(url) || PATH_VERSION.is_match(&expanded) {
                return;
            }
        }
        let mut params: Vec<&Value> = ops.iter().flat_map(|o| self.parameters(o)).collect();
        if let Some(shared) =
            self.refs.object(doc, "components").and_then(|c| c.get("parameters")).and_then(Value::as_object)
        {
            params.extend(shared.values().map(|p| self.refs.resolve(p)));
        }
        let by_param = params.iter().any(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            match p.get("in").and_then(Value::as_str) {
                Some("header") => VERSION_WORD.is_match(name),
                Some("query") => VERSION_QUERY.is_match(name),
                _ => false,
            }
        });
        if by_param || media_type_versioned(doc) {
            return;
        }
        let line = self.lines.top("openapi");
        self.push(
            "no-versioning",
            Severity::Low,
            line,
            "no API version in the paths (/v1/...), the server URLs, a version header or the media types".into(),
            "put the major version in the path prefix (/v1/...) or the server URL (https://api.example.com/v1), or \
             document a version header (API-Version), and state the deprecation policy"
                .into(),
            "api.versioning",
        );
    }
}

/// Whether any media type of the document carries a version (`application/vnd.acme.v2+json`,
/// `application/json; version=2`).
fn media_type_versioned(doc: &Value) -> bool {
    let mut stack: Vec<&Value> = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "content"
                        && let Some(media) = child.as_object()
                        && media.keys().any(|m| VERSION_MEDIA_TYPE.is_match(m))
                    {
                        return true;
                    }
                    stack.push(child);
                }
            }
            Value::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_detection() {
        for p in ["/v1/orders", "/api/v2", "/2024-01-01/orders"] {
            assert!(PATH_VERSION.is_match(p), "{p}");
        }
        assert!(PATH_VERSION.is_match("https://v2.api.example.com"));
        assert!(!PATH_VERSION.is_match("/orders/validate") && !PATH_VERSION.is_match("https://api.example.com"));
        assert!(media_type_versioned(&json!({ "x": { "content": { "application/vnd.acme.v2+json": {} } } })));
        assert!(!media_type_versioned(&json!({ "x": { "content": { "application/json": {} } } })));
    }
}
