//! Objective analysis: the spec's seven facets with their evidence, endpoints, integrations,
//! data stores, domain entities and numeric requirements, read from the objective text and
//! (when given) the facts of a repository.

use crate::numbers::extract_requirements;
use crate::repo::RepoFacts;
use crate::stack::decide_stack;
use coord_core::{Analysis, Endpoint, EndpointSource, Facet, Integration, RequirementKind};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The longest objective accepted, in bytes. Longer material belongs in the repository, where
/// `--repo` reads it; an objective is a statement of intent.
pub const MAX_OBJECTIVE_BYTES: usize = 64 * 1024;

/// Why an objective cannot be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// Nothing but whitespace.
    #[error(
        "the objective is empty: say what the backend should do, e.g. \"Add user authentication with OAuth2 and JWT\""
    )]
    Empty,
    /// Over [`MAX_OBJECTIVE_BYTES`].
    #[error(
        "the objective is {0} bytes; the limit is {MAX_OBJECTIVE_BYTES} bytes (put long material in files and pass --repo)"
    )]
    TooLong(usize),
}

pub(crate) fn re(pattern: &str) -> Regex {
    // Constant patterns of this crate, exercised by its tests: failing to compile is a
    // programming error found on the first test run.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("constant regex compiles")
}

static FACET_WORDS: LazyLock<Vec<(Facet, Regex)>> = LazyLock::new(|| {
    vec![
        (
            Facet::Api,
            re(
                r"(?i)\b(apis?|endpoints?|cors|rest(?:ful)?|graphql|routes?|http|webhooks?|grpc|openapi|swagger|crud|microservices?|resolvers?)\b",
            ),
        ),
        (
            Facet::Database,
            re(
                r"(?i)\b(databases?|db|schemas?|tables?|columns?|primary keys?|foreign keys?|migrations?|indexes|indices|index(?:ing)?|sql|postgres(?:ql)?|mysql|mariadb|sqlite|mongo(?:db)?|dynamodb|cassandra|orm|prisma|sequelize|typeorm|sqlalchemy|hibernate|jpa|queries|query|persist(?:ence|ed)?|backups?|(?:read|database|db|streaming|postgres(?:ql)?|mysql) replicas?|replication|sharding|partition(?:ing|ed)?|rows|records)\b",
            ),
        ),
        (
            Facet::Auth,
            re(
                r"(?i)\b(auth|authentication|authenticated?|unauthenticated|authorization|authorisation|authorize|login|log[- ]in|logout|log[- ]out|sign[- ]?in|sign[- ]?up|registration|oauth\s?2?(?:\.0)?|openid|oidc|jwts?|sso|saml|rbac|abac|permissions?|roles?|sessions?|passwords?|2fa|mfa|totp|api[- ]keys?|access[- ]tokens?|refresh[- ]tokens?|bearer|row[- ]level security|impersonat(?:e|ion|ing)|lockouts?)\b",
            ),
        ),
        (
            Facet::Performance,
            re(
                r"(?i)\b(performance|performant|latency|latencies|faster|throughput|rps|qps|cach(?:e|es|ed|ing)|optimi[sz](?:e|es|ed|ation|ing)|slow|slower|slowing|slows|speed(?:\s+up)?|response[- ]times?|p\d{2}|percentile|benchmarks?|load[- ]test(?:s|ing)?|compression|gzip|brotli|n\+1|n plus one|time[sd]? out|timeouts|takes? \d[\d,.]* ?(?:ms|milliseconds?|seconds?|minutes?|hours?))(?:\b|$)",
            ),
        ),
        (
            Facet::Scalability,
            re(
                r"(?i)\b(scal(?:e|es|able|ability|ing)|horizontal(?:ly)?|sharding|shards?|load[- ]balanc(?:er|ers|ing)|high[- ]availability|autoscal(?:e|ing)|read[- ]replicas?|concurrent|concurrency|millions?|billions?|distributed|microservices?|multi[- ]region|(?:two|three|several|multiple) regions|event[- ]sourc(?:ed|ing)|active[- ]active|failover|replicas?|queues?|elastic|event[- ]driven)\b",
            ),
        ),
        (
            Facet::Integrations,
            re(
                r"(?i)\b(third[- ]party|integrat(?:e|es|ion|ions|ing)|webhooks?|external (?:apis?|services?)|providers?)\b",
            ),
        ),
        (
            Facet::Monitoring,
            re(
                r"(?i)\b(monitor(?:ing|ed)?|logging|logs?|metrics|tracing|traces|observability|alert(?:s|ing)?|dashboards?|prometheus|grafana|datadog|sentry|opentelemetry|otel|new relic|health[- ]?checks?|audit[- ](?:logs?|trails?)|apm|slos?)\b",
            ),
        ),
    ]
});

