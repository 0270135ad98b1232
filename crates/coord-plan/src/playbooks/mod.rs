//! Playbooks: the rule planner's knowledge as data. One TOML file per kind of work (API
//! contract, schema change, authentication, integrations, caching, operations...) says when it
//! applies, which tasks it adds, who does them and what they wait for. The files in
//! `crates/coord-plan/playbooks/` ship inside the binary; a project adds or overrides them in
//! `.coord/playbooks/` (a file with a built-in's `name` replaces it; `enabled = false` turns
//! one off).
//!
//! This module owns the file format and its loading; [`condition`] the `when` language,
//! [`engine`] turning an analysis into tasks, [`assign`] choosing the specialist of each task
//! from the roster, [`infer`] the facts a lead infers from the domain.

pub mod assign;
pub mod condition;
pub mod engine;
pub mod infer;

use condition::{Condition, parse_conditions};
use coord_core::{Facet, Priority, TaskKind};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

/// `(file name, contents)` of every built-in playbook.
pub const BUILTIN_PLAYBOOKS: [(&str, &str); 14] = [
    ("architecture.toml", include_str!("../../playbooks/architecture.toml")),
    ("api-contract.toml", include_str!("../../playbooks/api-contract.toml")),
    ("graphql.toml", include_str!("../../playbooks/graphql.toml")),
    ("schema-change.toml", include_str!("../../playbooks/schema-change.toml")),
    ("database-operations.toml", include_str!("../../playbooks/database-operations.toml")),
    ("auth.toml", include_str!("../../playbooks/auth.toml")),
    ("integration.toml", include_str!("../../playbooks/integration.toml")),
    ("payments.toml", include_str!("../../playbooks/payments.toml")),
    ("search.toml", include_str!("../../playbooks/search.toml")),
    ("caching.toml", include_str!("../../playbooks/caching.toml")),
    ("performance-sla.toml", include_str!("../../playbooks/performance-sla.toml")),
    ("observability.toml", include_str!("../../playbooks/observability.toml")),
    ("implementation.toml", include_str!("../../playbooks/implementation.toml")),
    ("validation.toml", include_str!("../../playbooks/validation.toml")),
];

/// The order tasks are created in. Within a phase playbooks go by `order`, then name; within a
/// playbook, by the order of its file. Dependencies may only point at earlier tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Architecture, contracts, schema.
    Design,
    /// Database operations.
    Operations,
    /// Endpoints, integrations, middleware.
    Build,
    /// Data access.
    Data,
    /// Caching and query optimisation.
    Optimise,
    /// Logging, metrics, tracing.
    Observe,
    /// The implementation task of last resort, when nothing else builds anything.
    Fallback,
    /// Security audit and performance test.
    Validate,
}

/// Phases in creation order.
pub const PHASES: [Phase; 8] = [
    Phase::Design,
    Phase::Operations,
    Phase::Build,
    Phase::Data,
    Phase::Optimise,
    Phase::Observe,
    Phase::Fallback,
    Phase::Validate,
];

/// A playbook file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookFile {
    name: String,
    description: String,
    #[serde(default)]
    order: i32,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    patterns: BTreeMap<String, String>,
    #[serde(default, rename = "infer")]
    inferences: Vec<InferenceFile>,
    #[serde(default, rename = "task")]
    tasks: Vec<TemplateFile>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InferenceFile {
    #[serde(default)]
    when: Vec<String>,
    #[serde(default)]
    when_any: Vec<String>,
    #[serde(default)]
    facets: Vec<Facet>,
    #[serde(default)]
    entities: Vec<String>,
    #[serde(default)]
    drop_facets: Vec<Facet>,
    because: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    key: String,
    phase: Phase,
    #[serde(default)]
    when: Vec<String>,
    #[serde(default)]
    when_any: Vec<String>,
    #[serde(default)]
    for_each: Option<ForEach>,
    #[serde(default)]
    skip_categories: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    kind: TaskKind,
    role: String,
    specialist: String,
    #[serde(default = "medium")]
    priority: Priority,
    #[serde(default)]
    after: Vec<Vec<String>>,
    title: String,
    objective: String,
    #[serde(default)]
    technical: Vec<String>,
    #[serde(default)]
    security: Vec<String>,
    #[serde(default)]
    performance: Vec<String>,
    #[serde(default)]
    scalability: Vec<String>,
    #[serde(default)]
    acceptance: Vec<String>,
    #[serde(default)]
    output: Vec<String>,
    #[serde(default)]
    success: Vec<String>,
    #[serde(default)]
    hours: Option<f64>,
}

