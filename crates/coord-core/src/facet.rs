//! The seven facets of a backend objective, named exactly as the spec's
//! "Backend Objective Analysis" lists them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One aspect of a backend objective the coordinator must plan for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Facet {
    /// API endpoints needed.
    Api,
    /// Database schema changes.
    Database,
    /// Authentication and authorization requirements.
    Auth,
    /// Performance requirements (latency, throughput).
    Performance,
    /// Scalability constraints.
    Scalability,
    /// Third-party integrations.
    Integrations,
    /// Monitoring and logging needs.
    Monitoring,
}

impl Facet {
    /// All facets in the spec's order.
    pub const ALL: [Facet; 7] = [
        Facet::Api,
        Facet::Database,
        Facet::Auth,
        Facet::Performance,
        Facet::Scalability,
        Facet::Integrations,
        Facet::Monitoring,
    ];

    /// The facet's name in the spec's vocabulary.
    pub fn as_str(self) -> &'static str {
        match self {
            Facet::Api => "api",
            Facet::Database => "database",
            Facet::Auth => "auth",
            Facet::Performance => "performance",
            Facet::Scalability => "scalability",
            Facet::Integrations => "integrations",
            Facet::Monitoring => "monitoring",
        }
    }
}

impl fmt::Display for Facet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
