//! Rails: `db/migrate/<version>_<name>.rb` with `change` (reversed by Rails unless it runs an
//! irreversible step) or `up` and `down`.

use super::{Found, file_name, natural, split_version, stem};
use crate::checker::{SourceFile, line_at};
use crate::migrations::{Migration, Tool, re};
use regex::Regex;
use std::sync::LazyLock;

static RB_DEF: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^[ \t]*def[ \t]+(up|down|change)\b"));
static RB_ANY_DEF: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^[ \t]*def[ \t]+\w+"));
static RB_IRREVERSIBLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)\bexecute\b|\bchange_column\b|^[ \t]*remove_column[ \t(]+:\w+[ \t]*,[ \t]*:\w+[ \t)]*$|^[ \t]*drop_table[ \t(]+:\w+[ \t)]*$",
    )
});

/// The Rails migration a Ruby file holds, if it is one.
pub(super) fn rails_file(f: &SourceFile) -> Option<Found> {
    let rel = f.rel.as_str();
    if !format!("/{rel}").contains("/db/migrate/") {
        return None;
    }
    let text = f.text.as_str();
    let defs: Vec<(String, usize, usize, usize)> = RB_DEF
        .captures_iter(text)
        .filter_map(|c| {
            let m = c.get(0)?;
            let end = RB_ANY_DEF.find_at(text, m.end()).map_or(text.len(), |n| n.start());
            Some((c[1].to_string(), m.start(), m.end(), end))
        })
        .collect();
    let up = defs.iter().find(|d| d.0 == "change").or_else(|| defs.iter().find(|d| d.0 == "up"))?;
    let down = defs.iter().find(|d| d.0 == "down");
    let (version, name) = split_version(stem(file_name(rel)))?;
    let body = &text[up.2..up.3];
    let (down_text, rollback_line, why) = match down {
        Some(d) => {
            let code: Vec<&str> = text[d.2..d.3]
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "end")
                .collect();
            if code.iter().all(|l| l.starts_with("raise")) {
                (None, line_at(text, d.1), "has a down that only raises".to_string())
            } else {
                (Some(text[d.2..d.3].to_string()), 0, String::new())
            }
        }
        None if up.0 == "change" => match RB_IRREVERSIBLE.find(body) {
            Some(m) if !body.contains("reversible do") && !body.contains("up_only") => (
                None,
                line_at(text, up.2 + m.start()),
                format!("uses `{}` in change, which Rails cannot reverse", m.as_str().trim()),
            ),
            _ => (Some("(Rails reverses change)".to_string()), 0, String::new()),
        },
        None => (None, line_at(text, up.1), "has up but no down".to_string()),
    };
    Some(Found {
        order: natural(&version),
        m: Migration {
            tool: Tool::Rails,
            version,
            name,
            up: (rel.to_string(), text[up.1..up.3].to_string()),
            down: down_text.map(|t| (rel.to_string(), t)),
        },
        up_at: up.1,
        rollback_line,
        rollback_why: why,
        rollback_fix: "define down (or wrap irreversible steps in `reversible do |dir| ... end`), and run \
                       `rails db:migrate`, `rails db:rollback`, `rails db:migrate` in CI"
            .to_string(),
    })
}