fn medium() -> Priority {
    Priority::Medium
}

/// What a task template repeats over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForEach {
    /// Every third-party integration found (minus `skip_categories`).
    Integration,
}

/// A loaded playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// Its name (`api-contract`); task keys are `name.key`.
    pub name: String,
    /// What kind of work it covers.
    pub description: String,
    /// Position among playbooks within a phase.
    pub order: i32,
    /// Where it came from: `builtin` or a file path.
    pub source: String,
    /// Whether it overrides a built-in of the same name.
    pub overrides_builtin: bool,
    /// What it infers from the objective.
    pub inferences: Vec<Inference>,
    /// Its task templates, in file order.
    pub templates: Vec<Template>,
    /// The file's text, for `coord playbooks show`.
    pub text: String,
}

/// A fact a lead infers from the domain: when the conditions hold, add facets and entities.
#[derive(Debug, Clone)]
pub struct Inference {
    /// All must hold.
    pub when: Vec<Condition>,
    /// At least one must hold (when not empty).
    pub when_any: Vec<Condition>,
    /// Facets implied.
    pub facets: Vec<Facet>,
    /// Entities implied.
    pub entities: Vec<String>,
    /// Facets the words seemed to say but the reading rules out (a latency complaint about an
    /// existing endpoint is not API design).
    pub drop_facets: Vec<Facet>,
    /// The evidence recorded with the facets.
    pub because: String,
}

/// One task template. Several templates may share a key: the first whose conditions hold is
/// used (variants).
#[derive(Debug, Clone)]
pub struct Template {
    /// `key` within the playbook.
    pub key: String,
    /// When it is created.
    pub phase: Phase,
    /// All must hold.
    pub when: Vec<Condition>,
    /// At least one must hold (when not empty).
    pub when_any: Vec<Condition>,
    /// Repeat over integrations.
    pub for_each: Option<ForEach>,
    /// Integration categories `for_each` leaves out.
    pub skip_categories: Vec<String>,
    /// Integration categories `for_each` keeps (all when empty).
    pub categories: Vec<String>,
    /// The task's kind.
    pub kind: TaskKind,
    /// The role the task needs, matched against the roster.
    pub role: String,
    /// The built-in specialist for the role, or `$implementer` (the stack's implementer).
    pub specialist: String,
    /// Priority before the critical path raises it.
    pub priority: Priority,
    /// Dependency alternatives: the first that names any earlier task wins.
    pub after: Vec<Vec<After>>,
    /// Text templates.
    pub title: String,
    /// The task objective template.
    pub objective: String,
    /// Requirement templates by category.
    pub technical: Vec<String>,
    /// Security requirements.
    pub security: Vec<String>,
    /// Performance requirements (`$perf` expands to the objective's targets).
    pub performance: Vec<String>,
    /// Scalability requirements (`$scale` likewise).
    pub scalability: Vec<String>,
    /// Acceptance criteria.
    pub acceptance: Vec<String>,
    /// Expected output.
    pub output: Vec<String>,
    /// Success criteria (a default when empty).
    pub success: Vec<String>,
    /// Estimate; by kind when absent.
    pub hours: Option<f64>,
}

/// One entry of a template's `after`, compiled when the playbook loads.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    /// `sinks`: the tasks nothing depends on yet (final validation excluded).
    Sinks,
    /// `kind:A|B`: the tasks of these kinds.
    Kinds(Vec<TaskKind>),
    /// `playbook.key`: the tasks that template made. A reference to a disabled or absent
    /// playbook names nothing; it is not an error, so that turning one off breaks no other.
    Template(String),
}

/// Why playbooks could not be loaded: the file and what is wrong in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("playbook {file}: {message}")]
pub struct PlaybookError {
    /// The file (or `builtin:NAME.toml`).
    pub file: String,
    /// What is wrong, with the line where known.
    pub message: String,
}

/// A set of playbooks ready to plan with, and the named word patterns they share.
#[derive(Debug, Clone)]
pub struct Playbooks {
    /// Enabled playbooks, by `order` then name.
    pub playbooks: Vec<Playbook>,
    /// Disabled ones (by name), for `coord playbooks list`.
    pub disabled: Vec<String>,
    /// Every named pattern: (name, regex, defining playbook).
    pub patterns: Vec<(String, Regex, String)>,
}

/// The built-in files as `(source, text)`.
fn builtin_files() -> impl Iterator<Item = (String, String)> {
    BUILTIN_PLAYBOOKS.iter().map(|(f, t)| (format!("builtin:{f}"), t.to_string()))
}

