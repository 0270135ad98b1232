//! The rule-based planner: offline and deterministic. Each rule looks at the analysis and adds
//! the tasks a senior backend lead would: design first (architecture, API contract, schema),
//! then implementation by the stack's specialist, integrations, data access, operations, and
//! the security audit and performance test as final validation. For the spec's own example it
//! yields the spec's tasks A–H with the spec's assignments and dependencies.

use crate::analyse::re;
use crate::context_pool::{performance_lines, scalability_lines};
use coord_core::{Analysis, ApiStyle, Facet, Plan, Priority, Task, TaskKind};
use regex::Regex;
use std::sync::LazyLock;

static ARCHITECTURE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(microservices?|architecture|event[- ]driven|distributed|service boundaries|multi[- ]region|cqrs|event sourcing)\b",
    )
});
static BACKUPS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(backups?|restores?|point[- ]in[- ]time|pitr|disaster recovery)\b"));
static REPLICATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(replicas?|replication|failover|standby|high[- ]availability)\b"));
static MAINTENANCE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(vacuum|reindex|maintenance|bloat|upgrade (?:postgres|mysql|the database))\b"));
static SCHEMA_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(schemas?|tables?|columns?|migrations?|models?|entit(?:y|ies)|indexes|index|store|persist|crud|manage|partition(?:ing)?)\b",
    )
});
static JWT: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(jwts?|bearer|access[- ]tokens?|refresh[- ]tokens?)\b"));
static AUTHZ: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(rbac|abac|permissions?|roles?|authori[sz]ation|authori[sz]e)\b"));
static CACHE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(cach(?:e|es|ed|ing)|redis|memcached?)\b"));
static LEADING_ARTICLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(?:the|our|an?|its|their)\s+"));
static CROSS_CUTTING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(rate[- ]limit(?:s|ing|er)?|throttl(?:e|es|ing)|cors|request validation|idempotency[- ]keys?|pagination|compression|request logging)\b",
    )
});
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

struct Builder {
    tasks: Vec<Task>,
}

impl Builder {
    fn add(
        &mut self,
        kind: TaskKind,
        title: String,
        specialist: &str,
        priority: Priority,
        deps: Vec<String>,
    ) -> String {
        let id = format!("backend-T{:03}", self.tasks.len() + 1);
        let mut task = Task::new(id.clone(), title, specialist);
        task.kind = kind;
        task.priority = priority;
        task.depends_on = deps;
        task.estimate_hours = match kind {
            TaskKind::Architecture => 4.0,
            TaskKind::ApiDesign | TaskKind::SchemaDesign => 3.0,
            TaskKind::Implementation => 6.0,
            TaskKind::Integration => 5.0,
            TaskKind::DataAccess | TaskKind::DatabaseOperations | TaskKind::Optimization => 4.0,
            TaskKind::Middleware | TaskKind::Observability | TaskKind::SecurityAudit | TaskKind::PerformanceTest => 3.0,
            TaskKind::Documentation => 2.0,
        };
        self.tasks.push(task);
        id
    }

    fn last(&mut self) -> &mut Task {
        // `add` is always called before `last`; an empty builder would be a bug in this file.
        #[allow(clippy::expect_used)]
        self.tasks.last_mut().expect("a task was just added")
    }

    fn ids(&self, kinds: &[TaskKind]) -> Vec<String> {
        self.tasks.iter().filter(|t| kinds.contains(&t.kind)).map(|t| t.id.clone()).collect()
    }

    /// Tasks nothing depends on yet, excluding final validation: what "after implementation" means.
    fn sinks(&self) -> Vec<String> {
        self.tasks
            .iter()
            .filter(|t| !matches!(t.kind, TaskKind::SecurityAudit | TaskKind::PerformanceTest))
            .filter(|t| !self.tasks.iter().any(|o| o.depends_on.contains(&t.id)))
            .map(|t| t.id.clone())
            .collect()
    }
}

fn join(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    for x in b {
        if !a.contains(&x) {
            a.push(x);
        }
    }
    a
}

const SECURE_CODE: [&str; 3] = [
    "Parameterized queries only (no SQL from string concatenation)",
    "Secrets and credentials from environment variables, never in code or logs",
    "No sensitive data (passwords, tokens, personal data) in logs",
];

