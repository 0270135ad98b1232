//! The languages the AST rules read, each a tree-sitter grammar wired into ast-grep: which
//! files are which language, and how a rule's `$VAR` metavariables are spelt in a language
//! whose identifiers cannot hold `$` (Python).

use ast_grep_core::Language;
use ast_grep_core::matcher::{Pattern, PatternBuilder, PatternError};
use ast_grep_core::tree_sitter::{LanguageExt, StrDoc, TSLanguage};
use std::borrow::Cow;

/// A language with a grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// JavaScript (and JSX).
    JavaScript,
    /// TypeScript.
    TypeScript,
    /// TypeScript with JSX.
    Tsx,
    /// Python 3.
    Python,
    /// Java.
    Java,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 5] = [Lang::JavaScript, Lang::TypeScript, Lang::Tsx, Lang::Python, Lang::Java];

    /// The language of a file, by its extension.
    pub fn of_path(rel: &str) -> Option<Lang> {
        let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        Some(match ext.as_str() {
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "py" => Lang::Python,
            "java" => Lang::Java,
            _ => return None,
        })
    }

    /// The languages a rule's `language:` names: `javascript` covers TypeScript too (their
    /// grammars share the node kinds the rules use).
    pub fn from_rule_name(name: &str) -> Option<&'static [Lang]> {
        Some(match name {
            "javascript" | "js" => &[Lang::JavaScript, Lang::TypeScript, Lang::Tsx],
            "typescript" | "ts" => &[Lang::TypeScript, Lang::Tsx],
            "python" | "py" => &[Lang::Python],
            "java" => &[Lang::Java],
            _ => return None,
        })
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Python => "python",
            Lang::Java => "java",
        }
    }

    /// The character that stands for `$` in patterns of a language whose identifiers cannot
    /// contain `$` (tree-sitter would not parse `$X` as an identifier there).
    fn expando(self) -> char {
        match self {
            Lang::Python => 'µ',
            _ => '$',
        }
    }
}

impl Language for Lang {
    fn pre_process_pattern<'q>(&self, query: &'q str) -> Cow<'q, str> {
        let expando = self.expando();
        if expando == '$' {
            return Cow::Borrowed(query);
        }
        // `$NAME`, `$_` and `$$$` become `µNAME`, `µ_` and `µµµ`; a `$` elsewhere stays.
        let mut out = String::with_capacity(query.len());
        let mut dollars = 0;
        for c in query.chars() {
            if c == '$' {
                dollars += 1;
                continue;
            }
            let sigil = if c.is_ascii_uppercase() || c == '_' || dollars == 3 { expando } else { '$' };
            out.extend(std::iter::repeat_n(sigil, dollars));
            dollars = 0;
            out.push(c);
        }
        out.extend(std::iter::repeat_n(if dollars == 3 { expando } else { '$' }, dollars));
        Cow::Owned(out)
    }

    fn expando_char(&self) -> char {
        self.expando()
    }

    fn kind_to_id(&self, kind: &str) -> u16 {
        self.get_ts_language().id_for_node_kind(kind, true)
    }

    fn field_to_id(&self, field: &str) -> Option<u16> {
        self.get_ts_language().field_id_for_name(field).map(|f| f.get())
    }

    fn build_pattern(&self, builder: &PatternBuilder) -> Result<Pattern, PatternError> {
        builder.build(|src| StrDoc::try_new(src, *self))
    }
}

impl LanguageExt for Lang {
    fn get_ts_language(&self) -> TSLanguage {
        match self {
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
        }
    }
}
