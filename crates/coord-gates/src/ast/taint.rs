//! Taint within one function: data from a source (request data, or what a rule names) reaching
//! a sink's focus through assignments, without passing through a sanitizer.
//!
//! The analysis is per function and flow-insensitive: a variable is tainted when any assignment
//! to it in the function (or in an enclosing one, for callbacks and lambdas) has a tainted right
//! side. Helpers of the same file are followed one level: [`Taint::reaching_parameters`] finds
//! the parameters of a function that reach a sink, [`local_call`] the calls by bare name, `this.`
//! or `self.` that hand request data to them. What it cannot see: calls into other files (a
//! wrapper class around `exec`), helpers of helpers,
//! fields and globals, taint through containers mutated by method calls (`list.add(x)`), and
//! framework binding it does not know. Parameters are sources where the framework fills them
//! from the request: Spring handler methods (`@*Mapping`), parameters annotated `@RequestParam`,
//! `@PathVariable`, `@RequestBody`, `@RequestHeader`, `@CookieValue`; Flask/FastAPI route
//! functions and Django views (the parameters after `request`); NestJS `@Body()`, `@Query()`,
//! `@Param()`, `@Headers()` parameters.

use super::lang::Lang;
use super::rule::Sink;
use ast_grep_core::Node;
use ast_grep_core::tree_sitter::StrDoc;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// A node of a parsed file.
pub type TsNode<'r> = Node<'r, StrDoc<Lang>>;

fn is_function(lang: Lang, kind: &str) -> bool {
    match lang {
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => matches!(
            kind,
            "function_declaration"
                | "function_expression"
                | "function"
                | "arrow_function"
                | "method_definition"
                | "generator_function_declaration"
                | "generator_function"
        ),
        Lang::Python => kind == "function_definition",
        Lang::Java => matches!(kind, "method_declaration" | "constructor_declaration" | "lambda_expression"),
    }
}

/// (left, right) of an assignment-like node.
fn assignment<'r>(lang: Lang, n: &TsNode<'r>) -> Option<(TsNode<'r>, TsNode<'r>)> {
    let kind = n.kind();
    let (l, r) = match (lang, kind.as_ref()) {
        (Lang::Java, "variable_declarator")
        | (Lang::JavaScript | Lang::TypeScript | Lang::Tsx, "variable_declarator") => ("name", "value"),
        (Lang::Java, "enhanced_for_statement") => ("name", "value"),
        (_, "assignment_expression" | "augmented_assignment_expression" | "assignment" | "augmented_assignment") => {
            ("left", "right")
        }
        (Lang::Python, "for_statement") | (Lang::JavaScript | Lang::TypeScript | Lang::Tsx, "for_in_statement") => {
            ("left", "right")
        }
        _ => return None,
    };
    Some((n.field(l)?, n.field(r)?))
}

fn is_identifier(kind: &str) -> bool {
    matches!(kind, "identifier" | "shorthand_property_identifier" | "shorthand_property_identifier_pattern")
}

/// Names a left side binds (`a`, `{a, b}`, `[a, b]`, `a, b`, and the base object of `a.b`).
fn bound_names(left: &TsNode<'_>, out: &mut Vec<String>) {
    if is_identifier(&left.kind()) {
        out.push(left.text().to_string());
        return;
    }
    match left.kind().as_ref() {
        "member_expression" | "attribute" | "field_access" | "subscript_expression" | "subscript" => {
            if let Some(base) = left.field("object").or_else(|| left.field("value")).or_else(|| left.child(0)) {
                bound_names(&base, out);
            }
        }
        _ => {
            for c in left.children() {
                if c.kind() == "pair_pattern" {
                    if let Some(v) = c.field("value") {
                        bound_names(&v, out);
                    }
                } else if c.kind() != "property_identifier" {
                    bound_names(&c, out);
                }
            }
        }
    }
}

static JAVA_SOURCE_ANNOTATIONS: &[&str] =
    &["RequestParam", "PathVariable", "RequestBody", "RequestHeader", "CookieValue", "ModelAttribute", "RequestPart"];
static JAVA_SIMPLE_TYPES: &[&str] = &[
    "String",
    "String[]",
    "CharSequence",
    "Integer",
    "Long",
    "int",
    "long",
    "Object",
    "List<String>",
    "MultipartFile",
    "MultipartFile[]",
];
static PY_NOT_REQUEST_PARAMS: &[&str] = &["self", "cls", "request", "req", "db", "session", "conn", "background_tasks"];

