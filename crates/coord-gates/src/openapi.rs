//! OpenAPI lint: every OpenAPI 3.x document of the repository (YAML or JSON), read as a JSON value
//! with local `$ref`s resolved (a `$ref` cycle stops the resolution and is noted, never the scan).
//!
//! Rules: methods that fit the path's shape, no verbs in paths, 2xx and 4xx responses, 401/403
//! where security applies, one error schema, pagination on collection GETs, versioning, a
//! security requirement on every non-public operation, and 429 documented where rate limiting is
//! claimed (OPTIONS and TRACE operations are left alone). Findings carry the line of the path,
//! the operation or the response. Swagger 2.0 documents get a note; a file that looks like
//! OpenAPI but does not parse is a finding, and the scan goes on with the other files.

use crate::checker::{CheckOutput, Checker, SourceFile, Workspace};
use crate::finding::{Finding, Note, Severity};
use regex::Regex;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

fn re(p: &str) -> Regex {
    // Constant patterns of this file, exercised by its tests.
    #[allow(clippy::expect_used)]
    Regex::new(p).expect("constant regex compiles")
}

/// The operation keys of a path item.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
/// How many `$ref` hops one resolution follows before it gives up.
const MAX_REF_HOPS: usize = 32;
/// How deep `allOf` compositions are followed when collecting a schema's properties.
const MAX_SCHEMA_DEPTH: usize = 8;

/// Query parameters that page a list, normalised (lower case, without `_`, `-`, `[`, `]`, `.`, `$`).
const PAGINATION: &str = "\
    limit offset page perpage pagesize pagenumber pagetoken pagecursor cursor after before first last \
    next skip take top startingafter endingbefore maxresults continuationtoken nexttoken marker since";
/// Properties of a response object that carry the page of a list.
const LIST_PROPERTIES: [&str; 12] =
    ["items", "data", "results", "records", "entries", "content", "list", "elements", "edges", "nodes", "hits", "rows"];
/// Path segments that name public endpoints (health checks, sign-in, docs...).
const PUBLIC_SEGMENTS: &str = "\
    health healthz healthcheck health-check ready readyz readiness live livez liveness status login \
    signin sign-in register signup sign-up token refresh docs openapi swagger ping metrics .well-known \
    well-known callback callbacks oauth oauth2 forgot-password password-reset jwks";
/// Segments that look plural but name one resource.
const SINGLETONS: [&str; 8] =
    ["settings", "preferences", "status", "stats", "analytics", "metrics", "details", "options"];
/// Verbs that make the last segment an action (`POST /orders/{id}/cancel`).
const ACTION_VERBS: &str = "\
    accept ack acknowledge activate apply approve archive assign batch block bulk calculate cancel \
    capture checkout clone close complete confirm copy deactivate decline deploy disable dismiss \
    download enable execute export follow fulfill import invite lock login logout mark merge move mute \
    pause pay preview process publish query rebuild recalculate refresh refund register reindex reject \
    renew reopen reorder resend reset restart restore resume retry revoke rollback rotate run search \
    send share ship sign snooze start stop submit subscribe sync transfer trigger unarchive unassign \
    unblock unfollow unlock unmute unpublish unsubscribe upload validate verify void";

