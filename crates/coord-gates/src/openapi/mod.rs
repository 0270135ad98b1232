//! OpenAPI lint: every OpenAPI 3.x document of the repository (YAML or JSON), read as a JSON value
//! with local `$ref`s resolved (a `$ref` cycle stops the resolution and is noted, never the scan).
//!
//! Rules: methods that fit the path's shape, no verbs in paths, 2xx and 4xx responses, 401/403
//! where security applies, one error schema, pagination on collection GETs, versioning, a
//! security requirement on every non-public operation, and 429 documented where rate limiting is
//! claimed (OPTIONS and TRACE operations are left alone). Findings carry the line of the path,
//! the operation or the response. Swagger 2.0 documents get a note; a file that looks like
//! OpenAPI but does not parse is a finding, and the scan goes on with the other files.
//!
//! The parts: `document` reads a file into a JSON value; `refs` resolves `$ref`s; `lines` finds
//! the line of a path, operation or response; `paths` reads the shape of a path (collection,
//! item, action, public); `rules` is the lint of one document, one file per group of rules.

use crate::checker::re;
use crate::checker::{CheckOutput, Checker, SourceFile, Workspace};
use crate::finding::{Finding, Note, Severity};
use serde_json::Value;

mod document;

pub use document::{looks_like, parse as parse_document};
mod lines;
mod paths;
mod refs;
mod rules;

/// The OpenAPI checker (`openapi`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenApiChecker;

impl Checker for OpenApiChecker {
    fn id(&self) -> &'static str {
        "openapi"
    }

    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        for f in ws.files {
            check_file(f, &mut out);
        }
        out
    }

    fn per_file(&self) -> bool {
        true
    }
}

/// Lints one file if it is an OpenAPI document.
fn check_file(f: &SourceFile, out: &mut CheckOutput) {
    let ext = f.ext();
    let json = ext == "json";
    if !(json || ext == "yaml" || ext == "yml") || !(f.text.contains("openapi") || f.text.contains("swagger")) {
        return;
    }
    let doc = match document::parse(&f.text, json) {
        Ok(doc) => doc,
        Err((message, line)) => {
            if let Some(kind) = document::looks_like(&f.text, json) {
                if kind == "openapi" {
                    out.findings.push(Finding {
                        rule: "openapi/unparsable".into(),
                        severity: Severity::Medium,
                        file: f.rel.clone(),
                        line: line.max(1),
                        message: format!("the OpenAPI document cannot be parsed: {message}"),
                        fix: format!(
                            "fix the {} syntax near line {line}, then validate the document with an OpenAPI linter",
                            if json { "JSON" } else { "YAML" }
                        ),
                        item: "api.rest-conventions".into(),
                        cwe: None,
                        fingerprint: String::new(),
                    });
                } else {
                    out.notes.push(Note {
                        file: f.rel.clone(),
                        message: format!("Swagger document cannot be parsed ({message}); not linted"),
                    });
                }
            }
            return;
        }
    };
    if let Some(version) = doc.get("openapi") {
        let version = match version {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if version.starts_with("3.") {
            let mut lint = rules::Lint::new(f, &doc);
            lint.run();
            out.findings.append(&mut lint.findings);
            out.notes.extend(lint.notes());
        } else {
            out.notes.push(Note { file: f.rel.clone(), message: format!("OpenAPI {version} is not linted") });
        }
    } else if doc.get("swagger").is_some() {
        out.notes.push(Note {
            file: f.rel.clone(),
            message: "Swagger 2.0 is not linted (convert it to OpenAPI 3 to have it checked)".into(),
        });
    }
}
