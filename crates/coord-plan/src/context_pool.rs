//! The context pool of a plan: every item of information the coordinator could hand to a
//! specialist, each with the category that the specialists' policies filter on. Items come
//! from the analysis (endpoints, requirements, integrations, entities) and from the repository
//! scan (code patterns, schema, contracts, DevOps files, frontend assets).

use crate::numbers::describe;
use crate::repo::RepoFacts;
use coord_core::{Analysis, ApiStyle, ContextCategory as C, ContextItem, EndpointSource, Facet, RequirementKind};

fn item(id: &str, category: C, title: &str, body: String, source: &str) -> ContextItem {
    ContextItem { id: id.to_string(), category, title: title.to_string(), body, source: Some(source.to_string()) }
}

/// The performance lines of an analysis, or the spec's default SLA.
pub fn performance_lines(a: &Analysis) -> Vec<String> {
    let mut lines: Vec<String> = a
        .requirements
        .iter()
        .filter(|r| matches!(r.kind, RequirementKind::Latency | RequirementKind::Throughput | RequirementKind::Size))
        .map(describe)
        .collect();
    if !a.requirements.iter().any(|r| r.kind == RequirementKind::Latency) {
        lines.push("p95 response time < 200 ms (the spec's default SLA; no latency was stated)".to_string());
    }
    lines
}

/// The scalability lines of an analysis.
pub fn scalability_lines(a: &Analysis) -> Vec<String> {
    a.requirements
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                RequirementKind::Volume
                    | RequirementKind::Concurrency
                    | RequirementKind::RowCount
                    | RequirementKind::Availability
            )
        })
        .map(describe)
        .collect()
}

fn third_party_contract(name: &str, category: &str) -> String {
    match (name, category) {
        ("OAuth2", _) | ("OpenID Connect", _) => {
            "Authorization code flow with PKCE (RFC 7636) and a `state` parameter; \
exchange codes server-side; validate the ID token (issuer, audience, expiry, signature) when the provider speaks \
OpenID Connect; client secrets come from environment variables; map provider accounts to users by provider + \
subject id, never by e-mail alone."
                .to_string()
        }
        (_, "identity") => format!(
            "{name} as an OAuth2/OIDC identity provider: authorization code flow with PKCE; \
verify ID tokens against the provider's JWKS; credentials from environment variables."
        ),
        ("Stripe", _) => "Stripe PaymentIntents API with idempotency keys on every POST; webhook events verified \
with the Stripe-Signature header and processed idempotently; amounts in minor units; never log card data \
(PCI DSS)."
            .to_string(),
        (_, "payments") => format!(
            "{name} payments API: idempotency keys, verified webhooks, amounts in minor units, \
no card data in logs or storage (PCI DSS)."
        ),
        (_, "storage") => format!(
            "{name}: private buckets; uploads through pre-signed URLs with size and content-type \
limits; object keys never built from raw user input."
        ),
        (_, "messaging") => format!(
            "{name}: at-least-once delivery; consumers idempotent by message key; schema of \
every message versioned; dead-letter handling for poison messages."
        ),
        (_, "email") | (_, "sms") | (_, "push") => format!(
            "{name}: send through a queue with retries and backoff; \
templates versioned; provider credentials from environment variables; no secrets or tokens in message bodies \
that are logged."
        ),
        (_, "cache") => format!(
            "{name}: cache-aside with explicit TTLs; keys namespaced and versioned; the service \
must work (slower) when the cache is down."
        ),
        (_, "search") => format!(
            "{name}: index updated asynchronously from the source of truth; reindex job \
documented."
        ),
        (_, "monitoring") => format!("{name}: no personal data or secrets in events; sampling configured."),
        _ => format!(
            "{name} ({category}) API: credentials from environment variables; timeouts, retries with \
backoff and jitter; failures surfaced as typed errors."
        ),
    }
}

