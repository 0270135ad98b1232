//! Local `$ref` resolution (JSON pointers, percent-decoded), remembering the cycles and dangling
//! references met; and the schema questions the rules ask through it: the properties of a schema
//! (with its `allOf` members), whether it is an array, whether it returns a list.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeSet;

/// How many `$ref` hops one resolution follows before it gives up.
const MAX_REF_HOPS: usize = 32;
/// How deep `allOf` compositions are followed when collecting a schema's properties.
const MAX_SCHEMA_DEPTH: usize = 8;
/// Properties of a response object that carry the page of a list.
const LIST_PROPERTIES: [&str; 12] =
    ["items", "data", "results", "records", "entries", "content", "list", "elements", "edges", "nodes", "hits", "rows"];

/// Resolves local `$ref`s, remembering the cycles and dangling references it met.
pub(super) struct Resolver<'a> {
    doc: &'a Value,
    /// The `$ref`s where a cycle (or too long a chain) stopped the resolution.
    pub(super) cycles: RefCell<BTreeSet<String>>,
    /// Local `$ref`s whose target is not in the document.
    pub(super) dangling: RefCell<BTreeSet<String>>,
}

impl<'a> Resolver<'a> {
    /// A resolver of the local references of `doc`.
    pub(super) fn new(doc: &'a Value) -> Self {
        Resolver { doc, cycles: RefCell::default(), dangling: RefCell::default() }
    }

    /// The target of a `$ref` string, if local and present.
    fn target(&self, r: &str) -> Option<&'a Value> {
        let pointer = r.strip_prefix('#')?;
        let found = self.doc.pointer(&percent_decode(pointer));
        if found.is_none() {
            self.dangling.borrow_mut().insert(r.to_string());
        }
        found
    }

    /// Follows a `$ref` chain to its end: where it stopped (a cycle, or an external or dangling
    /// reference, stops it early), and the last reference it followed.
    fn follow(&self, mut v: &'a Value) -> (&'a Value, Option<&'a str>) {
        let mut seen: Vec<&'a str> = Vec::new();
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            if seen.contains(&r) || seen.len() >= MAX_REF_HOPS {
                self.cycles.borrow_mut().insert(r.to_string());
                break;
            }
            seen.push(r);
            match self.target(r) {
                Some(t) => v = t,
                None => break,
            }
        }
        (v, seen.last().copied())
    }

    /// Follows a `$ref` chain to its end; a cycle (or an external or dangling reference) returns
    /// where it stopped.
    pub(super) fn resolve(&self, v: &'a Value) -> &'a Value {
        self.follow(v).0
    }

    /// The name of the last component a `$ref` chain points to (`Problem`), if `v` is a `$ref`.
    pub(super) fn ref_name(&self, v: &'a Value) -> Option<String> {
        let last = self.follow(v).1?;
        last.rsplit(['/', '#']).next().filter(|n| !n.is_empty()).map(str::to_string)
    }

    /// The object at `key` of `v`, resolved.
    pub(super) fn object(&self, v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
        v.get(key).map(|x| self.resolve(x)).and_then(Value::as_object)
    }

    /// The properties of a schema, with those of its `allOf` members.
    pub(super) fn properties(&self, schema: &'a Value, depth: usize, out: &mut Vec<(&'a str, &'a Value)>) {
        if depth > MAX_SCHEMA_DEPTH {
            return;
        }
        let schema = self.resolve(schema);
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for member in all {
                self.properties(member, depth + 1, out);
            }
        }
    }

    /// Whether a schema is an array (`type: array`, `type: [array, "null"]`, or bare `items`).
    fn is_array(&self, schema: &'a Value) -> bool {
        let schema = self.resolve(schema);
        match schema.get("type") {
            Some(Value::String(t)) => t == "array",
            Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("array")),
            _ => schema.get("items").is_some() && schema.get("properties").is_none(),
        }
    }

    /// Whether a schema returns a list: an array, or an object with a list property (`items`, `data`...).
    pub(super) fn is_list(&self, schema: &'a Value) -> bool {
        if self.is_array(schema) {
            return true;
        }
        let mut props = Vec::new();
        self.properties(schema, 0, &mut props);
        props.iter().any(|(k, v)| LIST_PROPERTIES.contains(&k.to_ascii_lowercase().as_str()) && self.is_array(v))
    }
}

/// A JSON pointer with its `%XX` escapes decoded (`%7Bid%7D` → `{id}`).
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ref_cycles_stop_and_are_remembered() {
        let doc = json!({
            "components": { "schemas": {
                "A": { "$ref": "#/components/schemas/B" },
                "B": { "$ref": "#/components/schemas/A" },
                "C": { "allOf": [{ "$ref": "#/components/schemas/C" }, { "properties": { "x": {} } }] },
                "Problem": { "properties": { "title": {} } },
                "Alias": { "$ref": "#/components/schemas/Problem" }
            }}
        });
        let r = Resolver::new(&doc);
        let a = json!({ "$ref": "#/components/schemas/A" });
        assert!(r.resolve(&a).get("$ref").is_some());
        assert!(!r.cycles.borrow().is_empty());
        assert!(!r.is_list(&a));
        let mut props = Vec::new();
        let c = json!({ "$ref": "#/components/schemas/C" });
        r.properties(&c, 0, &mut props);
        assert!(props.iter().any(|(k, _)| *k == "x"));
        assert_eq!(r.ref_name(&json!({ "$ref": "#/components/schemas/Alias" })).as_deref(), Some("Problem"));
        let missing = json!({ "$ref": "#/components/schemas/Nope" });
        r.resolve(&missing);
        assert!(r.dangling.borrow().contains("#/components/schemas/Nope"));
    }

    #[test]
    fn pointers_are_percent_decoded() {
        assert_eq!(percent_decode("/paths/~1orders~1%7Bid%7D"), "/paths/~1orders~1{id}");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
