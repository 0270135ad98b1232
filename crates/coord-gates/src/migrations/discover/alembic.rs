//! Alembic: `versions/*.py` with `upgrade()` and `downgrade()`, ordered by the revision chain
//! (`revision` / `down_revision`).

use super::{Found, file_name, stem};
use crate::checker::{SourceFile, call_arguments, line_at};
use crate::migrations::code_text::literals;
use crate::migrations::{Migration, Tool, re};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

static PY_UPGRADE: LazyLock<Regex> = LazyLock::new(|| py_def("upgrade"));
static PY_DOWNGRADE: LazyLock<Regex> = LazyLock::new(|| py_def("downgrade"));
static ALEMBIC_REV: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?m)^revision[ \t]*(?::[^=\n]+)?=[ \t]*['"]([^'"]+)['"]"#));
static ALEMBIC_DOWN_REV: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^down_revision[ \t]*(?::[^=\n]+)?=[ \t]*(.*)$"));
static PY_DOCSTRING: LazyLock<Regex> = LazyLock::new(|| re(r#"(?s)""".*?"""|'''.*?'''"#));

/// The header of a top-level Python function (`def upgrade() -> None:`).
fn py_def(name: &str) -> Regex {
    re(&format!(r"(?m)^def[ \t]+{name}[ \t]*\([^)]*\)[^:\n]*:"))
}

/// An Alembic migration with its place in the revision graph.
pub(super) struct AlembicFile {
    found: Found,
    revision: String,
    parents: Vec<String>,
}

/// The end of a top-level Python block whose header ends at `from`: the start of the next line
/// that begins at column 0 with code.
fn py_block_end(text: &str, from: usize) -> usize {
    let Some(nl) = text[from..].find('\n') else { return text.len() };
    let mut pos = from + nl + 1;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        if text[pos..end].chars().next().is_some_and(|c| !c.is_whitespace() && c != '#') {
            return pos;
        }
        pos = end;
    }
    text.len()
}

/// A Python body that does nothing: `pass`, `...`, docstrings, comments, `raise NotImplementedError`.
fn py_body_empty(body: &str) -> bool {
    PY_DOCSTRING.replace_all(body, "").lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).all(
        |l| l == "pass" || l == "..." || l.starts_with("raise NotImplementedError") || l.starts_with("raise Exception"),
    )
}

/// The Alembic migration a Python file holds, if it is one.
pub(super) fn alembic_file(f: &SourceFile) -> Option<AlembicFile> {
    let rel = f.rel.as_str();
    if !rel.split('/').rev().skip(1).any(|d| d == "versions") {
        return None;
    }
    let text = f.text.as_str();
    let up = PY_UPGRADE.find(text)?;
    let up_end = py_block_end(text, up.end());
    let down = PY_DOWNGRADE.find(text);
    let down_body = down.map(|d| (d.end(), py_block_end(text, d.end())));
    let down_ok = down_body.filter(|&(s, e)| !py_body_empty(&text[s..e]));
    let file_stem = stem(file_name(rel));
    let revision = ALEMBIC_REV
        .captures(text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| file_stem.split('_').next().unwrap_or(file_stem).to_string());
    let parents = ALEMBIC_DOWN_REV
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| {
            let value = m.as_str().trim_start();
            if value.starts_with('(') || value.starts_with('[') {
                let open = m.start() + (m.as_str().len() - value.len()) + 1;
                literals(call_arguments(text, open, 2_000))
            } else {
                literals(value)
            }
        })
        .unwrap_or_default();
    let name = file_stem.strip_prefix(&revision).map_or(file_stem, |s| s.trim_start_matches('_')).to_string();
    let (rollback_line, why) = match down {
        Some(d) => (line_at(text, d.start()), "has a downgrade() that does nothing"),
        None => (line_at(text, up.start()), "has no downgrade()"),
    };
    Some(AlembicFile {
        found: Found {
            m: Migration {
                tool: Tool::Alembic,
                version: revision.clone(),
                name,
                up: (rel.to_string(), text[up.start()..up_end].to_string()),
                down: down_ok.map(|(s, e)| (rel.to_string(), text[s..e].to_string())),
            },
            order: Vec::new(),
            up_at: up.start(),
            rollback_line,
            rollback_why: why.to_string(),
            rollback_fix: "implement downgrade() with the inverse operations (op.drop_column for op.add_column, \
                           op.create_table for op.drop_table...), and run `alembic upgrade head`, `alembic downgrade \
                           -1`, `alembic upgrade head` in CI"
                .to_string(),
        },
        revision,
        parents,
    })
}

/// Orders Alembic revisions by their depth in the revision graph (file name as tie-break).
pub(super) fn order_alembic(files: Vec<AlembicFile>) -> Vec<Found> {
    let parents: HashMap<String, Vec<String>> = files.iter().map(|a| (a.revision.clone(), a.parents.clone())).collect();
    fn depth(rev: &str, parents: &HashMap<String, Vec<String>>, memo: &mut HashMap<String, u64>, seen: usize) -> u64 {
        if let Some(&d) = memo.get(rev) {
            return d;
        }
        if seen > parents.len() {
            return 0; // a cycle: give up on this chain
        }
        let d = parents
            .get(rev)
            .map(|ps| {
                ps.iter().filter(|p| parents.contains_key(*p)).map(|p| depth(p, parents, memo, seen + 1) + 1).max()
            })
            .unwrap_or_default()
            .unwrap_or(0);
        memo.insert(rev.to_string(), d);
        d
    }
    let mut memo = HashMap::new();
    files
        .into_iter()
        .map(|mut a| {
            a.found.order = vec![depth(&a.revision, &parents, &mut memo, 0)];
            a.found
        })
        .collect()
}