/// Parameters the framework fills from the request.
fn request_parameters(lang: Lang, func: &TsNode<'_>, out: &mut HashSet<String>) {
    match lang {
        Lang::Java => {
            let mapped = func
                .field("body")
                .is_some()
                .then(|| func.children().find(|c| c.kind() == "modifiers"))
                .flatten()
                .is_some_and(|m| {
                    let t = m.text();
                    t.contains("Mapping")
                        && (t.contains("@GetMapping")
                            || t.contains("@PostMapping")
                            || t.contains("@RequestMapping")
                            || t.contains("@PutMapping")
                            || t.contains("@DeleteMapping")
                            || t.contains("@PatchMapping"))
                });
            let Some(params) = func.field("parameters") else { return };
            for p in params.children().filter(|p| p.kind() == "formal_parameter") {
                let text = p.text();
                let annotated = JAVA_SOURCE_ANNOTATIONS.iter().any(|a| text.contains(&format!("@{a}")));
                let ty = p.field("type").map(|t| t.text().to_string()).unwrap_or_default();
                // Spring binds un-annotated simple types from the query string; other types
                // are model objects or framework values.
                let simple = JAVA_SIMPLE_TYPES.contains(&ty.as_str());
                let plain = mapped && simple && !text.contains('@');
                if (annotated || plain)
                    && let Some(name) = p.field("name")
                {
                    out.insert(name.text().to_string());
                }
            }
        }
        Lang::Python => {
            let decorated = func.parent().filter(|p| p.kind() == "decorated_definition");
            let route = decorated.as_ref().is_some_and(|d| {
                d.children().filter(|c| c.kind() == "decorator").any(|c| {
                    let t = c.text();
                    [".route(", ".get(", ".post(", ".put(", ".delete(", ".patch(", ".api_route("]
                        .iter()
                        .any(|m| t.contains(m))
                })
            });
            let Some(params) = func.field("parameters") else { return };
            let names: Vec<(String, bool)> = params
                .children()
                .filter_map(|p| {
                    let name = match p.kind().as_ref() {
                        "identifier" => p.text().to_string(),
                        "typed_parameter" => p.children().find(|c| c.kind() == "identifier")?.text().to_string(),
                        "default_parameter" | "typed_default_parameter" => p.field("name")?.text().to_string(),
                        _ => return None,
                    };
                    // FastAPI dependencies are not request data.
                    let depends = p.text().contains("Depends(");
                    Some((name, depends))
                })
                .collect();
            let django_view = names.first().is_some_and(|(n, _)| n == "request");
            if route || django_view {
                for (n, depends) in names {
                    if !depends && !PY_NOT_REQUEST_PARAMS.contains(&n.as_str()) {
                        out.insert(n);
                    }
                }
            }
        }
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
            let Some(params) = func.field("parameters") else { return };
            for p in params.children() {
                let t = p.text();
                if ["@Body(", "@Query(", "@Param(", "@Headers(", "@Req("].iter().any(|d| t.contains(d))
                    && let Some(pat) = p.field("pattern")
                {
                    let mut names = Vec::new();
                    bound_names(&pat, &mut names);
                    out.extend(names);
                }
            }
        }
    }
}

/// The assignments of a file, each with the range of the function it belongs to (`None`: the
/// top level). Collected once per file, in the walk that finds sources.
pub struct Assignments<'r> {
    list: Vec<(Option<Range<usize>>, TsNode<'r>, TsNode<'r>)>,
}

impl<'r> Assignments<'r> {
    /// An empty list.
    pub fn new() -> Self {
        Assignments { list: Vec::new() }
    }

    /// Records `n` when it is an assignment. Nodes come in pre-order; `functions` is the walk's
    /// stack of enclosing functions, kept here (tree-sitter's parent links are slow to climb).
    pub fn visit(&mut self, lang: Lang, n: &TsNode<'r>, functions: &mut Vec<Range<usize>>) {
        let r = n.range();
        while functions.last().is_some_and(|f| !(f.start <= r.start && r.end <= f.end)) {
            functions.pop();
        }
        if let Some((left, right)) = assignment(lang, n) {
            self.list.push((functions.last().cloned(), left, right));
        }
        if is_function(lang, &n.kind()) {
            functions.push(r);
        }
    }
}

impl Default for Assignments<'_> {
    fn default() -> Self {
        Assignments::new()
    }
}

/// The taint state of one file for one rule.
pub struct Taint<'a, 'r> {
    lang: Lang,
    sources: &'a [Range<usize>],
    sanitized: &'a [Range<usize>],
    assignments: &'a Assignments<'r>,
    scopes: HashMap<Option<(usize, usize)>, HashSet<String>>,
}

