//! Discovery: which files are migrations, and their up and down steps, for every layout family
//! (one file each: plain SQL and Flyway/Prisma folders, Alembic, Django, JavaScript, Rails).

use super::{Migration, re};
use crate::checker::SourceFile;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

mod alembic;
mod django;
mod javascript;
mod rails;
mod sql_files;

/// A discovered migration, with what the checker needs beyond [`Migration`].
pub(super) struct Found {
    pub(super) m: Migration,
    /// Sort key.
    pub(super) order: Vec<u64>,
    /// Byte offset of `m.up.1` in the file `m.up.0`.
    pub(super) up_at: usize,
    /// Where to report a missing rollback.
    pub(super) rollback_line: usize,
    /// Why there is no rollback (when `m.down` is `None`).
    pub(super) rollback_why: String,
    /// How to add one.
    pub(super) rollback_fix: String,
}

/// The file name of a `/`-separated path.
pub(super) fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// The folder of a `/`-separated path (`""` at the root).
pub(super) fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// A file name without its extensions (`0001_init.up.sql` → `0001_init`).
fn stem(name: &str) -> &str {
    name.split_once('.').map_or(name, |(s, _)| s)
}

/// Whether a folder above the file is a migrations folder (`migrations`, `db/migration`,
/// `sql-migrations`, `migrate`...).
fn in_migration_dir(rel: &str) -> bool {
    rel.split('/').rev().skip(1).any(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("migration") || d == "migrate"
    })
}

static VERSIONED: LazyLock<Regex> = LazyLock::new(|| re(r"^(\d+(?:[.-]\d+)*)[_-]+(.+)$"));

/// `20240101000000_users` → `("20240101000000", "users")`; `None` without a leading version.
fn split_version(stem: &str) -> Option<(String, String)> {
    let c = VERSIONED.captures(stem)?;
    Some((c[1].to_string(), c[2].to_string()))
}

/// A version as numbers for ordering ("2" before "10", "1.10" after "1.9").
fn natural(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap_or(u64::MAX)).collect()
}

/// Every migration among the files, sorted by tool, then version, name and file.
pub(super) fn discover(files: &[SourceFile]) -> Vec<Found> {
    let mut pairs: BTreeMap<(String, String), sql_files::Pair> = BTreeMap::new();
    let mut out = Vec::new();
    let mut alembic = Vec::new();
    for f in files {
        match f.ext().as_str() {
            "sql" => sql_files::sql_file(f, &mut pairs),
            "py" => {
                if let Some(a) = alembic::alembic_file(f) {
                    alembic.push(a);
                } else if let Some(d) = django::django_file(f) {
                    out.push(d);
                }
            }
            "js" | "ts" | "mjs" | "cjs" | "mts" | "cts" => out.extend(javascript::js_file(f)),
            "rb" => out.extend(rails::rails_file(f)),
            _ => {}
        }
    }
    out.extend(pairs.into_values().filter_map(sql_files::Pair::finish));
    out.extend(alembic::order_alembic(alembic));
    out.sort_by(|a, b| (a.m.tool, &a.order, &a.m.name, &a.m.up.0).cmp(&(b.m.tool, &b.order, &b.m.name, &b.m.up.0)));
    out
}
