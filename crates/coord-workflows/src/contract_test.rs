//! Contract testing (step 5 of the spec's API contract coordination): requests generated from an
//! OpenAPI document are sent to every operation of a running service, and each answer is checked
//! — its status must be documented, and a JSON body must match the documented schema.
//! `api_endpoint_coverage` is the share of operations exercised whose answers conform;
//! `api_response_time_p95` the 95th percentile of the answers' times (request sent to body read).

use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// One operation's result.
#[derive(Debug, Clone, Serialize)]
pub struct OperationResult {
    /// `GET /orders/{id}`.
    pub operation: String,
    /// The URL called.
    pub url: String,
    /// The status answered (None when no answer).
    pub status: Option<u16>,
    /// Problems found; empty when the answer conforms.
    pub problems: Vec<String>,
    /// From sending the request to reading the whole body, milliseconds (None when no answer).
    pub elapsed_ms: Option<f64>,
}

/// The contract test of one service.
#[derive(Debug, Clone, Serialize)]
pub struct ContractReport {
    /// Every operation.
    pub operations: Vec<OperationResult>,
    /// Share of operations exercised with a conforming answer, 0..1.
    pub api_endpoint_coverage: f64,
    /// 95th percentile of the answered operations' `elapsed_ms` (None when nothing answered).
    pub response_time_p95_ms: Option<f64>,
}

/// The 95th percentile (nearest rank) of the answered operations' times, milliseconds.
pub fn response_time_p95_ms(operations: &[OperationResult]) -> Option<f64> {
    let mut times: Vec<f64> = operations.iter().filter_map(|o| o.elapsed_ms).collect();
    if times.is_empty() {
        return None;
    }
    times.sort_by(f64::total_cmp);
    let rank = ((times.len() as f64) * 0.95).ceil() as usize;
    Some(times[rank.clamp(1, times.len()) - 1])
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..20 {
        match v.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix('#')).and_then(|p| doc.pointer(p)) {
            Some(t) => v = t,
            None => return v,
        }
    }
    v
}

/// A value that satisfies `schema` (examples and defaults first, then the simplest valid value).
pub fn sample(doc: &Value, schema: &Value, depth: usize) -> Value {
    let s = resolve(doc, schema);
    if let Some(e) = s.get("example").or_else(|| s.get("default")) {
        return e.clone();
    }
    if let Some(first) = s.get("enum").and_then(|e| e.as_array()).and_then(|a| a.first()) {
        return first.clone();
    }
    if depth > 8 {
        return Value::Null;
    }
    let ty = s.get("type").and_then(|t| {
        t.as_str().map(String::from).or_else(|| {
            t.as_array().and_then(|a| a.iter().find_map(|x| x.as_str().filter(|x| *x != "null").map(String::from)))
        })
    });
    match ty.as_deref() {
        Some("integer") => json!(s.get("minimum").and_then(|m| m.as_i64()).unwrap_or(1)),
        Some("number") => json!(s.get("minimum").and_then(|m| m.as_f64()).unwrap_or(1.0)),
        Some("boolean") => json!(true),
        Some("array") => json!([sample(doc, s.get("items").unwrap_or(&Value::Null), depth + 1)]),
        Some("string") => match s.get("format").and_then(|f| f.as_str()) {
            Some("uuid") => json!("00000000-0000-4000-8000-000000000001"),
            Some("date-time") => json!("2026-01-01T00:00:00Z"),
            Some("date") => json!("2026-01-01"),
            Some("email") => json!("user@example.com"),
            _ => json!("test"),
        },
        _ => {
            let mut o = serde_json::Map::new();
            let required: Vec<&str> = s
                .get("required")
                .and_then(|r| r.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            if let Some(props) = s.get("properties").and_then(|p| p.as_object()) {
                for (k, v) in props {
                    if required.contains(&k.as_str()) {
                        o.insert(k.clone(), sample(doc, v, depth + 1));
                    }
                }
            }
            Value::Object(o)
        }
    }
}

/// Checks `value` against `schema`; returns the problems with their JSON paths.
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, depth: usize, out: &mut Vec<String>) {
    if depth > 16 {
        return;
    }
    let s = resolve(doc, schema);
    if value.is_null()
        && (s.get("nullable").and_then(|n| n.as_bool()) == Some(true)
            || s.get("type").and_then(|t| t.as_array()).is_some_and(|a| a.iter().any(|x| x == "null")))
    {
        return;
    }
    if let Some(all) = s.get("allOf").and_then(|a| a.as_array()) {
        for part in all {
            validate(doc, part, value, at, depth + 1, out);
        }
    }
    if let Some(any) = s.get("oneOf").or_else(|| s.get("anyOf")).and_then(|a| a.as_array()) {
        let ok = any.iter().any(|part| {
            let mut probs = Vec::new();
            validate(doc, part, value, at, depth + 1, &mut probs);
            probs.is_empty()
        });
        if !ok {
            out.push(format!("{at}: matches none of the alternatives"));
        }
        return;
    }
    if let Some(values) = s.get("enum").and_then(|e| e.as_array())
        && !values.contains(value)
    {
        out.push(format!("{at}: {value} is not one of the documented values"));
    }
    let types: Vec<String> = match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let matches = types.iter().any(|t| match t.as_str() {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => true,
        });
        if !matches {
            out.push(format!("{at}: expected {}, got {value}", types.join(" or ")));
            return;
        }
    }
    if let Some(o) = value.as_object() {
        for r in s.get("required").and_then(|r| r.as_array()).into_iter().flatten().filter_map(|x| x.as_str()) {
            if !o.contains_key(r) {
                out.push(format!("{at}.{r}: required but missing"));
            }
        }
        if let Some(props) = s.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in o {
                if let Some(ps) = props.get(k) {
                    validate(doc, ps, v, &format!("{at}.{k}"), depth + 1, out);
                }
            }
        }
    }
    if let (Some(a), Some(items)) = (value.as_array(), s.get("items")) {
        for (i, v) in a.iter().enumerate().take(50) {
            validate(doc, items, v, &format!("{at}[{i}]"), depth + 1, out);
        }
    }
}