/// (canonical name, category, pattern)
static CATALOG: LazyLock<Vec<(&'static str, &'static str, Regex)>> = LazyLock::new(|| {
    [
        ("Stripe", "payments", r"stripe"),
        ("PayPal", "payments", r"paypal"),
        ("Braintree", "payments", r"braintree"),
        ("Adyen", "payments", r"adyen"),
        ("Plaid", "banking", r"plaid"),
        ("OAuth2", "identity", r"oauth\s?2(?:\.0)?|oauth"),
        ("OpenID Connect", "identity", r"openid(?:\s+connect)?|oidc"),
        ("Google", "identity", r"google(?:\s+(?:sign[- ]in|login|oauth))?"),
        ("GitHub", "identity", r"github"),
        ("Facebook", "identity", r"facebook"),
        ("Sign in with Apple", "identity", r"sign in with apple|apple sign[- ]in"),
        ("Microsoft Entra ID", "identity", r"azure ad|entra(?: id)?|microsoft (?:login|account)"),
        ("Okta", "identity", r"okta"),
        ("Auth0", "identity", r"auth0"),
        ("Keycloak", "identity", r"keycloak"),
        ("Amazon Cognito", "identity", r"cognito"),
        ("SAML identity provider", "identity", r"saml"),
        ("Amazon S3", "storage", r"(?:amazon |aws )?s3"),
        ("Google Cloud Storage", "storage", r"google cloud storage|gcs"),
        ("Azure Blob Storage", "storage", r"azure blob(?: storage)?"),
        ("Cloudinary", "storage", r"cloudinary"),
        ("Kafka", "messaging", r"kafka"),
        ("RabbitMQ", "messaging", r"rabbitmq|rabbit mq"),
        ("Amazon SQS", "messaging", r"sqs"),
        ("Amazon SNS", "messaging", r"sns"),
        ("NATS", "messaging", r"nats(?:\s+jetstream)?"),
        ("Google Pub/Sub", "messaging", r"pub/sub|pubsub"),
        ("Amazon Kinesis", "messaging", r"kinesis"),
        ("SendGrid", "email", r"sendgrid"),
        ("Mailgun", "email", r"mailgun"),
        ("Amazon SES", "email", r"ses|amazon ses|aws ses"),
        ("Postmark", "email", r"postmark"),
        ("SMTP", "email", r"smtp"),
        ("Twilio", "sms", r"twilio"),
        ("Vonage", "sms", r"vonage|nexmo"),
        ("Firebase Cloud Messaging", "push", r"firebase|fcm"),
        ("Redis", "cache", r"redis"),
        ("Memcached", "cache", r"memcached?"),
        ("Elasticsearch", "search", r"elasticsearch|elastic search"),
        ("OpenSearch", "search", r"opensearch"),
        ("Algolia", "search", r"algolia"),
        ("Meilisearch", "search", r"meilisearch"),
        ("Datadog", "monitoring", r"datadog"),
        ("Sentry", "monitoring", r"sentry"),
        ("New Relic", "monitoring", r"new relic"),
        ("Prometheus", "monitoring", r"prometheus"),
        ("Grafana", "monitoring", r"grafana"),
        ("OpenTelemetry", "monitoring", r"opentelemetry|otel"),
        ("Slack", "chat", r"slack"),
        ("Segment", "analytics", r"segment\.io|segment analytics"),
        ("Shopify", "commerce", r"shopify"),
        ("Salesforce", "crm", r"salesforce"),
        ("HubSpot", "crm", r"hubspot"),
        ("OpenAI", "ai", r"openai"),
    ]
    .into_iter()
    .map(|(name, cat, pat)| (name, cat, re(&format!(r"(?i)\b(?:{pat})\b"))))
    .collect()
});

static DATASTORES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("PostgreSQL", r"postgres(?:ql)?|pg"),
        ("MySQL", r"mysql"),
        ("MariaDB", r"mariadb"),
        ("SQLite", r"sqlite"),
        ("MongoDB", r"mongo(?:db)?"),
        ("DynamoDB", r"dynamo(?:db)?"),
        ("Cassandra", r"cassandra"),
        ("CockroachDB", r"cockroach(?:db)?"),
        ("SQL Server", r"sql server|mssql"),
        ("Oracle", r"oracle"),
    ]
    .into_iter()
    .map(|(name, pat)| (name, re(&format!(r"(?i)\b(?:{pat})\b"))))
    .collect()
});

