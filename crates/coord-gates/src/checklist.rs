//! The spec's "Quality Gate Checklist": seven checklists, every item, each bound to how it is
//! decided — by an automated checker of this crate, by an LLM judge (items no tool can decide;
//! they wait for a person while no model is configured), or by a person's attestation.

use serde::Serialize;

/// How an item is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decider {
    /// A checker of this crate decides (the ids are listed in [`Item::checkers`]).
    Automated,
    /// A model judges the evidence; a person attests while no model is configured.
    LlmJudge,
    /// A person attests.
    Manual,
}

impl Decider {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decider::Automated => "automated",
            Decider::LlmJudge => "llm-judge",
            Decider::Manual => "manual",
        }
    }
}

/// One checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable id: `<gate>.<item>`.
    pub id: &'static str,
    /// The gate (checklist) it belongs to.
    pub gate: &'static str,
    /// The spec's wording.
    pub text: &'static str,
    /// How it is decided.
    pub decider: Decider,
    /// The checkers that decide it (automated items).
    pub checkers: &'static [&'static str],
}

const fn item(
    id: &'static str,
    gate: &'static str,
    text: &'static str,
    decider: Decider,
    checkers: &'static [&'static str],
) -> Item {
    Item { id, gate, text, decider, checkers }
}

use Decider::{Automated as A, LlmJudge as L, Manual as M};

/// The seven gates, in the spec's order.
pub const GATES: [&str; 7] = ["api", "code", "security", "performance", "database", "testing", "documentation"];

/// Every item of the spec's checklist.
pub const ITEMS: &[Item] = &[
    item(
        "api.rest-conventions",
        "api",
        "Endpoints follow REST conventions (or GraphQL best practices)",
        A,
        &["openapi"],
    ),
    item("api.http-methods", "api", "HTTP methods are correct (GET/POST/PUT/DELETE)", A, &["openapi"]),
    item("api.response-codes", "api", "Response codes are appropriate (200/201/400/401/403/404/500)", A, &["openapi"]),
    item("api.error-responses", "api", "Error responses are consistent and documented", A, &["openapi"]),
    item("api.pagination", "api", "Pagination implemented for list endpoints (if applicable)", A, &["openapi"]),
    item("api.rate-limiting", "api", "Rate limiting configured", A, &["openapi"]),
    item("api.versioning", "api", "API versioning strategy clear", A, &["openapi"]),
    item("code.style", "code", "Code follows project style guide", L, &[]),
    item("code.no-secrets", "code", "No hardcoded secrets or credentials", A, &["secrets"]),
    item("code.error-handling", "code", "Error handling comprehensive", L, &[]),
    item("code.logging", "code", "Logging includes request context (but not sensitive data)", A, &["sensitive-logs"]),
    item("code.tested", "code", "Code is testable and tested (≥80% coverage)", A, &["tests", "coverage"]),
    item("security.authentication", "security", "Authentication properly implemented", L, &[]),
    item("security.authorization", "security", "Authorization checks on all endpoints", A, &["openapi"]),
    item(
        "security.sql-injection",
        "security",
        "SQL injection prevention (parameterized queries)",
        A,
        &["ast-rules", "peer-tools"],
    ),
    item("security.cors", "security", "CORS configured correctly", A, &["cors"]),
    item("security.brute-force", "security", "Rate limiting prevents brute force", A, &["openapi"]),
    item("security.sensitive-logs", "security", "No sensitive data in logs", A, &["sensitive-logs"]),
    item("security.secrets-env", "security", "Secrets managed via environment variables", A, &["secrets"]),
    item("performance.n-plus-one", "performance", "Database queries optimized (no N+1 queries)", A, &["n-plus-one"]),
    item("performance.indexes", "performance", "Appropriate indexes created", A, &["migrations"]),
    item("performance.response-time", "performance", "Response time < SLA requirement (typically <200ms)", M, &[]),
    item("performance.memory", "performance", "Memory usage monitored", M, &[]),
    item("performance.non-blocking", "performance", "No blocking operations in request handler", L, &[]),
    item("performance.caching", "performance", "Caching implemented where appropriate", L, &[]),
    item("database.normalized", "database", "Schema normalized appropriately", L, &[]),
    item("database.indexes", "database", "Indexes created for common queries", A, &["migrations"]),
    item("database.migrations-tested", "database", "Migration scripts tested", A, &["migrations"]),
    item("database.backup-plan", "database", "Backup/recovery plan documented", A, &["docs"]),
    item("database.validation", "database", "Data validation at database level", L, &[]),
    item("testing.unit", "testing", "Unit tests for business logic", A, &["tests"]),
    item("testing.integration", "testing", "Integration tests for API endpoints", L, &[]),
    item("testing.database", "testing", "Database tests with test fixtures", L, &[]),
    item("testing.errors", "testing", "Error scenarios tested", L, &[]),
    item("testing.performance", "testing", "Performance tests run", M, &[]),
    item("documentation.openapi", "documentation", "API documented (OpenAPI/Swagger)", A, &["docs"]),
    item("documentation.why-comments", "documentation", "Code comments explain \"why\" not \"what\"", L, &[]),
    item("documentation.schema", "documentation", "Database schema documented", A, &["docs"]),
    item("documentation.deployment", "documentation", "Deployment procedure documented", A, &["docs"]),
    item("documentation.limitations", "documentation", "Known limitations noted", L, &[]),
];

/// The item with this id.
pub fn item_by_id(id: &str) -> Option<&'static Item> {
    ITEMS.iter().find(|i| i.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_item_is_present_once_and_automated_items_name_checkers() {
        assert_eq!(ITEMS.len(), 40, "7 + 5 + 7 + 6 + 5 + 5 + 5 items in the spec");
        for gate in GATES {
            assert!(ITEMS.iter().any(|i| i.gate == gate));
        }
        let mut ids: Vec<&str> = ITEMS.iter().map(|i| i.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ITEMS.len());
        for i in ITEMS {
            assert!(i.id.starts_with(&format!("{}.", i.gate)));
            assert_eq!(i.decider == Decider::Automated, !i.checkers.is_empty(), "{}", i.id);
        }
    }
}
