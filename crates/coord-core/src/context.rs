//! Context items and the policies that decide which of them a specialist sees: the spec's
//! "Context Filtering Rules" as data.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The kind of information a context item carries. Policies allow or deny by category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ContextCategory {
    /// API requirements, contracts and endpoint specifications.
    ApiContracts,
    /// Frontend integration points.
    FrontendIntegration,
    /// Contracts of third-party APIs.
    ThirdPartyContracts,
    /// API versioning strategy.
    Versioning,
    /// System design and architecture.
    SystemDesign,
    /// Technology stack options.
    TechnologyStack,
    /// Integration patterns between services.
    IntegrationPatterns,
    /// Latency and throughput targets.
    PerformanceRequirements,
    /// Scalability constraints and scaling strategy.
    Scalability,
    /// Security requirements and standards.
    SecurityRequirements,
    /// Business logic requirements.
    BusinessLogic,
    /// Error handling requirements.
    ErrorHandling,
    /// Data model requirements.
    DataModel,
    /// Existing database schema.
    DatabaseSchema,
    /// Query patterns.
    QueryPatterns,
    /// Database implementation details.
    DatabaseImplementation,
    /// Database administration tasks.
    DatabaseAdmin,
    /// Existing code patterns of the repository.
    ExistingCodePatterns,
    /// Detailed implementation code.
    ImplementationCode,
    /// Frontend requirements.
    FrontendRequirements,
    /// Frontend HTML and CSS.
    FrontendHtmlCss,
    /// DevOps configuration (containers, CI, deployment).
    DevopsConfiguration,
    /// Logging, metrics, tracing and alerting needs.
    Observability,
}

impl ContextCategory {
    /// Every category, in declaration order.
    pub const ALL: [ContextCategory; 23] = [
        ContextCategory::ApiContracts,
        ContextCategory::FrontendIntegration,
        ContextCategory::ThirdPartyContracts,
        ContextCategory::Versioning,
        ContextCategory::SystemDesign,
        ContextCategory::TechnologyStack,
        ContextCategory::IntegrationPatterns,
        ContextCategory::PerformanceRequirements,
        ContextCategory::Scalability,
        ContextCategory::SecurityRequirements,
        ContextCategory::BusinessLogic,
        ContextCategory::ErrorHandling,
        ContextCategory::DataModel,
        ContextCategory::DatabaseSchema,
        ContextCategory::QueryPatterns,
        ContextCategory::DatabaseImplementation,
        ContextCategory::DatabaseAdmin,
        ContextCategory::ExistingCodePatterns,
        ContextCategory::ImplementationCode,
        ContextCategory::FrontendRequirements,
        ContextCategory::FrontendHtmlCss,
        ContextCategory::DevopsConfiguration,
        ContextCategory::Observability,
    ];

    /// The kebab-case name used in agent files and plans.
    pub fn as_str(self) -> &'static str {
        match self {
            ContextCategory::ApiContracts => "api-contracts",
            ContextCategory::FrontendIntegration => "frontend-integration",
            ContextCategory::ThirdPartyContracts => "third-party-contracts",
            ContextCategory::Versioning => "versioning",
            ContextCategory::SystemDesign => "system-design",
            ContextCategory::TechnologyStack => "technology-stack",
            ContextCategory::IntegrationPatterns => "integration-patterns",
            ContextCategory::PerformanceRequirements => "performance-requirements",
            ContextCategory::Scalability => "scalability",
            ContextCategory::SecurityRequirements => "security-requirements",
            ContextCategory::BusinessLogic => "business-logic",
            ContextCategory::ErrorHandling => "error-handling",
            ContextCategory::DataModel => "data-model",
            ContextCategory::DatabaseSchema => "database-schema",
            ContextCategory::QueryPatterns => "query-patterns",
            ContextCategory::DatabaseImplementation => "database-implementation",
            ContextCategory::DatabaseAdmin => "database-admin",
            ContextCategory::ExistingCodePatterns => "existing-code-patterns",
            ContextCategory::ImplementationCode => "implementation-code",
            ContextCategory::FrontendRequirements => "frontend-requirements",
            ContextCategory::FrontendHtmlCss => "frontend-html-css",
            ContextCategory::DevopsConfiguration => "devops-configuration",
            ContextCategory::Observability => "observability",
        }
    }

    /// The label used in a brief's CONTEXT section.
    pub fn label(self) -> &'static str {
        match self {
            ContextCategory::ApiContracts => "API specifications",
            ContextCategory::FrontendIntegration => "Frontend integration points",
            ContextCategory::ThirdPartyContracts => "Third-party API contracts",
            ContextCategory::Versioning => "Versioning strategy",
            ContextCategory::SystemDesign => "System design",
            ContextCategory::TechnologyStack => "Technology stack",
            ContextCategory::IntegrationPatterns => "Integration patterns",
            ContextCategory::PerformanceRequirements => "Performance SLAs",
            ContextCategory::Scalability => "Scalability constraints",
            ContextCategory::SecurityRequirements => "Security requirements",
            ContextCategory::BusinessLogic => "Business logic",
            ContextCategory::ErrorHandling => "Error handling",
            ContextCategory::DataModel => "Data model",
            ContextCategory::DatabaseSchema => "Database schema",
            ContextCategory::QueryPatterns => "Query patterns",
            ContextCategory::DatabaseImplementation => "Database implementation",
            ContextCategory::DatabaseAdmin => "Database administration",
            ContextCategory::ExistingCodePatterns => "Existing code patterns",
            ContextCategory::ImplementationCode => "Implementation code",
            ContextCategory::FrontendRequirements => "Frontend requirements",
            ContextCategory::FrontendHtmlCss => "Frontend HTML/CSS",
            ContextCategory::DevopsConfiguration => "DevOps configuration",
            ContextCategory::Observability => "Observability",
        }
    }
}

