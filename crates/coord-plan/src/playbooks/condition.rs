//! The `when` language of playbooks: a condition is one word, optionally negated with `!`.
//!
//! | condition | holds when |
//! |---|---|
//! | `facet:NAME` | the analysis found the facet (`api`, `database`, `auth`, ...) |
//! | `word:NAME` | the named pattern (from some playbook's `[patterns]`) matches the objective |
//! | `style:rest` / `style:graphql` | the API style decided for the stack |
//! | `stack:node` / `stack:python` / `stack:java` | the implementing language |
//! | `integration:CATEGORY` / `integration:any` | a third-party integration of that category was found |
//! | `entities` | domain entities were found |
//! | `endpoints` / `endpoints:objective` | endpoints are known / the objective itself names some |
//! | `targets:performance` / `targets:scale` | the objective states latency/throughput / volume targets |
//! | `task:PLAYBOOK.KEY` | an earlier task came from that template |
//! | `kind:KIND[\|KIND...]` | an earlier task is of one of these kinds |
//!
//! Every condition evaluates to its evidence (why it holds) or its reason (why not), which
//! `coord playbooks explain` prints.

use super::pattern_index;
use coord_core::{Analysis, ApiStyle, EndpointSource, Facet, Language, RequirementKind, TaskKind};
use regex::Regex;

/// One parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// `!` in front.
    pub negated: bool,
    /// What is tested.
    pub atom: Atom,
    /// As written, for explanations.
    pub text: String,
}

/// What a condition tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// `facet:NAME`.
    Facet(Facet),
    /// `word:NAME`: index into the pattern list.
    Word(usize),
    /// `style:...`.
    Style(ApiStyle),
    /// `stack:...`.
    Stack(Language),
    /// `integration:CATEGORY` (`None` for any).
    Integration(Option<String>),
    /// `entities`.
    Entities,
    /// `endpoints` (`false`) or `endpoints:objective` (`true`).
    Endpoints(bool),
    /// `targets:performance`.
    PerformanceTargets,
    /// `targets:scale`.
    ScaleTargets,
    /// `task:PLAYBOOK.KEY`.
    Task(String),
    /// `kind:A|B`.
    Kind(Vec<TaskKind>),
}

/// What conditions are evaluated against.
pub struct Facts<'a> {
    /// The objective.
    pub text: &'a str,
    /// Its analysis.
    pub analysis: &'a Analysis,
    /// The named patterns.
    pub patterns: &'a [(String, Regex, String)],
    /// Tasks created so far: (`playbook.key`, kind).
    pub tasks: &'a [(String, TaskKind)],
}

/// Parses `api-design` and friends.
pub fn parse_kind(text: &str) -> Result<TaskKind, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
        format!(
            "unknown task kind `{text}` (known: architecture, api-design, schema-design, implementation, integration, middleware, data-access, database-operations, optimization, observability, security-audit, performance-test, documentation)"
        )
    })
}

/// Parses a list of conditions, naming the first bad one.
pub fn parse_conditions(list: &[String], patterns: &[(String, Regex, String)]) -> Result<Vec<Condition>, String> {
    list.iter().map(|c| parse(c, patterns)).collect()
}

fn parse(text: &str, patterns: &[(String, Regex, String)]) -> Result<Condition, String> {
    let (negated, body) = match text.trim().strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, text.trim()),
    };
    let (name, arg) = match body.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (body, None),
    };
    let atom = match (name, arg) {
        ("facet", Some(f)) => Atom::Facet(
            serde_json::from_value(serde_json::Value::String(f.to_string())).map_err(|_| {
                format!(
                    "condition `{text}`: unknown facet `{f}` (known: api, database, auth, performance, scalability, integrations, monitoring)"
                )
            })?,
        ),
        ("word", Some(w)) => Atom::Word(pattern_index(patterns, w).ok_or_else(|| {
            let known: Vec<&str> = patterns.iter().map(|(n, _, _)| n.as_str()).collect();
            format!("condition `{text}`: no playbook defines the pattern `{w}` (defined: {})", known.join(", "))
        })?),
        ("style", Some("rest")) => Atom::Style(ApiStyle::Rest),
        ("style", Some("graphql")) => Atom::Style(ApiStyle::Graphql),
        ("stack", Some("node")) => Atom::Stack(Language::Node),
        ("stack", Some("python")) => Atom::Stack(Language::Python),
        ("stack", Some("java")) => Atom::Stack(Language::Java),
        ("integration", Some("any")) => Atom::Integration(None),
        ("integration", Some(c)) if !c.is_empty() => Atom::Integration(Some(c.to_string())),
        ("entities", None) => Atom::Entities,
        ("endpoints", None) => Atom::Endpoints(false),
        ("endpoints", Some("objective")) => Atom::Endpoints(true),
        ("targets", Some("performance")) => Atom::PerformanceTargets,
        ("targets", Some("scale")) => Atom::ScaleTargets,
        ("task", Some(k)) if k.contains('.') => Atom::Task(k.to_string()),
        ("kind", Some(kinds)) => Atom::Kind(kinds.split('|').map(parse_kind).collect::<Result<_, _>>()?),
        _ => {
            return Err(format!(
                "unknown condition `{text}` (use facet:, word:, style:, stack:, integration:, entities, endpoints[:objective], targets:performance|scale, task:PLAYBOOK.KEY, kind:KIND, each optionally with `!`)"
            ));
        }
    };
    Ok(Condition { negated, atom, text: text.trim().to_string() })
}