static BUILTIN: LazyLock<Result<Arc<Playbooks>, PlaybookError>> =
    LazyLock::new(|| load(builtin_files(), &[]).map(Arc::new));

/// The built-in playbooks. A test loads them, so an error here is a defect of this crate
/// caught before release; it is returned, not panicked on.
pub fn builtin() -> Result<Arc<Playbooks>, PlaybookError> {
    BUILTIN.clone()
}

/// The built-in playbooks plus a project's `.coord/playbooks/*.toml`.
pub fn load_project(project: &Path) -> Result<Arc<Playbooks>, PlaybookError> {
    let dir = project.join(".coord").join("playbooks");
    let mut user = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).map_err(|e| PlaybookError {
                    file: path.display().to_string(),
                    message: format!("cannot be read: {e}"),
                })?;
                user.push((path.display().to_string(), text));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return builtin(),
        Err(e) => {
            return Err(PlaybookError { file: dir.display().to_string(), message: format!("cannot be listed: {e}") });
        }
    }
    load(builtin_files(), &user).map(Arc::new)
}

/// Parses built-in files, then user files (which replace built-ins of the same name).
fn load(
    builtin: impl Iterator<Item = (String, String)>,
    user: &[(String, String)],
) -> Result<Playbooks, PlaybookError> {
    let mut files: Vec<(String, String, PlaybookFile, bool)> = Vec::new();
    let parse = |source: &str, text: &str| -> Result<PlaybookFile, PlaybookError> {
        toml::from_str::<PlaybookFile>(text.trim_start_matches('\u{feff}'))
            .map_err(|e| PlaybookError { file: source.to_string(), message: toml_message(text, &e) })
    };
    for (source, text) in builtin {
        let file = parse(&source, &text)?;
        files.push((source, text, file, false));
    }
    let builtin_count = files.len();
    // Patterns are a shared vocabulary: the built-ins' words stay defined even when their
    // playbook is turned off or replaced, so that no change to one playbook breaks another's
    // conditions. A project file may redefine a built-in word; two project files may not
    // define the same one.
    let mut patterns: Vec<(String, Regex, String)> = Vec::new();
    for (source, _, file, _) in &files {
        add_patterns(&mut patterns, source, file, false)?;
    }
    for (source, text) in user {
        let file = parse(source, text)?;
        add_patterns(&mut patterns, source, &file, true)?;
        if let Some(i) = files.iter().position(|f| f.2.name == file.name) {
            if i >= builtin_count {
                return Err(PlaybookError {
                    file: source.clone(),
                    message: format!("the name `{}` is also used by {}", file.name, files[i].0),
                });
            }
            files[i] = (source.clone(), text.clone(), file, true);
        } else {
            files.push((source.clone(), text.clone(), file, false));
        }
    }
    let mut disabled = Vec::new();

    let mut playbooks = Vec::new();
    for (source, text, file, overrides_builtin) in files {
        if !file.enabled {
            disabled.push(file.name);
            continue;
        }
        playbooks.push(compile_playbook(source, text, file, overrides_builtin, &patterns)?);
    }
    playbooks.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
    Ok(Playbooks { playbooks, disabled, patterns })
}

/// Compiles one enabled playbook file: its conditions against the pattern list, its templates.
fn compile_playbook(
    source: String,
    text: String,
    file: PlaybookFile,
    overrides_builtin: bool,
    patterns: &[(String, Regex, String)],
) -> Result<Playbook, PlaybookError> {
    let err = |message: String| PlaybookError { file: source.clone(), message };
    if !valid_name(&file.name) {
        return Err(err(format!("name `{}` must be lowercase letters, digits and `-`", file.name)));
    }
    let mut inferences = Vec::new();
    for (i, inf) in file.inferences.into_iter().enumerate() {
        let at = format!("infer #{}", i + 1);
        inferences.push(Inference {
            when: parse_conditions(&inf.when, patterns).map_err(|m| err(format!("{at}: {m}")))?,
            when_any: parse_conditions(&inf.when_any, patterns).map_err(|m| err(format!("{at}: {m}")))?,
            facets: inf.facets,
            entities: inf.entities,
            drop_facets: inf.drop_facets,
            because: inf.because,
        });
    }
    let mut templates = Vec::new();
    for t in file.tasks {
        let at = format!("task `{}`", t.key);
        templates.push(compile_template(t, patterns).map_err(|m| err(format!("{at}: {m}")))?);
    }
    Ok(Playbook {
        name: file.name,
        description: file.description,
        order: file.order,
        source: if source.starts_with("builtin:") { "builtin".to_string() } else { source.clone() },
        overrides_builtin,
        inferences,
        templates,
        text,
    })
}

