//! The `outputSchema` of each tool that answers with JSON: what its `structuredContent` holds
//! (the same JSON is in its text content, for hosts that read text). A host's MCP client checks
//! every answer against it (the official Python client does, and the MCP test runs it), so a
//! field named here and missing or of another type in an answer is an error there, not a
//! surprise in an agent. Objects stay open (`additionalProperties` is not closed): a field added
//! later does not break older hosts.

use rmcp::model::JsonObject;
use serde_json::{Value, json};
use std::sync::Arc;

fn string() -> Value {
    json!({ "type": "string" })
}

fn integer() -> Value {
    json!({ "type": "integer" })
}

fn strings() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

/// An object with these properties, all required.
fn object(properties: Value) -> Value {
    let required: Vec<String> = properties.as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    json!({ "type": "object", "properties": properties, "required": required })
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        // Every schema here is written as an object literal.
        _ => Arc::new(JsonObject::new()),
    }
}

/// The JSON of a manual completion or failure (`coord_runtime::manual::Outcome`).
fn outcome_properties() -> Value {
    json!({
        "task": string(),
        "attempt": integer(),
        "accepted": { "type": "boolean" },
        "error": nullable("string"),
        "gates": { "type": "array", "items": object(json!({
            "attempt": integer(), "gate": string(), "passed": { "type": "boolean" }, "report": {},
        })) },
        "next": {},
        "ready": strings(),
        "run_state": string(),
    })
}

/// `plan_objective`.
pub fn plan_objective() -> Arc<JsonObject> {
    schema(object(json!({
        "run": string(),
        "tasks": { "type": "array", "items": object(json!({
            "task": string(), "title": string(), "specialist": string(), "depends_on": strings(),
            "estimate_hours": { "type": "number" },
        })) },
        "groups": { "type": "array", "items": strings() },
        "critical_path": strings(),
        "warnings": strings(),
        "resources": object(json!({ "plan": string() })),
    })))
}

/// `list_tasks`.
pub fn list_tasks() -> Arc<JsonObject> {
    schema(object(json!({
        "run": string(),
        "state": string(),
        "tasks": { "type": "array", "items": object(json!({
            "task": string(), "state": string(), "specialist": string(), "attempts": integer(),
            "escalation_level": integer(), "automatic": { "type": "boolean" },
        })) },
        "open_escalations": { "type": "array", "items": object(json!({
            "id": integer(), "task": string(), "level": integer(), "category": string(), "reason": string(),
        })) },
        "total": integer(),
        "next_cursor": nullable("string"),
    })))
}

/// `next_ready_tasks`.
pub fn next_ready_tasks() -> Arc<JsonObject> {
    schema(object(json!({
        "run": string(),
        "run_state": string(),
        "ready": { "type": "array", "items": object(json!({
            "task": string(), "title": string(), "specialist": string(), "attempts": integer(), "brief": string(),
        })) },
        "automatic_pending": integer(),
    })))
}

/// `claim_task`.
pub fn claim_task() -> Arc<JsonObject> {
    schema(object(json!({
        "run": string(), "task": string(), "attempt": integer(), "specialist": string(),
        "workspace": nullable("string"), "branch": nullable("string"),
    })))
}

/// `submit_result`.
pub fn submit_result() -> Arc<JsonObject> {
    schema(object(outcome_properties()))
}

/// `escalate`: the outcome and the escalation it opened, if it did.
pub fn escalate() -> Arc<JsonObject> {
    let mut properties = outcome_properties();
    properties["escalation_id"] = nullable("integer");
    schema(object(properties))
}

/// `resolve_escalation`.
pub fn resolve_escalation() -> Arc<JsonObject> {
    schema(object(json!({
        "id": integer(), "run": string(), "task": string(), "decision": nullable("string"),
        "note": nullable("string"), "state": string(),
    })))
}

/// `run_gates`.
pub fn run_gates() -> Arc<JsonObject> {
    schema(object(json!({
        "gates": strings(),
        "files_scanned": integer(),
        "findings": { "type": "array", "items": {
            "type": "object",
            "properties": { "file": string(), "line": integer(), "rule": string(), "severity": string(), "message": string() },
            "required": ["file", "rule", "severity", "message"],
        } },
        "blocking": integer(),
        "passed": { "type": "boolean" },
        "fail_on": string(),
    })))
}

/// `metrics`: the spec's metrics (`null` until something measured them) and coord's own.
pub fn metrics() -> Arc<JsonObject> {
    let spend = object(json!({ "tokens": integer(), "cost_usd": { "type": "number" } }));
    schema(object(json!({
        "backend_tasks_completed": integer(),
        "backend_avg_completion_time": nullable("number"),
        "backend_success_rate": nullable("number"),
        "security_audit_pass_rate": nullable("number"),
        "api_endpoint_coverage": nullable("number"),
        "api_response_time_p95": nullable("number"),
        "test_coverage": nullable("number"),
        "attempts_started": integer(),
        "escalations_raised": integer(),
        "gate_runs": integer(),
        "queue_depth": integer(),
        "lease_expiries": integer(),
        "llm_by_specialist": { "type": "object", "additionalProperties": spend.clone() },
        "llm_by_task": { "type": "object", "additionalProperties": spend },
        "claim_latency": {},
    })))
}
