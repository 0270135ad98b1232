//! Error schemas: `inconsistent-error-schema`, error responses (4xx, 5xx, `default`) whose JSON
//! schema differs from the one most of them use (compared by property names, or by component
//! name when a schema has no properties), once per shared response component.

use super::{Lint, Op};
use crate::finding::Severity;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One error response, for the error-schema comparison.
pub(super) struct ErrorUse {
    /// What is compared: the property-name set, or the component name.
    identity: String,
    /// What the message shows: the component name, or the property set.
    display: String,
    /// The operation and status, for the message.
    what: String,
    line: usize,
    /// One finding per shared response component, or per operation and status.
    dedupe: String,
}

impl<'a> Lint<'a> {
    /// Collects the error responses of an operation for [`Lint::error_schemas`].
    pub(super) fn error_uses(&self, o: &Op<'a>, responses: Option<&'a Map<String, Value>>, errors: &mut Vec<ErrorUse>) {
        for (code, resp) in responses.into_iter().flatten() {
            let upper = code.to_ascii_uppercase();
            if (upper.starts_with('4') || upper.starts_with('5') || upper == "DEFAULT")
                && let Some(e) = self.error_use(o, code, resp)
            {
                errors.push(e);
            }
        }
    }

    /// One error response of an operation, if it has a JSON schema to compare.
    fn error_use(&self, o: &Op<'a>, code: &str, resp: &'a Value) -> Option<ErrorUse> {
        let resolved = self.refs.resolve(resp);
        let content = self.refs.object(resolved, "content")?;
        let (_, media) = content
            .iter()
            .find(|(m, _)| m.contains("problem+json"))
            .or_else(|| content.iter().find(|(m, _)| m.as_str() == "application/json"))
            .or_else(|| content.iter().find(|(m, _)| m.contains("json")))?;
        let schema = media.get("schema")?;
        if self.refs.resolve(schema).get("$ref").and_then(Value::as_str).is_some_and(|r| r.starts_with('#')) {
            // A local cycle or a dangling reference: nothing to compare (the notes say so).
            return None;
        }
        let name = self.refs.ref_name(schema);
        let mut props: Vec<(&str, &Value)> = Vec::new();
        self.refs.properties(schema, 0, &mut props);
        let mut keys: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        let shape = format!("{{{}}}", keys.join(", "));
        let identity = if keys.is_empty() { name.clone()? } else { shape.clone() };
        let display = name.unwrap_or(shape);
        let dedupe = match resp.get("$ref").and_then(Value::as_str) {
            Some(r) => r.to_string(),
            None => format!("{} {code}", o.name()),
        };
        let line = self.lines.at(o.path, &[o.method, "responses", code]);
        Some(ErrorUse { identity, display, what: format!("{} {code}", o.name()), line, dedupe })
    }

    /// `inconsistent-error-schema`, once every operation's error responses are collected.
    pub(super) fn error_schemas(&mut self, errors: Vec<ErrorUse>) {
        // identity → (count, first index, display counts)
        let mut groups: BTreeMap<&str, (usize, usize, BTreeMap<&str, usize>)> = BTreeMap::new();
        for (i, e) in errors.iter().enumerate() {
            let g = groups.entry(e.identity.as_str()).or_insert((0, i, BTreeMap::new()));
            g.0 += 1;
            *g.2.entry(e.display.as_str()).or_default() += 1;
        }
        if groups.len() < 2 {
            return;
        }
        let Some((majority, (count, _, displays))) =
            groups.iter().max_by(|a, b| (a.1.0, std::cmp::Reverse(a.1.1)).cmp(&(b.1.0, std::cmp::Reverse(b.1.1))))
        else {
            return;
        };
        let majority_display =
            displays.iter().max_by_key(|(_, n)| **n).map_or_else(|| majority.to_string(), |(d, _)| d.to_string());
        let majority = majority.to_string();
        let count = *count;
        let total = errors.len();
        let mut done: BTreeSet<String> = BTreeSet::new();
        for e in &errors {
            if e.identity == majority || !done.insert(e.dedupe.clone()) {
                continue;
            }
            self.push(
                "inconsistent-error-schema",
                Severity::Medium,
                e.line,
                format!(
                    "{} returns the error schema {}; {count} of {total} error responses use {majority_display}",
                    e.what, e.display
                ),
                format!(
                    "return {majority_display} for this response too (one shared error schema, e.g. RFC 9457 problem \
                     details via `$ref`), so clients parse every error the same way"
                ),
                "api.error-responses",
            );
        }
    }
}
