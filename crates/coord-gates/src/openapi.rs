//! OpenAPI lint: every OpenAPI 3.0 or 3.1 document of the repository (YAML or JSON), read as a
//! JSON value with local `$ref`s resolved (cycles stop the resolution, never the scan). Rules:
//! methods that fit the path's shape, no verbs in paths, 2xx and 4xx responses, 401/403 where
//! security applies, one error schema, pagination on collection GETs, versioning, a security
//! scheme on every non-public operation, and 429 documented where rate limiting is claimed.

use crate::checker::{CheckOutput, Checker, SourceFile, Workspace};
use crate::finding::{Finding, Note, Severity};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

fn re(p: &str) -> Regex {
    // Constant patterns of this file, exercised by its tests.
    #[allow(clippy::expect_used)]
    Regex::new(p).expect("constant regex compiles")
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const PAGINATION: [&str; 12] = [
    "limit",
    "offset",
    "page",
    "per_page",
    "page_size",
    "pagesize",
    "cursor",
    "after",
    "before",
    "first",
    "last",
    "next",
];
static PUBLIC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(^|/)(health|healthz|ready|readyz|live|livez|status|login|register|signup|sign-up|token|refresh|docs|openapi(\.json|\.yaml)?|ping|metrics|\.well-known|callback|oauth)(/|$)",
    )
});
static VERB_SEGMENT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(get|create|update|delete|remove|add|fetch|list|set)([A-Z_-]\w*)?$"));
static RATE_CLAIM: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)rate[- ]limit|throttl"));
static VERSION: LazyLock<Regex> = LazyLock::new(|| re(r"/v\d+(/|$)"));

/// Follows a local `$ref` (up to 20 hops; a cycle returns where it stopped).
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    let mut seen: Vec<&str> = Vec::new();
    for _ in 0..20 {
        let Some(r) = v.get("$ref").and_then(|r| r.as_str()) else { return v };
        if seen.contains(&r) {
            return v;
        }
        seen.push(r);
        let Some(pointer) = r.strip_prefix('#') else { return v };
        match doc.pointer(pointer) {
            Some(target) => v = target,
            None => return v,
        }
    }
    v
}

/// The line of `path` and then `method` under it in the document's text.
fn op_line(text: &str, path: &str, method: Option<&str>) -> usize {
    let Some(at) = [format!("\n  {path}:"), format!("\n{path}:"), format!("\"{path}\"")]
        .iter()
        .filter_map(|n| text.find(n.as_str()))
        .min()
    else {
        return 1;
    };
    let mut pos = at + 1;
    if let Some(m) = method {
        let rest = &text[pos..];
        let candidates = [format!("\n    {m}:"), format!("\n{m}:"), format!("\"{m}\"")];
        if let Some(i) = candidates.iter().filter_map(|n| rest.find(n.as_str())).min() {
            pos += i + 1;
        }
    }
    1 + text[..pos.min(text.len())].matches('\n').count()
}

fn looks_like_openapi(text: &str) -> bool {
    text.lines().take(40).any(|l| {
        let t = l.trim_start_matches(['{', ' ', '\t']);
        t.starts_with("openapi:")
            || t.starts_with("\"openapi\"")
            || t.starts_with("swagger:")
            || t.starts_with("\"swagger\"")
    })
}

/// The OpenAPI checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenApiChecker;

struct Doc<'a> {
    f: &'a SourceFile,
    doc: &'a Value,
    out: &'a mut CheckOutput,
}

