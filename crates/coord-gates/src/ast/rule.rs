//! Rules as data: the YAML format of a rule file, and compiling one into matchers for each of
//! its languages. A rule is a pattern rule (every match is a finding), a taint rule (a finding
//! where data from a source reaches a sink within one function; see [`super::taint`]) or a text
//! rule (a regular expression over files that have no grammar here: MyBatis mappers, templates,
//! settings). Matching uses ast-grep's rule language (`pattern`, `kind`, `regex`, `inside`, `has`,
//! `not`, `any`, `all`, `constraints`, `utils`).

use super::lang::Lang;
use crate::finding::Severity;
use ast_grep_config::{DeserializeEnv, RuleCore, SerializableRuleCore};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A rule file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleFile {
    /// `<category>/<name>`; the category is the rule's folder.
    pub id: String,
    /// `javascript` (JavaScript and TypeScript), `typescript`, `python`, `java`, or `text`.
    pub language: String,
    /// Severity of a finding.
    pub severity: Severity,
    /// The weakness, `CWE-<n>`.
    pub cwe: String,
    /// What is wrong, for the finding's message.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// The checklist item the rule serves (see [`crate::checklist::ITEMS`]).
    pub item: String,
    /// Regular expressions a file must match before it is parsed for this rule: one, or a
    /// list that must all match (cheap pre-selection, for speed; a rule without one parses
    /// every file of its language).
    #[serde(default)]
    pub prefilter: Option<OneOrMany>,
    /// File globs (`*.xml`, `settings.py`, `mapper/**/*.xml`; see [`glob`]) the rule is limited to.
    #[serde(default)]
    pub files: Vec<String>,
    /// `pattern` (default) or `taint`.
    #[serde(default)]
    pub mode: Mode,
    /// Pattern mode: the ast-grep rule.
    #[serde(default)]
    pub rule: Option<yaml_serde::Value>,
    /// ast-grep constraints on metavariables.
    #[serde(default)]
    pub constraints: Option<yaml_serde::Value>,
    /// ast-grep utility rules.
    #[serde(default)]
    pub utils: Option<yaml_serde::Value>,
    /// Taint mode: where untrusted data comes from (default: the language's request sources).
    #[serde(default)]
    pub sources: Option<Vec<yaml_serde::Value>>,
    /// Taint mode: whether the language's request sources count as well as `sources`.
    #[serde(default)]
    pub request_sources: Option<bool>,
    /// Taint mode: where it must not arrive.
    #[serde(default)]
    pub sinks: Vec<SinkFile>,
    /// Taint mode: expressions whose value is clean whatever goes in.
    #[serde(default)]
    pub sanitizers: Vec<yaml_serde::Value>,
    /// Text mode: the regular expression (one finding per match, on the match's first line).
    #[serde(default)]
    pub regex: Option<String>,
    /// Text mode: a match on a line that also matches this is not a finding.
    #[serde(default)]
    pub unless: Option<String>,
    /// Code that must yield a finding (`bad`) and code that must not (`good`); a test runs them.
    pub examples: Examples,
}

/// A taint sink, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkFile {
    /// The sink's ast-grep rule.
    pub rule: yaml_serde::Value,
    /// Constraints of the sink's metavariables.
    #[serde(default)]
    pub constraints: Option<yaml_serde::Value>,
    /// The metavariables that must carry tainted data (default: the whole match).
    #[serde(default)]
    pub focus: Vec<String>,
}

/// Examples of a rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// Code that must yield a finding of the rule.
    pub bad: Vec<String>,
    /// Code that must not.
    pub good: Vec<String>,
    /// The file name the examples are checked as (default: by language).
    #[serde(default)]
    pub file: Option<String>,
}

/// How a rule matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Every match is a finding.
    #[default]
    Pattern,
    /// Source-to-sink within one function.
    Taint,
}

/// What a finding of the rule says, shared by its compiled forms.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    /// The rule id.
    pub id: String,
    /// The category (the id's folder).
    pub category: String,
    /// Severity.
    pub severity: Severity,
    /// `CWE-<n>`.
    pub cwe: String,
    /// Message.
    pub message: String,
    /// Fix.
    pub fix: String,
    /// Checklist item.
    pub item: String,
    /// Where the rule file came from (`builtin:<path>` or a file path).
    pub origin: String,
}