static ENDPOINT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:^|[\s"'`(\[,])(?:(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+)?(/[A-Za-z0-9_\-{}:.]+(?:/[A-Za-z0-9_\-{}:.]+)*/?)"#,
    )
});

static ENTITY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(users?|sessions?|accounts?|orders?|products?|payments?|invoices?|subscriptions?|customers?|carts?|comments?|posts?|articles?|notifications?|uploads?|files?|reviews?|tenants?|teams?|organi[sz]ations?|projects?|bookings?|reservations?|appointments?|inventory|shipments?|refunds?|transactions?|messages?|events?|profiles?|roles?|permissions?|api[- ]keys?|webhooks?|tickets?|reports?|documents?|catalog(?:ue)?s?|coupons?|addresses?|devices?)\b",
    )
});

static CACHING: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(cach(?:e|es|ed|ing)|memcached?)\b"));

/// Phrases whose words would name the wrong facet: "distributed tracing" is observability, not
/// a distributed system; a GraphQL schema is an API contract, not a database schema.
static MISLEADING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b((?:million|billion) rows?(?: (?:a|per) (?:day|hour|minute|second|month))?|log (?:out|in)|distributed tracing|error reporting|graphql schemas?|(?:api|request|response|order|payload|json|event) schemas?)\b",
    )
});

static AUTH_SYSTEM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(authentication|login|log[- ]in|sign[- ]?in|sign[- ]?up|oauth\s?2?|jwts?|sso|saml|single sign[- ]on|openid|oidc|sessions?|passwords?)\b",
    )
});
static SIGNUP: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(sign[- ]?up|register|registration)\b"));

fn plural(word: &str) -> String {
    let w = word.to_ascii_lowercase().replace(' ', "-");
    if w.ends_with('s') || w == "inventory" {
        w
    } else if let Some(stem) = w.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{w}s")
    }
}

/// Records why a facet was found (at most eight reasons each).
pub(crate) fn note(evidence: &mut BTreeMap<Facet, Vec<String>>, facet: Facet, why: String) {
    let e = evidence.entry(facet).or_default();
    if !e.contains(&why) && e.len() < 8 {
        e.push(why);
    }
}