impl Doc<'_> {
    fn finding(&mut self, rule: &str, severity: Severity, line: usize, message: String, fix: &str, item: &str) {
        self.out.findings.push(Finding {
            rule: rule.into(),
            severity,
            file: self.f.rel.clone(),
            line,
            message,
            fix: fix.into(),
            item: item.into(),
        });
    }

    fn lint(&mut self) {
        let doc = self.doc;
        let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else { return };
        let global_security = doc.get("security").and_then(|s| s.as_array()).filter(|a| !a.is_empty()).is_some();
        let has_schemes =
            doc.pointer("/components/securitySchemes").and_then(|s| s.as_object()).is_some_and(|o| !o.is_empty());
        let doc_claims_rate =
            doc.pointer("/info/description").and_then(|d| d.as_str()).is_some_and(|d| RATE_CLAIM.is_match(d));
        let any_secured = global_security
            || paths
                .values()
                .flat_map(|p| p.as_object().into_iter().flatten())
                .any(|(_, op)| op.get("security").and_then(|s| s.as_array()).is_some_and(|a| !a.is_empty()));

        let versioned = paths.keys().any(|p| VERSION.is_match(p))
            || doc.get("servers").and_then(|s| s.as_array()).is_some_and(|s| {
                s.iter().any(|sv| sv.get("url").and_then(|u| u.as_str()).is_some_and(|u| VERSION.is_match(u)))
            });
        if !versioned {
            self.finding(
                "openapi/no-versioning",
                Severity::Low,
                self.f.text.find("openapi").map_or(1, |i| 1 + self.f.text[..i].matches('\n').count()),
                "no API version in the paths or servers (e.g. /v1)".into(),
                "put the major version in the path (/v1/...) or the server URL, and document the deprecation policy",
                "api.versioning",
            );
        }

        // Error schemas of every 4xx/5xx response: (identity, line).
        let mut errors: Vec<(String, usize, String)> = Vec::new();
        for (path, item) in paths {
            let item = resolve(doc, item);
            let Some(item_obj) = item.as_object() else { continue };
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let is_item = segments.last().is_some_and(|s| s.starts_with('{'));
            for seg in &segments {
                if !seg.starts_with('{') && VERB_SEGMENT.is_match(seg) {
                    let line = op_line(&self.f.text, path, None);
                    self.finding(
                        "openapi/verbs-in-path",
                        Severity::Low,
                        line,
                        format!("{path}: the segment `{seg}` is a verb; REST paths name resources"),
                        "name the resource (GET /orders instead of /getOrders) and let the HTTP method say what happens",
                        "api.rest-conventions",
                    );
                }
            }
            let path_params: Vec<&Value> =
                item_obj.get("parameters").and_then(|p| p.as_array()).map(|a| a.iter().collect()).unwrap_or_default();
            for method in METHODS {
                let Some(op) = item_obj.get(method) else { continue };
                let line = op_line(&self.f.text, path, Some(method));
                let m = method.to_ascii_uppercase();
                let public = PUBLIC.is_match(path);
                let explicit_public = op.get("security").and_then(|s| s.as_array()).is_some_and(|a| a.is_empty());
                let secured = match op.get("security").and_then(|s| s.as_array()) {
                    Some(a) => !a.is_empty(),
                    None => global_security,
                };
                let responses = op.get("responses").and_then(|r| r.as_object()).cloned().unwrap_or_default();
                let codes: Vec<String> = responses.keys().map(|k| k.to_ascii_uppercase()).collect();
                let has = |prefix: char| codes.iter().any(|c| c.starts_with(prefix));

                if m == "POST" && is_item {
                    self.finding(
                        "openapi/method-path-shape",
                        Severity::Medium,
                        line,
                        format!("POST {path}: POST creates in a collection, but this path names one item"),
                        "POST to the collection (/orders), PUT or PATCH the item",
                        "api.http-methods",
                    );
                }
                let last = segments.last().copied().unwrap_or("");
                if matches!(m.as_str(), "PUT" | "PATCH" | "DELETE")
                    && !is_item
                    && last.ends_with('s')
                    && !last.starts_with('{')
                {
                    self.finding(
                        "openapi/method-path-shape",
                        Severity::Medium,
                        line,
                        format!("{m} {path}: {m} on a whole collection"),
                        "address one item (/orders/{id}); a bulk change needs its own resource",
                        "api.http-methods",
                    );
                }
                if m == "GET" && op.get("requestBody").is_some() {
                    self.finding(
                        "openapi/method-path-shape",
                        Severity::Medium,
                        line,
                        format!("GET {path} has a request body, which clients and proxies drop"),
                        "move the inputs to query parameters, or use POST on a search resource",
                        "api.http-methods",
                    );
                }
                if !has('2') {
                    self.finding(
                        "openapi/missing-success-response",
                        Severity::Medium,
                        line,
                        format!("{m} {path} documents no 2xx response"),
                        "document the success status (200, 201 or 204) and its body",
                        "api.response-codes",
                    );
                }
                if !has('4') && !codes.iter().any(|c| c == "DEFAULT") {
                    self.finding(
                        "openapi/missing-error-response",
                        Severity::Medium,
                        line,
                        format!("{m} {path} documents no 4xx response"),
                        "document 400/404/422 with the shared error schema",
                        "api.response-codes",
                    );
                }
                if secured && !(codes.iter().any(|c| c == "401") && codes.iter().any(|c| c == "403")) {
                    self.finding(
                        "openapi/missing-auth-responses",
                        Severity::Medium,
                        line,
                        format!("{m} {path} requires authentication but does not document both 401 and 403"),
                        "add 401 (no or bad credentials) and 403 (not allowed) responses",
                        "security.authorization",
                    );
                }
                if !secured && !explicit_public && !public && (has_schemes || any_secured) {
                    self.finding(
                        "openapi/no-security-scheme",
                        Severity::High,
                        line,
                        format!("{m} {path} has no security requirement while the API defines authentication"),
                        "add `security: [{bearerAuth: []}]` (or mark it public with `security: []`)",
                        "security.authorization",
                    );
                }
                let op_claims_rate = ["description", "summary"]
                    .iter()
                    .any(|k| op.get(*k).and_then(|d| d.as_str()).is_some_and(|d| RATE_CLAIM.is_match(d)))
                    || op.as_object().is_some_and(|o| o.keys().any(|k| k.to_ascii_lowercase().starts_with("x-rate")))
                    || responses.values().any(|r| {
                        resolve(doc, r)
                            .get("headers")
                            .and_then(|h| h.as_object())
                            .is_some_and(|h| h.keys().any(|k| k.to_ascii_lowercase().contains("ratelimit")))
                    });
                if (op_claims_rate || (doc_claims_rate && !public)) && !codes.iter().any(|c| c == "429") {
                    self.finding(
                        "openapi/rate-limit-not-documented",
                        Severity::Medium,
                        line,
                        format!("rate limiting is claimed but {m} {path} documents no 429"),
                        "add a 429 response with a Retry-After header",
                        "api.rate-limiting",
                    );
                }
                if m == "GET" && !is_item {
                    let ok = responses.iter().find(|(k, _)| k.starts_with('2')).map(|(_, r)| resolve(doc, r));
                    let schema =
                        ok.and_then(|r| r.pointer("/content/application~1json/schema")).map(|s| resolve(doc, s));
                    let lists = schema.is_some_and(|s| {
                        s.get("type").and_then(|t| t.as_str()) == Some("array")
                            || s.get("properties").and_then(|p| p.as_object()).is_some_and(|p| {
                                ["items", "data", "results"].iter().any(|k| {
                                    p.get(*k)
                                        .map(|v| resolve(doc, v))
                                        .and_then(|v| v.get("type"))
                                        .and_then(|t| t.as_str())
                                        == Some("array")
                                })
                            })
                    });
                    let params: Vec<&Value> =
                        op.get("parameters").and_then(|p| p.as_array()).map(|a| a.iter().collect()).unwrap_or_default();
                    let paginated = params.iter().chain(path_params.iter()).map(|p| resolve(doc, p)).any(|p| {
                        p.get("in").and_then(|i| i.as_str()) == Some("query")
                            && p.get("name").and_then(|n| n.as_str()).is_some_and(|n| {
                                PAGINATION.contains(&n.to_ascii_lowercase().as_str()) || n.starts_with("page")
                            })
                    });
                    if lists && !paginated {
                        self.finding(
                            "openapi/collection-without-pagination",
                            Severity::Low,
                            line,
                            format!("GET {path} returns a list without pagination parameters"),
                            "add cursor (or limit/offset) query parameters and a next-page link",
                            "api.pagination",
                        );
                    }
                }
                for (code, resp) in &responses {
                    if code.starts_with('4') || code.starts_with('5') {
                        let r = resolve(doc, resp);
                        let schema = r
                            .get("content")
                            .and_then(|c| c.as_object())
                            .and_then(|c| c.values().next())
                            .and_then(|m| m.get("schema"));
                        if let Some(schema) = schema {
                            let identity = match schema.get("$ref").and_then(|r| r.as_str()) {
                                Some(r) => r.rsplit('/').next().unwrap_or(r).to_string(),
                                None => {
                                    let mut keys: Vec<String> = resolve(doc, schema)
                                        .get("properties")
                                        .and_then(|p| p.as_object())
                                        .map(|p| p.keys().cloned().collect())
                                        .unwrap_or_default();
                                    keys.sort();
                                    format!("{{{}}}", keys.join(", "))
                                }
                            };
                            errors.push((identity, line, format!("{m} {path} {code}")));
                        }
                    }
                }
            }
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, _, _) in &errors {
            *counts.entry(id.as_str()).or_default() += 1;
        }
        if counts.len() > 1 {
            let majority = counts.iter().max_by_key(|(_, n)| **n).map(|(k, _)| k.to_string()).unwrap_or_default();
            let deviating: Vec<(String, usize, String)> =
                errors.iter().filter(|(id, _, _)| *id != majority).cloned().collect();
            let mut lines_done = Vec::new();
            for (id, line, what) in deviating {
                if lines_done.contains(&line) {
                    continue;
                }
                lines_done.push(line);
                self.finding(
                    "openapi/inconsistent-error-schema",
                    Severity::Medium,
                    line,
                    format!("{what} uses the error schema {id}; most errors use {majority}"),
                    "use one error schema for every error response (e.g. RFC 9457 problem details via $ref)",
                    "api.error-responses",
                );
            }
        }
    }
}

