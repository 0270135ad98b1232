//! Rate limiting: `rate-limit-not-documented`, a 429 response missing where the operation, its
//! path item, or the API as a whole claims rate limiting (in a description, an `x-ratelimit`
//! extension or `RateLimit` response headers; "not rate limited" is no claim).

use super::{Codes, Lint, Op};
use crate::finding::Severity;
use crate::openapi::paths::is_public_path;
use crate::openapi::re;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

static RATE_CLAIM: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)rate[- _]?limit|throttl"));
static NEGATION: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(no|not|without|never|unlimited)\b|n't\b"));
static RATE_HEADER: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(x-)?rate-?limit"));
static RATE_EXTENSION: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^x-(rate-?limit|throttl)"));

/// Whether a text claims rate limiting (and does not deny it: "not rate limited").
fn claims_rate_limit(text: &str) -> bool {
    RATE_CLAIM.find_iter(text).any(|m| {
        let mut from = m.start().saturating_sub(30);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        !NEGATION.is_match(&text[from..m.start()])
    })
}

/// Whether an object has an `x-ratelimit-*` / `x-rate-limit` / `x-throttling` extension.
fn has_rate_extension(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.keys().any(|k| RATE_EXTENSION.is_match(k)))
}

impl<'a> Lint<'a> {
    /// Whether the API as a whole claims rate limiting (`info.description`, or an extension on
    /// the document or its `info`).
    pub(super) fn doc_claims_rate(&self) -> bool {
        let info = self.doc.get("info");
        info.and_then(|i| i.get("description")).and_then(Value::as_str).is_some_and(claims_rate_limit)
            || [Some(self.doc), info].into_iter().flatten().any(has_rate_extension)
    }

    /// `rate-limit-not-documented`: the API's claim covers its non-public operations.
    pub(super) fn rate_limit(&mut self, o: &Op<'a>, doc_claim: bool, codes: &Codes) {
        let op_claim = self.op_claims_rate(o);
        if (op_claim || (doc_claim && !is_public_path(o.path))) && !codes.has("429") {
            let source = if op_claim { "the operation claims rate limiting" } else { "the API claims rate limiting" };
            self.push(
                "rate-limit-not-documented",
                Severity::Medium,
                o.line,
                format!("{source} but {} documents no 429 response", o.name()),
                "add a 429 response with a Retry-After header (and RateLimit headers) to the operation".into(),
                "api.rate-limiting",
            );
        }
    }

    /// Whether the operation or its path item claims rate limiting: a description or summary, an
    /// extension, or a `RateLimit` header on one of its responses.
    fn op_claims_rate(&self, o: &Op<'a>) -> bool {
        let text_claim = |v: &Value| {
            ["description", "summary"].iter().any(|k| v.get(*k).and_then(Value::as_str).is_some_and(claims_rate_limit))
        };
        if text_claim(o.op) || text_claim(o.item) || has_rate_extension(o.op) || has_rate_extension(o.item) {
            return true;
        }
        self.refs.object(o.op, "responses").is_some_and(|rs| {
            rs.values().any(|r| {
                self.refs
                    .object(self.refs.resolve(r), "headers")
                    .is_some_and(|h| h.keys().any(|k| RATE_HEADER.is_match(k)))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_claims_and_denials() {
        assert!(claims_rate_limit("All endpoints are rate limited per API key."));
        assert!(claims_rate_limit("Requests are throttled."));
        assert!(claims_rate_limit("See the rate-limit section."));
        assert!(!claims_rate_limit("This endpoint is not rate limited."));
        assert!(!claims_rate_limit("It isn't throttled."));
        assert!(!claims_rate_limit("Orders API."));
    }
}
