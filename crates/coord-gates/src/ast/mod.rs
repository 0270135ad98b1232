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
use ast_grep_config::{DeserializeEnv, RuleCore, SerializableRuleCore};
use ast_grep_core::Matcher;
use ast_grep_core::matcher::MatcherExt;
use ast_grep_core::tree_sitter::LanguageExt;
use lang::Lang;
use rule::{Compiled, LangRule, Matching, RuleError, RuleFile, RuleMeta, TextRule};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use taint::{Taint, TsNode, match_ranges};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The file of request sources per language (not a rule).
const SOURCES_FILE: &str = "sources.yml";

/// Compiled rules of every language.
pub struct RuleSet {
    ast: BTreeMap<Lang, Vec<LangRule>>,
    text: Vec<TextRule>,
    request_sources: BTreeMap<Lang, Vec<RuleCore>>,
    metas: Vec<Arc<RuleMeta>>,
    files: Vec<(String, RuleFile)>,
}

static BUILTIN: LazyLock<Result<Arc<RuleSet>, String>> =
    LazyLock::new(|| RuleSet::load(&[], &[]).map(Arc::new).map_err(|e| e.to_string()));

fn read_user_rules(dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), RuleError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| RuleError { origin: dir.display().to_string(), reason: format!("cannot read the rule folder: {e}") })?;
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
        let mut sources_text = None;
        for (path, text) in BUILTIN_RULES {
            if *path == SOURCES_FILE {
                sources_text = Some(*text);
            } else {
                texts.push((format!("builtin:{path}"), text.to_string()));
            }
        }
        for d in dirs {
            read_user_rules(d, &mut texts)?;
        }
        let request_sources = compile_sources(sources_text.unwrap_or(""))?;
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

    /// Appends the findings of one file.
    pub fn scan(&self, f: &SourceFile, out: &mut Vec<Finding>) {
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
            if !t.files.iter().any(|g| g.is_match(&f.rel)) || t.prefilter.as_ref().is_some_and(|p| !p.is_match(&f.text)) {
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
            .filter(|r| r.prefilter.as_ref().is_none_or(|p| p.is_match(&f.text)))
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
                        if may_match(m, &node) && m.match_node(node.clone()).is_some() {
                            out.push(finding(&r.meta, f, node.start_pos().line() + 1));
                        }
                    }
                    Matching::Taint { sinks, .. } => {
                        for (si, s) in sinks.iter().enumerate() {
                            if !may_match(&s.matcher, &node) {
                                continue;
                            }
                            if let Some(nm) = s.matcher.match_node(node.clone()) {
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
        let request: Vec<&RuleCore> = self.request_sources.get(&lang).map(|v| v.iter().collect()).unwrap_or_default();
        let request_ranges = match_ranges(&root, &request);
        let mut by_rule: BTreeMap<usize, Vec<(usize, TsNode<'_>, Vec<TsNode<'_>>)>> = BTreeMap::new();
        for (ri, si, n, focus) in sink_hits {
            by_rule.entry(ri).or_default().push((si, n, focus));
        }
        for (ri, hits) in by_rule {
            let r = active[ri];
            let Matching::Taint { sources, request: use_request, sinks, sanitizers } = &r.matching else { continue };
            let mut source_ranges = match_ranges(&root, &sources.iter().collect::<Vec<_>>());
            if *use_request {
                source_ranges.extend(request_ranges.iter().cloned());
            }
            let sanitized = match_ranges(&root, &sanitizers.iter().collect::<Vec<_>>());
            let mut taint = Taint::new(lang, &source_ranges, &sanitized);
            for (si, n, focus) in hits {
                if taint.reaches(&sinks[si], &n, &focus, &root) {
                    out.push(finding(&r.meta, f, n.start_pos().line() + 1));
                }
            }
        }
    }
}

/// Whether a matcher can match a node of this kind (ast-grep's own pre-check, which
/// `match_node` skips).
fn may_match(m: &RuleCore, node: &TsNode<'_>) -> bool {
    m.potential_kinds().is_none_or(|k| k.contains(node.kind_id().into()))
}

fn compile_sources(text: &str) -> Result<BTreeMap<Lang, Vec<RuleCore>>, RuleError> {
    let err = |reason: String| RuleError { origin: format!("builtin:{SOURCES_FILE}"), reason };
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
                .map(|r| r.get_matcher(DeserializeEnv::new(lang)).map_err(|e| err(format!("{name}: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(lang, compiled);
        }
    }
    Ok(out)
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