/// Builds the context pool for an analysis and optional repository facts.
pub fn build_pool(objective: &str, a: &Analysis, repo: Option<&RepoFacts>) -> Vec<ContextItem> {
    let mut pool = Vec::new();
    let auth = a.has(Facet::Auth);
    let mut business = format!("Objective: {objective}");
    if !a.entities.is_empty() {
        business.push_str(&format!("\nDomain entities: {}.", a.entities.join(", ")));
    }
    pool.push(item("ctx-objective", C::BusinessLogic, "Objective and domain", business, "objective"));

    if a.has(Facet::Api) {
        let mut body = String::new();
        if a.endpoints.is_empty() {
            body.push_str("No endpoint was named; the API design task defines them.");
        }
        for e in &a.endpoints {
            let origin = match e.source {
                EndpointSource::Objective => "named in the objective",
                EndpointSource::Implied => "implied by the objective",
                EndpointSource::Repository => "from the repository",
            };
            body.push_str(&format!("{} ({origin})\n", e.display()));
        }
        let style = match a.stack.api_style {
            ApiStyle::Rest => {
                "REST over HTTPS described by OpenAPI 3.1; JSON bodies; cursor pagination on collections."
            }
            ApiStyle::Graphql => "GraphQL schema (SDL) with query depth and complexity limits; DataLoader batching.",
        };
        body.push_str(style);
        pool.push(item("ctx-api", C::ApiContracts, "API endpoints and style", body.trim_end().to_string(), "analysis"));
        pool.push(item(
            "ctx-versioning",
            C::Versioning,
            "Versioning",
            "URL versioning under /v1. A breaking change (removed field or operation, new required parameter, \
narrowed enum, changed auth) needs a new version and a deprecation window."
                .into(),
            "planner rule",
        ));
        pool.push(item(
            "ctx-errors",
            C::ErrorHandling,
            "Error responses",
            "One error shape for every endpoint: RFC 9457 problem details (type, title, status, detail, request id). \
Validation errors 400/422 with field paths; 401 unauthenticated; 403 forbidden; 404 unknown resource; 409 conflicts; \
429 with Retry-After; 5xx never leaks stack traces."
                .into(),
            "spec quality gate: API design",
        ));
        pool.push(item(
            "ctx-frontend",
            C::FrontendIntegration,
            "Frontend integration points",
            "The web frontend consumes this API through the frontend-coordinator; CORS allows only the configured \
frontend origins (no wildcard with credentials); the OpenAPI spec is shared with the frontend team for validation \
before implementation."
                .into(),
            "spec: API contract coordination",
        ));
    }

    let mut security = vec![
        "Secrets and credentials come from environment variables; none in code, config files or logs.".to_string(),
        "Parameterized queries only; no SQL built from request data.".to_string(),
        "Logs carry request context (request id, route, status) but no passwords, tokens or personal data.".to_string(),
    ];
    if auth {
        security.insert(0, "OWASP ASVS v4 level 2 for authentication and session management.".to_string());
        security.push("Passwords hashed with argon2id (or bcrypt cost >= 12); tokens stored only as hashes.".into());
        security.push("Short-lived access tokens (15 min), rotating refresh tokens with reuse detection; signing keys from the environment.".into());
        security.push("Rate limiting on login, refresh and registration to stop brute force.".into());
    }
    pool.push(item(
        "ctx-security",
        C::SecurityRequirements,
        "Security requirements",
        security.join("\n"),
        "spec quality gate: security",
    ));

    pool.push(item(
        "ctx-performance",
        C::PerformanceRequirements,
        "Performance SLAs",
        performance_lines(a).join("\n"),
        "analysis",
    ));
    if a.has(Facet::Scalability) {
        let mut lines = scalability_lines(a);
        lines.push(
            "Request handlers stateless so instances scale horizontally; shared state in the database or cache.".into(),
        );
        pool.push(item("ctx-scalability", C::Scalability, "Scalability constraints", lines.join("\n"), "analysis"));
    }

    if a.has(Facet::Database) {
        let mut model = format!(
            "Entities: {}.",
            if a.entities.is_empty() { "to be defined".to_string() } else { a.entities.join(", ") }
        );
        if auth {
            model.push_str("\nusers: id, email (unique, case-insensitive), password_hash (null for provider-only accounts), created_at.\nsessions: id, user_id → users, refresh_token_hash, expires_at, revoked_at, user agent and IP for audit.");
            if a.integrations.iter().any(|i| i.category == "identity") {
                model.push_str("\noauth_accounts: user_id → users, provider, provider_subject (unique per provider).");
            }
        }
        if !a.datastores.is_empty() {
            model.push_str(&format!("\nData stores: {}.", a.datastores.join(", ")));
        }
        pool.push(item("ctx-data-model", C::DataModel, "Data model", model, "analysis"));
        let queries = if auth {
            "Find user by email (unique index on lower(email)); find session by refresh-token hash; list and revoke \
a user's sessions; find provider account by (provider, subject)."
        } else {
            "Fetch by primary key; list by owner or parent with cursor pagination (index on the filter column plus the \
sort key); counts for dashboards computed incrementally, not with full scans."
        };
        pool.push(item("ctx-query-patterns", C::QueryPatterns, "Query patterns", queries.into(), "planner rule"));
        pool.push(item(
            "ctx-db-implementation",
            C::DatabaseImplementation,
            "Database implementation",
            "Migrations are versioned files with up and down steps, applied by the deploy pipeline with a lock \
timeout; every foreign key has an index; constraints (NOT NULL, UNIQUE, CHECK) validate data at the database level."
                .into(),
            "spec quality gate: database",
        ));
    }

    for i in &a.integrations {
        let id = format!("ctx-3p-{}", i.name.to_ascii_lowercase().replace([' ', '/'], "-"));
        pool.push(item(
            &id,
            C::ThirdPartyContracts,
            &format!("{} contract", i.name),
            third_party_contract(&i.name, &i.category),
            "planner rule",
        ));
    }
    if !a.integrations.is_empty() {
        pool.push(item(
            "ctx-integration-patterns",
            C::IntegrationPatterns,
            "Integration patterns",
            "Outbound calls go through one client module per provider with timeouts, retries with backoff and jitter, \
and a circuit breaker; inbound webhooks are verified, acknowledged fast and processed idempotently from a queue."
                .into(),
            "planner rule",
        ));
    }

    let stack = &a.stack;
    let mut stack_body = format!(
        "Implementation: {}{} by @{}.",
        stack.language.as_str(),
        stack.framework.as_deref().map(|f| format!(" / {f}")).unwrap_or_default(),
        stack.specialist
    );
    for e in &stack.evidence {
        stack_body.push_str(&format!("\nWhy: {e}."));
    }
    pool.push(item("ctx-stack", C::TechnologyStack, "Technology stack", stack_body, "stack detection"));
    pool.push(item(
        "ctx-system-design",
        C::SystemDesign,
        "System design",
        if auth {
            "Authentication lives in the API service: stateless access tokens verified by middleware on every \
request, stateful refresh sessions in the database so they can be revoked; identity providers reached through \
one OAuth2 client module."
                .to_string()
        } else {
            "One service unless the objective calls for more; clear layers (transport, domain, data access); \
background work through a queue; configuration from the environment."
                .to_string()
        },
        "planner rule",
    ));
    if a.has(Facet::Monitoring) {
        pool.push(item(
            "ctx-observability",
            C::Observability,
            "Observability",
            "Structured JSON logs with request ids; RED metrics (rate, errors, duration) per route with p95; traces \
across outbound calls; alerts on error rate and SLA breaches."
                .into(),
            "analysis",
        ));
    }

    if let Some(r) = repo {
        if !r.pattern_samples.is_empty() || !r.source_counts.is_empty() {
            let counts: Vec<String> = r.source_counts.iter().map(|(e, n)| format!("{n} .{e}")).collect();
            let body = format!(
                "Source files: {}.\nFiles that show the project's patterns: {}.",
                counts.join(", "),
                if r.pattern_samples.is_empty() { "none recognised".to_string() } else { r.pattern_samples.join(", ") }
            );
            pool.push(item("ctx-repo-code", C::ExistingCodePatterns, "Existing code patterns", body, "repository"));
        }
        if !r.migration_dirs.is_empty() || !r.schema_files.is_empty() {
            let mut parts: Vec<String> =
                r.migration_dirs.iter().map(|(d, t)| format!("{d} ({t} migrations)")).collect();
            parts.extend(r.schema_files.iter().cloned());
            pool.push(item(
                "ctx-repo-schema",
                C::DatabaseSchema,
                "Existing schema",
                format!("Schema sources: {}.", parts.join(", ")),
                "repository",
            ));
        }
        if !r.openapi_files.is_empty() {
            pool.push(item(
                "ctx-repo-openapi",
                C::ApiContracts,
                "Existing API contracts",
                format!("OpenAPI documents: {}.", r.openapi_files.join(", ")),
                "repository",
            ));
        }
        if !r.devops_files.is_empty() {
            pool.push(item(
                "ctx-repo-devops",
                C::DevopsConfiguration,
                "DevOps configuration",
                format!("Deployment and CI files: {}.", r.devops_files.join(", ")),
                "repository",
            ));
        }
        if !r.frontend_files.is_empty() {
            pool.push(item(
                "ctx-repo-frontend",
                C::FrontendHtmlCss,
                "Frontend assets",
                format!("Frontend files in the repository: {}.", r.frontend_files.join(", ")),
                "repository",
            ));
        }
    }
    pool
}
