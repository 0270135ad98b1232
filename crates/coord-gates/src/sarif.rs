//! SARIF 2.1.0 output, in the shape GitHub code scanning accepts: one run, the tool's rules
//! (one per rule id that fired, with its checklist item), results with physical locations
//! relative to `%SRCROOT%`.

use crate::checklist::item_by_id;
use crate::finding::{Finding, Severity};
use crate::report::GateReport;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` property (0–10) for a severity.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

/// The report as a SARIF 2.1.0 log.
pub fn to_sarif(report: &GateReport) -> Value {
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in &report.findings {
        rules.entry(f.rule.as_str()).or_insert(f);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, r)| (*r, i)).collect();
    let rule_objects: Vec<Value> = rules
        .values()
        .map(|f| {
            let item = item_by_id(&f.item);
            json!({
                "id": f.rule,
                "name": f.rule.replace(['/', '-'], "_"),
                "shortDescription": { "text": item.map_or(f.rule.as_str(), |i| i.text) },
                "fullDescription": { "text": format!("{} (checklist item {})", item.map_or(f.rule.as_str(), |i| i.text), f.item) },
                "help": { "text": f.fix },
                "defaultConfiguration": { "level": level(f.severity) },
                "properties": {
                    "tags": [item.map_or("quality", |i| i.gate), "backend-coordinator"],
                    "security-severity": security_severity(f.severity),
                    "checklist-item": f.item,
                }
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut location = json!({ "artifactLocation": { "uri": if f.file.is_empty() { "." } else { f.file.as_str() }, "uriBaseId": "%SRCROOT%" } });
            if f.line > 0 {
                location["region"] = json!({ "startLine": f.line });
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": index.get(f.rule.as_str()).copied().unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [{ "physicalLocation": location }],
                "properties": { "severity": f.severity.as_str(), "checklist-item": f.item },
            })
        })
        .collect();
    let notifications: Vec<Value> = report
        .notes
        .iter()
        .map(|n| {
            let mut v = json!({ "level": "note", "message": { "text": n.message } });
            if !n.file.is_empty() {
                v["locations"] = json!([{ "physicalLocation": { "artifactLocation": { "uri": n.file, "uriBaseId": "%SRCROOT%" } } }]);
            }
            v
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "coord",
                "fullName": "backend-coordinator quality gates",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/backend-coordinator",
                "rules": rule_objects,
            }},
            "originalUriBaseIds": { "%SRCROOT%": { "uri": format!("file://{}/", report.root.trim_end_matches('/')) } },
            "invocations": [{ "executionSuccessful": true, "toolExecutionNotifications": notifications }],
            "results": results,
        }]
    })
}