static VERB_SEGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[Gg]et|[Cc]reate|[Uu]pdate|[Dd]elete|[Rr]emove|[Aa]dd|[Ff]etch|[Ll]ist|[Ss]et|[Mm]odify|[Ee]dit",
        r"|[Ii]nsert|[Rr]etrieve|[Ss]ave|[Dd]o)(?:[A-Z_-].*)?$",
    ))
});
static RATE_CLAIM: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)rate[- _]?limit|throttl"));
static NEGATION: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(no|not|without|never|unlimited)\b|n't\b"));
static RATE_HEADER: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(x-)?rate-?limit"));
static RATE_EXTENSION: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^x-(rate-?limit|throttl)"));
static PATH_VERSION: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(^|/)(v\d+(\.\d+)*|\d{4}-\d{2}-\d{2})(/|$)|//v\d+[.-]"));
static VERSION_MEDIA_TYPE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)version=|;\s*v=\d|vnd\.[^;+]*[.-]v\d+"));
static VERSION_WORD: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)version"));
static VERSION_QUERY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(api[-_]?)?version$"));
static LOOKS_YAML: LazyLock<Regex> = LazyLock::new(|| re(r#"(?m)^["']?(openapi|swagger)["']?\s*:"#));
static LOOKS_JSON: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?m)^\s{0,4}\{?\s*"(openapi|swagger)"\s*:|^\s*\{\s*"(openapi|swagger)"\s*:"#));

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
    let doc = match parse(&f.text, json) {
        Ok(doc) => doc,
        Err((message, line)) => {
            if let Some(kind) = looks_like(&f.text, json) {
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
            let mut lint = Lint::new(f, &doc);
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

/// Parses YAML (merge keys applied) or JSON into a JSON value; the error carries its line.
fn parse(text: &str, json: bool) -> Result<Value, (String, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if json {
        return serde_json::from_str(text).map_err(|e| (e.to_string(), e.line()));
    }
    let mut yaml: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| (e.to_string(), e.location().map_or(1, |l| l.line())))?;
    // A bad merge key leaves the document as written; the lint still reads it.
    yaml.apply_merge().ok();
    serde_json::to_value(&yaml).map_err(|e| (e.to_string(), 1))
}

/// `openapi` or `swagger` when the text has that key at the top level.
fn looks_like(text: &str, json: bool) -> Option<&'static str> {
    let re: &Regex = if json { &LOOKS_JSON } else { &LOOKS_YAML };
    let caps = re.captures(text).or_else(|| LOOKS_JSON.captures(text))?;
    let word = caps.get(1).or_else(|| caps.get(2)).map(|m| m.as_str())?;
    Some(if word == "openapi" { "openapi" } else { "swagger" })
}

// ---------------------------------------------------------------------------------------------
// Path shapes
// ---------------------------------------------------------------------------------------------

/// The non-empty segments of a path.
fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Whether a segment is a whole path parameter (`{id}`).
fn is_param(segment: &str) -> bool {
    segment.len() >= 2 && segment.starts_with('{') && segment.ends_with('}') && !segment[1..].contains('{')
}

/// Whether the path names one item: its last segment is a parameter.
fn is_item_path(path: &str) -> bool {
    segments(path).last().is_some_and(|s| is_param(s))
}

/// The words of a segment: split on `-`, `_`, `.` and camelCase boundaries, lower-cased.
fn words(segment: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in segment.chars() {
        if matches!(c, '-' | '_' | '.' | ':') {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if c.is_uppercase() && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            cur.extend(c.to_lowercase());
        } else {
            cur.extend(c.to_lowercase());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a segment names an action rather than a resource: a custom method (`{id}:cancel`,
/// `orders:batchGet`) or a verb (`cancel`, `mark-as-paid`, `getOrders`).
fn is_action_segment(segment: &str) -> bool {
    if is_param(segment) {
        return false;
    }
    if segment.contains(':') {
        return true;
    }
    VERB_SEGMENT.is_match(segment)
        || words(segment).first().is_some_and(|w| ACTION_VERBS.split_whitespace().any(|v| v == w))
}

/// Whether a segment reads as a plural noun (a collection) rather than a singleton.
fn looks_plural(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    if SINGLETONS.contains(&s.as_str()) || is_param(segment) {
        return false;
    }
    matches!(s.as_str(), "people" | "children")
        || (s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") && s.len() > 2)
}

/// Whether the path ends in a collection (`/orders`), as opposed to an item, an action or a
/// singleton sub-resource.
fn is_collection_path(path: &str) -> bool {
    segments(path).last().is_some_and(|s| !is_param(s) && !is_action_segment(s) && looks_plural(s))
}

/// The verb segments of a path (`getOrders`, `delete`).
fn verb_segments(path: &str) -> Vec<&str> {
    segments(path).into_iter().filter(|s| !is_param(s) && !s.contains(':') && VERB_SEGMENT.is_match(s)).collect()
}

/// Whether a path is public by name: health checks, sign-in, tokens, docs, `.well-known`,
/// callbacks... (a public segment not preceded by a path parameter).
fn is_public_path(path: &str) -> bool {
    for s in segments(path) {
        if is_param(s) {
            return false;
        }
        let lower = s.to_ascii_lowercase();
        let stem = lower.split('.').next().unwrap_or("");
        if PUBLIC_SEGMENTS.split_whitespace().any(|p| p == lower || p == stem) {
            return true;
        }
    }
    false
}

/// Whether a text claims rate limiting (and does not deny it: "not rate limited").
fn claims_rate_limit(text: &str) -> bool {
    RATE_CLAIM.find_iter(text).any(|m| {
        let mut from = m.start().saturating_sub(30);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        !NEGATION.is_match(&text[from..m.start()])
    })
}

/// A parameter name, normalised for the pagination lookup.
fn normalise_param(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | '[' | ']' | '.' | '$')).flat_map(char::to_lowercase).collect()
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

// ---------------------------------------------------------------------------------------------
// `$ref` resolution
// ---------------------------------------------------------------------------------------------

/// Resolves local `$ref`s, remembering the cycles and dangling references it met.
struct Resolver<'a> {
    doc: &'a Value,
    cycles: RefCell<BTreeSet<String>>,
    dangling: RefCell<BTreeSet<String>>,
}

impl<'a> Resolver<'a> {
    fn new(doc: &'a Value) -> Self {
        Resolver { doc, cycles: RefCell::default(), dangling: RefCell::default() }
    }

    /// The target of a `$ref` string, if local and present.
    fn target(&self, r: &str) -> Option<&'a Value> {
        let pointer = r.strip_prefix('#')?;
        let found = self.doc.pointer(&percent_decode(pointer));
        if found.is_none() {
            self.dangling.borrow_mut().insert(r.to_string());
        }
        found
    }

    /// Follows a `$ref` chain to its end; a cycle (or an external or dangling reference) returns
    /// where it stopped.
    fn resolve(&self, mut v: &'a Value) -> &'a Value {
        let mut seen: Vec<&'a str> = Vec::new();
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            if seen.contains(&r) || seen.len() >= MAX_REF_HOPS {
                self.cycles.borrow_mut().insert(r.to_string());
                return v;
            }
            seen.push(r);
            match self.target(r) {
                Some(t) => v = t,
                None => return v,
            }
        }
        v
    }

    /// The name of the last component a `$ref` chain points to (`Problem`), if `v` is a `$ref`.
    fn ref_name(&self, mut v: &'a Value) -> Option<String> {
        let mut name = None;
        let mut seen: Vec<&'a str> = Vec::new();
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            if seen.contains(&r) || seen.len() >= MAX_REF_HOPS {
                break;
            }
            seen.push(r);
            name = r.rsplit(['/', '#']).next().filter(|n| !n.is_empty()).map(str::to_string);
            match self.target(r) {
                Some(t) => v = t,
                None => break,
            }
        }
        name
    }

    /// The object at `key` of `v`, resolved.
    fn object(&self, v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
        v.get(key).map(|x| self.resolve(x)).and_then(Value::as_object)
    }

    /// The properties of a schema, with those of its `allOf` members.
    fn properties(&self, schema: &'a Value, depth: usize, out: &mut Vec<(&'a str, &'a Value)>) {
        if depth > MAX_SCHEMA_DEPTH {
            return;
        }
        let schema = self.resolve(schema);
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for member in all {
                self.properties(member, depth + 1, out);
            }
        }
    }

    /// Whether a schema is an array (`type: array`, `type: [array, "null"]`, or bare `items`).
    fn is_array(&self, schema: &'a Value) -> bool {
        let schema = self.resolve(schema);
        match schema.get("type") {
            Some(Value::String(t)) => t == "array",
            Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("array")),
            _ => schema.get("items").is_some() && schema.get("properties").is_none(),
        }
    }

    /// Whether a schema returns a list: an array, or an object with a list property (`items`, `data`...).
    fn is_list(&self, schema: &'a Value) -> bool {
        if self.is_array(schema) {
            return true;
        }
        let mut props = Vec::new();
        self.properties(schema, 0, &mut props);
        props.iter().any(|(k, v)| LIST_PROPERTIES.contains(&k.to_ascii_lowercase().as_str()) && self.is_array(v))
    }
}

// ---------------------------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------------------------

/// A line that starts with a mapping key.
#[derive(Debug)]
struct Entry {
    line: usize,
    indent: usize,
    key: String,
}

/// The key of a YAML or pretty-printed JSON line, with its indentation.
fn key_of(line: &str) -> Option<(usize, String)> {
    let line = line.trim_end();
    let mut indent = line.len() - line.trim_start().len();
    let mut t = line.trim_start();
    while let Some(rest) = t.strip_prefix("- ") {
        indent += 2 + (rest.len() - rest.trim_start().len());
        t = rest.trim_start();
    }
    let t = t.trim_start_matches(['{', ',', ' ', '\t']);
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let first = t.chars().next()?;
    if first == '"' || first == '\'' {
        let rest = &t[1..];
        let end = rest.find(first)?;
        let after = rest[end + 1..].trim_start();
        return after.starts_with(':').then(|| (indent, rest[..end].to_string()));
    }
    let end = t.find(": ").or_else(|| t.find(":\t")).or_else(|| t.strip_suffix(':').map(str::len))?;
    let key = t[..end].trim_end();
    (!key.is_empty()).then(|| (indent, key.to_string()))
}

/// Where the keys of a document are, to report findings on the line of the path, the operation
/// or the response. Good approximations: a key not found falls back to its parent's line.
struct Lines<'t> {
    text: &'t str,
    entries: Vec<Entry>,
    /// Path key → index in `entries`.
    paths: HashMap<String, usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        let entries: Vec<Entry> = text
            .lines()
            .enumerate()
            .filter_map(|(i, l)| key_of(l).map(|(indent, key)| Entry { line: i + 1, indent, key }))
            .collect();
        let mut paths = HashMap::new();
        let root = entries.iter().map(|e| e.indent).min().unwrap_or(0);
        if let Some(p) = entries.iter().position(|e| e.key == "paths" && e.indent == root) {
            for j in Self::children(&entries, p) {
                paths.entry(entries[j].key.clone()).or_insert(j);
            }
        }
        Lines { text, entries, paths }
    }

    /// The indices of the direct children of entry `parent`.
    fn children(entries: &[Entry], parent: usize) -> Vec<usize> {
        let pi = entries[parent].indent;
        let Some(child_indent) = entries.get(parent + 1).map(|e| e.indent).filter(|&i| i > pi) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (j, e) in entries.iter().enumerate().skip(parent + 1) {
            if e.indent <= pi {
                break;
            }
            if e.indent == child_indent {
                out.push(j);
            }
        }
        out
    }

    /// The direct child `key` of entry `parent`.
    fn child(&self, parent: usize, key: &str) -> Option<usize> {
        let pi = self.entries[parent].indent;
        let child_indent = self.entries.get(parent + 1).map(|e| e.indent).filter(|&i| i > pi)?;
        for (j, e) in self.entries.iter().enumerate().skip(parent + 1) {
            if e.indent <= pi {
                return None;
            }
            if e.indent == child_indent && e.key == key {
                return Some(j);
            }
        }
        None
    }

    /// The line of `paths.<path>.<keys...>`, as deep as it is found.
    fn at(&self, path: &str, keys: &[&str]) -> usize {
        let Some(&start) = self.paths.get(path) else {
            return [format!("\"{path}\""), format!("{path}:")]
                .iter()
                .filter_map(|n| self.text.find(n.as_str()))
                .min()
                .map_or(1, |i| 1 + self.text[..i].matches('\n').count());
        };
        let mut cur = start;
        for k in keys {
            match self.child(cur, k) {
                Some(j) => cur = j,
                None => break,
            }
        }
        self.entries[cur].line
    }

    /// The line of a top-level key, or 1.
    fn top(&self, key: &str) -> usize {
        let root = self.entries.iter().map(|e| e.indent).min().unwrap_or(0);
        self.entries.iter().find(|e| e.indent == root && e.key == key).map_or(1, |e| e.line)
    }
}

// ---------------------------------------------------------------------------------------------
// The lint
// ---------------------------------------------------------------------------------------------

/// How an operation is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// At least one requirement, none of them empty.
    Required,
    /// A requirement list with `{}`: anonymous access allowed.
    Optional,
    /// `security: []`.
    None,
}

