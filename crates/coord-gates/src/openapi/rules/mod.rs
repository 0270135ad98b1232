//! The lint of one OpenAPI 3.x document: its operations, the findings and notes it collects, and
//! the order in which the rule groups run (one file each: `methods`, `responses`, `security`,
//! `rate_limit`, `pagination`, `versioning`, `error_schema`).

use super::lines::Lines;
use super::refs::Resolver;
use crate::checker::SourceFile;
use crate::finding::{Finding, Note, Severity};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

mod error_schema;
mod methods;
mod pagination;
mod rate_limit;
mod responses;
mod security;
mod versioning;

/// The operation keys of a path item.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/// One operation of the document.
struct Op<'a> {
    path: &'a str,
    method: &'static str,
    op: &'a Value,
    item: &'a Value,
    line: usize,
}

impl Op<'_> {
    /// `GET /orders`, for messages.
    fn name(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }
}

/// The response codes an operation documents, upper-cased (`200`, `4XX`, `DEFAULT`).
struct Codes(Vec<String>);

impl Codes {
    /// The codes of an operation's `responses`.
    fn of(responses: Option<&Map<String, Value>>) -> Self {
        Codes(responses.map(|r| r.keys().map(|k| k.to_ascii_uppercase()).collect()).unwrap_or_default())
    }

    /// Whether the exact code is documented.
    fn has(&self, code: &str) -> bool {
        self.0.iter().any(|k| k == code)
    }

    /// Whether a code of the class (`'2'` for 2xx) is documented.
    fn has_class(&self, digit: char) -> bool {
        self.0.iter().any(|k| k.starts_with(digit))
    }
}

/// The lint of one document.
pub(super) struct Lint<'a> {
    file: &'a SourceFile,
    doc: &'a Value,
    refs: Resolver<'a>,
    lines: Lines<'a>,
    pub(super) findings: Vec<Finding>,
}

impl<'a> Lint<'a> {
    /// A lint of `doc`, the parsed text of `file`.
    pub(super) fn new(file: &'a SourceFile, doc: &'a Value) -> Self {
        Lint { file, doc, refs: Resolver::new(doc), lines: Lines::new(&file.text), findings: Vec::new() }
    }

    /// A finding of rule `openapi/<rule>`.
    fn push(&mut self, rule: &str, severity: Severity, line: usize, message: String, fix: String, item: &str) {
        self.findings.push(Finding {
            rule: format!("openapi/{rule}"),
            severity,
            file: self.file.rel.clone(),
            line,
            message,
            fix,
            item: item.into(),
            cwe: None,
            fingerprint: String::new(),
        });
    }

    /// Notes about `$ref` cycles and dangling local references met while linting.
    pub(super) fn notes(&self) -> Vec<Note> {
        let note = |message: String| Note { file: self.file.rel.clone(), message };
        let listed = |refs: &BTreeSet<String>| refs.iter().cloned().collect::<Vec<_>>().join(", ");
        let cycles = self.refs.cycles.borrow();
        let dangling = self.refs.dangling.borrow();
        let mut out = Vec::new();
        if !cycles.is_empty() {
            out.push(note(format!("$ref cycle at {}: resolution stopped there", listed(&cycles))));
        }
        if !dangling.is_empty() {
            out.push(note(format!("$ref target not found: {}", listed(&dangling))));
        }
        out
    }

    /// Every operation of `paths`, with the line of its method key.
    fn operations(&self) -> Vec<Op<'a>> {
        let mut ops = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else { return ops };
        for (path, item) in paths {
            let item = self.refs.resolve(item);
            for method in METHODS {
                if let Some(op) = item.get(method).filter(|o| o.is_object()) {
                    let line = self.lines.at(path, &[method]);
                    ops.push(Op { path, method, op, item, line });
                }
            }
        }
        ops
    }

    /// The parameters of an operation and of its path item, resolved.
    fn parameters(&self, o: &Op<'a>) -> Vec<&'a Value> {
        [o.item, o.op]
            .into_iter()
            .filter_map(|v| v.get("parameters").and_then(Value::as_array))
            .flatten()
            .map(|p| self.refs.resolve(p))
            .collect()
    }

    /// Runs every rule: the document-wide ones, then each operation's, then the error schemas.
    pub(super) fn run(&mut self) {
        let ops = self.operations();
        if ops.is_empty() {
            return;
        }
        let auth = self.auth(&ops);
        let doc_rate_claim = self.doc_claims_rate();
        self.versioning(&ops);
        self.verbs_in_paths(&ops);
        let mut errors = Vec::new();
        // OPTIONS (CORS preflight, answered by the gateway without credentials) and TRACE are
        // not resource operations: none of the rules apply to them.
        for o in ops.iter().filter(|o| !matches!(o.method, "options" | "trace")) {
            let responses = self.refs.object(o.op, "responses");
            let codes = Codes::of(responses);
            self.method_shape(o);
            self.status_responses(o, &codes);
            self.security(o, &auth, &codes);
            self.rate_limit(o, doc_rate_claim, &codes);
            self.pagination(o);
            self.error_uses(o, responses, &mut errors);
        }
        self.error_schemas(errors);
    }
}