impl Checker for OpenApiChecker {
    fn id(&self) -> &'static str {
        "openapi"
    }

    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        for f in ws.files {
            if !matches!(f.ext().as_str(), "yaml" | "yml" | "json") || !looks_like_openapi(&f.text) {
                continue;
            }
            let parsed: Result<Value, (String, usize)> = if f.ext() == "json" {
                serde_json::from_str(&f.text).map_err(|e| (e.to_string(), e.line()))
            } else {
                yaml_serde::from_str(&f.text).map_err(|e| (e.to_string(), e.location().map_or(1, |l| l.line())))
            };
            let doc = match parsed {
                Ok(d) => d,
                Err((message, line)) => {
                    out.findings.push(Finding {
                        rule: "openapi/unparsable".into(),
                        severity: Severity::Medium,
                        file: f.rel.clone(),
                        line,
                        message: format!("the OpenAPI document cannot be parsed: {message}"),
                        fix: "fix the syntax; validate with an OpenAPI linter".into(),
                        item: "api.rest-conventions".into(),
                    });
                    continue;
                }
            };
            match doc.get("openapi").and_then(|v| v.as_str()) {
                Some(v) if v.starts_with("3.") => Doc { f, doc: &doc, out: &mut out }.lint(),
                _ if doc.get("swagger").is_some() => out.notes.push(Note {
                    file: f.rel.clone(),
                    message: "Swagger 2.0 is not linted (convert it to OpenAPI 3)".into(),
                }),
                _ => {}
            }
        }
        out
    }
}