/// Sends one generated request per operation of `spec` to `base_url` and checks the answers.
/// `headers` are added to every request (credentials for secured operations).
pub async fn contract_test(
    spec: &Value,
    base_url: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> ContractReport {
    let client = reqwest::Client::builder().timeout(timeout).build().unwrap_or_default();
    let mut results = Vec::new();
    let paths = spec.get("paths").and_then(|p| p.as_object()).cloned().unwrap_or_default();
    for (path, item) in &paths {
        let item = resolve(spec, item);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let operation = format!("{} {path}", method.to_ascii_uppercase());
            let mut url_path = path.clone();
            let mut query: Vec<(String, String)> = Vec::new();
            let params = item
                .get("parameters")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
                .chain(op.get("parameters").and_then(|p| p.as_array()).into_iter().flatten());
            for p in params {
                let p = resolve(spec, p);
                let name = p.get("name").and_then(|n| n.as_str()).unwrap_or("");
                let value = sample(spec, p.get("schema").unwrap_or(&Value::Null), 0);
                let text = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match p.get("in").and_then(|i| i.as_str()) {
                    Some("path") => url_path = url_path.replace(&format!("{{{name}}}"), &text),
                    Some("query") if p.get("required").and_then(|r| r.as_bool()).unwrap_or(false) => {
                        query.push((name.to_string(), text))
                    }
                    _ => {}
                }
            }
            let mut url = format!("{}{}", base_url.trim_end_matches('/'), url_path);
            if let Ok(mut u) = reqwest::Url::parse(&url) {
                if !query.is_empty() {
                    u.query_pairs_mut().extend_pairs(&query);
                }
                url = u.to_string();
            }
            let mut req = client.request(method.to_ascii_uppercase().parse().unwrap_or(reqwest::Method::GET), &url);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema").or_else(|| {
                resolve(spec, op.get("requestBody").unwrap_or(&Value::Null))
                    .pointer("/content/application~1json/schema")
            }) {
                req = req.json(&sample(spec, schema, 0));
            }
            let mut problems = Vec::new();
            let mut elapsed_ms = None;
            let sent = Instant::now();
            let status = match req.send().await {
                Err(e) => {
                    problems.push(if e.is_timeout() {
                        format!("no answer within {}s", timeout.as_secs())
                    } else {
                        format!("cannot reach the service: {}", e.without_url())
                    });
                    None
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let is_json = resp
                        .headers()
                        .get("content-type")
                        .and_then(|c| c.to_str().ok())
                        .is_some_and(|c| c.contains("json"));
                    let body = resp.text().await.unwrap_or_default();
                    elapsed_ms = Some(sent.elapsed().as_secs_f64() * 1e3);
                    let responses = op.get("responses").and_then(|r| r.as_object()).cloned().unwrap_or_default();
                    let documented = responses
                        .get(&status.to_string())
                        .or_else(|| responses.get(&format!("{}XX", status / 100)))
                        .or_else(|| responses.get("default"));
                    match documented {
                        None => problems.push(format!("status {status} is not documented")),
                        Some(r) => {
                            let r = resolve(spec, r);
                            let schema = r
                                .get("content")
                                .and_then(|c| c.as_object())
                                .and_then(|c| c.iter().find(|(k, _)| k.contains("json")).map(|(_, m)| m))
                                .and_then(|m| m.get("schema"));
                            if let Some(schema) = schema {
                                match serde_json::from_str::<Value>(&body) {
                                    Err(_) => problems.push(format!(
                                        "status {status}: the body is not JSON{}",
                                        if is_json { "" } else { " (no JSON content type)" }
                                    )),
                                    Ok(v) => validate(spec, schema, &v, "$", 0, &mut problems),
                                }
                            }
                        }
                    }
                    if status >= 500 {
                        problems.push(format!("status {status}: the service failed"));
                    }
                    Some(status)
                }
            };
            results.push(OperationResult { operation, url, status, problems, elapsed_ms });
        }
    }
    let passing = results.iter().filter(|r| r.status.is_some() && r.problems.is_empty()).count();
    let coverage = if results.is_empty() { 0.0 } else { passing as f64 / results.len() as f64 };
    let response_time_p95_ms = response_time_p95_ms(&results);
    ContractReport { operations: results, api_endpoint_coverage: coverage, response_time_p95_ms }
}