/// An ast-grep rule with its node kinds in a table, so a node of another kind is refused
/// without matching (ast-grep's `find_all` does the same; `match_node` alone does not).
pub struct NodeRule {
    /// The rule.
    pub core: RuleCore,
    kinds: Option<Vec<bool>>,
}

impl NodeRule {
    /// Wraps a compiled rule.
    pub fn new(core: RuleCore) -> NodeRule {
        use ast_grep_core::Matcher;
        let kinds = core.potential_kinds().map(|set| {
            let max = set.iter().max().unwrap_or(0);
            let mut table = vec![false; max + 1];
            for k in set.iter() {
                table[k] = true;
            }
            table
        });
        NodeRule { core, kinds }
    }

    /// The match at this node, if any.
    pub fn test<'r>(
        &self,
        n: &super::taint::TsNode<'r>,
    ) -> Option<ast_grep_core::NodeMatch<'r, ast_grep_core::tree_sitter::StrDoc<Lang>>> {
        use ast_grep_core::matcher::MatcherExt;
        if let Some(k) = &self.kinds
            && !k.get(n.kind_id() as usize).copied().unwrap_or(false)
        {
            return None;
        }
        self.core.match_node(n.clone())
    }
}

/// A sink, compiled for one language.
pub struct Sink {
    /// The matcher.
    pub matcher: NodeRule,
    /// The metavariables that must be tainted.
    pub focus: Vec<String>,
}

/// How a compiled rule matches in one language.
pub enum Matching {
    /// Each match is a finding.
    Pattern(NodeRule),
    /// Source to sink.
    Taint {
        /// Extra sources of the rule.
        sources: Vec<NodeRule>,
        /// Whether the language's request sources count.
        request: bool,
        /// Sinks.
        sinks: Vec<Sink>,
        /// Sanitizers.
        sanitizers: Vec<NodeRule>,
    },
}

/// One regular expression, or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// All of these.
    Many(Vec<String>),
}

/// The expressions a file must all match before a rule looks at it.
#[derive(Debug, Clone, Default)]
pub struct Prefilter(Vec<Regex>);

impl Prefilter {
    fn compile(source: Option<&OneOrMany>) -> Result<Prefilter, regex::Error> {
        let list: Vec<&str> = match source {
            None => Vec::new(),
            Some(OneOrMany::One(one)) => vec![one.as_str()],
            Some(OneOrMany::Many(many)) => many.iter().map(String::as_str).collect(),
        };
        list.into_iter().map(Regex::new).collect::<Result<Vec<_>, _>>().map(Prefilter)
    }

    /// Whether `text` may hold a finding of the rule.
    pub fn admits(&self, text: &str) -> bool {
        self.0.iter().all(|r| r.is_match(text))
    }
}

/// A rule compiled for one language.
pub struct LangRule {
    /// What a finding says.
    pub meta: Arc<RuleMeta>,
    /// Files must match this before they are parsed for the rule.
    pub prefilter: Prefilter,
    /// File name globs the rule is limited to.
    pub files: Vec<FileGlob>,
    /// How it matches.
    pub matching: Matching,
}

/// A text rule.
pub struct TextRule {
    /// What a finding says.
    pub meta: Arc<RuleMeta>,
    /// File name globs.
    pub files: Vec<FileGlob>,
    /// The expression.
    pub regex: Regex,
    /// Lines matching this are not findings.
    pub unless: Option<Regex>,
    /// Files must match this to be searched.
    pub prefilter: Prefilter,
}

/// A compiled rule: per language, or text.
pub enum Compiled {
    /// AST rules, one per language the rule names.
    Ast(Vec<(Lang, LangRule)>),
    /// A text rule.
    Text(TextRule),
}

/// Why a rule file is refused: always names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("rule {origin}: {reason}")]
pub struct RuleError {
    /// The file.
    pub origin: String,
    /// What is wrong.
    pub reason: String,
}

/// A file glob of a rule's `files` (globset's syntax: `*`, `?`, `**`, `[ab]`, `{a,b}`, case
/// insensitive): without a `/` it matches a file's name in any folder (`*.xml`, `settings.py`);
/// with one it matches the end of the relative path at a folder boundary (`mapper/*.xml`), or
/// the whole path when it starts with `/`.
#[derive(Debug, Clone)]
pub struct FileGlob(globset::GlobMatcher);

impl FileGlob {
    /// Whether the file at `rel` (relative, `/`-separated) is one the glob names.
    pub fn is_match(&self, rel: &str) -> bool {
        self.0.is_match(rel)
    }
}