impl fmt::Display for ContextCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a category name that is not in the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown context category `{0}` (known: {known})", known = known_categories())]
pub struct UnknownCategory(pub String);

fn known_categories() -> String {
    ContextCategory::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
}

impl FromStr for ContextCategory {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContextCategory::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

/// One piece of information the coordinator may hand to a specialist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextItem {
    /// Unique within a plan; tasks refer to items by id.
    pub id: String,
    /// What kind of information this is; the specialist's policy decides by it.
    pub category: ContextCategory,
    /// A short title.
    pub title: String,
    /// The content handed to the specialist.
    pub body: String,
    /// Where it came from (a file of the repository, the objective, a rule of the planner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Which context categories a specialist may see. An item is shown when its category is
/// allowed (or `allow_all` is set) and not denied; a denial always wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContextPolicy {
    /// Every category is allowed unless denied.
    #[serde(default)]
    pub allow_all: bool,
    /// Allowed categories.
    #[serde(default)]
    pub allow: Vec<ContextCategory>,
    /// Denied categories; these win over `allow` and `allow_all`.
    #[serde(default)]
    pub deny: Vec<ContextCategory>,
}

impl ContextPolicy {
    /// A policy that shows everything.
    pub fn everything() -> Self {
        ContextPolicy { allow_all: true, allow: Vec::new(), deny: Vec::new() }
    }

    /// Whether items of this category reach the specialist.
    pub fn allows(&self, category: ContextCategory) -> bool {
        !self.deny.contains(&category) && (self.allow_all || self.allow.contains(&category))
    }

    /// Why an item of this category is or is not shown, in words.
    pub fn reason(&self, category: ContextCategory) -> &'static str {
        if self.deny.contains(&category) {
            "denied by policy"
        } else if self.allow_all || self.allow.contains(&category) {
            "allowed by policy"
        } else {
            "not in the policy's allow list"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_over_allow_all() {
        let mut policy = ContextPolicy::everything();
        policy.deny.push(ContextCategory::FrontendHtmlCss);
        assert!(policy.allows(ContextCategory::ApiContracts));
        assert!(!policy.allows(ContextCategory::FrontendHtmlCss));
        assert_eq!(policy.reason(ContextCategory::FrontendHtmlCss), "denied by policy");
    }

    #[test]
    fn unlisted_category_is_not_shown() {
        let policy = ContextPolicy { allow_all: false, allow: vec![ContextCategory::ApiContracts], deny: vec![] };
        assert!(!policy.allows(ContextCategory::BusinessLogic));
        assert_eq!(policy.reason(ContextCategory::BusinessLogic), "not in the policy's allow list");
    }

    #[test]
    fn names_round_trip() {
        for c in ContextCategory::ALL {
            assert_eq!(c.as_str().parse::<ContextCategory>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert!("frontend".parse::<ContextCategory>().is_err());
    }
}