fn within(inner: &Range<usize>, outer: &Range<usize>) -> bool {
    inner.start >= outer.start && inner.end <= outer.end
}

impl<'a, 'r> Taint<'a, 'r> {
    /// A taint state over precomputed source and sanitizer ranges and assignments.
    pub fn new(
        lang: Lang,
        sources: &'a [Range<usize>],
        sanitized: &'a [Range<usize>],
        assignments: &'a Assignments<'r>,
    ) -> Self {
        Taint { lang, sources, sanitized, assignments, scopes: HashMap::new() }
    }

    fn scope_of(&self, n: &TsNode<'r>) -> Option<TsNode<'r>> {
        n.ancestors().find(|a| is_function(self.lang, &a.kind()))
    }

    /// Whether the value of `n` carries tainted data, given the tainted names.
    fn carries(&self, n: &TsNode<'r>, names: &HashSet<String>) -> bool {
        let r = n.range();
        if self.sanitized.iter().any(|s| within(&r, s)) {
            return false;
        }
        if self
            .sources
            .iter()
            .filter(|s| within(s, &r))
            .any(|s| !self.sanitized.iter().any(|z| within(s, z) && within(z, &r)))
        {
            return true;
        }
        if names.is_empty() {
            return false;
        }
        let mut stack = vec![n.clone()];
        while let Some(x) = stack.pop() {
            let xr = x.range();
            if self.sanitized.iter().any(|s| within(&xr, s)) {
                continue;
            }
            if is_identifier(&x.kind()) && names.contains(x.text().as_ref()) {
                // A callee's name is not data (`exec(cmd)` where `exec` happens to be tainted).
                let callee = x.parent().is_some_and(|p| {
                    matches!(p.kind().as_ref(), "call_expression" | "call")
                        && p.field("function").is_some_and(|f| f.range() == xr)
                });
                if !callee {
                    return true;
                }
            }
            stack.extend(x.children());
        }
        false
    }

    /// The tainted names of a scope (a function node, or `None` for the file's top level).
    fn names(&mut self, scope: Option<&TsNode<'r>>) -> HashSet<String> {
        let key = scope.map(|s| (s.range().start, s.range().end));
        if let Some(n) = self.scopes.get(&key) {
            return n.clone();
        }
        let names = match scope {
            Some(s) => {
                let parent = self.scope_of(s);
                let mut inherited = self.names(parent.as_ref());
                request_parameters(self.lang, s, &mut inherited);
                inherited
            }
            None => HashSet::new(),
        };
        let names = self.propagate(key, names);
        self.scopes.insert(key, names.clone());
        names
    }

    /// `names` grown by the scope's own assignments whose right side carries taint.
    fn propagate(&self, key: Option<(usize, usize)>, mut names: HashSet<String>) -> HashSet<String> {
        let own: Vec<&(Option<Range<usize>>, TsNode<'r>, TsNode<'r>)> =
            self.assignments.list.iter().filter(|(sc, _, _)| sc.as_ref().map(|r| (r.start, r.end)) == key).collect();
        for _ in 0..8 {
            let mut changed = false;
            for (_, left, right) in &own {
                if self.carries(right, &names) {
                    let mut bound = Vec::new();
                    bound_names(left, &mut bound);
                    for b in bound {
                        changed |= names.insert(b);
                    }
                }
            }
            if !changed {
                break;
            }
        }
        names
    }

    /// Whether a sink match is reached by tainted data: the match's focus metavariables (or the
    /// whole match) carry taint in the match's scope.
    pub fn reaches(&mut self, sink: &Sink, m: &TsNode<'r>, focus: &[TsNode<'r>]) -> bool {
        let scope = self.scope_of(m);
        let names = self.names(scope.as_ref());
        if sink.focus.is_empty() {
            return self.carries(m, &names);
        }
        focus.iter().any(|n| self.carries(n, &names))
    }

    /// Whether the value of `n` carries request data in its scope.
    pub fn tainted(&mut self, n: &TsNode<'r>) -> bool {
        let scope = self.scope_of(n);
        let names = self.names(scope.as_ref());
        self.carries(n, &names)
    }

