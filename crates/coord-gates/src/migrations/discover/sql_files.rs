//! The SQL layouts: sqlx and golang-migrate `.up.sql` / `.down.sql` pairs, plain one-way `.sql`
//! files, dbmate / sql-migrate / goose files with up and down sections, diesel folders, Flyway
//! `V` / `U` scripts and Prisma `migration.sql` folders.

use super::{Found, dir_of, file_name, in_migration_dir, natural, split_version};
use crate::checker::SourceFile;
use crate::migrations::sql_parse::SQL_COMMENT;
use crate::migrations::{Migration, Tool, re};
use regex::Regex;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

static FLYWAY: LazyLock<Regex> = LazyLock::new(|| re(r"^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$"));
static FLYWAY_OTHER: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:R|B\d+(?:[._]\d+)*)__.+\.sql$"));
static SQL_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(.+?)(?:\.(up|down))?\.sql$"));
static UP_MARK: LazyLock<Regex> = LazyLock::new(|| section_mark("up"));
static DOWN_MARK: LazyLock<Regex> = LazyLock::new(|| section_mark("down"));

/// The line that opens the `up` or `down` section of a dbmate (`-- migrate:up`), sql-migrate
/// (`-- +migrate Up`) or goose (`-- +goose Up`) file.
fn section_mark(step: &str) -> Regex {
    re(&format!(r"(?im)^[ \t]*--[ \t]*(?:\+migrate[ \t]+{step}|migrate:{step}|\+goose[ \t]+{step})\b.*$"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `.up.sql` + `.down.sql`.
    Files,
    /// One `.sql` file without sections.
    Single,
    /// One file with up/down sections.
    Sections,
    /// `<version>_<name>/up.sql` + `down.sql`.
    Folder,
    /// Flyway `V` + `U`.
    Flyway,
    /// Prisma `migration.sql` (+ `down.sql`).
    Prisma,
}

/// The files of one migration of a SQL layout, gathered as they are met.
pub(super) struct Pair {
    tool: Tool,
    shape: Shape,
    version: String,
    name: String,
    /// `(file, text, offset of text in file)`.
    up: Option<(String, String, usize)>,
    down: Option<(String, String)>,
}

impl Pair {
    fn new(tool: Tool, shape: Shape, version: String, name: String) -> Self {
        Pair { tool, shape, version, name, up: None, down: None }
    }

    /// The whole file is the up step.
    fn up_file(&mut self, f: &SourceFile) {
        self.up = Some((f.rel.clone(), f.text.clone(), 0));
    }

    /// The whole file is the down step.
    fn down_file(&mut self, f: &SourceFile) {
        self.down = Some((f.rel.clone(), f.text.clone()));
    }

    /// The migration, once its files are all met: `None` without an up step (a lone down file).
    pub(super) fn finish(self) -> Option<Found> {
        let (file, text, up_at) = self.up?;
        let had_down = self.down.is_some();
        let down = self.down.filter(|(_, t)| has_sql(t));
        let missing = |step: &str| if had_down { format!("has an empty {step}") } else { format!("has no {step}") };
        let (why, fix) = match self.shape {
            Shape::Files => {
                let down_file = file.replace(".up.sql", ".down.sql").replace(".UP.sql", ".DOWN.sql");
                (
                    missing("down migration"),
                    format!("write {down_file} so that it undoes the up step, and run up, down, up again in CI"),
                )
            }
            Shape::Single => {
                let base = file.trim_end_matches(".sql");
                (
                    "has no down migration (a one-way .sql file)".to_string(),
                    format!(
                        "make it reversible: rename it to {base}.up.sql and add {base}.down.sql (sqlx migrate add -r \
                         creates the pair), or add a `-- migrate:down` section; run up, down, up again in CI"
                    ),
                )
            }
            Shape::Sections => (
                missing("down section"),
                "write the down section (`-- migrate:down`, `-- +migrate Down` or `-- +goose Down`) so that it undoes \
                 the up section, and run up, down, up again in CI"
                    .to_string(),
            ),
            Shape::Folder => (
                missing("down.sql"),
                format!("write {}/down.sql so that it undoes up.sql, and run up, down, up again in CI", dir_of(&file)),
            ),
            Shape::Flyway => (
                missing("undo migration"),
                format!(
                    "add {}/U{}__{}.sql that undoes it (run by `flyway undo`), or keep a tested roll-forward script, \
                     and run migrate, undo, migrate in CI",
                    dir_of(&file),
                    self.version.replace('.', "_"),
                    self.name.trim_end_matches(".sql")
                ),
            ),
            Shape::Prisma => (
                "has no down migration (Prisma does not generate them)".to_string(),
                format!(
                    "generate a rollback script before applying it: `prisma migrate diff --from-schema-datamodel \
                     prisma/schema.prisma --to-migrations prisma/migrations --shadow-database-url $SHADOW_DATABASE_URL \
                     --script > {}/down.sql`, and apply it with `prisma db execute` when rolling back",
                    dir_of(&file)
                ),
            ),
        };
        Some(Found {
            order: natural(&self.version),
            m: Migration { tool: self.tool, version: self.version, name: self.name, up: (file, text), down },
            up_at,
            rollback_line: 1,
            rollback_why: why,
            rollback_fix: fix,
        })
    }
}

/// Whether the text holds anything but comments and blanks.
fn has_sql(text: &str) -> bool {
    SQL_COMMENT.replace_all(text, "").chars().any(|c| !c.is_whitespace() && c != ';')
}

/// The up and down sections of a single-file migration, if it has markers.
fn sections(text: &str) -> Option<(Range<usize>, Option<Range<usize>>)> {
    let up = UP_MARK.find(text);
    let down = DOWN_MARK.find(text);
    match (up, down) {
        (None, None) => None,
        (Some(u), None) => Some((u.start()..text.len(), None)),
        (None, Some(d)) => Some((0..d.start(), Some(d.end()..text.len()))),
        (Some(u), Some(d)) if u.start() < d.start() => Some((u.start()..d.start(), Some(d.end()..text.len()))),
        (Some(u), Some(d)) => Some((u.start()..text.len(), Some(d.end()..u.start()))),
    }
}

/// Files a `.sql` file under its migration, if it is one.
pub(super) fn sql_file(f: &SourceFile, pairs: &mut BTreeMap<(String, String), Pair>) {
    let rel = f.rel.as_str();
    let name = file_name(rel);
    let dir = dir_of(rel);
    if FLYWAY_OTHER.is_match(name) {
        return;
    }
    if let Some(c) = FLYWAY.captures(name) {
        let version = c[2].replace('_', ".");
        let p = pairs
            .entry((format!("flyway:{dir}"), version.clone()))
            .or_insert_with(|| Pair::new(Tool::Flyway, Shape::Flyway, version, c[3].to_string()));
        if &c[1] == "V" {
            p.up_file(f);
        } else {
            p.down_file(f);
        }
        return;
    }
    if !in_migration_dir(rel) {
        return;
    }
    if matches!(name, "migration.sql" | "up.sql" | "down.sql") {
        let folder = file_name(dir);
        if let Some((version, mname)) = split_version(folder) {
            let p = pairs
                .entry((format!("folder:{}", dir_of(dir)), folder.to_string()))
                .or_insert_with(|| Pair::new(Tool::Sql, Shape::Folder, version, mname));
            match name {
                "down.sql" => p.down_file(f),
                "migration.sql" => {
                    p.tool = Tool::Prisma;
                    p.shape = Shape::Prisma;
                    p.up_file(f);
                }
                _ => p.up_file(f),
            }
            return;
        }
    }
    let Some(c) = SQL_NAME.captures(name) else { return };
    let stem = c[1].to_string();
    let updown = c.get(2).map(|m| m.as_str().to_ascii_lowercase());
    let (version, mname) = match split_version(&stem) {
        Some(v) => v,
        None if updown.is_some() => (String::new(), stem.clone()),
        None => return,
    };
    let p = pairs
        .entry((format!("sql:{dir}"), stem.to_ascii_lowercase()))
        .or_insert_with(|| Pair::new(Tool::Sql, Shape::Files, version, mname));
    match updown.as_deref() {
        Some("down") => p.down_file(f),
        Some(_) => p.up_file(f),
        None => match sections(&f.text) {
            Some((up, down)) => {
                p.shape = Shape::Sections;
                p.up = Some((rel.to_string(), f.text[up.clone()].to_string(), up.start));
                p.down = down.map(|d| (rel.to_string(), f.text[d].to_string()));
            }
            None => {
                p.shape = Shape::Single;
                p.up_file(f);
            }
        },
    }
}