fn add_patterns(
    patterns: &mut Vec<(String, Regex, String)>,
    source: &str,
    file: &PlaybookFile,
    project: bool,
) -> Result<(), PlaybookError> {
    for (name, pattern) in &file.patterns {
        let regex = Regex::new(&format!("(?i){pattern}")).map_err(|e| PlaybookError {
            file: source.to_string(),
            message: format!("pattern `{name}` is not a valid regular expression: {e}"),
        })?;
        match patterns.iter().position(|(n, _, _)| n == name) {
            Some(i) if project && patterns[i].2.starts_with("builtin:") => {
                patterns[i] = (name.clone(), regex, source.to_string());
            }
            Some(i) => {
                return Err(PlaybookError {
                    file: source.to_string(),
                    message: format!("pattern `{name}` is already defined by {}", patterns[i].2),
                });
            }
            None => patterns.push((name.clone(), regex, source.to_string())),
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The template variables a text may use.
pub const VARIABLES: [&str; 11] = [
    "objective",
    "subject",
    "entities",
    "endpoints",
    "auth_endpoints",
    "identity_provider",
    "cache_store",
    "impl_noun",
    "integration",
    "integration_category",
    "stack",
];

fn compile_template(t: TemplateFile, patterns: &[(String, Regex, String)]) -> Result<Template, String> {
    if t.key.is_empty() || !t.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err("key must be letters, digits, `-` or `_`".to_string());
    }
    let roles = assign::known_roles();
    if !roles.contains(&t.role.as_str()) {
        return Err(format!("unknown role `{}` (known: {})", t.role, roles.join(", ")));
    }
    if t.specialist.is_empty() {
        return Err("specialist is empty (a roster name, or $implementer)".to_string());
    }
    for text in [&t.title, &t.objective]
        .into_iter()
        .chain(t.technical.iter())
        .chain(t.security.iter())
        .chain(t.performance.iter())
        .chain(t.scalability.iter())
        .chain(t.acceptance.iter())
        .chain(t.output.iter())
        .chain(t.success.iter())
    {
        check_variables(text)?;
    }
    let after = t
        .after
        .iter()
        .map(|alternative| alternative.iter().map(|r| compile_after(r)).collect::<Result<Vec<_>, _>>())
        .collect::<Result<Vec<_>, _>>()?;
    if t.for_each.is_none() && !(t.skip_categories.is_empty() && t.categories.is_empty()) {
        return Err("categories and skip_categories need for_each".to_string());
    }
    if let Some(h) = t.hours
        && !(h.is_finite() && h > 0.0)
    {
        return Err(format!("hours must be a positive number, not {h}"));
    }
    Ok(Template {
        when: parse_conditions(&t.when, patterns)?,
        when_any: parse_conditions(&t.when_any, patterns)?,
        key: t.key,
        phase: t.phase,
        for_each: t.for_each,
        skip_categories: t.skip_categories,
        categories: t.categories,
        kind: t.kind,
        role: t.role,
        specialist: t.specialist,
        priority: t.priority,
        after,
        title: t.title,
        objective: t.objective,
        technical: t.technical,
        security: t.security,
        performance: t.performance,
        scalability: t.scalability,
        acceptance: t.acceptance,
        output: t.output,
        success: t.success,
        hours: t.hours,
    })
}

fn check_variables(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed `{{` in \"{text}\""));
        };
        let name = &after[..close];
        if !VARIABLES.contains(&name) {
            return Err(format!("unknown variable `{{{name}}}` in \"{text}\" (known: {})", VARIABLES.join(", ")));
        }
        rest = &after[close + 1..];
    }
    if text.starts_with('$') && !matches!(text, "$perf" | "$scale") {
        return Err(format!("unknown list `{text}` (known: $perf, $scale)"));
    }
    Ok(())
}

fn compile_after(reference: &str) -> Result<After, String> {
    if reference == "sinks" {
        return Ok(After::Sinks);
    }
    if let Some(kinds) = reference.strip_prefix("kind:") {
        return kinds.split('|').map(condition::parse_kind).collect::<Result<_, _>>().map(After::Kinds);
    }
    match reference.split_once('.') {
        Some((playbook, key)) if !playbook.is_empty() && !key.is_empty() => Ok(After::Template(reference.to_string())),
        _ => Err(format!("`after` entry `{reference}` is not `playbook.key`, `kind:KIND[|KIND]` or `sinks`")),
    }
}

