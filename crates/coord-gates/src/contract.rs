//! API contract diff: every change between two OpenAPI documents, classified as breaking or not
//! for existing clients (removed paths and operations, new required parameters or fields,
//! retyped or removed fields, narrowed request enums, added security, removed media types...).
//! `coord contract diff OLD NEW` prints it.

use serde::Serialize;
use serde_json::{Map, Value};

/// Whether a change breaks existing clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    /// Existing clients may fail.
    Breaking,
    /// Existing clients keep working.
    NonBreaking,
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Breaking or not.
    pub impact: Impact,
    /// Stable code, e.g. `operation-removed`.
    pub code: &'static str,
    /// Where: `GET /orders`, `GET /orders 200 items[].total`...
    pub location: String,
    /// What changed.
    pub detail: String,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const DEPTH: usize = 12;

struct Differ<'a> {
    old: &'a Value,
    new: &'a Value,
    out: Vec<Change>,
}

fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..20 {
        match v.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix('#')).and_then(|p| doc.pointer(p)) {
            Some(t) if !std::ptr::eq(t, v) => v = t,
            _ => return v,
        }
    }
    v
}

fn obj(v: &Value, key: &str) -> Map<String, Value> {
    v.get(key).and_then(|x| x.as_object()).cloned().unwrap_or_default()
}

fn type_of(doc: &Value, s: &Value) -> String {
    let s = resolve(doc, s);
    match s.get("type") {
        Some(Value::String(t)) => match s.get("format").and_then(|f| f.as_str()) {
            Some(f) => format!("{t}({f})"),
            None => t.clone(),
        },
        Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>().join("|"),
        _ if s.get("properties").is_some() => "object".into(),
        _ => String::new(),
    }
}

