//! AST rules: rules as YAML data (built in under `rules/<category>/`, and the user's own folders
//! from `[gates] rules` of coord.toml), matched on tree-sitter syntax trees through ast-grep, so
//! comments and strings are never code and a parameterised query is not concatenation.
//!
//! [`RuleSet`] loads and compiles rules; [`AstChecker`] runs them on each file: a file is parsed
//! only when some rule of its language may match (each rule's `prefilter`), once, and every
//! rule is matched in one walk of its tree. Taint rules are completed by [`taint`].

pub mod lang;
pub mod rule;
pub mod taint;

use crate::checker::{FileChecker, SourceFile};
use crate::finding::Finding;
use ast_grep_config::{DeserializeEnv, SerializableRuleCore};
use ast_grep_core::tree_sitter::LanguageExt;
use lang::Lang;
use rule::{Compiled, LangRule, Matching, NodeRule, RuleError, RuleFile, RuleMeta, TextRule};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use taint::{Taint, TsNode};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The file of request sources per language (not a rule).
const SOURCES_FILE: &str = "sources.yml";
/// The file of taint barriers per language (not a rule): values that are not request data
/// whatever went in (parsed numbers, ORM lookups).
const BARRIERS_FILE: &str = "barriers.yml";

/// Compiled rules of every language.
pub struct RuleSet {
    ast: BTreeMap<Lang, Vec<LangRule>>,
    text: Vec<TextRule>,
    request_sources: BTreeMap<Lang, Vec<NodeRule>>,
    barriers: BTreeMap<Lang, Vec<NodeRule>>,
    metas: Vec<Arc<RuleMeta>>,
    files: Vec<(String, RuleFile)>,
}

static BUILTIN: LazyLock<Result<Arc<RuleSet>, String>> =
    LazyLock::new(|| RuleSet::load(&[], &[]).map(Arc::new).map_err(|e| e.to_string()));

fn read_user_rules(dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), RuleError> {
    let entries = std::fs::read_dir(dir).map_err(|e| RuleError {
        origin: dir.display().to_string(),
        reason: format!("cannot read the rule folder: {e}"),
    })?;
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            read_user_rules(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| RuleError { origin: p.display().to_string(), reason: format!("cannot read: {e}") })?;
            out.push((p.display().to_string(), text));
        }
    }
    Ok(())
}

impl RuleSet {
    /// The built-in rules (compiled once per process).
    pub fn builtin() -> Result<Arc<RuleSet>, RuleError> {
        BUILTIN.clone().map_err(|reason| RuleError { origin: "built-in rules".into(), reason })
    }

    /// The built-in rules, plus every rule file under `dirs` (a user rule with a built-in
    /// rule's id replaces it), minus the rules and categories named in `disabled`.
    pub fn load(dirs: &[std::path::PathBuf], disabled: &[String]) -> Result<RuleSet, RuleError> {
        let mut texts: Vec<(String, String)> = Vec::new();
        let (mut sources_text, mut barriers_text) = (None, None);
        for (path, text) in BUILTIN_RULES {
            if *path == SOURCES_FILE {
                sources_text = Some(*text);
            } else if *path == BARRIERS_FILE {
                barriers_text = Some(*text);
            } else {
                texts.push((format!("builtin:{path}"), text.to_string()));
            }
        }
        for d in dirs {
            read_user_rules(d, &mut texts)?;
        }
        let request_sources = compile_per_lang(SOURCES_FILE, sources_text.unwrap_or(""))?;
        let barriers = compile_per_lang(BARRIERS_FILE, barriers_text.unwrap_or(""))?;
        let mut files: Vec<(String, RuleFile)> = Vec::new();
        for (origin, text) in texts {
            let file = RuleFile::parse(&text, &origin)?;
            files.retain(|(_, f)| f.id != file.id);
            files.push((origin, file));
        }
        files.retain(|(_, f)| {
            let category = f.id.split('/').next().unwrap_or("");
            !disabled.iter().any(|d| d == &f.id || d == category)
        });
        let mut set = RuleSet {
            ast: BTreeMap::new(),
            text: Vec::new(),
            request_sources,
            barriers,
            metas: Vec::new(),
            files: Vec::new(),
        };
        for (origin, file) in &files {
            let has_sources = |l: Lang| set.request_sources.contains_key(&l);
            let (meta, compiled) = file.compile(origin, &has_sources)?;
            set.metas.push(meta);
            match compiled {
                Compiled::Ast(per_lang) => {
                    for (lang, r) in per_lang {
                        set.ast.entry(lang).or_default().push(r);
                    }
                }
                Compiled::Text(t) => set.text.push(t),
            }
        }
        set.files = files;
        Ok(set)
    }