fn security_of(v: &Value) -> Option<Security> {
    let list = v.get("security")?.as_array()?;
    Some(if list.is_empty() {
        Security::None
    } else if list.iter().any(|r| r.as_object().is_some_and(Map::is_empty)) {
        Security::Optional
    } else {
        Security::Required
    })
}

/// One operation of the document.
struct Op<'a> {
    path: &'a str,
    method: &'static str,
    op: &'a Value,
    item: &'a Value,
    line: usize,
}

impl Op<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }
}

/// One error response, for the error-schema comparison.
struct ErrorUse {
    /// What is compared: the property-name set, or the component name.
    identity: String,
    /// What the message shows: the component name, or the property set.
    display: String,
    what: String,
    line: usize,
    /// One finding per shared response component, or per operation and status.
    dedupe: String,
}

struct Lint<'a> {
    file: &'a SourceFile,
    doc: &'a Value,
    refs: Resolver<'a>,
    lines: Lines<'a>,
    findings: Vec<Finding>,
}

impl<'a> Lint<'a> {
    fn new(file: &'a SourceFile, doc: &'a Value) -> Self {
        Lint { file, doc, refs: Resolver::new(doc), lines: Lines::new(&file.text), findings: Vec::new() }
    }

    fn push(&mut self, rule: &str, severity: Severity, line: usize, message: String, fix: String, item: &str) {
        self.findings.push(Finding {
            rule: format!("openapi/{rule}"),
            severity,
            file: self.file.rel.clone(),
            line,
            message,
            fix,
            item: item.into(),
        });
    }

