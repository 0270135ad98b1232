//! Task titles: the subject of an objective ("Add user authentication system with OAuth2"
//! gives "user authentication system"), which the playbooks' `{subject}` variable holds. The
//! planning rules themselves are data: see [`crate::playbooks`].

use crate::analyse::re;
use regex::Regex;
use std::sync::LazyLock;

static LEADING_ARTICLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(?:the|our|an?|its|their)\s+"));
static LEADING_VERB: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:please\s+)?(?:add|build|create|implement|design|develop|introduce|set\s*up|make|write|support|enable|migrate|refactor|improve|optimi[sz]e|expose|ship|provide|deliver)\s+(?:an?\s+|the\s+|our\s+|new\s+)*",
    )
});

/// The subject of an objective, for task titles: "Add user authentication system with OAuth2"
/// gives "user authentication system".
pub fn subject(objective: &str) -> String {
    let first_line = objective.lines().next().unwrap_or(objective).trim();
    let rest = LEADING_VERB.replace(first_line, "");
    let cut = [
        " with ", " using ", " that ", " so ", " for ", ", ", ". ", ": ", "; ", " to ", " in ", " on ", " via ", " (",
        " - ",
    ]
    .iter()
    .filter_map(|s| rest.find(s))
    .min()
    .unwrap_or(rest.len());
    let words: Vec<&str> = rest[..cut].split_whitespace().take(6).collect();
    let mut s = words.join(" ").trim_end_matches(['.', ',', ';', ':']).to_string();
    // "a GraphQL API for the product catalog": the head says nothing, the object says what.
    let generic = !s.is_empty()
        && s.split_whitespace().all(|w| {
            matches!(
                w.to_ascii_lowercase().as_str(),
                "api"
                    | "apis"
                    | "graphql"
                    | "rest"
                    | "restful"
                    | "service"
                    | "services"
                    | "endpoint"
                    | "endpoints"
                    | "backend"
                    | "public"
                    | "new"
                    | "http"
                    | "json"
            )
        });
    if generic && let Some(pos) = rest.find(" for ") {
        let object = LEADING_ARTICLE.replace(&rest[pos + 5..], "").to_string();
        let end = [" with ", " using ", ", ", ". ", ": ", "; ", " so ", " that "]
            .iter()
            .filter_map(|c| object.find(c))
            .min()
            .unwrap_or(object.len());
        let candidate: Vec<&str> = object[..end].split_whitespace().take(6).collect();
        if !candidate.is_empty() {
            s = candidate.join(" ").trim_end_matches(['.', ',', ';', ':']).to_string();
        }
    }
    if s.is_empty() { "the objective".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        assert_eq!(subject("Add user authentication system with OAuth2 and JWT"), "user authentication system");
        assert_eq!(subject("Build an orders API for the shop"), "orders API");
        assert_eq!(subject("Set up nightly backups"), "nightly backups");
        assert_eq!(subject("add"), "add");
        assert_eq!(subject("Design a GraphQL API for the product catalog"), "product catalog");
        assert_eq!(subject("Build a FastAPI orders service: GET /v1/orders"), "FastAPI orders service");
    }
}
