//! SARIF 2.1.0 output, in the shape GitHub code scanning accepts: one run, the tool's rules
//! (one per rule id that fired, with its checklist item, help and `helpUri`; security rules
//! tagged `security` with their CWE and a `security-severity`), results with physical locations
//! relative to `%SRCROOT%`, a `region.startLine` always (1 for file-level findings), and
//! `partialFingerprints` so re-uploads do not duplicate alerts.

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

/// Whether a finding is a security finding: it names a weakness, or serves the security gate.
fn is_security(f: &Finding) -> bool {
    f.cwe.is_some() || f.item.starts_with("security.")
}

/// `https://cwe.mitre.org/...` for a `CWE-<n>`.
fn cwe_uri(cwe: &str) -> Option<String> {
    let n: u32 = cwe.strip_prefix("CWE-")?.parse().ok()?;
    Some(format!("https://cwe.mitre.org/data/definitions/{n}.html"))
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
            let item_text = item.map_or(f.rule.as_str(), |i| i.text);
            let security = is_security(f);
            let mut tags: Vec<String> = Vec::new();
            if security {
                tags.push("security".into());
            }
            if let Some(c) = &f.cwe {
                tags.push(format!("external/cwe/{}", c.to_ascii_lowercase()));
            }
            for t in [item.map_or("quality", |i| i.gate), "backend-coordinator"] {
                if !tags.iter().any(|x| x == t) {
                    tags.push(t.to_string());
                }
            }
            let mut properties = json!({ "tags": tags, "checklist-item": f.item });
            if security {
                properties["security-severity"] = json!(security_severity(f.severity));
            }
            let mut rule = json!({
                "id": f.rule,
                "name": f.rule.replace(['/', '-'], "_"),
                "shortDescription": { "text": f.message.lines().next().unwrap_or(item_text) },
                "fullDescription": { "text": format!("{} (checklist item {}: {})", f.message, f.item, item_text) },
                "help": {
                    "text": format!("{}\n\nFix: {}", f.message, f.fix),
                    "markdown": format!("{}\n\n**Fix:** {}\n\nChecklist item `{}`: {}", f.message, f.fix, f.item, item_text),
                },
                "defaultConfiguration": { "level": level(f.severity) },
                "properties": properties,
            });
            if let Some(uri) = f.cwe.as_deref().and_then(cwe_uri) {
                rule["helpUri"] = json!(uri);
            }
            rule
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            // Every result has a file and a line: file- and repository-level findings point at
            // line 1 of the file that should change.
            let location = json!({
                "artifactLocation": { "uri": if f.file.is_empty() { "README.md" } else { f.file.as_str() }, "uriBaseId": "%SRCROOT%" },
                "region": { "startLine": f.line.max(1) },
            });
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": index.get(f.rule.as_str()).copied().unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [{ "physicalLocation": location }],
                "properties": { "severity": f.severity.as_str(), "checklist-item": f.item },
            });
            if !f.fingerprint.is_empty() {
                result["partialFingerprints"] = json!({ "coordFindingHash/v1": f.fingerprint });
            }
            result
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
