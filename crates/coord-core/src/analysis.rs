//! What the coordinator understood of an objective: facets, endpoints, numeric requirements,
//! integrations and the implementing stack. Produced by `coord-plan`'s analyser; read by
//! planners and shown to people.

use crate::facet::Facet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The result of analysing one objective (and, optionally, a repository).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Analysis {
    /// The facets found, in the spec's order, each at most once.
    pub facets: Vec<Facet>,
    /// Why each facet was found: the words or files that called for it.
    #[serde(default)]
    pub facet_evidence: BTreeMap<Facet, Vec<String>>,
    /// The stack that will implement the work and how it was decided.
    #[serde(default)]
    pub stack: StackDecision,
    /// Endpoints named in the objective or implied by it.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Numeric requirements (latency, throughput, sizes, row counts...).
    #[serde(default)]
    pub requirements: Vec<Requirement>,
    /// Third-party services the work must talk to.
    #[serde(default)]
    pub integrations: Vec<Integration>,
    /// Data stores named in the objective or found in the repository (PostgreSQL, MongoDB...).
    #[serde(default)]
    pub datastores: Vec<String>,
    /// Domain entities the work is about ("users", "orders"...), most relevant first.
    #[serde(default)]
    pub entities: Vec<String>,
    /// Things the analyser noticed but could not use (unreadable files, ambiguous stacks).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Analysis {
    /// Whether a facet was found.
    pub fn has(&self, facet: Facet) -> bool {
        self.facets.contains(&facet)
    }
}

/// The language family of the implementing stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Node.js (JavaScript or TypeScript).
    #[default]
    Node,
    /// Python.
    Python,
    /// Java or another JVM language.
    Java,
}

impl Language {
    /// The specialist of the built-in roster that implements this language.
    pub fn specialist(self) -> &'static str {
        match self {
            Language::Node => "nodejs-expert",
            Language::Python => "python-pro",
            Language::Java => "java-expert",
        }
    }

    /// The language's name as the CLI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Node => "node",
            Language::Python => "python",
            Language::Java => "java",
        }
    }
}

/// REST or GraphQL: decides who designs the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiStyle {
    /// HTTP resources described by OpenAPI.
    #[default]
    Rest,
    /// A GraphQL schema.
    Graphql,
}

/// Where the stack decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StackSource {
    /// The `--stack` flag.
    Flag,
    /// Files in the repository.
    Repository,
    /// Words in the objective.
    Objective,
    /// Nothing said; the spec's default applies.
    #[default]
    Default,
}

/// The implementing stack and the reasons for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StackDecision {
    /// Language family.
    pub language: Language,
    /// Framework, when one was recognised (Express, NestJS, FastAPI, Django, Spring Boot...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// REST or GraphQL.
    #[serde(default)]
    pub api_style: ApiStyle,
    /// The specialist that implements the work.
    pub specialist: String,
    /// How the decision was made.
    pub source: StackSource,
    /// The evidence, in words a person can check ("package.json depends on express").
    #[serde(default)]
    pub evidence: Vec<String>,
}

impl Default for StackDecision {
    fn default() -> Self {
        StackDecision {
            language: Language::Node,
            framework: None,
            api_style: ApiStyle::Rest,
            specialist: Language::Node.specialist().to_string(),
            source: StackSource::Default,
            evidence: vec![
                "nothing in the objective or repository names a stack: the spec's default @nodejs-expert applies"
                    .to_string(),
            ],
        }
    }
}

/// Where an endpoint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointSource {
    /// Named in the objective text.
    Objective,
    /// Implied by a facet (for example auth implies login, logout and refresh).
    Implied,
    /// Found in an OpenAPI document of the repository.
    Repository,
}

/// One HTTP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Endpoint {
    /// HTTP method in upper case, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The path, starting with `/`.
    pub path: String,
    /// Where it came from.
    pub source: EndpointSource,
}

impl Endpoint {
    /// `POST /auth/login`, or the bare path when the method is unknown.
    pub fn display(&self) -> String {
        match &self.method {
            Some(m) => format!("{m} {}", self.path),
            None => self.path.clone(),
        }
    }
}

/// What a numeric requirement constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RequirementKind {
    /// Response time; value in milliseconds.
    Latency,
    /// Requests or messages per second; value per second.
    Throughput,
    /// A size (payload, file, storage); value in bytes.
    Size,
    /// A number of rows or records; value is the count.
    RowCount,
    /// A number of users, accounts or other entities; value is the count.
    Volume,
    /// Simultaneous users or connections; value is the count.
    Concurrency,
    /// Availability; value in percent.
    Availability,
}

/// One numeric requirement found in the objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Requirement {
    /// What it constrains.
    pub kind: RequirementKind,
    /// The value normalised to the kind's unit (ms, per second, bytes, count, percent).
    pub value: f64,
    /// The normalised unit: `ms`, `per_second`, `bytes`, `count` or `percent`.
    pub unit: String,
    /// `<`, `<=`, `>=`, `>` or `=`; what the text said about the bound.
    pub comparator: String,
    /// The percentile, for latencies ("p95" gives 95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<f64>,
    /// For counts: what is counted ("users", "rows").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The words of the objective this was read from.
    pub text: String,
}

/// A third-party service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Integration {
    /// Canonical name ("Stripe", "OAuth2", "Amazon S3").
    pub name: String,
    /// What it is for: payments, identity, storage, messaging, email, sms, cache, search,
    /// monitoring.
    pub category: String,
    /// The words of the objective (or file) it was recognised from.
    pub evidence: String,
}