    /// The parameters of the function around a sink match whose values reach the sink's focus
    /// (as their index in the parameter list), with the function and its number of parameters:
    /// what makes it a helper that passes its caller's data to the sink. Request sources and the
    /// function's request parameters are left out (they are what [`Taint::reaches`] follows).
    pub fn reaching_parameters(
        &self,
        sink: &Sink,
        m: &TsNode<'r>,
        focus: &[TsNode<'r>],
    ) -> Option<(TsNode<'r>, usize, Vec<usize>)> {
        let func = self.scope_of(m)?;
        let key = Some((func.range().start, func.range().end));
        let params = parameter_names(self.lang, &func);
        let mut reaching = Vec::new();
        // Only the parameter counts as tainted: sources are someone else's question.
        let bare = Taint {
            lang: self.lang,
            sources: &[],
            sanitized: self.sanitized,
            assignments: self.assignments,
            scopes: HashMap::new(),
        };
        for (i, p) in params.iter().enumerate() {
            let names = bare.propagate(key, HashSet::from([p.clone()]));
            let reached = if sink.focus.is_empty() {
                bare.carries(m, &names)
            } else {
                focus.iter().any(|n| bare.carries(n, &names))
            };
            if reached {
                reaching.push(i);
            }
        }
        (!reaching.is_empty()).then_some((func, params.len(), reaching))
    }
}

/// The names of a function's parameters, in order (a destructured one by an empty name).
fn parameter_names(lang: Lang, func: &TsNode<'_>) -> Vec<String> {
    let Some(params) = func.field("parameters").or_else(|| func.field("parameter")) else { return Vec::new() };
    if is_identifier(&params.kind()) {
        // `x => ...`
        return vec![params.text().to_string()];
    }
    let mut names: Vec<String> = params
        .children()
        .filter(|p| p.is_named() && !matches!(p.kind().as_ref(), "comment" | "modifiers"))
        .map(|p| {
            let name = match (lang, p.kind().as_ref()) {
                (_, k) if is_identifier(k) => Some(p.clone()),
                (Lang::Java, _) => p.field("name"),
                (Lang::Python, "typed_parameter") => p.children().find(|c| c.kind() == "identifier"),
                (Lang::Python, _) => p.field("name"),
                (_, "required_parameter" | "optional_parameter") => p.field("pattern"),
                (_, "assignment_pattern") => p.field("left"),
                _ => None,
            };
            name.filter(|n| is_identifier(&n.kind())).map(|n| n.text().to_string()).unwrap_or_default()
        })
        .collect();
    // A Python method's `self` or `cls` is not an argument of `self.name(...)`.
    if lang == Lang::Python && names.first().is_some_and(|n| n == "self" || n == "cls") {
        names.remove(0);
    }
    names
}

/// The name a function is called by: its declared name, or for a function expression the
/// variable or property it is assigned to.
pub fn function_name(lang: Lang, func: &TsNode<'_>) -> Option<String> {
    if let Some(n) = func.field("name") {
        return Some(n.text().to_string());
    }
    if !matches!(lang, Lang::JavaScript | Lang::TypeScript | Lang::Tsx) {
        return None;
    }
    let parent = func.parent()?;
    let named = match parent.kind().as_ref() {
        "variable_declarator" => parent.field("name"),
        "pair" => parent.field("key"),
        "assignment_expression" => {
            let left = parent.field("left")?;
            left.field("property").or(Some(left))
        }
        _ => None,
    }?;
    (is_identifier(&named.kind()) || named.kind() == "property_identifier").then(|| named.text().to_string())
}

/// A call of a function of the same file or class: `name(args)`, `this.name(args)`,
/// `self.name(args)`. Returns the name and the positional arguments.
pub fn local_call<'r>(lang: Lang, n: &TsNode<'r>) -> Option<(String, Vec<TsNode<'r>>)> {
    let (name, args) = match (lang, n.kind().as_ref()) {
        (Lang::Java, "method_invocation") => {
            if let Some(object) = n.field("object")
                && object.kind() != "this"
            {
                return None;
            }
            (n.field("name")?, n.field("arguments")?)
        }
        (Lang::Python, "call") | (Lang::JavaScript | Lang::TypeScript | Lang::Tsx, "call_expression") => {
            let callee = n.field("function")?;
            let name = if is_identifier(&callee.kind()) {
                callee
            } else {
                let object = callee.field("object")?;
                if !matches!(object.text().as_ref(), "this" | "self") {
                    return None;
                }
                callee.field("property").or_else(|| callee.field("attribute"))?
            };
            (name, n.field("arguments")?)
        }
        _ => return None,
    };
    let positional: Vec<TsNode<'r>> = args
        .children()
        .filter(|a| a.is_named() && !matches!(a.kind().as_ref(), "comment" | "keyword_argument"))
        .collect();
    Some((name.text().to_string(), positional))
}
