//! The HTTP methods and the path's shape: `verbs-in-path` (a CRUD verb as a path segment) and
//! `method-path-shape` (POST on an item, PUT/PATCH/DELETE on a whole collection, GET with a body).

use super::{Lint, Op};
use crate::finding::Severity;
use crate::openapi::paths::{is_collection_path, is_item_path, noun_of, segments, verb_segments};
use std::collections::BTreeSet;

impl<'a> Lint<'a> {
    /// `verbs-in-path`, once per path.
    pub(super) fn verbs_in_paths(&mut self, ops: &[Op<'a>]) {
        let paths: BTreeSet<&str> = ops.iter().map(|o| o.path).collect();
        for path in paths {
            for seg in verb_segments(path) {
                let line = self.lines.at(path, &[]);
                let noun = noun_of(seg);
                self.push(
                    "verbs-in-path",
                    Severity::Low,
                    line,
                    format!("{path}: the segment `{seg}` is a verb; REST paths name resources"),
                    match noun {
                        Some(n) => format!(
                            "name the resource (`/{n}` instead of `/{seg}`) and let the HTTP method say what happens"
                        ),
                        None => format!(
                            "drop `/{seg}` and use the HTTP method on the resource (e.g. DELETE /orders/{{id}})"
                        ),
                    },
                    "api.rest-conventions",
                );
            }
        }
    }

    /// `method-path-shape`.
    pub(super) fn method_shape(&mut self, o: &Op<'a>) {
        let segs = segments(o.path);
        let parent = format!("/{}", segs[..segs.len().saturating_sub(1)].join("/"));
        match o.method {
            "post" if is_item_path(o.path) => self.push(
                "method-path-shape",
                Severity::Medium,
                o.line,
                format!("POST {}: POST creates in a collection, but this path names one item", o.path),
                format!(
                    "POST to the collection ({parent}) to create; use PUT or PATCH on {} to change the item, or make \
                     the action a sub-resource (POST {}/cancel)",
                    o.path, o.path
                ),
                "api.http-methods",
            ),
            "put" | "patch" | "delete" if is_collection_path(o.path) => {
                let m = o.method.to_ascii_uppercase();
                self.push(
                    "method-path-shape",
                    Severity::Medium,
                    o.line,
                    format!("{m} {}: {m} on a whole collection", o.path),
                    format!(
                        "{m} one item ({}/{{id}}); a bulk change needs an explicit action resource (POST {}/batch)",
                        o.path, o.path
                    ),
                    "api.http-methods",
                );
            }
            _ => {}
        }
        if o.method == "get" && o.op.get("requestBody").is_some() {
            self.push(
                "method-path-shape",
                Severity::Medium,
                o.line,
                format!("GET {} has a request body, which clients, proxies and caches drop", o.path),
                format!(
                    "move the inputs to query parameters, or use POST on a search action ({}/search) when they do \
                     not fit in a URL",
                    o.path.trim_end_matches('/')
                ),
                "api.http-methods",
            );
        }
    }
}