/// Compiles a rule's file glob.
pub fn glob(g: &str) -> Result<FileGlob, globset::Error> {
    let pattern = match g.strip_prefix('/') {
        Some(whole_path) => whole_path.to_string(),
        None if g.starts_with("**/") => g.to_string(),
        None => format!("**/{g}"),
    };
    let glob = globset::GlobBuilder::new(&pattern).case_insensitive(true).literal_separator(true).build()?;
    Ok(FileGlob(glob.compile_matcher()))
}

/// A pattern's `f($A, $$$)` also matches `f(a)`: ast-grep needs the comma, so such a pattern
/// becomes `any` of the pattern and the pattern without `, $$$`.
fn optional_rest(v: &yaml_serde::Value) -> yaml_serde::Value {
    match v {
        yaml_serde::Value::Mapping(m) => {
            let mut out = yaml_serde::Mapping::new();
            for (k, val) in m {
                let pattern = k.as_str() == Some("pattern");
                match (pattern, val.as_str()) {
                    (true, Some(p)) if p.contains(", $$$)") => {
                        let short = p.replace(", $$$)", ")");
                        let alts = vec![
                            yaml_serde::Value::Mapping(std::iter::once(("pattern".into(), p.into())).collect()),
                            yaml_serde::Value::Mapping(std::iter::once(("pattern".into(), short.into())).collect()),
                        ];
                        out.insert("any".into(), yaml_serde::Value::Sequence(alts));
                    }
                    _ => {
                        out.insert(k.clone(), optional_rest(val));
                    }
                }
            }
            yaml_serde::Value::Mapping(out)
        }
        yaml_serde::Value::Sequence(s) => yaml_serde::Value::Sequence(s.iter().map(optional_rest).collect()),
        other => other.clone(),
    }
}

fn core(
    rule: &yaml_serde::Value,
    constraints: Option<&yaml_serde::Value>,
    utils: Option<&yaml_serde::Value>,
    lang: Lang,
) -> Result<RuleCore, String> {
    let mut map = yaml_serde::Mapping::new();
    map.insert("rule".into(), optional_rest(rule));
    if let Some(c) = constraints {
        map.insert("constraints".into(), optional_rest(c));
    }
    if let Some(u) = utils {
        map.insert("utils".into(), optional_rest(u));
    }
    let ser: SerializableRuleCore =
        yaml_serde::from_value(yaml_serde::Value::Mapping(map)).map_err(|e| format!("not an ast-grep rule: {e}"))?;
    ser.get_matcher(DeserializeEnv::new(lang)).map_err(|e| {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        format!("{msg} (for {})", lang.name())
    })
}

impl RuleFile {
    /// Parses a rule file.
    pub fn parse(text: &str, origin: &str) -> Result<RuleFile, RuleError> {
        yaml_serde::from_str(text).map_err(|e| RuleError { origin: origin.into(), reason: e.to_string() })
    }