    /// What each rule says.
    pub fn metas(&self) -> &[Arc<RuleMeta>] {
        &self.metas
    }

    /// The rule files, as parsed (for the example tests and documentation).
    pub fn files(&self) -> &[(String, RuleFile)] {
        &self.files
    }

    /// The rule with this id.
    pub fn meta(&self, id: &str) -> Option<&Arc<RuleMeta>> {
        self.metas.iter().find(|m| m.id == id)
    }

    /// Appends the findings of one file. Vendored and minified files (see [`is_vendored`]) are
    /// third-party code: the rules skip them.
    pub fn scan(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        if is_vendored(&f.rel, &f.text) || is_test(&f.rel) {
            return;
        }
        let start = out.len();
        self.scan_text(f, out);
        if let Some(lang) = Lang::of_path(&f.rel) {
            self.scan_ast(lang, f, out);
        }
        // One finding per rule and line.
        let mut seen = std::collections::HashSet::new();
        let mut i = start;
        while i < out.len() {
            if seen.insert((out[i].rule.clone(), out[i].line)) {
                i += 1;
            } else {
                out.remove(i);
            }
        }
    }

    fn scan_text(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        for t in &self.text {
            if !t.files.iter().any(|g| g.is_match(&f.rel)) || !t.prefilter.admits(&f.text) {
                continue;
            }
            for m in t.regex.find_iter(&f.text) {
                let line_start = f.text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
                let line_end = f.text[m.start()..].find('\n').map_or(f.text.len(), |i| m.start() + i);
                if t.unless.as_ref().is_some_and(|u| u.is_match(&f.text[line_start..line_end])) {
                    continue;
                }
                out.push(finding(&t.meta, f, f.line_of(m.start())));
            }
        }
    }