impl Condition {
    /// `Ok(evidence)` when the condition holds, `Err(reason)` when it does not.
    pub fn check(&self, f: &Facts<'_>) -> Result<String, String> {
        let (holds, why) = self.atom.test(f);
        match (holds, self.negated) {
            (true, false) => Ok(format!("{}: {why}", self.text)),
            (false, true) => Ok(format!("{} ({why})", self.text)),
            (true, true) => Err(format!("{}: {why}", self.text)),
            (false, false) => Err(format!("{} ({why})", self.text)),
        }
    }
}

impl Atom {
    fn test(&self, f: &Facts<'_>) -> (bool, String) {
        let a = f.analysis;
        match self {
            Atom::Facet(facet) => match a.facet_evidence.get(facet).filter(|_| a.has(*facet)) {
                Some(e) => (true, e.iter().take(2).map(|x| short(x)).collect::<Vec<_>>().join(", ")),
                None if a.has(*facet) => (true, "found".into()),
                None => (false, "not found".into()),
            },
            Atom::Word(i) => match f.patterns.get(*i).and_then(|(_, re, _)| re.find(f.text)) {
                Some(m) => (true, format!("\"{}\"", m.as_str())),
                None => (false, "no such words".into()),
            },
            Atom::Style(style) => (
                a.stack.api_style == *style,
                match a.stack.api_style {
                    ApiStyle::Rest => "the API is REST".into(),
                    ApiStyle::Graphql => "the API is GraphQL".into(),
                },
            ),
            Atom::Stack(lang) => (a.stack.language == *lang, format!("the stack is {}", a.stack.language.as_str())),
            Atom::Integration(category) => {
                match a.integrations.iter().find(|i| category.as_ref().is_none_or(|c| &i.category == c)) {
                    Some(i) => (true, format!("{} ({})", i.name, i.category)),
                    None => (false, "none found".into()),
                }
            }
            Atom::Entities => (!a.entities.is_empty(), a.entities.join(", ")),
            Atom::Endpoints(objective_only) => {
                match a.endpoints.iter().find(|e| !objective_only || e.source == EndpointSource::Objective) {
                    Some(e) => (true, e.display()),
                    None => (false, "none".into()),
                }
            }
            Atom::PerformanceTargets => targets(a, &[RequirementKind::Latency, RequirementKind::Throughput]),
            Atom::ScaleTargets if !a.has(Facet::Scalability) => (false, "no scalability facet".into()),
            Atom::ScaleTargets => targets(
                a,
                &[
                    RequirementKind::Volume,
                    RequirementKind::Concurrency,
                    RequirementKind::RowCount,
                    RequirementKind::Availability,
                ],
            ),
            Atom::Task(key) => match f.tasks.iter().any(|(k, _)| k == key) {
                true => (true, "made earlier".into()),
                false => (false, "not made".into()),
            },
            Atom::Kind(kinds) => match f.tasks.iter().find(|(_, k)| kinds.contains(k)) {
                Some((key, _)) => (true, key.clone()),
                None => (false, "no such task yet".into()),
            },
        }
    }
}

/// Evidence cut to a readable length for explanations.
fn short(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn targets(a: &Analysis, kinds: &[RequirementKind]) -> (bool, String) {
    match a.requirements.iter().find(|r| kinds.contains(&r.kind)) {
        Some(r) => (true, format!("\"{}\"", r.text)),
        None => (false, "none stated".into()),
    }
}

/// Whether all of `when` and (when not empty) one of `when_any` hold; the evidence or the first
/// failure.
pub fn holds(when: &[Condition], when_any: &[Condition], f: &Facts<'_>) -> Result<Vec<String>, String> {
    let mut evidence = Vec::new();
    for c in when {
        evidence.push(c.check(f)?);
    }
    if !when_any.is_empty() {
        let mut reasons = Vec::new();
        let mut found = false;
        for c in when_any {
            match c.check(f) {
                Ok(e) => {
                    evidence.push(e);
                    found = true;
                    break;
                }
                Err(r) => reasons.push(r),
            }
        }
        if !found {
            return Err(format!("none of: {}", reasons.join("; ")));
        }
    }
    Ok(evidence)
}
