//! Pagination: `collection-without-pagination`, a GET on a collection that returns a list (an
//! array, or an object with an `items` / `data` / ... array) without paging query parameters.

use super::{Lint, Op};
use crate::finding::Severity;
use crate::openapi::paths::is_collection_path;
use serde_json::Value;

/// Query parameters that page a list, normalised (lower case, without `_`, `-`, `[`, `]`, `.`, `$`).
const PAGINATION: &str = "\
    limit offset page perpage pagesize pagenumber pagetoken pagecursor cursor after before first last \
    next skip take top startingafter endingbefore maxresults continuationtoken nexttoken marker since";

/// A parameter name, normalised for the pagination lookup.
fn normalise_param(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | '[' | ']' | '.' | '$')).flat_map(char::to_lowercase).collect()
}

impl<'a> Lint<'a> {
    /// `collection-without-pagination`.
    pub(super) fn pagination(&mut self, o: &Op<'a>) {
        if o.method != "get" || !is_collection_path(o.path) {
            return;
        }
        let Some(responses) = self.refs.object(o.op, "responses") else { return };
        let mut ok: Vec<(&String, &Value)> = responses.iter().filter(|(k, _)| k.starts_with('2')).collect();
        ok.sort_by_key(|(k, _)| k.as_str());
        let Some((_, resp)) = ok.first() else { return };
        let Some(content) = self.refs.object(self.refs.resolve(resp), "content") else { return };
        let lists = content
            .iter()
            .filter(|(media, _)| media.contains("json"))
            .filter_map(|(_, m)| m.get("schema"))
            .any(|s| self.refs.is_list(s));
        if !lists {
            return;
        }
        let paginated = self.parameters(o).iter().any(|p| {
            p.get("in").and_then(Value::as_str) == Some("query")
                && p.get("name").and_then(Value::as_str).is_some_and(|n| {
                    let n = normalise_param(n);
                    PAGINATION.split_whitespace().any(|p| p == n) || n.starts_with("page")
                })
        });
        if !paginated {
            self.push(
                "collection-without-pagination",
                Severity::Low,
                o.line,
                format!("GET {} returns a list without pagination parameters", o.path),
                "add cursor-based (`cursor`, `limit`) or offset-based (`limit`, `offset`) query parameters and \
                 return the next cursor or a Link header"
                    .into(),
                "api.pagination",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_names_are_normalised() {
        assert_eq!(normalise_param("page[size]"), "pagesize");
        assert_eq!(normalise_param("per_page"), "perpage");
        assert_eq!(normalise_param("$top"), "top");
    }
}