fn required(doc: &Value, s: &Value) -> Vec<String> {
    resolve(doc, s)
        .get("required")
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn enum_values(doc: &Value, s: &Value) -> Option<Vec<String>> {
    resolve(doc, s).get("enum").and_then(|e| e.as_array()).map(|a| a.iter().map(|v| v.to_string()).collect())
}

/// Which way data flows through a schema: clients send requests and read responses.
#[derive(Clone, Copy, PartialEq)]
enum Flow {
    Request,
    Response,
}

impl Differ<'_> {
    fn push(&mut self, impact: Impact, code: &'static str, location: String, detail: String) {
        self.out.push(Change { impact, code, location, detail });
    }

    fn schema(&mut self, at: &str, old: &Value, new: &Value, flow: Flow, depth: usize) {
        if depth > DEPTH {
            return;
        }
        let (o, n) = (resolve(self.old, old), resolve(self.new, new));
        let (ot, nt) = (type_of(self.old, o), type_of(self.new, n));
        if !ot.is_empty() && !nt.is_empty() && ot != nt {
            let code = if flow == Flow::Request { "request-field-type-changed" } else { "response-field-type-changed" };
            self.push(Impact::Breaking, code, at.into(), format!("type {ot} → {nt}"));
            return;
        }
        if let (Some(ov), Some(nv)) = (enum_values(self.old, o), enum_values(self.new, n)) {
            let removed: Vec<&String> = ov.iter().filter(|v| !nv.contains(v)).collect();
            let added: Vec<&String> = nv.iter().filter(|v| !ov.contains(v)).collect();
            if !removed.is_empty() {
                let (impact, code) = match flow {
                    Flow::Request => (Impact::Breaking, "request-enum-narrowed"),
                    Flow::Response => (Impact::NonBreaking, "response-enum-narrowed"),
                };
                self.push(
                    impact,
                    code,
                    at.into(),
                    format!("values removed: {}", removed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                );
            }
            if !added.is_empty() {
                let (impact, code) = match flow {
                    Flow::Request => (Impact::NonBreaking, "request-enum-widened"),
                    // A client that matches every value of a response enum meets one it does not know.
                    Flow::Response => (Impact::Breaking, "response-enum-widened"),
                };
                self.push(
                    impact,
                    code,
                    at.into(),
                    format!("values added: {}", added.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                );
            }
        }
        if let (Some(oi), Some(ni)) = (o.get("items"), n.get("items")) {
            self.schema(&format!("{at}[]"), oi, ni, flow, depth + 1);
        }
        let (op, np) = (obj(o, "properties"), obj(n, "properties"));
        let (or, nr) = (required(self.old, o), required(self.new, n));
        for (name, os) in &op {
            let field = format!("{at}.{name}");
            match np.get(name) {
                None => match flow {
                    Flow::Response => self.push(
                        Impact::Breaking,
                        "response-field-removed",
                        field,
                        "clients reading it get nothing".into(),
                    ),
                    Flow::Request => self.push(
                        Impact::NonBreaking,
                        "request-field-removed",
                        field,
                        "the server ignores it now".into(),
                    ),
                },
                Some(ns) => {
                    let was = or.contains(name);
                    let is = nr.contains(name);
                    match (flow, was, is) {
                        (Flow::Request, false, true) => self.push(
                            Impact::Breaking,
                            "request-field-made-required",
                            field.clone(),
                            "clients that omit it are refused".into(),
                        ),
                        (Flow::Request, true, false) => {
                            self.push(Impact::NonBreaking, "request-field-made-optional", field.clone(), String::new())
                        }
                        (Flow::Response, true, false) => self.push(
                            Impact::Breaking,
                            "response-field-made-optional",
                            field.clone(),
                            "clients relying on it may get nothing".into(),
                        ),
                        _ => {}
                    }
                    self.schema(&field, os, ns, flow, depth + 1);
                }
            }
        }
        for name in np.keys().filter(|k| !op.contains_key(*k)) {
            let field = format!("{at}.{name}");
            match (flow, nr.contains(name)) {
                (Flow::Request, true) => self.push(
                    Impact::Breaking,
                    "request-field-required-added",
                    field,
                    "existing clients do not send it".into(),
                ),
                (Flow::Request, false) => {
                    self.push(Impact::NonBreaking, "request-field-optional-added", field, String::new())
                }
                (Flow::Response, _) => self.push(Impact::NonBreaking, "response-field-added", field, String::new()),
            }
        }
    }

    fn params(&self, doc: &Value, path_item: &Value, op: &Value) -> Vec<(String, String, Value)> {
        let mut out: Vec<(String, String, Value)> = Vec::new();
        for list in [path_item.get("parameters"), op.get("parameters")] {
            for p in list.and_then(|l| l.as_array()).into_iter().flatten() {
                let p = resolve(doc, p);
                let name = p.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
                let loc = p.get("in").and_then(|n| n.as_str()).unwrap_or("").to_string();
                out.retain(|(n, l, _)| !(n == &name && l == &loc));
                out.push((name, loc, p.clone()));
            }
        }
        out
    }

    fn security(doc: &Value, op: &Value) -> Vec<String> {
        let list = op.get("security").or_else(|| doc.get("security"));
        let mut names: Vec<String> = list
            .and_then(|l| l.as_array())
            .map(|a| a.iter().filter_map(|r| r.as_object()).flat_map(|o| o.keys().cloned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    fn operation(&mut self, path: &str, method: &str, oi: &Value, o: &Value, ni: &Value, n: &Value) {
        let at = format!("{} {path}", method.to_ascii_uppercase());
        // Parameters.
        let (op, np) = (self.params(self.old, oi, o), self.params(self.new, ni, n));
        for (name, loc, p) in &op {
            let shown = format!("{at} {loc} parameter `{name}`");
            match np.iter().find(|(nn, nl, _)| nn == name && nl == loc) {
                None => self.push(
                    Impact::Breaking,
                    "parameter-removed",
                    shown,
                    "clients that send it may be refused or misunderstood".into(),
                ),
                Some((_, _, q)) => {
                    let was = p.get("required").and_then(|r| r.as_bool()).unwrap_or(false);
                    let is = q.get("required").and_then(|r| r.as_bool()).unwrap_or(false);
                    if !was && is {
                        self.push(Impact::Breaking, "parameter-made-required", shown.clone(), String::new());
                    } else if was && !is {
                        self.push(Impact::NonBreaking, "parameter-made-optional", shown.clone(), String::new());
                    }
                    if let (Some(os), Some(ns)) = (p.get("schema"), q.get("schema")) {
                        self.schema(&shown, os, ns, Flow::Request, 0);
                    }
                }
            }
        }
        for (name, loc, q) in &np {
            if !op.iter().any(|(on, ol, _)| on == name && ol == loc) {
                let shown = format!("{at} {loc} parameter `{name}`");
                if q.get("required").and_then(|r| r.as_bool()).unwrap_or(false) {
                    self.push(
                        Impact::Breaking,
                        "required-parameter-added",
                        shown,
                        "existing clients do not send it".into(),
                    );
                } else {
                    self.push(Impact::NonBreaking, "optional-parameter-added", shown, String::new());
                }
            }
        }
        // Request body.
        let (ob, nb) =
            (o.get("requestBody").map(|b| resolve(self.old, b)), n.get("requestBody").map(|b| resolve(self.new, b)));
        match (ob, nb) {
            (None, Some(b)) if b.get("required").and_then(|r| r.as_bool()).unwrap_or(false) => {
                self.push(Impact::Breaking, "request-body-required-added", at.clone(), String::new())
            }
            (Some(b), Some(c)) => {
                let was = b.get("required").and_then(|r| r.as_bool()).unwrap_or(false);
                let is = c.get("required").and_then(|r| r.as_bool()).unwrap_or(false);
                if !was && is {
                    self.push(Impact::Breaking, "request-body-made-required", at.clone(), String::new());
                }
                let (bc, cc) = (obj(b, "content"), obj(c, "content"));
                for (media, m) in &bc {
                    match cc.get(media) {
                        None => self.push(
                            Impact::Breaking,
                            "request-media-type-removed",
                            format!("{at} {media}"),
                            "clients sending it are refused".into(),
                        ),
                        Some(mm) => {
                            if let (Some(os), Some(ns)) = (m.get("schema"), mm.get("schema")) {
                                self.schema(&format!("{at} request"), os, ns, Flow::Request, 0);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        // Responses.
        let (or, nr) = (obj(o, "responses"), obj(n, "responses"));
        for (code, r) in &or {
            match nr.get(code) {
                None if code.starts_with('2') => {
                    self.push(Impact::Breaking, "success-response-removed", format!("{at} {code}"), String::new())
                }
                None => self.push(Impact::NonBreaking, "error-response-removed", format!("{at} {code}"), String::new()),
                Some(s) => {
                    let (rc, sc) = (obj(resolve(self.old, r), "content"), obj(resolve(self.new, s), "content"));
                    for (media, m) in &rc {
                        match sc.get(media) {
                            None => self.push(
                                Impact::Breaking,
                                "response-media-type-removed",
                                format!("{at} {code} {media}"),
                                String::new(),
                            ),
                            Some(mm) => {
                                if let (Some(os), Some(ns)) = (m.get("schema"), mm.get("schema")) {
                                    self.schema(&format!("{at} {code}"), os, ns, Flow::Response, 0);
                                }
                            }
                        }
                    }
                }
            }
        }
        for code in nr.keys().filter(|c| !or.contains_key(*c)) {
            self.push(Impact::NonBreaking, "response-added", format!("{at} {code}"), String::new());
        }
        // Security.
        let (os, ns) = (Self::security(self.old, o), Self::security(self.new, n));
        if os != ns {
            match (os.is_empty(), ns.is_empty()) {
                (true, false) => {
                    self.push(Impact::Breaking, "security-added", at.clone(), format!("now requires {}", ns.join(", ")))
                }
                (false, true) => self.push(Impact::NonBreaking, "security-removed", at.clone(), "now public".into()),
                _ => self.push(
                    Impact::Breaking,
                    "security-changed",
                    at.clone(),
                    format!("{} → {}", os.join(", "), ns.join(", ")),
                ),
            }
        }
        if !o.get("deprecated").and_then(|d| d.as_bool()).unwrap_or(false)
            && n.get("deprecated").and_then(|d| d.as_bool()).unwrap_or(false)
        {
            self.push(Impact::NonBreaking, "operation-deprecated", at, String::new());
        }
    }
}

/// Every change from `old` to `new`, breaking ones first.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut d = Differ { old, new, out: Vec::new() };
    let (op, np) = (obj(old, "paths"), obj(new, "paths"));
    for (path, oi) in &op {
        let oi = resolve(old, oi);
        match np.get(path).map(|ni| resolve(new, ni)) {
            None => d.push(Impact::Breaking, "path-removed", path.clone(), "clients calling it get 404".into()),
            Some(ni) => {
                for m in METHODS {
                    match (oi.get(m), ni.get(m)) {
                        (Some(_), None) => d.push(
                            Impact::Breaking,
                            "operation-removed",
                            format!("{} {path}", m.to_ascii_uppercase()),
                            String::new(),
                        ),
                        (None, Some(_)) => d.push(
                            Impact::NonBreaking,
                            "operation-added",
                            format!("{} {path}", m.to_ascii_uppercase()),
                            String::new(),
                        ),
                        (Some(o), Some(n)) => d.operation(path, m, oi, o, ni, n),
                        (None, None) => {}
                    }
                }
            }
        }
    }
    for path in np.keys().filter(|p| !op.contains_key(*p)) {
        d.push(Impact::NonBreaking, "path-added", path.clone(), String::new());
    }
    let mut out = d.out;
    out.sort_by(|a, b| (a.impact, &a.location, a.code).cmp(&(b.impact, &b.location, b.code)));
    out
}