/// A toml error with its line number.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

impl Playbooks {
    /// A playbook by name.
    pub fn get(&self, name: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| p.name == name)
    }
}

/// A pattern by name, for conditions (`word:NAME`).
pub(crate) fn pattern_index(patterns: &[(String, Regex, String)], name: &str) -> Option<usize> {
    patterns.iter().position(|(n, _, _)| n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_user(files: &[(&str, &str)]) -> Result<Playbooks, PlaybookError> {
        let user: Vec<(String, String)> = files.iter().map(|(f, t)| (f.to_string(), t.to_string())).collect();
        load(builtin_files(), &user)
    }

    #[test]
    fn every_builtin_playbook_loads() {
        let set = builtin().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.playbooks.len(), BUILTIN_PLAYBOOKS.len());
        for p in &set.playbooks {
            assert!(!p.description.is_empty(), "{}", p.name);
            assert_eq!(p.source, "builtin");
        }
        // Planning order: architecture first, validation last.
        assert_eq!(set.playbooks.first().map(|p| p.name.as_str()), Some("architecture"));
        assert_eq!(set.playbooks.last().map(|p| p.name.as_str()), Some("validation"));
    }

    #[test]
    fn a_user_playbook_overrides_disables_or_adds() {
        let set = load_user(&[
            ("/p/.coord/playbooks/caching.toml", "name = \"caching\"\ndescription = \"ours\"\nenabled = false\n"),
            (
                "/p/.coord/playbooks/audit-log.toml",
                "name = \"audit-log\"\ndescription = \"d\"\n[[task]]\nkey = \"log\"\nphase = \"build\"\nkind = \"implementation\"\nrole = \"implementation\"\nspecialist = \"$implementer\"\ntitle = \"Write the audit log for {subject}\"\nobjective = \"{objective}\"\n",
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(set.get("caching").is_none());
        assert_eq!(set.disabled, vec!["caching"]);
        let ours = set.get("audit-log").map(|p| p.source.clone());
        assert_eq!(ours.as_deref(), Some("/p/.coord/playbooks/audit-log.toml"));
    }

    #[test]
    fn bad_playbooks_name_the_file_the_line_and_the_problem() {
        let cases: [(&str, &str); 7] = [
            ("name = \"x\"\ndescription = \"d\"\n[[task]]\nkey = 3\n", "line 4"),
            ("name = \"x\"\ndescription = \"d\"\ncolour = 1\n", "unknown field `colour`"),
            (
                "name = \"x\"\ndescription = \"d\"\n[[task]]\nkey = \"k\"\nphase = \"build\"\nwhen = [\"facet:apis\"]\nkind = \"implementation\"\nrole = \"implementation\"\nspecialist = \"a\"\ntitle = \"t\"\nobjective = \"o\"\n",
                "unknown facet `apis`",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\n[[task]]\nkey = \"k\"\nphase = \"build\"\nwhen = [\"word:nope\"]\nkind = \"implementation\"\nrole = \"implementation\"\nspecialist = \"a\"\ntitle = \"t\"\nobjective = \"o\"\n",
                "no playbook defines the pattern `nope`",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\n[[task]]\nkey = \"k\"\nphase = \"build\"\nkind = \"implementation\"\nrole = \"juggling\"\nspecialist = \"a\"\ntitle = \"t\"\nobjective = \"o\"\n",
                "unknown role `juggling`",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\n[[task]]\nkey = \"k\"\nphase = \"build\"\nkind = \"implementation\"\nrole = \"implementation\"\nspecialist = \"a\"\ntitle = \"Do {thing}\"\nobjective = \"o\"\n",
                "unknown variable `{thing}`",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\n[patterns]\nbad = \"(unclosed\"\n",
                "pattern `bad` is not a valid regular expression",
            ),
        ];
        for (text, expected) in cases {
            let err = load_user(&[("/p/.coord/playbooks/x.toml", text)]).unwrap_err();
            assert_eq!(err.file, "/p/.coord/playbooks/x.toml");
            assert!(err.to_string().contains(expected), "{err} should say {expected}");
        }
        let twice = load_user(&[
            ("/p/a.toml", "name = \"same\"\ndescription = \"d\"\n"),
            ("/p/b.toml", "name = \"same\"\ndescription = \"d\"\n"),
        ])
        .unwrap_err();
        assert!(twice.to_string().contains("also used by /p/a.toml"), "{twice}");
    }
}