pub(crate) fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// Analyses an objective. `repo` adds what a repository scan found (stack, schema, contracts).
/// `stack_flag` is the `--stack` choice, which wins over everything else.
pub fn analyse(
    objective: &str,
    repo: Option<&RepoFacts>,
    stack_flag: Option<crate::stack::StackFlag>,
) -> Result<Analysis, AnalysisError> {
    if objective.len() > MAX_OBJECTIVE_BYTES {
        return Err(AnalysisError::TooLong(objective.len()));
    }
    let text = objective.trim();
    if text.is_empty() {
        return Err(AnalysisError::Empty);
    }
    let mut a = Analysis::default();
    let mut evidence: BTreeMap<Facet, Vec<String>> = BTreeMap::new();

    let words = MISLEADING.replace_all(text, |c: &regex::Captures<'_>| {
        let phrase = c[0].to_ascii_lowercase();
        if phrase.contains(" rows") || phrase.ends_with(" row") {
            if phrase.contains(" a ") || phrase.contains(" per ") { phrase } else { "rows".to_string() }
        } else if phrase.starts_with("log ") {
            "logout".to_string()
        } else if phrase.contains("tracing") {
            "tracing".to_string()
        } else if phrase.contains("reporting") {
            "error tracking".to_string()
        } else {
            "contract".to_string()
        }
    });
    for (facet, pattern) in FACET_WORDS.iter() {
        for m in pattern.find_iter(&words) {
            note(&mut evidence, *facet, format!("\"{}\"", m.as_str()));
        }
    }

    // Endpoints named in the text.
    for c in ENDPOINT.captures_iter(text) {
        let Some(path) = c.get(2) else { continue };
        let path = path.as_str().trim_end_matches(['.', ',', ';', ':']).to_string();
        if path.len() < 2 {
            continue;
        }
        let method = c.get(1).map(|m| m.as_str().to_ascii_uppercase());
        push_unique(&mut a.endpoints, Endpoint { method, path, source: EndpointSource::Objective });
    }
    if let Some(first) = a.endpoints.first() {
        note(&mut evidence, Facet::Api, format!("endpoint {}", first.display()));
    }

    for (name, category, pattern) in CATALOG.iter() {
        if let Some(m) = pattern.find(text) {
            // A bare "Google"/"GitHub" is an identity provider only when auth is in play.
            if *category == "identity"
                && matches!(*name, "Google" | "GitHub" | "Facebook")
                && !evidence.contains_key(&Facet::Auth)
            {
                continue;
            }
            a.integrations.push(Integration {
                name: name.to_string(),
                category: category.to_string(),
                evidence: m.as_str().to_string(),
            });
        }
    }
    for i in &a.integrations {
        match i.category.as_str() {
            "monitoring" => note(&mut evidence, Facet::Monitoring, format!("{} is a monitoring service", i.name)),
            // Redis also holds counters, locks and presence: a cache only when the words say so.
            "cache" if CACHING.is_match(text) => {
                note(&mut evidence, Facet::Performance, format!("{} is a cache", i.name))
            }
            _ => {}
        }
        note(&mut evidence, Facet::Integrations, format!("third-party {} ({})", i.name, i.category));
    }

    for (name, pattern) in DATASTORES.iter() {
        if pattern.is_match(text) {
            push_unique(&mut a.datastores, name.to_string());
        }
    }

    a.requirements = extract_requirements(text);
    for r in &a.requirements {
        match r.kind {
            // A rate of data arriving ("5 million rows a day", "20,000 events per second") is a
            // volume to absorb; a rate of requests is a throughput target.
            RequirementKind::Throughput
                if r.subject.as_deref().is_some_and(|s| {
                    matches!(s, "rows" | "records" | "entries" | "documents" | "events" | "messages")
                }) =>
            {
                note(&mut evidence, Facet::Scalability, format!("requirement \"{}\"", r.text))
            }
            RequirementKind::Latency | RequirementKind::Throughput => {
                note(&mut evidence, Facet::Performance, format!("requirement \"{}\"", r.text))
            }
            // A table's size is a database fact; scalability is about load (users, requests,
            // concurrency, availability).
            RequirementKind::RowCount => {}
            RequirementKind::Volume | RequirementKind::Concurrency => {
                note(&mut evidence, Facet::Scalability, format!("requirement \"{}\"", r.text))
            }
            RequirementKind::Availability => {
                note(&mut evidence, Facet::Scalability, format!("requirement \"{}\"", r.text))
            }
            RequirementKind::Size => {}
        }
        if r.kind == RequirementKind::RowCount {
            note(&mut evidence, Facet::Database, format!("requirement \"{}\"", r.text));
        }
    }

    // Implications a backend lead would draw: an authentication system needs endpoints to log in
    // and out and storage for users and sessions.
    let auth_system = evidence.contains_key(&Facet::Auth) && AUTH_SYSTEM.is_match(text);
    if auth_system {
        note(&mut evidence, Facet::Api, "authentication implies login/logout/refresh endpoints".into());
        note(&mut evidence, Facet::Database, "authentication implies user and session storage".into());
        push_unique(&mut a.entities, "users".to_string());
        push_unique(&mut a.entities, "sessions".to_string());
        if !a.endpoints.iter().any(|e| e.path.contains("auth") || e.path.contains("login")) {
            let mut implied = vec![("POST", "/auth/login"), ("POST", "/auth/logout"), ("POST", "/auth/refresh")];
            if SIGNUP.is_match(text) {
                implied.insert(0, ("POST", "/auth/register"));
            }
            if a.integrations.iter().any(|i| i.category == "identity") {
                implied.push(("GET", "/auth/oauth/{provider}/authorize"));
                implied.push(("GET", "/auth/oauth/{provider}/callback"));
            }
            for (m, p) in implied {
                a.endpoints.push(Endpoint { method: Some(m.into()), path: p.into(), source: EndpointSource::Implied });
            }
        }
    }
    for m in ENTITY.find_iter(text) {
        // "POST /orders" names a method, not blog posts.
        if m.as_str().len() > 1 && m.as_str().chars().all(|c| c.is_ascii_uppercase()) {
            continue;
        }
        let word = plural(m.as_str());
        if !matches!(word.as_str(), "events" | "messages" | "files" | "reports" | "documents") || a.entities.len() < 6 {
            push_unique(&mut a.entities, word);
        }
    }
    for e in &a.endpoints {
        if let Some(seg) = e.path.trim_start_matches('/').split('/').find(|s| {
            !s.is_empty()
                && !s.starts_with('{')
                && !s.starts_with(':')
                && !matches!(*s, "api" | "auth" | "v1" | "v2" | "v3")
        }) && e.source == EndpointSource::Objective
        {
            push_unique(&mut a.entities, plural(seg));
        }
    }

    // Endpoints that create or change resources, and volumes of domain entities, mean data is
    // stored somewhere.
    if let Some(e) = a.endpoints.iter().find(|e| {
        e.source == EndpointSource::Objective
            && matches!(e.method.as_deref(), Some("POST" | "PUT" | "PATCH" | "DELETE"))
    }) {
        note(&mut evidence, Facet::Database, format!("{} creates or changes stored data", e.display()));
    }
    if let Some(r) = a.requirements.iter().find(|r| {
        r.kind == RequirementKind::Volume
            && r.subject.as_deref().is_some_and(|s| !matches!(s, "requests" | "connections" | "sessions"))
    }) {
        note(&mut evidence, Facet::Database, format!("\"{}\" must be stored", r.text));
    }

    if let Some(repo) = repo {
        repo.add_evidence(&mut a, &mut evidence);
    }
    a.stack = decide_stack(text, repo, stack_flag, &mut a.notes);
    if a.stack.api_style == coord_core::ApiStyle::Graphql {
        note(&mut evidence, Facet::Api, "the API is GraphQL".into());
    }

    a.facets = Facet::ALL.into_iter().filter(|f| evidence.contains_key(f)).collect();
    a.facet_evidence = evidence;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facets(text: &str) -> Vec<&'static str> {
        analyse(text, None, None).unwrap().facets.iter().map(|f| f.as_str()).collect()
    }

    #[test]
    fn the_spec_example() {
        let a = analyse("Add user authentication system with OAuth2 and JWT", None, None).unwrap();
        let names: Vec<_> = a.facets.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, vec!["api", "database", "auth", "integrations"]);
        assert_eq!(a.integrations.len(), 1, "{:?}", a.integrations);
        assert_eq!(a.integrations[0].name, "OAuth2");
        assert_eq!(a.entities[..2], ["users".to_string(), "sessions".to_string()]);
        assert!(a.endpoints.iter().all(|e| e.source == EndpointSource::Implied));
        assert!(a.endpoints.iter().any(|e| e.path == "/auth/refresh"));
        assert_eq!(a.stack.specialist, "nodejs-expert");
        assert_eq!(a.stack.source, coord_core::StackSource::Default);
    }

    #[test]
    fn every_facet_has_a_trigger() {
        assert_eq!(facets("Expose GET /orders/{id}"), vec!["api"]);
        assert_eq!(
            facets("Expose GET /orders/{id} and POST /orders"),
            vec!["api", "database"],
            "creating orders stores them"
        );
        assert_eq!(facets("Add an index to the orders table"), vec!["database"]);
        assert_eq!(facets("Serve search with p95 under 150 ms"), vec!["performance"]);
        assert_eq!(facets("Scale the feed to 50k concurrent connections"), vec!["scalability"]);
        assert_eq!(facets("Scale the feed to 10 million users"), vec!["database", "scalability"], "users are stored");
        assert_eq!(facets("Send receipts through SendGrid"), vec!["integrations"]);
        assert_eq!(facets("Add structured logging and Prometheus metrics"), vec!["integrations", "monitoring"]);
        assert!(facets("Add RBAC permissions to the admin panel").contains(&"auth"));
    }

    #[test]
    fn endpoints_with_and_without_methods() {
        let a = analyse("Add GET /v1/orders, POST /v1/orders and /health.", None, None).unwrap();
        let shown: Vec<_> = a.endpoints.iter().map(|e| e.display()).collect();
        assert_eq!(shown, vec!["GET /v1/orders", "POST /v1/orders", "/health"]);
        assert!(a.entities.contains(&"orders".to_string()));
        let a = analyse("Handle 2000 req/s over HTTP/2 with Pub/Sub", None, None).unwrap();
        assert!(a.endpoints.is_empty(), "{:?}", a.endpoints);
    }

    #[test]
    fn integrations_and_datastores() {
        let a = analyse(
            "Accept Stripe payments, store invoices in S3, publish to Kafka, cache in Redis on PostgreSQL",
            None,
            None,
        )
        .unwrap();
        let names: Vec<_> = a.integrations.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["Stripe", "Amazon S3", "Kafka", "Redis"]);
        assert_eq!(a.datastores, vec!["PostgreSQL"]);
        assert!(a.has(Facet::Performance), "a cache is a performance facet");
    }

    #[test]
    fn bad_objectives() {
        assert_eq!(analyse("  \n\t ", None, None), Err(AnalysisError::Empty));
        let huge = "a".repeat(1 << 20);
        assert_eq!(analyse(&huge, None, None), Err(AnalysisError::TooLong(1 << 20)));
    }
}
