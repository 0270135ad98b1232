//! Django: `<app>/migrations/NNNN_<name>.py`, reversed by the framework unless a `RunPython` or
//! `RunSQL` operation has no reverse.

use super::{Found, dir_of, file_name, natural, split_version, stem};
use crate::checker::{SourceFile, call_arguments, line_at};
use crate::migrations::code_text::{kwarg, positional, split_top};
use crate::migrations::{Migration, Tool, re};
use regex::Regex;
use std::sync::LazyLock;

static DJANGO_REVERSIBLE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(RunPython|RunSQL)\s*\("));

/// The Django migration a Python file holds, if it is one.
pub(super) fn django_file(f: &SourceFile) -> Option<Found> {
    let rel = f.rel.as_str();
    if file_name(dir_of(rel)) != "migrations" || !f.text.contains("Migration(") {
        return None;
    }
    let (version, name) = split_version(stem(file_name(rel)))?;
    let text = f.text.as_str();
    let mut irreversible = None;
    for c in DJANGO_REVERSIBLE.captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        let parts = split_top(call_arguments(text, whole.end(), 200_000));
        let (op, reverse) =
            if &c[1] == "RunPython" { ("RunPython", "reverse_code") } else { ("RunSQL", "reverse_sql") };
        let has_reverse =
            positional(&parts).len() >= 2 || parts.iter().any(|(_, p)| kwarg(p, reverse).is_some_and(|v| v != "None"));
        if !has_reverse {
            irreversible = Some((whole.start(), op, reverse));
            break;
        }
    }
    let (rollback_line, why, fix) = match irreversible {
        Some((at, op, reverse)) => (
            line_at(text, at),
            format!("runs {op} without {reverse}"),
            format!(
                "pass {reverse}= to {op} (migrations.{op}.noop when there is nothing to undo), and run migrate, \
                 migrate <app> <previous>, migrate in CI"
            ),
        ),
        None => (1, String::new(), String::new()),
    };
    Some(Found {
        order: natural(&version),
        m: Migration {
            tool: Tool::Django,
            version,
            name,
            up: (rel.to_string(), f.text.clone()),
            down: irreversible.is_none().then(|| (rel.to_string(), "(Django reverses the operations)".to_string())),
        },
        up_at: 0,
        rollback_line,
        rollback_why: why,
        rollback_fix: fix,
    })
}