/// Plans an objective from its analysis. The result is not yet validated.
pub fn plan_by_rules(objective: &str, a: &Analysis) -> Plan {
    let text = objective;
    let auth = a.has(Facet::Auth);
    let api = a.has(Facet::Api);
    let impl_by = a.stack.specialist.as_str();
    let subj = subject(objective);
    let perf = performance_lines(a);
    let scale = scalability_lines(a);
    let identity: Vec<&str> =
        a.integrations.iter().filter(|i| i.category == "identity").map(|i| i.name.as_str()).collect();
    let mut b = Builder { tasks: Vec::new() };

    // Design.
    let mut design_deps = Vec::new();
    if a.has(Facet::Scalability) && (ARCHITECTURE.is_match(text) || !scale.is_empty()) || ARCHITECTURE.is_match(text) {
        let id = b.add(
            TaskKind::Architecture,
            format!("Design service architecture for {subj}"),
            "backend-architect",
            Priority::High,
            vec![],
        );
        let t = b.last();
        t.objective = format!("Decide the service boundaries, data flow and scaling approach for: {objective}");
        t.requirements.technical =
            vec!["Architecture decision record with the options considered and why one was chosen".into()];
        t.requirements.scalability =
            join(scale.clone(), vec!["Stateless request handling; state in the database, cache or queue".into()]);
        t.requirements.performance = perf.clone();
        t.acceptance_criteria = vec![
            "Service boundaries and data ownership are explicit".into(),
            "Scaling approach meets the stated volumes".into(),
        ];
        t.expected_output = vec!["Architecture decision record".into(), "Service and data-flow diagram".into()];
        design_deps.push(id);
    }

    let mut api_design = None;
    if api {
        let (title, who, output) = match (auth, a.stack.api_style) {
            (true, ApiStyle::Rest) => (
                "Design authentication API contracts".to_string(),
                "api-architect",
                "OpenAPI spec for /auth endpoints".to_string(),
            ),
            (true, ApiStyle::Graphql) => (
                "Design authentication GraphQL schema".to_string(),
                "graphql-architect",
                "GraphQL SDL for authentication mutations and queries".to_string(),
            ),
            (false, ApiStyle::Rest) if CROSS_CUTTING.is_match(text) => (
                format!("Update API contracts for {subj}"),
                "api-architect",
                format!("OpenAPI changes documenting {subj} (headers, 429/400 responses)"),
            ),
            (false, ApiStyle::Rest) => {
                (format!("Design API contracts for {subj}"), "api-architect", format!("OpenAPI 3.1 spec for {subj}"))
            }
            (false, ApiStyle::Graphql) => (
                format!("Design GraphQL schema for {subj}"),
                "graphql-architect",
                format!("GraphQL SDL, resolver map and complexity limits for {subj}"),
            ),
        };
        let id = b.add(TaskKind::ApiDesign, title, who, Priority::High, design_deps.clone());
        let endpoints: Vec<String> = a.endpoints.iter().map(|e| e.display()).collect();
        let t = b.last();
        t.objective = format!("Design the API contract for: {objective}");
        t.requirements.technical = vec![
            "REST conventions: resource paths, correct methods (GET/POST/PUT/PATCH/DELETE), 2xx and 4xx responses per operation".into(),
            "One documented error schema for every operation".into(),
            "Cursor pagination on list endpoints; API versioning under /v1".into(),
        ];
        if a.stack.api_style == ApiStyle::Graphql {
            t.requirements.technical = vec![
                "Schema-first SDL; connections for lists; query depth and complexity limits".into(),
                "Errors in a consistent extensions shape".into(),
            ];
        }
        if !endpoints.is_empty() {
            t.requirements.technical.push(format!("Covers: {}", endpoints.join(", ")));
        }
        t.requirements.security = vec![
            "Security scheme on every non-public operation; 401/403 documented".into(),
            "Rate limiting documented with 429 responses".into(),
        ];
        t.requirements.performance = perf.clone();
        t.acceptance_criteria = vec![
            "Spec validates (OpenAPI 3.1 / GraphQL SDL)".into(),
            "Frontend team validated the contract".into(),
            "API design checklist passed".into(),
        ];
        t.expected_output = vec![output];
        t.success_criteria = vec!["Contract shared with frontend-coordinator and approved".into()];
        api_design = Some(id);
    }

    let ops_words = BACKUPS.is_match(text) || REPLICATION.is_match(text) || MAINTENANCE.is_match(text);
    let mut schema = None;
    if a.has(Facet::Database) && (api || auth || SCHEMA_WORDS.is_match(text) || !ops_words) {
        let title = if auth {
            "Design database schema for users/sessions".to_string()
        } else if a.entities.is_empty() {
            format!("Design database schema for {subj}")
        } else {
            format!("Design database schema for {}", a.entities.iter().take(3).cloned().collect::<Vec<_>>().join("/"))
        };
        let id = b.add(TaskKind::SchemaDesign, title, "database-optimizer", Priority::High, design_deps.clone());
        let t = b.last();
        t.objective = format!("Design the schema and migrations for: {objective}");
        t.requirements.technical = vec![
            "Normalized schema; constraints (NOT NULL, UNIQUE, CHECK, foreign keys) validate data".into(),
            "Every migration has a tested rollback (down) step".into(),
            "Indexes for the common queries and every foreign key".into(),
        ];
        if auth {
            t.requirements.security = vec!["Only hashes of passwords and tokens are stored".into()];
        }
        t.requirements.performance = vec!["No sequential scans on the query patterns' lookups".into()];
        t.requirements.scalability = scale.clone();
        t.acceptance_criteria = vec![
            "Migration applies, rolls back and re-applies on a replica".into(),
            "Database checklist passed".into(),
        ];
        t.expected_output = vec!["Schema DDL".into(), "Migration scripts".into()];
        schema = Some(id);
    }
    let design: Vec<String> = join(design_deps.clone(), api_design.iter().chain(schema.iter()).cloned().collect());

    // Database operations.
    let ops_deps: Vec<String> = schema.iter().cloned().collect();
    for (pattern, title, output) in [
        (
            &*BACKUPS,
            "Configure automated backups and verify restores",
            "Backup schedule, point-in-time recovery, a tested restore runbook",
        ),
        (
            &*REPLICATION,
            "Set up database replication and failover",
            "Replica configuration, failover runbook, replication-lag alerts",
        ),
        (
            &*MAINTENANCE,
            "Plan database maintenance",
            "Maintenance schedule (vacuum, reindex, upgrades) and its runbook",
        ),
    ] {
        if pattern.is_match(text) {
            b.add(
                TaskKind::DatabaseOperations,
                title.to_string(),
                "database-admin",
                Priority::Medium,
                ops_deps.clone(),
            );
            let t = b.last();
            t.objective = format!("{title} for: {objective}");
            t.requirements.technical = vec![
                "Runbook a person on call can follow".into(),
                "Every step rehearsed on a non-production database".into(),
            ];
            t.requirements.security = vec!["Backups encrypted at rest; access restricted and audited".into()];
            t.acceptance_criteria =
                vec!["Procedure rehearsed and timed".into(), "Backup/recovery plan documented".into()];
            t.expected_output = vec![output.to_string()];
        }
    }

    // Implementation.
    let mut endpoints_impl = None;
    if api {
        let cross_cutting = !auth
            && CROSS_CUTTING.is_match(text)
            && a.endpoints.iter().all(|e| e.source != coord_core::EndpointSource::Objective);
        let (title, output) = if cross_cutting {
            (
                format!("Implement {subj} middleware"),
                format!("{subj} applied to every route, with configuration and tests"),
            )
        } else if auth {
            let names: Vec<String> = a
                .endpoints
                .iter()
                .filter(|e| e.path.contains("auth") || e.path.contains("login"))
                .filter(|e| !e.path.contains("oauth"))
                .map(|e| format!("/{}", e.path.rsplit('/').next().unwrap_or(&e.path)))
                .collect();
            let shown = if names.is_empty() { "/login, /logout, /refresh".to_string() } else { names.join(", ") };
            ("Implement authentication endpoints".to_string(), format!("{shown} endpoints"))
        } else {
            let shown: Vec<String> = a.endpoints.iter().map(|e| e.display()).collect();
            (
                format!(
                    "Implement {subj} {}",
                    if a.stack.api_style == ApiStyle::Graphql { "resolvers" } else { "endpoints" }
                ),
                if shown.is_empty() {
                    format!("Endpoints of the {subj} contract")
                } else {
                    format!("{} endpoints", shown.join(", "))
                },
            )
        };
        let kind = if cross_cutting { TaskKind::Middleware } else { TaskKind::Implementation };
        let id = b.add(kind, title, impl_by, Priority::High, design.clone());
        let t = b.last();
        t.objective = format!("Implement the agreed contract for: {objective}");
        t.requirements.technical = vec![
            "Matches the OpenAPI contract exactly (status codes, bodies, errors)".into(),
            "Input validation on every request".into(),
        ];
        t.requirements.security = SECURE_CODE.iter().map(|s| s.to_string()).collect();
        t.requirements.performance = join(perf.clone(), vec!["No blocking operations in request handlers".into()]);
        t.requirements.scalability = scale.clone();
        t.acceptance_criteria = vec![
            "Implementation meets spec".into(),
            "Security review passed".into(),
            "Performance tests passed".into(),
            "All tests passing (≥80% coverage)".into(),
        ];
        t.expected_output = vec![output, "Implementation files".into(), "Test files".into()];
        endpoints_impl = Some(id);
    }

    if auth && !identity.is_empty() {
        let provider = if identity.len() == 1 && identity[0] == "OAuth2" {
            "OAuth2 provider".to_string()
        } else {
            format!("OAuth2 provider ({})", identity.join(", "))
        };
        b.add(
            TaskKind::Integration,
            format!("Implement {provider} integration"),
            impl_by,
            Priority::High,
            design.clone(),
        );
        let t = b.last();
        t.objective = format!("Let users sign in through the identity provider for: {objective}");
        t.requirements.technical = vec![
            "Authorization code flow with PKCE and state".into(),
            "Provider accounts linked to users by provider subject".into(),
        ];
        t.requirements.security = join(
            vec![
                "Client secrets from environment variables".into(),
                "ID token signature, issuer, audience and expiry verified".into(),
            ],
            vec![],
        );
        t.acceptance_criteria = vec![
            "Sign-in works against a provider sandbox".into(),
            "Security review passed".into(),
            "All tests passing".into(),
        ];
        t.expected_output = vec!["OAuth2 client, token exchange logic".into(), "Test files".into()];
    }

    if auth && (JWT.is_match(text) || AUTHZ.is_match(text)) {
        let jwt = JWT.is_match(text);
        let title = if jwt { "Implement JWT middleware" } else { "Implement authorization middleware" };
        let deps = endpoints_impl.iter().cloned().collect::<Vec<_>>();
        let deps = if deps.is_empty() { design.clone() } else { deps };
        b.add(TaskKind::Middleware, title.to_string(), impl_by, Priority::High, deps);
        let t = b.last();
        t.objective = format!("Protect every non-public endpoint for: {objective}");
        t.requirements.technical = if jwt {
            vec![
                "Verify signature, expiry, issuer and audience of every token".into(),
                "Reject `alg: none` and algorithm confusion".into(),
            ]
        } else {
            vec!["Role and permission checks on every endpoint, deny by default".into()]
        };
        if AUTHZ.is_match(text) && jwt {
            t.requirements.technical.push("Authorization checks (roles, permissions) on every endpoint".into());
        }
        t.requirements.security = vec![
            "Authorization checks on all endpoints".into(),
            "Signing keys from environment variables, rotatable".into(),
        ];
        t.requirements.performance =
            vec!["Token verification adds < 1 ms per request (no database round trip for access tokens)".into()];
        t.acceptance_criteria =
            vec!["Unauthenticated requests get 401, unauthorized 403".into(), "All tests passing".into()];
        t.expected_output = vec![if jwt {
            "JWT verification, token validation".into()
        } else {
            "Authorization middleware and policy tests".into()
        }];
    }

    for i in a.integrations.iter().filter(|i| !matches!(i.category.as_str(), "identity" | "monitoring" | "cache")) {
        let deps = join(api_design.iter().cloned().collect(), schema.iter().cloned().collect());
        let deps = if deps.is_empty() { design_deps.clone() } else { deps };
        b.add(TaskKind::Integration, format!("Implement {} integration", i.name), impl_by, Priority::Medium, deps);
        let t = b.last();
        t.objective = format!("Integrate {} ({}) for: {objective}", i.name, i.category);
        t.requirements.technical = vec![
            format!("One client module for {} with timeouts, retries with backoff and jitter", i.name),
            "Inbound webhooks verified and idempotent".into(),
        ];
        t.requirements.security = vec![
            "Provider credentials from environment variables".into(),
            "No provider secrets or personal data in logs".into(),
        ];
        t.acceptance_criteria = vec![
            format!("Works against the {} sandbox or a recorded fake", i.name),
            "Failure paths tested".into(),
            "All tests passing".into(),
        ];
        t.expected_output = vec![format!("{} client and its tests", i.name)];
    }

    if let Some(schema_id) = &schema
        && (api || auth || SCHEMA_WORDS.is_match(text))
    {
        let cross_cutting = !auth
            && CROSS_CUTTING.is_match(text)
            && a.endpoints.iter().all(|e| e.source != coord_core::EndpointSource::Objective);
        let (title, output) = if cross_cutting {
            (
                format!("Implement {subj} middleware"),
                format!("{subj} applied to every route, with configuration and tests"),
            )
        } else if auth {
            ("Implement database user management".to_string(), "User CRUD operations, session management".to_string())
        } else {
            (
                format!(
                    "Implement data access for {}",
                    if a.entities.is_empty() {
                        subj.clone()
                    } else {
                        a.entities.iter().take(3).cloned().collect::<Vec<_>>().join("/")
                    }
                ),
                "Repository/query layer and CRUD operations".to_string(),
            )
        };
        b.add(TaskKind::DataAccess, title, "database-optimizer", Priority::Medium, vec![schema_id.clone()]);
        let t = b.last();
        t.objective = format!("Implement the data operations for: {objective}");
        t.requirements.technical =
            vec!["Queries use the schema's indexes; transactions around multi-row changes".into()];
        t.requirements.security = vec![SECURE_CODE[0].to_string()];
        t.requirements.performance = vec!["No N+1 queries".into(), "Database tests with fixtures".into()];
        t.acceptance_criteria =
            vec!["Database tests with test fixtures pass".into(), "Query plans checked for the common queries".into()];
        t.expected_output = vec![output];
    }

    let impl_ids = b.ids(&[TaskKind::Implementation, TaskKind::Middleware]);
    if a.has(Facet::Performance) && CACHE.is_match(text) {
        let store = a
            .integrations
            .iter()
            .find(|i| i.category == "cache")
            .map(|i| format!(" with {}", i.name))
            .unwrap_or_default();
        let deps = if impl_ids.is_empty() { design.clone() } else { impl_ids.clone() };
        b.add(TaskKind::Optimization, format!("Implement caching{store}"), impl_by, Priority::Medium, deps);
        let t = b.last();
        t.objective = format!("Cache what is read often for: {objective}");
        t.requirements.technical = vec![
            "Cache-aside with explicit TTLs and invalidation on writes".into(),
            "Service degrades gracefully when the cache is down".into(),
        ];
        t.requirements.performance = perf.clone();
        t.expected_output = vec!["Caching layer and its tests".into()];
    }
    if a.has(Facet::Performance) && a.has(Facet::Database) && !auth {
        let deps = join(
            b.ids(&[TaskKind::DataAccess]),
            if b.ids(&[TaskKind::DataAccess]).is_empty() { schema.iter().cloned().collect() } else { vec![] },
        );
        b.add(
            TaskKind::Optimization,
            format!("Optimize queries and indexes for {subj}"),
            "database-optimizer",
            Priority::Medium,
            deps,
        );
        let t = b.last();
        t.objective = format!("Make the database meet the performance targets for: {objective}");
        t.requirements.technical =
            vec!["EXPLAIN plans for every hot query".into(), "Indexes added through reversible migrations".into()];
        t.requirements.performance = perf.clone();
        t.requirements.scalability = scale.clone();
        t.expected_output = vec!["Index migrations".into(), "Query plan report".into()];
    }

    if a.has(Facet::Monitoring) {
        let deps = if impl_ids.is_empty() { design.clone() } else { impl_ids.clone() };
        b.add(
            TaskKind::Observability,
            "Add structured logging, metrics and tracing".to_string(),
            impl_by,
            Priority::Medium,
            deps,
        );
        let t = b.last();
        t.objective = format!("Make the work observable: {objective}");
        t.requirements.technical = vec![
            "Structured logs with request context".into(),
            "RED metrics per route with p95".into(),
            "Traces across outbound calls".into(),
        ];
        t.requirements.security = vec!["No sensitive data in logs or traces".into()];
        t.expected_output = vec!["Logging, metrics and tracing setup".into(), "Dashboards and alert rules".into()];
    }

    if b.tasks.is_empty()
        || b.tasks
            .iter()
            .all(|t| matches!(t.kind, TaskKind::Architecture | TaskKind::ApiDesign | TaskKind::SchemaDesign))
    {
        b.add(TaskKind::Implementation, format!("Implement {subj}"), impl_by, Priority::High, design.clone());
        let t = b.last();
        t.objective = objective.to_string();
        t.requirements.security = SECURE_CODE.iter().map(|s| s.to_string()).collect();
        t.acceptance_criteria = vec!["Implementation meets spec".into(), "All tests passing (≥80% coverage)".into()];
        t.expected_output = vec!["Implementation files".into(), "Test files".into()];
    }

    // Final validation.
    let mut audit = None;
    if auth || api || !a.integrations.is_empty() {
        let title =
            if auth { "Security audit of authentication".to_string() } else { format!("Security audit of {subj}") };
        let id = b.add(TaskKind::SecurityAudit, title, "backend-architect", Priority::High, b.sinks());
        let t = b.last();
        t.objective = format!("Review the implementation for vulnerabilities: {objective}");
        t.requirements.technical = vec![
            "OWASP Top 10 and ASVS checks against the implementation".into(),
            "Run the security quality gate (secrets, injection, CORS, logs)".into(),
        ];
        t.requirements.security = vec![
            "Authentication properly implemented".into(),
            "Authorization checks on all endpoints".into(),
            "Rate limiting prevents brute force".into(),
        ];
        t.acceptance_criteria = vec!["No high-severity finding open".into(), "Security checklist passed".into()];
        t.expected_output = vec!["Security review, vulnerability assessment".into()];
        audit = Some(id);
    }
    let builds_software = b.tasks.iter().any(|t| {
        matches!(
            t.kind,
            TaskKind::Implementation
                | TaskKind::Integration
                | TaskKind::Middleware
                | TaskKind::DataAccess
                | TaskKind::Optimization
        )
    });
    if (a.has(Facet::Performance) || a.has(Facet::Scalability) || api) && builds_software {
        let deps = match &audit {
            Some(id) => vec![id.clone()],
            None => b.sinks(),
        };
        b.add(
            TaskKind::PerformanceTest,
            "Performance testing".to_string(),
            "backend-architect",
            Priority::Medium,
            deps,
        );
        let t = b.last();
        t.objective = format!("Load test the result against its targets: {objective}");
        t.requirements.technical =
            vec!["Load test at the stated (or default) throughput for at least 10 minutes".into()];
        t.requirements.performance = perf.clone();
        t.requirements.scalability = scale.clone();
        t.acceptance_criteria =
            vec!["p95 within the SLA".into(), "No errors under load".into(), "Memory usage monitored".into()];
        t.expected_output = vec!["Load test results, optimization recommendations".into()];
    }

    for t in &mut b.tasks {
        if t.success_criteria.is_empty() {
            t.success_criteria =
                vec!["All acceptance criteria met".into(), "Quality gates passed".into(), "Tests passing".into()];
        }
    }
    let mut plan = Plan::new(objective);
    plan.planner = "rules".to_string();
    plan.tasks = b.tasks;
    plan
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
