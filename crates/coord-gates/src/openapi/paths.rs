//! The shape of a path: its segments, parameters (`{id}`), collections, items, actions
//! (`/orders/{id}/cancel`, `{id}:cancel`), verbs (`/getOrders`) and public endpoints (health
//! checks, sign-in, docs).

use super::re;
use regex::Regex;
use std::sync::LazyLock;

/// Path segments that name public endpoints (health checks, sign-in, docs...).
const PUBLIC_SEGMENTS: &str = "\
    health healthz healthcheck health-check ready readyz readiness live livez liveness status login \
    signin sign-in register signup sign-up token refresh docs openapi swagger ping metrics .well-known \
    well-known callback callbacks oauth oauth2 forgot-password password-reset jwks";
/// Segments that look plural but name one resource.
const SINGLETONS: [&str; 8] =
    ["settings", "preferences", "status", "stats", "analytics", "metrics", "details", "options"];
/// Verbs that make the last segment an action (`POST /orders/{id}/cancel`).
const ACTION_VERBS: &str = "\
    accept ack acknowledge activate apply approve archive assign batch block bulk calculate cancel \
    capture checkout clone close complete confirm copy deactivate decline deploy disable dismiss \
    download enable execute export follow fulfill import invite lock login logout mark merge move mute \
    pause pay preview process publish query rebuild recalculate refresh refund register reindex reject \
    renew reopen reorder resend reset restart restore resume retry revoke rollback rotate run search \
    send share ship sign snooze start stop submit subscribe sync transfer trigger unarchive unassign \
    unblock unfollow unlock unmute unpublish unsubscribe upload validate verify void";

/// A segment that starts with a CRUD verb (`getOrders`, `create-order`, `delete`).
static VERB_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[Gg]et|[Cc]reate|[Uu]pdate|[Dd]elete|[Rr]emove|[Aa]dd|[Ff]etch|[Ll]ist|[Ss]et|[Mm]odify|[Ee]dit",
        r"|[Ii]nsert|[Rr]etrieve|[Ss]ave|[Dd]o)(?:[A-Z_-].*)?$",
    ))
});

/// The non-empty segments of a path.
pub(super) fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Whether a segment is a whole path parameter (`{id}`).
pub(super) fn is_param(segment: &str) -> bool {
    segment.len() >= 2 && segment.starts_with('{') && segment.ends_with('}') && !segment[1..].contains('{')
}

/// Whether the path names one item: its last segment is a parameter.
pub(super) fn is_item_path(path: &str) -> bool {
    segments(path).last().is_some_and(|s| is_param(s))
}

/// The words of a segment: split on `-`, `_`, `.` and camelCase boundaries, lower-cased.
fn words(segment: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in segment.chars() {
        if matches!(c, '-' | '_' | '.' | ':') {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if c.is_uppercase() && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            cur.extend(c.to_lowercase());
        } else {
            cur.extend(c.to_lowercase());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a segment names an action rather than a resource: a custom method (`{id}:cancel`,
/// `orders:batchGet`) or a verb (`cancel`, `mark-as-paid`, `getOrders`).
fn is_action_segment(segment: &str) -> bool {
    if is_param(segment) {
        return false;
    }
    if segment.contains(':') {
        return true;
    }
    VERB_SEGMENT.is_match(segment)
        || words(segment).first().is_some_and(|w| ACTION_VERBS.split_whitespace().any(|v| v == w))
}

/// Whether a segment reads as a plural noun (a collection) rather than a singleton.
fn looks_plural(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    if SINGLETONS.contains(&s.as_str()) || is_param(segment) {
        return false;
    }
    matches!(s.as_str(), "people" | "children")
        || (s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") && s.len() > 2)
}

/// Whether the path ends in a collection (`/orders`), as opposed to an item, an action or a
/// singleton sub-resource.
pub(super) fn is_collection_path(path: &str) -> bool {
    segments(path).last().is_some_and(|s| !is_param(s) && !is_action_segment(s) && looks_plural(s))
}

/// The verb segments of a path (`getOrders`, `delete`).
pub(super) fn verb_segments(path: &str) -> Vec<&str> {
    segments(path).into_iter().filter(|s| !is_param(s) && !s.contains(':') && VERB_SEGMENT.is_match(s)).collect()
}

/// Whether a path is public by name: health checks, sign-in, tokens, docs, `.well-known`,
/// callbacks... (a public segment not preceded by a path parameter).
pub(super) fn is_public_path(path: &str) -> bool {
    for s in segments(path) {
        if is_param(s) {
            return false;
        }
        let lower = s.to_ascii_lowercase();
        let stem = lower.split('.').next().unwrap_or("");
        if PUBLIC_SEGMENTS.split_whitespace().any(|p| p == lower || p == stem) {
            return true;
        }
    }
    false
}

/// The noun of a verb segment: `getOrders` → `orders`, `delete` → none.
pub(super) fn noun_of(segment: &str) -> Option<String> {
    let w = words(segment);
    (w.len() > 1).then(|| w[1..].join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_shapes() {
        assert!(is_param("{id}") && !is_param("{id}:cancel") && !is_param("orders") && !is_param("{a}{b}"));
        assert!(is_item_path("/v1/orders/{id}") && !is_item_path("/v1/orders") && !is_item_path("/orders/{id}:cancel"));
        assert!(is_collection_path("/v1/orders") && is_collection_path("/people"));
        assert!(!is_collection_path("/v1/orders/{id}") && !is_collection_path("/v1/orders/{id}/cancel"));
        assert!(!is_collection_path("/v1/me/settings") && !is_collection_path("/users/{id}/avatar"));
        assert!(!is_collection_path("/v1/orders/batch") && !is_collection_path("/orders:batchUpdate"));
        assert!(!is_collection_path("/v1/orders/{id}/mark-as-paid") && !is_collection_path("/address"));
        assert!(is_action_segment("cancel") && is_action_segment("mark-as-paid") && is_action_segment("getOrders"));
        assert!(!is_action_segment("orders") && !is_action_segment("{id}"));
    }

    #[test]
    fn verbs_in_paths() {
        assert_eq!(verb_segments("/getOrders"), ["getOrders"]);
        assert_eq!(verb_segments("/v1/orders/{id}/delete"), ["delete"]);
        assert_eq!(verb_segments("/create-order/update_status"), ["create-order", "update_status"]);
        for ok in ["/settings", "/address", "/listings", "/updates", "/orders/{getId}", "/v1/orders/{id}:delete"] {
            assert!(verb_segments(ok).is_empty(), "{ok}");
        }
        assert_eq!(noun_of("getOrders").as_deref(), Some("orders"));
        assert_eq!(noun_of("delete"), None);
    }

    #[test]
    fn public_paths() {
        for p in ["/health", "/v1/health", "/api/v1/auth/login", "/.well-known/jwks.json", "/openapi.json", "/docs/{f}"]
        {
            assert!(is_public_path(p), "{p}");
        }
        for p in ["/v1/orders", "/v1/orders/{id}/status", "/v1/reports"] {
            assert!(!is_public_path(p), "{p}");
        }
    }
}