    /// Compiles the rule. `request_sources` gives the language's request sources.
    pub fn compile(
        &self,
        origin: &str,
        request_sources: &dyn Fn(Lang) -> bool,
    ) -> Result<(Arc<RuleMeta>, Compiled), RuleError> {
        let err = |reason: String| RuleError { origin: origin.into(), reason };
        let Some((category, name)) = self.id.split_once('/') else {
            return Err(err(format!("id `{}` must be <category>/<name>", self.id)));
        };
        if category.is_empty() || name.is_empty() {
            return Err(err(format!("id `{}` must be <category>/<name>", self.id)));
        }
        if !self.cwe.starts_with("CWE-") || self.cwe[4..].parse::<u32>().is_err() {
            return Err(err(format!("cwe `{}` must be CWE-<number>", self.cwe)));
        }
        if crate::checklist::item_by_id(&self.item).is_none() {
            return Err(err(format!("item `{}` is not a checklist item (coord gate --list shows them)", self.item)));
        }
        if self.examples.bad.is_empty() {
            return Err(err("examples.bad is empty: every rule shows code it finds".into()));
        }
        let meta = Arc::new(RuleMeta {
            id: self.id.clone(),
            category: category.to_string(),
            severity: self.severity,
            cwe: self.cwe.clone(),
            message: self.message.trim().to_string(),
            fix: self.fix.trim().to_string(),
            item: self.item.clone(),
            origin: origin.to_string(),
        });
        let files = self
            .files
            .iter()
            .map(|g| glob(g).map_err(|e| err(format!("files: bad glob `{g}`: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if self.language == "text" {
            let Some(re) = &self.regex else { return Err(err("a text rule needs `regex`".into())) };
            let regex = Regex::new(re).map_err(|e| err(format!("regex: {e}")))?;
            let unless = self.unless.as_deref().map(Regex::new).transpose().map_err(|e| err(format!("unless: {e}")))?;
            if files.is_empty() {
                return Err(err("a text rule needs `files`".into()));
            }
            let prefilter = Prefilter::compile(self.prefilter.as_ref()).map_err(|e| err(format!("prefilter: {e}")))?;
            return Ok((meta.clone(), Compiled::Text(TextRule { meta, files, regex, unless, prefilter })));
        }
        let Some(langs) = Lang::from_rule_name(&self.language) else {
            return Err(err(format!(
                "language `{}` is not one of javascript, typescript, python, java, text",
                self.language
            )));
        };
        let prefilter = Prefilter::compile(self.prefilter.as_ref()).map_err(|e| err(format!("prefilter: {e}")))?;
        let mut out = Vec::new();
        for &lang in langs {
            let matching = match self.mode {
                Mode::Pattern => {
                    let Some(rule) = &self.rule else { return Err(err("a pattern rule needs `rule`".into())) };
                    Matching::Pattern(NodeRule::new(
                        core(rule, self.constraints.as_ref(), self.utils.as_ref(), lang).map_err(err)?,
                    ))
                }
                Mode::Taint => {
                    if self.sinks.is_empty() {
                        return Err(err("a taint rule needs `sinks`".into()));
                    }
                    let compile_all = |list: &[yaml_serde::Value]| -> Result<Vec<NodeRule>, RuleError> {
                        list.iter()
                            .map(|r| core(r, None, self.utils.as_ref(), lang).map(NodeRule::new).map_err(err))
                            .collect()
                    };
                    let sources = compile_all(self.sources.as_deref().unwrap_or(&[]))?;
                    let request = self.request_sources.unwrap_or(self.sources.is_none()) && request_sources(lang);
                    let sinks = self
                        .sinks
                        .iter()
                        .map(|s| {
                            Ok(Sink {
                                matcher: NodeRule::new(
                                    core(&s.rule, s.constraints.as_ref(), self.utils.as_ref(), lang).map_err(err)?,
                                ),
                                focus: s.focus.clone(),
                            })
                        })
                        .collect::<Result<Vec<_>, RuleError>>()?;
                    Matching::Taint { sources, request, sinks, sanitizers: compile_all(&self.sanitizers)? }
                }
            };
            out.push((
                lang,
                LangRule { meta: meta.clone(), prefilter: prefilter.clone(), files: files.clone(), matching },
            ));
        }
        Ok((meta, Compiled::Ast(out)))
    }
}

/// The categories of the built-in rules and what each covers, for documentation and the
/// evaluation (category → CWE list).
pub fn categories(metas: &[Arc<RuleMeta>]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in metas {
        let cwes = out.entry(m.category.clone()).or_default();
        if !cwes.contains(&m.cwe) {
            cwes.push(m.cwe.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::glob;

    #[test]
    fn file_globs_name_files_anywhere_paths_at_a_folder_boundary_and_whole_paths_from_the_root() {
        let m = |g: &str, rel: &str| glob(g).unwrap().is_match(rel);
        assert!(m("*.xml", "pom.xml") && m("*.xml", "src/main/resources/Mapper.XML"));
        assert!(!m("*.xml", "pom.xml.bak"));
        assert!(m("settings.py", "app/settings.py") && !m("settings.py", "app/my_settings.py"));
        assert!(m("mapper/*.xml", "src/mapper/user.xml") && !m("mapper/*.xml", "src/xmapper/user.xml"));
        assert!(!m("mapper/*.xml", "src/mapper/sub/user.xml"));
        assert!(m("mapper/**/*.xml", "src/mapper/sub/user.xml"));
        assert!(m("*.{yml,yaml}", "config/app.yaml") && m("*.{yml,yaml}", "app.yml"));
        assert!(m("/config/*.properties", "config/app.properties"));
        assert!(!m("/config/*.properties", "src/config/app.properties"));
        assert!(m(".env*", ".env.local") && m("[Dd]ockerfile", "svc/Dockerfile"));
        assert!(glob("a{b").is_err());
    }
}