    /// Notes about `$ref` cycles and dangling local references met while linting.
    fn notes(&self) -> Vec<Note> {
        let mut out = Vec::new();
        let cycles = self.refs.cycles.borrow();
        if !cycles.is_empty() {
            out.push(Note {
                file: self.file.rel.clone(),
                message: format!(
                    "$ref cycle at {}: resolution stopped there",
                    cycles.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let dangling = self.refs.dangling.borrow();
        if !dangling.is_empty() {
            out.push(Note {
                file: self.file.rel.clone(),
                message: format!("$ref target not found: {}", dangling.iter().cloned().collect::<Vec<_>>().join(", ")),
            });
        }
        out
    }

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

    fn run(&mut self) {
        let doc = self.doc;
        let ops = self.operations();
        if ops.is_empty() {
            return;
        }
        let global = security_of(doc);
        let schemes = self.refs.object(doc, "components").and_then(|c| c.get("securitySchemes"));
        let scheme_name = schemes.and_then(Value::as_object).and_then(|s| s.keys().next().cloned());
        let any_secured =
            global == Some(Security::Required) || ops.iter().any(|o| security_of(o.op) == Some(Security::Required));
        let auth_defined = scheme_name.is_some() || any_secured;
        let info = doc.get("info");
        let doc_rate_claim =
            info.and_then(|i| i.get("description")).and_then(Value::as_str).is_some_and(claims_rate_limit)
                || [Some(doc), info].into_iter().flatten().any(has_rate_extension);

        self.versioning(&ops);
        let paths: BTreeSet<&str> = ops.iter().map(|o| o.path).collect();
        for path in paths {
            for seg in verb_segments(path) {
                let line = self.lines.at(path, &[]);
                let noun = noun_of(seg);
                self.push(
                    "verbs-in-path",
                    Severity::Low,
                    line,
                    format!("{path}: the segment `{seg}` is a verb; REST paths name resources"),
                    match noun {
                        Some(n) => format!(
                            "name the resource (`/{n}` instead of `/{seg}`) and let the HTTP method say what happens"
                        ),
                        None => format!(
                            "drop `/{seg}` and use the HTTP method on the resource (e.g. DELETE /orders/{{id}})"
                        ),
                    },
                    "api.rest-conventions",
                );
            }
        }
        let mut errors: Vec<ErrorUse> = Vec::new();
        // OPTIONS (CORS preflight, answered by the gateway without credentials) and TRACE are
        // not resource operations: none of the rules apply to them.
        for o in ops.iter().filter(|o| !matches!(o.method, "options" | "trace")) {
            let responses = self.refs.object(o.op, "responses");
            let codes: Vec<String> =
                responses.map(|r| r.keys().map(|k| k.to_ascii_uppercase()).collect()).unwrap_or_default();
            let has = |c: &str| codes.iter().any(|k| k == c);
            let has_class = |d: char| codes.iter().any(|k| k.starts_with(d));

            self.method_shape(o);

            if !has_class('2') && !has_class('3') && !has_class('1') {
                let suggest = match o.method {
                    "post" => "201 Created",
                    "delete" => "204 No Content",
                    _ => "200 OK",
                };
                self.push(
                    "missing-success-response",
                    Severity::Medium,
                    o.line,
                    format!("{} documents no 2xx response", o.name()),
                    format!("document the success status ({suggest}) and its body schema"),
                    "api.response-codes",
                );
            }
            if !has_class('4') && !has("DEFAULT") {
                self.push(
                    "missing-error-response",
                    Severity::Medium,
                    o.line,
                    format!("{} documents no 4xx response (and no `default`)", o.name()),
                    "document the client errors it returns (400 invalid input, 404 not found, 409/422...) with the \
                     shared error schema"
                        .into(),
                    "api.response-codes",
                );
            }

            let own = security_of(o.op);
            let effective = own.or(global);
            let requires = effective == Some(Security::Required);
            let explicit_public = matches!(own, Some(Security::None | Security::Optional))
                || (own.is_none() && global == Some(Security::Optional));
            let public = is_public_path(o.path);

            if requires {
                let missing: Vec<&str> = ["401", "403"].into_iter().filter(|c| !has(c) && !has("4XX")).collect();
                if !missing.is_empty() {
                    self.push(
                        "missing-auth-responses",
                        Severity::Medium,
                        o.line,
                        format!("{} requires authentication but documents no {}", o.name(), missing.join(" or ")),
                        "add a 401 response (missing or invalid credentials, with WWW-Authenticate) and a 403 \
                         response (authenticated but not allowed), both with the shared error schema"
                            .into(),
                        "security.authorization",
                    );
                }
            } else if !explicit_public && !public && auth_defined {
                let scheme = scheme_name.as_deref().unwrap_or("bearerAuth");
                self.push(
                    "no-security-scheme",
                    Severity::High,
                    o.line,
                    format!(
                        "{} has no security requirement while the API defines authentication{}",
                        o.name(),
                        if any_secured { " and secures other operations" } else { "" }
                    ),
                    format!(
                        "add `security: [{{ {scheme}: [] }}]` to the operation (or a global `security`), or mark it \
                         public explicitly with `security: []`"
                    ),
                    "security.authorization",
                );
            }

            let op_claim = self.op_claims_rate(o);
            if (op_claim || (doc_rate_claim && !public)) && !has("429") {
                let source =
                    if op_claim { "the operation claims rate limiting" } else { "the API claims rate limiting" };
                self.push(
                    "rate-limit-not-documented",
                    Severity::Medium,
                    o.line,
                    format!("{source} but {} documents no 429 response", o.name()),
                    "add a 429 response with a Retry-After header (and RateLimit headers) to the operation".into(),
                    "api.rate-limiting",
                );
            }

            self.pagination(o);

            if let Some(responses) = responses {
                for (code, resp) in responses {
                    let upper = code.to_ascii_uppercase();
                    if (upper.starts_with('4') || upper.starts_with('5') || upper == "DEFAULT")
                        && let Some(e) = self.error_use(o, code, resp)
                    {
                        errors.push(e);
                    }
                }
            }
        }
        self.error_schemas(errors);
    }

    fn method_shape(&mut self, o: &Op<'a>) {
        let segs = segments(o.path);
        let parent = format!("/{}", segs[..segs.len().saturating_sub(1)].join("/"));
        match o.method {
            "post" if is_item_path(o.path) => self.push(
                "method-path-shape",
                Severity::Medium,
                o.line,
                format!("POST {}: POST creates in a collection, but this path names one item", o.path),
                format!(
                    "POST to the collection ({parent}) to create; use PUT or PATCH on {} to change the item, or make \
                     the action a sub-resource (POST {}/cancel)",
                    o.path, o.path
                ),
                "api.http-methods",
            ),
            "put" | "patch" | "delete" if is_collection_path(o.path) => {
                let m = o.method.to_ascii_uppercase();
                self.push(
                    "method-path-shape",
                    Severity::Medium,
                    o.line,
                    format!("{m} {}: {m} on a whole collection", o.path),
                    format!(
                        "{m} one item ({}/{{id}}); a bulk change needs an explicit action resource (POST {}/batch)",
                        o.path, o.path
                    ),
                    "api.http-methods",
                );
            }
            _ => {}
        }
        if o.method == "get" && o.op.get("requestBody").is_some() {
            self.push(
                "method-path-shape",
                Severity::Medium,
                o.line,
                format!("GET {} has a request body, which clients, proxies and caches drop", o.path),
                format!(
                    "move the inputs to query parameters, or use POST on a search action ({}/search) when they do \
                     not fit in a URL",
                    o.path.trim_end_matches('/')
                ),
                "api.http-methods",
            );
        }
    }

    fn op_claims_rate(&self, o: &Op<'a>) -> bool {
        let text_claim = |v: &Value| {
            ["description", "summary"].iter().any(|k| v.get(*k).and_then(Value::as_str).is_some_and(claims_rate_limit))
        };
        if text_claim(o.op) || text_claim(o.item) || has_rate_extension(o.op) || has_rate_extension(o.item) {
            return true;
        }
        self.refs.object(o.op, "responses").is_some_and(|rs| {
            rs.values().any(|r| {
                self.refs
                    .object(self.refs.resolve(r), "headers")
                    .is_some_and(|h| h.keys().any(|k| RATE_HEADER.is_match(k)))
            })
        })
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

    fn pagination(&mut self, o: &Op<'a>) {
        if o.method != "get" || !is_collection_path(o.path) {
            return;
        }
        let Some(responses) = self.refs.object(o.op, "responses") else { return };
        let mut ok: Vec<(&String, &Value)> = responses.iter().filter(|(k, _)| k.starts_with('2')).collect();
        ok.sort_by_key(|(k, _)| k.as_str());
        let Some((_, resp)) = ok.first() else { return };
        let Some(content) = self.refs.object(self.refs.resolve(resp), "content") else { return };
        let lists = content
            .iter()
            .filter(|(media, _)| media.contains("json"))
            .filter_map(|(_, m)| m.get("schema"))
            .any(|s| self.refs.is_list(s));
        if !lists {
            return;
        }
        let paginated = self.parameters(o).iter().any(|p| {
            p.get("in").and_then(Value::as_str) == Some("query")
                && p.get("name").and_then(Value::as_str).is_some_and(|n| {
                    let n = normalise_param(n);
                    PAGINATION.split_whitespace().any(|p| p == n) || n.starts_with("page")
                })
        });
        if !paginated {
            self.push(
                "collection-without-pagination",
                Severity::Low,
                o.line,
                format!("GET {} returns a list without pagination parameters", o.path),
                "add cursor-based (`cursor`, `limit`) or offset-based (`limit`, `offset`) query parameters and \
                 return the next cursor or a Link header"
                    .into(),
                "api.pagination",
            );
        }
    }

    fn versioning(&mut self, ops: &[Op<'a>]) {
        let doc = self.doc;
        // A version prefix (/v1), or a version path parameter (/{dataset}/{version}/fields).
        let in_path =
            |p: &str| PATH_VERSION.is_match(p) || segments(p).iter().any(|s| is_param(s) && VERSION_WORD.is_match(s));
        if ops.iter().any(|o| in_path(o.path)) {
            return;
        }
        let servers = doc.get("servers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for server in servers {
            let Some(url) = server.get("url").and_then(Value::as_str) else { continue };
            let mut expanded = url.to_string();
            if let Some(vars) = server.get("variables").and_then(Value::as_object) {
                for (name, var) in vars {
                    if let Some(default) = var.get("default").and_then(Value::as_str) {
                        expanded = expanded.replace(&format!("{{{name}}}"), default);
                    }
                }
            }
            if PATH_VERSION.is_match(url) || PATH_VERSION.is_match(&expanded) {
                return;
            }
        }
        let mut params: Vec<&Value> = ops.iter().flat_map(|o| self.parameters(o)).collect();
        if let Some(shared) =
            self.refs.object(doc, "components").and_then(|c| c.get("parameters")).and_then(Value::as_object)
        {
            params.extend(shared.values().map(|p| self.refs.resolve(p)));
        }
        let by_param = params.iter().any(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            match p.get("in").and_then(Value::as_str) {
                Some("header") => VERSION_WORD.is_match(name),
                Some("query") => VERSION_QUERY.is_match(name),
                _ => false,
            }
        });
        if by_param || media_type_versioned(doc) {
            return;
        }
        let line = self.lines.top("openapi");
        self.push(
            "no-versioning",
            Severity::Low,
            line,
            "no API version in the paths (/v1/...), the server URLs, a version header or the media types".into(),
            "put the major version in the path prefix (/v1/...) or the server URL (https://api.example.com/v1), or \
             document a version header (API-Version), and state the deprecation policy"
                .into(),
            "api.versioning",
        );
    }

    fn error_use(&self, o: &Op<'a>, code: &str, resp: &'a Value) -> Option<ErrorUse> {
        let resolved = self.refs.resolve(resp);
        let content = self.refs.object(resolved, "content")?;
        let (_, media) = content
            .iter()
            .find(|(m, _)| m.contains("problem+json"))
            .or_else(|| content.iter().find(|(m, _)| m.as_str() == "application/json"))
            .or_else(|| content.iter().find(|(m, _)| m.contains("json")))?;
        let schema = media.get("schema")?;
        if self.refs.resolve(schema).get("$ref").and_then(Value::as_str).is_some_and(|r| r.starts_with('#')) {
            // A local cycle or a dangling reference: nothing to compare (the notes say so).
            return None;
        }
        let name = self.refs.ref_name(schema);
        let mut props: Vec<(&str, &Value)> = Vec::new();
        self.refs.properties(schema, 0, &mut props);
        let mut keys: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        let shape = format!("{{{}}}", keys.join(", "));
        let identity = if keys.is_empty() { name.clone()? } else { shape.clone() };
        let display = name.unwrap_or(shape);
        let dedupe = match resp.get("$ref").and_then(Value::as_str) {
            Some(r) => r.to_string(),
            None => format!("{} {code}", o.name()),
        };
        let line = self.lines.at(o.path, &[o.method, "responses", code]);
        Some(ErrorUse { identity, display, what: format!("{} {code}", o.name()), line, dedupe })
    }

    fn error_schemas(&mut self, errors: Vec<ErrorUse>) {
        // identity → (count, first index, display counts)
        let mut groups: BTreeMap<&str, (usize, usize, BTreeMap<&str, usize>)> = BTreeMap::new();
        for (i, e) in errors.iter().enumerate() {
            let g = groups.entry(e.identity.as_str()).or_insert((0, i, BTreeMap::new()));
            g.0 += 1;
            *g.2.entry(e.display.as_str()).or_default() += 1;
        }
        if groups.len() < 2 {
            return;
        }
        let Some((majority, (count, _, displays))) =
            groups.iter().max_by(|a, b| (a.1.0, std::cmp::Reverse(a.1.1)).cmp(&(b.1.0, std::cmp::Reverse(b.1.1))))
        else {
            return;
        };
        let majority_display =
            displays.iter().max_by_key(|(_, n)| **n).map_or_else(|| majority.to_string(), |(d, _)| d.to_string());
        let majority = majority.to_string();
        let count = *count;
        let total = errors.len();
        let mut done: BTreeSet<String> = BTreeSet::new();
        for e in &errors {
            if e.identity == majority || !done.insert(e.dedupe.clone()) {
                continue;
            }
            self.push(
                "inconsistent-error-schema",
                Severity::Medium,
                e.line,
                format!(
                    "{} returns the error schema {}; {count} of {total} error responses use {majority_display}",
                    e.what, e.display
                ),
                format!(
                    "return {majority_display} for this response too (one shared error schema, e.g. RFC 9457 problem \
                     details via `$ref`), so clients parse every error the same way"
                ),
                "api.error-responses",
            );
        }
    }
}

/// Whether an object has an `x-ratelimit-*` / `x-rate-limit` / `x-throttling` extension.
fn has_rate_extension(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.keys().any(|k| RATE_EXTENSION.is_match(k)))
}

/// The noun of a verb segment: `getOrders` → `orders`, `delete` → none.
fn noun_of(segment: &str) -> Option<String> {
    let w = words(segment);
    (w.len() > 1).then(|| w[1..].join("-"))
}

/// Whether any media type of the document carries a version (`application/vnd.acme.v2+json`,
/// `application/json; version=2`).
fn media_type_versioned(doc: &Value) -> bool {
    let mut stack: Vec<&Value> = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "content"
                        && let Some(media) = child.as_object()
                        && media.keys().any(|m| VERSION_MEDIA_TYPE.is_match(m))
                    {
                        return true;
                    }
                    stack.push(child);
                }
            }
            Value::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_shapes() {
        assert!(is_param("{id}") && !is_param("{id}:cancel") && !is_param("orders") && !is_param("{a}{b}"));
        assert!(is_item_path("/v1/orders/{id}") && !is_item_path("/v1/orders") && !is_item_path("/orders/{id}:cancel"));
        assert!(is_collection_path("/v1/orders") && is_collection_path("/people"));
        assert!(!is_collection_path("/v1/orders/{id}") && !is_collection_path("/v1/orders/{id}/cancel"));
        assert!(!is_collection_path("/v1/me/settings") && !is_collection_path("/users/{id}/avatar"));
        assert!(!is_collection_path("/v1/orders/batch") && !is_collection_path("/orders:batchUpdate"));
        assert!(!is_collection_path("/v1/orders/{id}/mark-as-paid") && !is_collection_path("/address"));
        assert!(is_action_segment("cancel") && is_action_segment("mark-as-paid") && is_action_segment("getOrders"));
        assert!(!is_action_segment("orders") && !is_action_segment("{id}"));
    }

    #[test]
    fn verbs_in_paths() {
        assert_eq!(verb_segments("/getOrders"), ["getOrders"]);
        assert_eq!(verb_segments("/v1/orders/{id}/delete"), ["delete"]);
        assert_eq!(verb_segments("/create-order/update_status"), ["create-order", "update_status"]);
        for ok in ["/settings", "/address", "/listings", "/updates", "/orders/{getId}", "/v1/orders/{id}:delete"] {
            assert!(verb_segments(ok).is_empty(), "{ok}");
        }
        assert_eq!(noun_of("getOrders").as_deref(), Some("orders"));
        assert_eq!(noun_of("delete"), None);
    }

    #[test]
    fn public_paths() {
        for p in ["/health", "/v1/health", "/api/v1/auth/login", "/.well-known/jwks.json", "/openapi.json", "/docs/{f}"]
        {
            assert!(is_public_path(p), "{p}");
        }
        for p in ["/v1/orders", "/v1/orders/{id}/status", "/v1/reports"] {
            assert!(!is_public_path(p), "{p}");
        }
    }

    #[test]
    fn rate_limit_claims_and_denials() {
        assert!(claims_rate_limit("All endpoints are rate limited per API key."));
        assert!(claims_rate_limit("Requests are throttled."));
        assert!(claims_rate_limit("See the rate-limit section."));
        assert!(!claims_rate_limit("This endpoint is not rate limited."));
        assert!(!claims_rate_limit("It isn't throttled."));
        assert!(!claims_rate_limit("Orders API."));
    }

    #[test]
    fn keys_of_lines() {
        assert_eq!(key_of("  /orders/{id}:"), Some((2, "/orders/{id}".into())));
        assert_eq!(key_of("    get: # comment"), Some((4, "get".into())));
        assert_eq!(key_of(r#"    "/orders": {"#), Some((4, "/orders".into())));
        assert_eq!(key_of("        '200': { description: x }"), Some((8, "200".into())));
        assert_eq!(key_of("      - name: id"), Some((8, "name".into())));
        assert_eq!(key_of("  # comment: no"), None);
        assert_eq!(key_of("  - plain item"), None);
        assert_eq!(key_of("  description: a: b"), Some((2, "description".into())));
    }

    #[test]
    fn lines_of_paths_operations_and_responses() {
        let text = "openapi: 3.1.0\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          \
                    application/json:\n            schema:\n              properties:\n                get: {}\n    \
                    get:\n      responses:\n        '404': {}\n";
        let lines = Lines::new(text);
        assert_eq!(lines.at("/a", &[]), 3);
        assert_eq!(lines.at("/a", &["post"]), 4);
        assert_eq!(lines.at("/a", &["get"]), 11, "a property named `get` is not the operation");
        assert_eq!(lines.at("/a", &["get", "responses", "404"]), 13);
        assert_eq!(lines.at("/missing", &["get"]), 1);
        assert_eq!(lines.top("openapi"), 1);
    }

    #[test]
    fn ref_cycles_stop_and_are_remembered() {
        let doc = json!({
            "components": { "schemas": {
                "A": { "$ref": "#/components/schemas/B" },
                "B": { "$ref": "#/components/schemas/A" },
                "C": { "allOf": [{ "$ref": "#/components/schemas/C" }, { "properties": { "x": {} } }] },
                "Problem": { "properties": { "title": {} } },
                "Alias": { "$ref": "#/components/schemas/Problem" }
            }}
        });
        let r = Resolver::new(&doc);
        let a = json!({ "$ref": "#/components/schemas/A" });
        assert!(r.resolve(&a).get("$ref").is_some());
        assert!(!r.cycles.borrow().is_empty());
        assert!(!r.is_list(&a));
        let mut props = Vec::new();
        let c = json!({ "$ref": "#/components/schemas/C" });
        r.properties(&c, 0, &mut props);
        assert!(props.iter().any(|(k, _)| *k == "x"));
        assert_eq!(r.ref_name(&json!({ "$ref": "#/components/schemas/Alias" })).as_deref(), Some("Problem"));
        let missing = json!({ "$ref": "#/components/schemas/Nope" });
        r.resolve(&missing);
        assert!(r.dangling.borrow().contains("#/components/schemas/Nope"));
    }

    #[test]
    fn param_names_and_percent_decoding() {
        assert_eq!(normalise_param("page[size]"), "pagesize");
        assert_eq!(normalise_param("per_page"), "perpage");
        assert_eq!(normalise_param("$top"), "top");
        assert_eq!(percent_decode("/paths/~1orders~1%7Bid%7D"), "/paths/~1orders~1{id}");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn version_detection() {
        for p in ["/v1/orders", "/api/v2", "/2024-01-01/orders"] {
            assert!(PATH_VERSION.is_match(p), "{p}");
        }
        assert!(PATH_VERSION.is_match("https://v2.api.example.com"));
        assert!(!PATH_VERSION.is_match("/orders/validate") && !PATH_VERSION.is_match("https://api.example.com"));
        assert!(media_type_versioned(&json!({ "x": { "content": { "application/vnd.acme.v2+json": {} } } })));
        assert!(!media_type_versioned(&json!({ "x": { "content": { "application/json": {} } } })));
    }
}