    fn scan_ast(&self, lang: Lang, f: &SourceFile, out: &mut Vec<Finding>) {
        let Some(rules) = self.ast.get(&lang) else { return };
        let active: Vec<&LangRule> = rules
            .iter()
            .filter(|r| r.files.is_empty() || r.files.iter().any(|g| g.is_match(&f.rel)))
            .filter(|r| r.prefilter.admits(&f.text))
            .collect();
        if active.is_empty() {
            return;
        }
        let grep = lang.ast_grep(&f.text);
        let root = grep.root();
        // One walk: pattern matches become findings; sink matches wait for the taint analysis.
        let mut sink_hits: Vec<(usize, usize, TsNode<'_>, Vec<TsNode<'_>>)> = Vec::new();
        for node in root.dfs() {
            for (ri, r) in active.iter().enumerate() {
                match &r.matching {
                    Matching::Pattern(m) => {
                        if m.test(&node).is_some() {
                            out.push(finding(&r.meta, f, node.start_pos().line() + 1));
                        }
                    }
                    Matching::Taint { sinks, .. } => {
                        for (si, s) in sinks.iter().enumerate() {
                            if let Some(nm) = s.matcher.test(&node) {
                                let env = nm.get_env();
                                let mut focus = Vec::new();
                                for v in &s.focus {
                                    if let Some(n) = env.get_match(v) {
                                        focus.push(n.clone());
                                    }
                                    focus.extend(env.get_multiple_matches(v));
                                }
                                sink_hits.push((ri, si, node.clone(), focus));
                            }
                        }
                    }
                }
            }
        }
        if sink_hits.is_empty() {
            return;
        }
        // A second walk, only for files where a sink matched: sources, sanitizers and
        // assignments of the rules whose sinks matched.
        let wanted: std::collections::BTreeSet<usize> = sink_hits.iter().map(|h| h.0).collect();
        let request: &[NodeRule] = self.request_sources.get(&lang).map_or(&[], |v| v.as_slice());
        let barriers: &[NodeRule] = self.barriers.get(&lang).map_or(&[], |v| v.as_slice());
        let mut request_ranges = Vec::new();
        let mut barrier_ranges = Vec::new();
        let mut rule_sources: BTreeMap<usize, Vec<std::ops::Range<usize>>> = BTreeMap::new();
        let mut rule_sanitized: BTreeMap<usize, Vec<std::ops::Range<usize>>> = BTreeMap::new();
        let mut assignments = taint::Assignments::new();
        let mut functions = Vec::new();
        for node in root.dfs() {
            assignments.visit(lang, &node, &mut functions);
            if request.iter().any(|m| m.test(&node).is_some()) {
                request_ranges.push(node.range());
            }
            if barriers.iter().any(|m| m.test(&node).is_some()) {
                barrier_ranges.push(node.range());
            }
            for &ri in &wanted {
                let Matching::Taint { sources, sanitizers, .. } = &active[ri].matching else { continue };
                if sources.iter().any(|m| m.test(&node).is_some()) {
                    rule_sources.entry(ri).or_default().push(node.range());
                }
                if sanitizers.iter().any(|m| m.test(&node).is_some()) {
                    rule_sanitized.entry(ri).or_default().push(node.range());
                }
            }
        }
        // The file's local calls, read (one more walk) only once some rule found a helper.
        let mut calls: Option<Vec<(String, Vec<TsNode<'_>>, usize)>> = None;
        let mut by_rule: BTreeMap<usize, Vec<(usize, TsNode<'_>, Vec<TsNode<'_>>)>> = BTreeMap::new();
        for (ri, si, n, focus) in sink_hits {
            by_rule.entry(ri).or_default().push((si, n, focus));
        }
        for (ri, hits) in by_rule {
            let r = active[ri];
            let Matching::Taint { request: use_request, sinks, .. } = &r.matching else { continue };
            let mut sources = rule_sources.remove(&ri).unwrap_or_default();
            if *use_request {
                sources.extend(request_ranges.iter().cloned());
            }
            let mut sanitized = rule_sanitized.remove(&ri).unwrap_or_default();
            sanitized.extend(barrier_ranges.iter().cloned());
            let mut taint = Taint::new(lang, &sources, &sanitized, &assignments);
            // Functions of this file whose parameters reach a sink: (name, arity, parameter, sink line).
            let mut helpers: Vec<(String, usize, usize, usize)> = Vec::new();
            for (si, n, focus) in hits {
                let line = n.start_pos().line() + 1;
                if taint.reaches(&sinks[si], &n, &focus) {
                    out.push(finding(&r.meta, f, line));
                } else if let Some((func, arity, reaching)) = taint.reaching_parameters(&sinks[si], &n, &focus)
                    && let Some(name) = taint::function_name(lang, &func)
                {
                    helpers.extend(reaching.into_iter().map(|i| (name.clone(), arity, i, line)));
                }
            }
            if helpers.is_empty() {
                continue;
            }
            // One level of calls within the file: request data handed to such a helper.
            let calls = calls.get_or_insert_with(|| {
                root.dfs()
                    .filter_map(|node| {
                        taint::local_call(lang, &node).map(|(name, args)| (name, args, node.start_pos().line() + 1))
                    })
                    .collect()
            });
            for (name, args, line) in calls.iter() {
                for (helper, arity, i, sink_line) in &helpers {
                    let arity_fits = args.len() == *arity || (lang == Lang::Python && args.len() <= *arity);
                    if name == helper && arity_fits && *i < args.len() && taint.tainted(&args[*i]) {
                        let mut through = finding(&r.meta, f, *line);
                        through.message =
                            format!("{} (through `{helper}`, which passes it on to line {sink_line})", r.meta.message);
                        out.push(through);
                    }
                }
            }
        }
    }
}

/// Compiles a per-language list of rule cores (`sources.yml`, `barriers.yml`).
fn compile_per_lang(file: &str, text: &str) -> Result<BTreeMap<Lang, Vec<NodeRule>>, RuleError> {
    let err = |reason: String| RuleError { origin: format!("builtin:{file}"), reason };
    let mut out = BTreeMap::new();
    if text.trim().is_empty() {
        return Ok(out);
    }
    let by_lang: BTreeMap<String, Vec<SerializableRuleCore>> =
        yaml_serde::from_str(text).map_err(|e| err(e.to_string()))?;
    for (name, rules) in by_lang {
        let Some(langs) = Lang::from_rule_name(&name) else { return Err(err(format!("unknown language `{name}`"))) };
        for &lang in langs {
            let compiled = rules
                .iter()
                .map(|r| {
                    r.get_matcher(DeserializeEnv::new(lang)).map(NodeRule::new).map_err(|e| err(format!("{name}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(lang, compiled);
        }
    }
    Ok(out)
}

static VENDORED_NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
    crate::checker::re(
        r"(?i)(\.min\.[cm]?js$|-min\.js$|\.bundle\.js$|\.pack\.js$|(^|/)(vendor|vendors|bower_components|third[_-]party|external|node_modules)/|(^|/)(jquery|bootstrap|angular|react|react-dom|vue|lodash|underscore|backbone|moment|d3|chart|highlight|modernizr|respond|html5shiv|popper|materialize|require|prism|codemirror|ace|tinymce|ckeditor)[.-][^/]*\.js$)",
    )
});

static TEST_PATH: LazyLock<regex::Regex> = LazyLock::new(|| {
    crate::checker::re(
        r"(?i)((^|/)(test|tests|__tests__|spec|specs|testing|e2e)/|(^|/)test_[^/]*\.py$|_test\.(py|go)$|\.(test|spec)\.[jt]sx?$|Tests?\.java$|(^|/)conftest\.py$)",
    )
});

/// Whether a file is test code (test folders, `test_*.py`, `*.spec.ts`, `*Test.java`): tests
/// call dangerous APIs on purpose, so the AST and text rules skip them.
pub fn is_test(rel: &str) -> bool {
    TEST_PATH.is_match(rel)
}

/// Whether a file is third-party code copied into the repository: a minified or bundled
/// file, a file under a vendor folder, a well-known library by name, or a file opening with a
/// preserved licence banner (`/*!`, `@license`). The AST and text rules skip these; the
/// secrets checker does not.
pub fn is_vendored(rel: &str, text: &str) -> bool {
    if !matches!(rel.rsplit('.').next(), Some("js" | "mjs" | "cjs" | "ts")) {
        return false;
    }
    if VENDORED_NAME.is_match(rel) {
        return true;
    }
    let head = &text[..text.len().min(1024)];
    let head_trimmed = head.trim_start();
    if head_trimmed.starts_with("/*!") || head.contains("@license") {
        return true;
    }
    // Minified: a very long line near the top, or long lines on average.
    let sample = &text[..text.floor_char_boundary(64 * 1024)];
    let lines = sample.lines().count().max(1);
    sample.lines().any(|l| l.len() > 2000) || sample.len() / lines > 250
}

fn finding(meta: &RuleMeta, f: &SourceFile, line: usize) -> Finding {
    Finding {
        rule: meta.id.clone(),
        severity: meta.severity,
        file: f.rel.clone(),
        line,
        message: meta.message.clone(),
        fix: meta.fix.clone(),
        item: meta.item.clone(),
        cwe: Some(meta.cwe.clone()),
        fingerprint: String::new(),
    }
}

/// The AST rules as a checker.
#[derive(Clone)]
pub struct AstChecker {
    /// The rules.
    pub rules: Arc<RuleSet>,
}

impl FileChecker for AstChecker {
    fn id(&self) -> &'static str {
        "ast-rules"
    }

    fn file(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        self.rules.scan(f, out);
    }
}
