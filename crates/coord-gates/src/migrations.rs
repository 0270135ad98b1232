//! Database migrations: discovery of the common layouts, and checks of what the migrations do.
//!
//! Layouts ([`find_migrations`]):
//! - sqlx, golang-migrate and plain folders: `<version>_<name>.up.sql` + `.down.sql`, or a simple
//!   `<version>_<name>.sql` without a down step; diesel: `<version>_<name>/up.sql` + `down.sql`;
//! - one file with up and down sections: dbmate (`-- migrate:up` / `-- migrate:down`),
//!   sql-migrate (`-- +migrate Up` / `-- +migrate Down`) and goose (`-- +goose Up` / `Down`);
//! - Flyway: `V<version>__<name>.sql` with an optional undo `U<version>__<name>.sql` (repeatable
//!   `R__` and baseline `B<version>__` scripts are not versioned migrations and are skipped);
//! - Prisma: `migrations/<dir>/migration.sql`, with a hand-made `down.sql` beside it if any;
//! - Alembic: `versions/*.py` with `upgrade()` / `downgrade()`, ordered by the revision chain;
//! - Knex and other JavaScript/TypeScript migrations with `up` / `down` functions (Sequelize,
//!   TypeORM);
//! - Django: `<app>/migrations/NNNN_<name>.py`;
//! - Rails: `db/migrate/<version>_<name>.rb` with `change`, or `up` and `down`.
//!
//! Rules ([`MigrationsChecker`]):
//! - `migrations/no-rollback`: a migration without a down, undo or downgrade step (an empty one
//!   counts as none; low severity for Prisma, which has no down migrations);
//! - `migrations/destructive`: dropped tables and columns, `TRUNCATE`, `DELETE` without `WHERE`,
//!   column type changes (high), renamed tables and columns (medium) — in up steps only, and not
//!   on tables or columns the same migration created;
//! - `migrations/not-null-without-default`: a `NOT NULL` column without a default added to a table
//!   that the same migration did not create;
//! - `migrations/fk-without-index`: a foreign key whose columns lead no index, primary key or
//!   unique constraint once every migration of its folder has run, in version order (indexes and
//!   constraints dropped or renamed later are followed). MySQL's InnoDB indexes foreign keys
//!   itself: SQL in MySQL syntax (backticks, `AUTO_INCREMENT`, `ENGINE=`, or only the MySQL
//!   dialect parses it), in a `mysql/` or `mariadb/` folder, or in a project whose configuration
//!   names MySQL, is exempt.
//!
//! SQL is parsed with `sqlparser` (PostgreSQL dialect, then MySQL, generic, SQLite), including the
//! SQL that code migrations run (`op.execute`, `knex.raw`, `queryRunner.query`, `RunSQL`, Rails
//! `execute`); SQL the parser cannot read becomes a [`Note`] with the parser's message, statement
//! by statement, and the rest of the file is still checked. Operations of code migrations are
//! read by pattern.

use crate::checker::{CheckOutput, Checker, SourceFile, Workspace, call_arguments};
use crate::finding::{Finding, Note, Severity};
use regex::Regex;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, IndexColumn, ObjectName, ObjectType,
    RenameTableNameKind, Statement, TableConstraint,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, Tokenizer};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

const TESTED: &str = "database.migrations-tested";
const INDEXES: &str = "database.indexes";
const NO_ROLLBACK: &str = "migrations/no-rollback";
const DESTRUCTIVE: &str = "migrations/destructive";
const NOT_NULL: &str = "migrations/not-null-without-default";
const FK_INDEX: &str = "migrations/fk-without-index";

/// Compiles a constant pattern of this file (every one is exercised by the tests).
#[allow(clippy::expect_used)]
fn re(p: &str) -> Regex {
    Regex::new(p).expect("constant regex compiles")
}

// ---------------------------------------------------------------------------------------------
// Public model
// ---------------------------------------------------------------------------------------------

/// The tool (layout) a migration belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    /// Plain SQL: `<version>_<name>.up.sql` / `.down.sql`, single `.sql` files with or without
    /// up/down sections, `<version>_<name>/up.sql` folders (sqlx, golang-migrate, dbmate,
    /// sql-migrate, goose, diesel, hand-rolled folders).
    Sql,
    /// `V<version>__<name>.sql` with optional `U<version>__<name>.sql`.
    Flyway,
    /// `migrations/<dir>/migration.sql` (no down migrations, unless a `down.sql` was kept).
    Prisma,
    /// `versions/*.py` with `upgrade()` / `downgrade()`.
    Alembic,
    /// JavaScript/TypeScript `migrations/*` with `up` / `down` functions (Knex, Sequelize, TypeORM).
    Knex,
    /// `<app>/migrations/NNNN_*.py`.
    Django,
    /// `db/migrate/*.rb`.
    Rails,
}

/// One migration: its up step and, when it has one, its down step.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// The layout.
    pub tool: Tool,
    /// Version (timestamp, sequence number, Flyway version, Alembic revision...).
    pub version: String,
    /// Name (the part of the file or folder name after the version).
    pub name: String,
    /// `(file, text)` of the up step: the whole file, its up section, or the body of the
    /// up / upgrade / change function of a code migration.
    pub up: (String, String),
    /// `(file, text)` of the down step, when there is one that does something. Django and
    /// Rails `change` migrations are reversed by the framework: the text then says so.
    pub down: Option<(String, String)>,
}

/// Finds every migration among the files, ordered by tool, then by version (numerically, "2"
/// before "10"; Alembic by its revision chain).
pub fn find_migrations(files: &[SourceFile]) -> Vec<Migration> {
    discover(files).into_iter().map(|f| f.m).collect()
}

/// Parses SQL with the PostgreSQL dialect, then MySQL, then the generic one, then SQLite; the
/// error is the PostgreSQL parser's.
pub fn parse_sql(sql: &str) -> Result<Vec<Statement>, String> {
    parse_located(sql).map(|p| p.statements.into_iter().map(|(_, s)| s).collect())
}

// ---------------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------------

/// A discovered migration, with what the checker needs beyond [`Migration`].
struct Found {
    m: Migration,
    /// Sort key.
    order: Vec<u64>,
    /// Byte offset of `m.up.1` in the file `m.up.0`.
    up_at: usize,
    /// Where to report a missing rollback.
    rollback_line: usize,
    /// Why there is no rollback (when `m.down` is `None`).
    rollback_why: String,
    /// How to add one.
    rollback_fix: String,
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

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

fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

fn discover(files: &[SourceFile]) -> Vec<Found> {
    let mut pairs: BTreeMap<(String, String), Pair> = BTreeMap::new();
    let mut out = Vec::new();
    let mut alembic = Vec::new();
    for f in files {
        match f.ext().as_str() {
            "sql" => sql_file(f, &mut pairs),
            "py" => {
                if let Some(a) = alembic_file(f) {
                    alembic.push(a);
                } else if let Some(d) = django_file(f) {
                    out.push(d);
                }
            }
            "js" | "ts" | "mjs" | "cjs" | "mts" | "cts" => out.extend(js_file(f)),
            "rb" => out.extend(rails_file(f)),
            _ => {}
        }
    }
    out.extend(pairs.into_values().filter_map(Pair::finish));
    out.extend(order_alembic(alembic));
    out.sort_by(|a, b| (a.m.tool, &a.order, &a.m.name, &a.m.up.0).cmp(&(b.m.tool, &b.order, &b.m.name, &b.m.up.0)));
    out
}

// --- SQL layouts ------------------------------------------------------------------------------

static FLYWAY: LazyLock<Regex> = LazyLock::new(|| re(r"^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$"));
static FLYWAY_OTHER: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:R|B\d+(?:[._]\d+)*)__.+\.sql$"));
static SQL_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(.+?)(?:\.(up|down))?\.sql$"));
static UP_MARK: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?im)^[ \t]*--[ \t]*(?:\+migrate[ \t]+up|migrate:up|\+goose[ \t]+up)\b.*$"));
static DOWN_MARK: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?im)^[ \t]*--[ \t]*(?:\+migrate[ \t]+down|migrate:down|\+goose[ \t]+down)\b.*$"));
static SQL_COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)/\*.*?\*/|--[^\n]*"));

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

struct Pair {
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

    fn finish(self) -> Option<Found> {
        let (file, text, up_at) = self.up?;
        let had_down = self.down.is_some();
        let down = self.down.filter(|(_, t)| has_sql(t));
        let (why, fix) = match self.shape {
            Shape::Files => {
                let down_file = file.replace(".up.sql", ".down.sql").replace(".UP.sql", ".DOWN.sql");
                (
                    if had_down { "has an empty down migration" } else { "has no down migration" }.to_string(),
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
                if had_down { "has an empty down section" } else { "has no down section" }.to_string(),
                "write the down section (`-- migrate:down`, `-- +migrate Down` or `-- +goose Down`) so that it undoes \
                 the up section, and run up, down, up again in CI"
                    .to_string(),
            ),
            Shape::Folder => (
                if had_down { "has an empty down.sql" } else { "has no down.sql" }.to_string(),
                format!("write {}/down.sql so that it undoes up.sql, and run up, down, up again in CI", dir_of(&file)),
            ),
            Shape::Flyway => (
                if had_down { "has an empty undo migration" } else { "has no undo migration" }.to_string(),
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

fn sql_file(f: &SourceFile, pairs: &mut BTreeMap<(String, String), Pair>) {
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
            p.up = Some((rel.to_string(), f.text.clone(), 0));
        } else {
            p.down = Some((rel.to_string(), f.text.clone()));
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
                "down.sql" => p.down = Some((rel.to_string(), f.text.clone())),
                "migration.sql" => {
                    p.tool = Tool::Prisma;
                    p.shape = Shape::Prisma;
                    p.up = Some((rel.to_string(), f.text.clone(), 0));
                }
                _ => p.up = Some((rel.to_string(), f.text.clone(), 0)),
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
        Some("down") => p.down = Some((rel.to_string(), f.text.clone())),
        Some(_) => p.up = Some((rel.to_string(), f.text.clone(), 0)),
        None => match sections(&f.text) {
            Some((up, down)) => {
                p.shape = Shape::Sections;
                p.up = Some((rel.to_string(), f.text[up.clone()].to_string(), up.start));
                p.down = down.map(|d| (rel.to_string(), f.text[d].to_string()));
            }
            None => {
                p.shape = Shape::Single;
                p.up = Some((rel.to_string(), f.text.clone(), 0));
            }
        },
    }
}

// --- Alembic ----------------------------------------------------------------------------------

static PY_UPGRADE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^def[ \t]+upgrade[ \t]*\([^)]*\)[^:\n]*:"));
static PY_DOWNGRADE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^def[ \t]+downgrade[ \t]*\([^)]*\)[^:\n]*:"));
static ALEMBIC_REV: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?m)^revision[ \t]*(?::[^=\n]+)?=[ \t]*['"]([^'"]+)['"]"#));
static ALEMBIC_DOWN_REV: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^down_revision[ \t]*(?::[^=\n]+)?=[ \t]*(.*)$"));
static PY_DOCSTRING: LazyLock<Regex> = LazyLock::new(|| re(r#"(?s)""".*?"""|'''.*?'''"#));

struct AlembicFile {
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

fn alembic_file(f: &SourceFile) -> Option<AlembicFile> {
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
fn order_alembic(files: Vec<AlembicFile>) -> Vec<Found> {
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

// --- Django -----------------------------------------------------------------------------------

static DJANGO_REVERSIBLE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(RunPython|RunSQL)\s*\("));
static KWARG: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\w+)\s*(=)[^=]"));

fn kwarg<'a>(part: &'a str, name: &str) -> Option<&'a str> {
    let c = KWARG.captures(part)?;
    let eq = c.get(2)?;
    (&c[1] == name).then(|| part[eq.end()..].trim())
}

fn positional<'a>(parts: &[(usize, &'a str)]) -> Vec<(usize, &'a str)> {
    parts.iter().copied().filter(|(_, p)| !KWARG.is_match(p)).collect()
}

fn django_file(f: &SourceFile) -> Option<Found> {
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

// --- JavaScript / TypeScript ------------------------------------------------------------------

static JS_UP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)\bexports\.up\s*=|\bexport\s+(?:async\s+)?function\s+up\b|\bexport\s+const\s+up\b|\bup\s*:\s*(?:async\s+)?(?:function\b|\(|\w+\s*=>)|^[ \t]*(?:public\s+|private\s+)?(?:async\s+)?up\s*\(",
    )
});
static JS_DOWN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)\bexports\.down\s*=|\bexport\s+(?:async\s+)?function\s+down\b|\bexport\s+const\s+down\b|\bdown\s*:\s*(?:async\s+)?(?:function\b|\(|\w+\s*=>)|^[ \t]*(?:public\s+|private\s+)?(?:async\s+)?down\s*\(",
    )
});
static JS_COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)/\*.*?\*/|//[^\n]*"));

/// The index after a quoted string starting at `i` (the quote), backslash escapes skipped.
fn skip_quote(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            return j;
        }
        j += 1;
    }
    b.len()
}

/// The index of the `}` matching the `{` at `open`, skipping strings and comments.
fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quote(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The body of the function whose definition starts at `from` (`exports.up = async function
/// (knex) {`, `up(queryRunner) {`, `export const up = knex => knex.schema...`): `(start, end)`.
fn js_body(text: &str, from: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut depth = 0i32;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'\'' | b'"' | b'`' => i = skip_quote(b, i),
            b'{' if depth <= 0 => return Some((i + 1, matching_brace(b, i)?)),
            b'=' if depth <= 0 && b.get(i + 1) == Some(&b'>') => {
                let mut j = i + 2;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if b.get(j) == Some(&b'{') {
                    return Some((j + 1, matching_brace(b, j)?));
                }
                // An expression body: up to `;` or the next line that starts a new statement.
                let mut k = j;
                let mut d = 0i32;
                while k < b.len() {
                    match b[k] {
                        b'(' | b'[' | b'{' => d += 1,
                        b')' | b']' | b'}' => d -= 1,
                        b'\'' | b'"' | b'`' => k = skip_quote(b, k),
                        b';' if d <= 0 => break,
                        b'\n' if d <= 0 && b.get(k + 1).is_some_and(|c| !c.is_ascii_whitespace() && *c != b'.') => {
                            break;
                        }
                        _ => {}
                    }
                    k += 1;
                }
                return Some((j, k.min(b.len())));
            }
            b';' if depth <= 0 => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// A JavaScript body that does nothing (or only throws).
fn js_body_empty(body: &str) -> bool {
    let code: String = JS_COMMENT.replace_all(body, "").chars().filter(|c| !c.is_whitespace()).collect();
    let code = code.trim_end_matches(';');
    code.is_empty()
        || matches!(code, "return" | "returnPromise.resolve()" | "Promise.resolve()" | "returnnull" | "returnundefined")
        || (code.starts_with("thrownew") && !code.contains(';'))
}

fn js_file(f: &SourceFile) -> Option<Found> {
    let rel = f.rel.as_str();
    let name = file_name(rel);
    if !in_migration_dir(rel) || name.ends_with(".d.ts") || name.contains(".test.") || name.contains(".spec.") {
        return None;
    }
    let text = f.text.as_str();
    let up = JS_UP.find(text)?;
    let (us, ue) = js_body(text, up.start())?;
    let down = JS_DOWN.find(text);
    let down_ok = down.and_then(|d| js_body(text, d.start())).filter(|&(s, e)| !js_body_empty(&text[s..e]));
    let file_stem = stem(name);
    let (version, mname) = split_version(file_stem).unwrap_or_else(|| (file_stem.to_string(), file_stem.to_string()));
    let (rollback_line, why) = match down {
        Some(d) => (line_at(text, d.start()), "has a down function that does nothing"),
        None => (line_at(text, up.start()), "has no down function"),
    };
    Some(Found {
        order: natural(&version),
        m: Migration {
            tool: Tool::Knex,
            version,
            name: mname,
            up: (rel.to_string(), text[us..ue].to_string()),
            down: down_ok.map(|(s, e)| (rel.to_string(), text[s..e].to_string())),
        },
        up_at: us,
        rollback_line,
        rollback_why: why.to_string(),
        rollback_fix: "implement down with the inverse changes (dropTable for createTable, dropColumn for an added \
                       column...), and run the migrations up, rolled back (`knex migrate:rollback`) and up again in CI"
            .to_string(),
    })
}

// --- Rails ------------------------------------------------------------------------------------

static RB_DEF: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^[ \t]*def[ \t]+(up|down|change)\b"));
static RB_ANY_DEF: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^[ \t]*def[ \t]+\w+"));
static RB_IRREVERSIBLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)\bexecute\b|\bchange_column\b|^[ \t]*remove_column[ \t(]+:\w+[ \t]*,[ \t]*:\w+[ \t)]*$|^[ \t]*drop_table[ \t(]+:\w+[ \t)]*$",
    )
});

fn rails_file(f: &SourceFile) -> Option<Found> {
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

// ---------------------------------------------------------------------------------------------
// Small parsing helpers for code migrations
// ---------------------------------------------------------------------------------------------

/// Top-level comma-separated parts of an argument list: `(offset, trimmed part)`.
fn split_top(s: &str) -> Vec<(usize, &str)> {
    fn push<'s>(s: &'s str, mut from: usize, to: usize, parts: &mut Vec<(usize, &'s str)>) {
        // Leading blanks and comment lines are not part of the argument.
        loop {
            let raw = &s[from..to];
            let trimmed = raw.trim_start();
            from += raw.len() - trimmed.len();
            if !(trimmed.starts_with('#') || trimmed.starts_with("//")) {
                break;
            }
            match trimmed.find('\n') {
                Some(nl) => from += nl + 1,
                None => return,
            }
        }
        let part = s[from..to].trim_end();
        if !part.is_empty() {
            parts.push((from, part));
        }
    }
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quote(b, i),
            // A Python or Ruby comment, to the end of the line.
            b'#' => {
                while i + 1 < b.len() && b[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                push(s, start, i, &mut parts);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    push(s, start, s.len(), &mut parts);
    parts
}

/// A string literal.
struct Lit {
    /// Offset of its content.
    start: usize,
    /// Offset after it (and after literals concatenated to it).
    end: usize,
    value: String,
}

/// The string literal at `i` (after blanks): Python (`r`/`b`/`u` prefixes, triple quotes), JS
/// (template literals without `${}`), Ruby; adjacent or `+`-joined literals are concatenated.
fn literal_at(s: &str, i: usize) -> Option<Lit> {
    let b = s.as_bytes();
    let mut lit: Option<Lit> = None;
    let mut j = i;
    loop {
        while j < b.len() && (b[j].is_ascii_whitespace() || (lit.is_some() && b[j] == b'+') || b[j] == b'\\') {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && k < j + 2 && matches!(b[k], b'r' | b'R' | b'b' | b'B' | b'u' | b'U') {
            k += 1;
        }
        let Some(&q) = b.get(k) else { break };
        if !matches!(q, b'\'' | b'"' | b'`') {
            break;
        }
        let triple = b.get(k + 1) == Some(&q) && b.get(k + 2) == Some(&q);
        let (content_start, content_end, after) = if triple {
            let open = k + 3;
            let close = s[open..].find(&s[k..k + 3]).map(|p| open + p)?;
            (open, close, close + 3)
        } else {
            let close = skip_quote(b, k);
            if close >= b.len() {
                return None;
            }
            (k + 1, close, close + 1)
        };
        let content = &s[content_start..content_end];
        if q == b'`' && content.contains("${") {
            return None;
        }
        let value = content.replace("\\'", "'").replace("\\\"", "\"");
        match &mut lit {
            Some(l) => {
                l.value.push_str(&value);
                l.end = after;
            }
            None => lit = Some(Lit { start: content_start, end: after, value }),
        }
        j = after;
    }
    lit
}

/// Every simple string literal (and Ruby symbol) in `s`, in order.
fn literals(s: &str) -> Vec<String> {
    static WORD: LazyLock<Regex> = LazyLock::new(|| re(r#"['"`]|(?:^|[^\w:]):(\w+)"#));
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(c) = WORD.captures_at(s, at) {
        let Some(m) = c.get(0) else { break };
        if let Some(sym) = c.get(1) {
            out.push(sym.as_str().to_string());
            at = m.end();
            continue;
        }
        match literal_at(s, m.start()) {
            Some(l) => {
                out.push(l.value);
                at = l.end.max(m.end());
            }
            None => at = m.end(),
        }
    }
    out
}

/// The SQL string of an argument: a literal, `sa.text("...")`, or `sql="..."`.
fn sql_literal(part: &str) -> Option<Lit> {
    let after_eq = KWARG.captures(part).and_then(|c| c.get(2)).map_or(0, |m| m.end());
    let rest = &part[after_eq..];
    let start = after_eq + rest.len() - rest.trim_start().len();
    let value = &part[start..];
    let start = if callee(value) == "text" { value.find('(').map_or(start, |i| start + i + 1) } else { start };
    literal_at(part, start)
}

fn first_literal(s: &str) -> Option<String> {
    literals(s).into_iter().next()
}

/// The name of the call a part starts with: `sa.Column(...)` → `Column`.
fn callee(part: &str) -> &str {
    let head = part.split('(').next().unwrap_or("").trim();
    if head.len() == part.trim().len() {
        return "";
    }
    head.rsplit('.').next().unwrap_or(head)
}

/// The argument text of the call a part starts with.
fn inner_args(part: &str) -> &str {
    part.find('(').map_or("", |i| call_arguments(part, i + 1, part.len()))
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

// ---------------------------------------------------------------------------------------------
// SQL parsing with locations
// ---------------------------------------------------------------------------------------------

/// Statements with their 1-based line in the parsed text.
struct Parsed {
    statements: Vec<(usize, Statement)>,
    /// Only the MySQL dialect understood it.
    mysql: bool,
}

fn parse_located(sql: &str) -> Result<Parsed, String> {
    let dialects: [(&dyn Dialect, bool); 4] = [
        (&PostgreSqlDialect {}, false),
        (&MySqlDialect {}, true),
        (&GenericDialect {}, false),
        (&SQLiteDialect {}, false),
    ];
    let mut first_error = None;
    for (dialect, mysql) in dialects {
        match Parser::parse_sql(dialect, sql) {
            Ok(statements) => {
                let lines = statement_lines(sql, dialect, &statements);
                return Ok(Parsed { statements: lines.into_iter().zip(statements).collect(), mysql });
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

/// The line of each statement: the first token after each `;`, or, when the tokens do not split
/// into as many statements (bodies with inner semicolons), each statement's first keyword.
fn statement_lines(sql: &str, dialect: &dyn Dialect, statements: &[Statement]) -> Vec<usize> {
    if let Ok(tokens) = Tokenizer::new(dialect, sql).tokenize_with_location() {
        let mut lines = Vec::new();
        let mut want = true;
        for t in &tokens {
            match t.token {
                Token::Whitespace(_) => {}
                Token::SemiColon => want = true,
                _ if want => {
                    lines.push((t.span.start.line as usize).max(1));
                    want = false;
                }
                _ => {}
            }
        }
        if lines.len() == statements.len() {
            return lines;
        }
    }
    let blank: String = SQL_COMMENT
        .replace_all(sql, |c: &regex::Captures<'_>| {
            c[0].bytes().map(|b| if b == b'\n' { '\n' } else { ' ' }).collect::<String>()
        })
        .to_ascii_lowercase();
    let mut cursor = 0;
    statements
        .iter()
        .map(|st| {
            let shown = st.to_string().to_ascii_lowercase();
            let word = shown.split_whitespace().next().unwrap_or("");
            if let Some(i) = blank.get(cursor..).and_then(|rest| rest.find(word)) {
                cursor += i;
                let line = line_at(&blank, cursor);
                cursor += word.len();
                line
            } else {
                line_at(&blank, cursor)
            }
        })
        .collect()
}

fn offset_of(sql: &str, line_starts: &[usize], loc: Location) -> usize {
    let Some(&start) = line_starts.get((loc.line as usize).saturating_sub(1)) else { return sql.len() };
    sql[start..].char_indices().nth((loc.column as usize).saturating_sub(1)).map_or(sql.len(), |(i, _)| start + i)
}

/// The statements of a text as `(line, text)` chunks split on top-level `;`, for parsing one by
/// one when the whole text does not parse.
fn split_chunks(sql: &str) -> Result<Vec<(usize, &str)>, String> {
    let mut tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location();
    if tokens.is_err() {
        tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location();
    }
    let tokens = tokens.map_err(|e| e.to_string())?;
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect::<Vec<_>>();
    let mut chunks = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for t in &tokens {
        match t.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if let Some((line, s)) = start.take() {
                    let e = offset_of(sql, &line_starts, t.span.start).max(s);
                    chunks.push((line, &sql[s..e]));
                }
            }
            _ if start.is_none() => {
                start = Some((t.span.start.line as usize, offset_of(sql, &line_starts, t.span.start)));
            }
            _ => {}
        }
    }
    if let Some((line, s)) = start {
        chunks.push((line, &sql[s..]));
    }
    Ok(chunks)
}

// ---------------------------------------------------------------------------------------------
// The schema as the migrations leave it: indexes and foreign keys
// ---------------------------------------------------------------------------------------------

struct Ix {
    table: String,
    cols: Vec<String>,
    name: Option<String>,
}

struct Fk {
    table: String,
    cols: Vec<String>,
    name: Option<String>,
    file: String,
    line: usize,
    tool: Tool,
    /// The database indexes it itself (MySQL InnoDB).
    auto: bool,
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[derive(Default)]
struct Schema {
    indexes: Vec<Ix>,
    fks: Vec<Fk>,
}

impl Schema {
    fn index(&mut self, table: &str, cols: Vec<String>, name: Option<String>) {
        if !cols.is_empty() {
            self.indexes.push(Ix { table: table.to_string(), cols, name });
        }
    }

    fn drop_table(&mut self, table: &str) {
        self.indexes.retain(|i| !same(&i.table, table));
        self.fks.retain(|f| !same(&f.table, table));
    }

    fn drop_named(&mut self, table: Option<&str>, name: &str) {
        let hit = |t: &str, n: &Option<String>| {
            n.as_deref().is_some_and(|n| same(n, name)) && table.is_none_or(|table| same(t, table))
        };
        self.indexes.retain(|i| !hit(&i.table, &i.name));
        self.fks.retain(|f| !hit(&f.table, &f.name));
    }

    fn drop_column(&mut self, table: &str, col: &str) {
        self.indexes.retain(|i| !(same(&i.table, table) && i.cols.iter().any(|c| same(c, col))));
        self.fks.retain(|f| !(same(&f.table, table) && f.cols.iter().any(|c| same(c, col))));
    }

    fn rename_table(&mut self, old: &str, new: &str) {
        for t in self.indexes.iter_mut().map(|i| &mut i.table).chain(self.fks.iter_mut().map(|f| &mut f.table)) {
            if same(t, old) {
                *t = new.to_string();
            }
        }
    }

    fn rename_column(&mut self, table: &str, old: &str, new: &str) {
        let cols = self
            .indexes
            .iter_mut()
            .filter(|i| same(&i.table, table))
            .map(|i| &mut i.cols)
            .chain(self.fks.iter_mut().filter(|f| same(&f.table, table)).map(|f| &mut f.cols));
        for list in cols {
            for c in list.iter_mut().filter(|c| same(c, old)) {
                *c = new.to_string();
            }
        }
    }

    /// Whether some index has the foreign key's columns as its leading columns (in any order).
    fn covered(&self, fk: &Fk) -> bool {
        self.indexes.iter().any(|i| {
            same(&i.table, &fk.table)
                && i.cols.len() >= fk.cols.len()
                && fk.cols.iter().all(|c| i.cols[..fk.cols.len()].iter().any(|ic| same(ic, c)))
        })
    }
}

/// A table or index name without schema and quotes.
fn object(n: &ObjectName) -> String {
    unquote(n.to_string().rsplit('.').next().unwrap_or(""))
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches(|c| matches!(c, '"' | '`' | '[' | ']')).to_string()
}

fn index_columns(cols: &[IndexColumn]) -> Vec<String> {
    cols.iter().map(|c| unquote(&c.column.expr.to_string())).collect()
}

fn joined(cols: &[String]) -> String {
    cols.join("_").to_ascii_lowercase()
}

/// The fix for a foreign key without an index, in the migration's own language.
fn index_fix(tool: Tool, table: &str, cols: &[String]) -> String {
    let name = format!("{}_{}_idx", table.to_ascii_lowercase(), joined(cols));
    let quoted = |q: char| cols.iter().map(|c| format!("{q}{c}{q}")).collect::<Vec<_>>().join(", ");
    match tool {
        Tool::Alembic => format!(
            "op.create_index(\"{name}\", \"{table}\", [{}]) in a migration (or index=True on the column)",
            quoted('"')
        ),
        Tool::Knex => format!("table.index([{}]) on {table} (or .index() on the column)", quoted('\'')),
        Tool::Rails => {
            let list = if cols.len() == 1 {
                format!(":{}", cols[0])
            } else {
                format!("[{}]", cols.iter().map(|c| format!(":{c}")).collect::<Vec<_>>().join(", "))
            };
            format!("add_index :{table}, {list}")
        }
        Tool::Django => format!(
            "drop db_index=False (Django indexes foreign keys by default), or add models.Index(fields=[{}]) to the \
             model's Meta.indexes",
            quoted('"')
        ),
        Tool::Prisma => format!(
            "add @@index([{}]) to the {table} model in schema.prisma and run `prisma migrate dev` (it writes \
             CREATE INDEX \"{name}\" ON \"{table}\"(...))",
            cols.join(", ")
        ),
        Tool::Sql | Tool::Flyway => format!("CREATE INDEX {name} ON {table} ({});", cols.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

/// The migrations checker (id `migrations`): see the module documentation for the rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrationsChecker;

/// One migration being checked.
struct Mig<'a> {
    tool: Tool,
    file: &'a str,
    /// The whole text of the file.
    full: &'a str,
    /// Tables the migration creates (lower case).
    created: HashSet<String>,
    /// Columns the migration adds, as `table.column` (lower case).
    added: HashSet<String>,
}

impl Mig<'_> {
    fn line(&self, offset: usize) -> usize {
        line_at(self.full, offset)
    }

    fn created(&self, table: &str) -> bool {
        self.created.contains(&table.to_ascii_lowercase())
    }

    fn create(&mut self, table: &str) {
        self.created.insert(table.to_ascii_lowercase());
    }

    fn add(&mut self, table: &str, col: &str) {
        self.added.insert(format!("{table}.{col}").to_ascii_lowercase());
    }

    fn added(&self, table: &str, col: &str) -> bool {
        self.created(table) || self.added.contains(&format!("{table}.{col}").to_ascii_lowercase())
    }
}

struct Run {
    out: CheckOutput,
    schema: Schema,
    /// The project runs on MySQL: foreign keys are indexed by InnoDB.
    mysql: bool,
}

/// Configuration files that name the database.
fn project_is_mysql(files: &[SourceFile]) -> bool {
    static CONFIG: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)^(package\.json|knexfile\.[cm]?[jt]s|database\.ya?ml|schema\.prisma|alembic\.ini|settings\.py|application[-\w]*\.(properties|ya?ml)|pom\.xml|build\.gradle(\.kts)?|requirements[-\w]*\.txt|pyproject\.toml|gemfile|cargo\.toml|go\.mod|docker-compose[-\w]*\.ya?ml|compose\.ya?ml|\.env\.example|flyway\.conf)$",
        )
    });
    let (mut mysql, mut other) = (false, false);
    for f in files.iter().filter(|f| CONFIG.is_match(file_name(&f.rel))) {
        let t = f.text.to_ascii_lowercase();
        mysql |= t.contains("mysql") || t.contains("mariadb");
        other |= ["postgres", "sqlite", "sqlserver", "mssql", "\"pg\""].iter().any(|db| t.contains(db));
    }
    mysql && !other
}

impl Checker for MigrationsChecker {
    fn id(&self) -> &'static str {
        "migrations"
    }

    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let found = discover(ws.files);
        let mut run = Run { out: CheckOutput::default(), schema: Schema::default(), mysql: project_is_mysql(ws.files) };
        let texts: HashMap<&str, &str> = ws.files.iter().map(|f| (f.rel.as_str(), f.text.as_str())).collect();
        // Each migration set (a folder of migrations) builds its own schema: a monorepo's services,
        // or a tool's per-database test sets, do not share indexes.
        let mut sets: Vec<(&str, Vec<&Found>)> = Vec::new();
        for f in &found {
            let set = migration_set(&f.m);
            match sets.iter_mut().find(|(s, _)| *s == set) {
                Some((_, list)) => list.push(f),
                None => sets.push((set, vec![f])),
            }
        }
        for (_, set) in &sets {
            run.schema = Schema::default();
            for f in set {
                run.migration(f, &texts);
            }
            run.unindexed_foreign_keys();
        }
        run.out
    }
}

/// The folder that holds a migration's set: the migration's own folder, or its parent for
/// one-folder-per-migration layouts (Prisma, diesel).
fn migration_set(m: &Migration) -> &str {
    let dir = dir_of(&m.up.0);
    if matches!(file_name(&m.up.0), "migration.sql" | "up.sql") { dir_of(dir) } else { dir }
}

impl Run {
    /// Checks one migration, against and into the current set's schema.
    fn migration(&mut self, f: &Found, texts: &HashMap<&str, &str>) {
        let m = &f.m;
        if m.down.is_none() {
            self.push(
                NO_ROLLBACK,
                if m.tool == Tool::Prisma { Severity::Low } else { Severity::Medium },
                &m.up.0,
                f.rollback_line,
                format!("migration {} {}, so it cannot be rolled back", file_name(&m.up.0), f.rollback_why),
                f.rollback_fix.clone(),
                TESTED,
            );
        }
        let mut mig = Mig {
            tool: m.tool,
            file: &m.up.0,
            full: texts.get(m.up.0.as_str()).copied().unwrap_or(m.up.1.as_str()),
            created: HashSet::new(),
            added: HashSet::new(),
        };
        // The up text lies at `up_at` in the file, unless the file is not among the inputs.
        let at = if mig.full.len() == m.up.1.len() && mig.full == m.up.1 { 0 } else { f.up_at };
        match m.tool {
            Tool::Sql | Tool::Flyway | Tool::Prisma => self.sql(&mut mig, at, &m.up.1),
            Tool::Alembic => self.alembic(&mut mig, at, &m.up.1),
            Tool::Knex => self.knex(&mut mig, at, &m.up.1),
            Tool::Django => self.django(&mut mig, at, &m.up.1),
            Tool::Rails => self.rails(&mut mig, at, &m.up.1),
        }
    }

    // Every field of a finding is an argument: a struct literal at each call site is longer.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        rule: &str,
        severity: Severity,
        file: &str,
        line: usize,
        message: String,
        fix: String,
        item: &str,
    ) {
        self.out.findings.push(Finding {
            rule: rule.into(),
            severity,
            file: file.into(),
            line,
            message,
            fix,
            item: item.into(),
        });
    }

    fn destructive(&mut self, mig: &Mig<'_>, line: usize, severity: Severity, message: String, fix: &str) {
        self.push(DESTRUCTIVE, severity, mig.file, line, message, fix.to_string(), TESTED);
    }

    fn not_null(&mut self, mig: &Mig<'_>, line: usize, table: &str, col: &str, how: &str) {
        self.push(
            NOT_NULL,
            Severity::High,
            mig.file,
            line,
            format!(
                "adds NOT NULL column {table}.{col} without a default: fails on PostgreSQL and SQLite as soon as \
                 {table} has rows (MySQL silently fills the type's zero value)"
            ),
            format!(
                "add {col} as NULL, backfill it, then make it NOT NULL in a later migration (expand/contract), or {how}"
            ),
            TESTED,
        );
    }

    fn fk(&mut self, mig: &Mig<'_>, table: &str, cols: Vec<String>, name: Option<String>, line: usize, auto: bool) {
        if cols.is_empty() {
            return;
        }
        let name = name.or_else(|| Some(format!("{}_{}_fkey", table.to_ascii_lowercase(), joined(&cols))));
        self.schema.fks.push(Fk {
            table: table.to_string(),
            cols,
            name,
            file: mig.file.to_string(),
            line,
            tool: mig.tool,
            auto: auto || self.mysql,
        });
    }

    fn unindexed_foreign_keys(&mut self) {
        let mut seen = HashSet::new();
        let mut findings = Vec::new();
        for fk in &self.schema.fks {
            if fk.auto || self.schema.covered(fk) {
                continue;
            }
            if !seen.insert((fk.table.to_ascii_lowercase(), joined(&fk.cols))) {
                continue;
            }
            findings.push(Finding {
                rule: FK_INDEX.into(),
                severity: Severity::Medium,
                file: fk.file.clone(),
                line: fk.line,
                message: format!(
                    "foreign key {}({}) has no index leading with its columns: joins and lookups by it, and deletes \
                     or updates of the referenced rows, scan {}",
                    fk.table,
                    fk.cols.join(", "),
                    fk.table
                ),
                fix: index_fix(fk.tool, &fk.table, &fk.cols),
                item: INDEXES.into(),
            });
        }
        self.out.findings.extend(findings);
    }

    // --- SQL ----------------------------------------------------------------------------------

    /// Checks SQL that starts at byte `at` of the migration's file.
    fn sql(&mut self, mig: &mut Mig<'_>, at: usize, sql: &str) {
        static MYSQL: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bauto_increment\b|\bengine\s*=\s*\w|`\w+`"));
        let base = mig.line(at);
        let mysql = MYSQL.is_match(sql)
            || mig
                .file
                .split('/')
                .rev()
                .skip(1)
                .any(|d| d.eq_ignore_ascii_case("mysql") || d.eq_ignore_ascii_case("mariadb"));
        match parse_located(sql) {
            Ok(p) => {
                for (line, st) in &p.statements {
                    self.statement(mig, base + line.saturating_sub(1), st, p.mysql || mysql);
                }
            }
            Err(whole) => {
                let chunks = match split_chunks(sql) {
                    Ok(chunks) if !chunks.is_empty() => chunks,
                    _ => {
                        self.out.notes.push(Note {
                            file: mig.file.to_string(),
                            message: format!(
                                "line {base}: SQL the parser cannot read ({}); the statements were not checked",
                                in_file(&whole, base)
                            ),
                        });
                        return;
                    }
                };
                for (chunk_line, chunk) in chunks {
                    let first = base + chunk_line.saturating_sub(1);
                    match parse_located(chunk) {
                        Ok(p) => {
                            for (line, st) in &p.statements {
                                self.statement(mig, first + line.saturating_sub(1), st, p.mysql || mysql);
                            }
                        }
                        Err(e) => self.out.notes.push(Note {
                            file: mig.file.to_string(),
                            message: format!(
                                "line {first}: SQL the parser cannot read ({}); this statement was not checked, the \
                                 rest of the file was",
                                in_file(&e, first)
                            ),
                        }),
                    }
                }
            }
        }
    }

    fn statement(&mut self, mig: &mut Mig<'_>, line: usize, st: &Statement, mysql: bool) {
        match st {
            Statement::CreateTable(ct) => {
                let table = object(&ct.name);
                mig.create(&table);
                for c in &ct.columns {
                    self.column(mig, &table, c, line, mysql);
                }
                for tc in &ct.constraints {
                    self.constraint(mig, &table, tc, line, mysql);
                }
            }
            Statement::CreateIndex(ci) => {
                let table = object(&ci.table_name);
                let cols = index_columns(&ci.columns);
                let name = ci.name.as_ref().map(object).or_else(|| Some(format!("{table}_{}_idx", joined(&cols))));
                self.schema.index(&table, cols, name);
            }
            Statement::AlterTable(at) => {
                let table = object(&at.name);
                for op in &at.operations {
                    self.alter(mig, &table, op, line, mysql);
                }
            }
            Statement::Drop { object_type, names, table, .. } => match object_type {
                ObjectType::Table => {
                    for n in names {
                        let t = object(n);
                        if !mig.created(&t) {
                            self.destructive(
                                mig,
                                line,
                                Severity::High,
                                format!("drops table {t}: its rows are lost, and code still reading it breaks"),
                                "keep the table until no deployed release uses it: rename it away or stop using it \
                                 first, back it up, and drop it in a later migration",
                            );
                        }
                        self.schema.drop_table(&t);
                    }
                }
                ObjectType::Index => {
                    let on = table.as_ref().map(object);
                    for n in names {
                        self.schema.drop_named(on.as_deref(), &object(n));
                    }
                }
                ObjectType::Schema | ObjectType::Database => self.destructive(
                    mig,
                    line,
                    Severity::High,
                    format!("{}: every table in it is lost", short(st)),
                    "never drop a schema or database in a migration; do it by hand after a verified backup",
                ),
                _ => {}
            },
            Statement::RenameTable(renames) => {
                for r in renames {
                    let (old, new) = (object(&r.old_name), object(&r.new_name));
                    self.rename_table(mig, line, &old, &new);
                }
            }
            Statement::Truncate(_) => self.destructive(
                mig,
                line,
                Severity::High,
                format!("{}: deletes every row", short(st)),
                "move the rows to an archive table first, or delete only the rows meant to go, with a WHERE clause, \
                 in a reviewed data migration",
            ),
            Statement::Delete(d) if d.selection.is_none() => self.destructive(
                mig,
                line,
                Severity::High,
                format!("{}: DELETE without WHERE deletes every row", short(st)),
                "add a WHERE clause that selects only the rows meant to go, or archive them first",
            ),
            _ => {}
        }
    }

    fn rename_table(&mut self, mig: &Mig<'_>, line: usize, old: &str, new: &str) {
        self.destructive(
            mig,
            line,
            Severity::Medium,
            format!("renames table {old} to {new}: code of the running release still uses the old name"),
            "create the new table (or a view with the new name), keep the old name until no deployed release uses it, \
             then drop it (expand/contract)",
        );
        self.schema.rename_table(old, new);
    }

    fn column(&mut self, mig: &Mig<'_>, table: &str, c: &ColumnDef, line: usize, mysql: bool) {
        let col = c.name.value.clone();
        for o in &c.options {
            let name = o.name.as_ref().map(|n| n.value.clone());
            match &o.option {
                ColumnOption::PrimaryKey(_) => {
                    self.schema.index(table, vec![col.clone()], name.or_else(|| Some(format!("{table}_pkey"))))
                }
                ColumnOption::Unique(_) => self.schema.index(
                    table,
                    vec![col.clone()],
                    name.or_else(|| Some(format!("{table}_{}_key", col.to_ascii_lowercase()))),
                ),
                ColumnOption::ForeignKey(fk) => {
                    let name = name.or_else(|| fk.name.as_ref().map(|n| n.value.clone()));
                    self.fk(mig, table, vec![col.clone()], name, line, mysql);
                }
                _ => {}
            }
        }
    }

    fn constraint(&mut self, mig: &Mig<'_>, table: &str, tc: &TableConstraint, line: usize, mysql: bool) {
        let ident = |n: &Option<sqlparser::ast::Ident>| n.as_ref().map(|n| n.value.clone());
        match tc {
            TableConstraint::PrimaryKey(pk) => self.schema.index(
                table,
                index_columns(&pk.columns),
                ident(&pk.name).or_else(|| Some(format!("{table}_pkey"))),
            ),
            TableConstraint::Unique(u) => {
                let cols = index_columns(&u.columns);
                let name = ident(&u.name).or_else(|| ident(&u.index_name));
                let name = name.or_else(|| Some(format!("{table}_{}_key", joined(&cols))));
                self.schema.index(table, cols, name);
            }
            TableConstraint::Index(i) => self.schema.index(table, index_columns(&i.columns), ident(&i.name)),
            TableConstraint::ForeignKey(fk) => {
                let cols = fk.columns.iter().map(|c| c.value.clone()).collect();
                self.fk(mig, table, cols, ident(&fk.name), line, mysql);
            }
            _ => {}
        }
    }

    fn alter(&mut self, mig: &mut Mig<'_>, table: &str, op: &AlterTableOperation, line: usize, mysql: bool) {
        let new_table = mig.created(table);
        match op {
            AlterTableOperation::AddColumn { column_def, .. } => {
                if !new_table && adds_not_null_without_default(column_def) {
                    self.not_null(mig, line, table, &column_def.name.value, "give it a DEFAULT");
                }
                mig.add(table, &column_def.name.value);
                self.column(mig, table, column_def, line, mysql);
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                self.constraint(mig, table, constraint, line, mysql)
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                let cols = column_names.iter().map(|c| c.value.clone()).collect::<Vec<_>>();
                // A column added by this same migration (a temporary one) holds no old data.
                if !cols.iter().all(|c| mig.added(table, c)) {
                    self.destructive(
                        mig,
                        line,
                        Severity::High,
                        format!("drops column {} of {table}: its data is lost", cols.join(", ")),
                        "expand/contract: stop reading and writing the column in one release, back it up, and drop \
                         it in a later migration",
                    );
                }
                for c in &cols {
                    self.schema.drop_column(table, c);
                }
            }
            AlterTableOperation::DropConstraint { name, .. }
            | AlterTableOperation::DropForeignKey { name, .. }
            | AlterTableOperation::DropIndex { name } => self.schema.drop_named(Some(table), &name.value),
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetDataType { data_type, .. },
            } if !mig.added(table, &column_name.value) => {
                self.type_change(mig, line, table, &column_name.value, &data_type.to_string());
            }
            AlterTableOperation::ModifyColumn { col_name, data_type, .. } if !mig.added(table, &col_name.value) => {
                self.type_change(mig, line, table, &col_name.value, &data_type.to_string());
            }
            AlterTableOperation::ChangeColumn { old_name, new_name, data_type, .. } => {
                if !mig.added(table, &old_name.value) {
                    self.type_change(mig, line, table, &old_name.value, &data_type.to_string());
                }
                self.schema.rename_column(table, &old_name.value, &new_name.value);
                mig.add(table, &new_name.value);
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                if !mig.added(table, &old_column_name.value) {
                    self.destructive(
                        mig,
                        line,
                        Severity::Medium,
                        format!(
                            "renames column {table}.{} to {}: code of the running release still uses the old name",
                            old_column_name.value, new_column_name.value
                        ),
                        "add the new column, write both, backfill, switch the reads, then drop the old one in a \
                         later migration (expand/contract)",
                    );
                }
                self.schema.rename_column(table, &old_column_name.value, &new_column_name.value);
            }
            AlterTableOperation::RenameTable { table_name } => {
                let new = match table_name {
                    RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => object(n),
                };
                self.rename_table(mig, line, table, &new);
            }
            _ => {}
        }
    }

    fn type_change(&mut self, mig: &Mig<'_>, line: usize, table: &str, col: &str, to: &str) {
        self.destructive(
            mig,
            line,
            Severity::High,
            format!(
                "changes the type of {table}.{col} to {to}: rewrites and locks the table, and may fail or truncate \
                 data"
            ),
            "add a new column of the new type, backfill it in batches, switch the code, then drop the old column \
             (expand/contract)",
        );
    }

    // --- Alembic ------------------------------------------------------------------------------

    fn alembic(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
        static CALL: LazyLock<Regex> = LazyLock::new(|| re(r"\b(op|batch_op)\.(\w+)\s*\("));
        static BATCH: LazyLock<Regex> = LazyLock::new(|| re(r#"batch_alter_table\(\s*['"](\w+)['"]"#));
        for c in CALL.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let op = c.get(2).map_or("", |m| m.as_str());
            let args_at = whole.end();
            let args = call_arguments(body, args_at, 200_000);
            let line = mig.line(at + whole.start());
            let parts = split_top(args);
            let mut pos: Vec<String> = positional(&parts).iter().map(|(_, p)| p.to_string()).collect();
            if &c[1] == "batch_op" {
                // Batch operations name no table: it is the one of `batch_alter_table`.
                let table = BATCH.captures_iter(&body[..whole.start()]).last().map(|b| format!("\"{}\"", &b[1]));
                let slot = match op {
                    "create_index" | "create_unique_constraint" | "create_primary_key" | "create_foreign_key" => 1,
                    "add_column" | "drop_column" | "alter_column" => 0,
                    _ => usize::MAX,
                };
                if let Some(t) = table.filter(|_| slot <= pos.len()) {
                    pos.insert(slot, t);
                }
            }
            let arg = |i: usize| pos.get(i).and_then(|p| first_literal(p)).unwrap_or_default();
            let has_kwarg = |name: &str| parts.iter().any(|(_, p)| kwarg(p, name).is_some());
            match op {
                "execute" => {
                    if let Some((off, part)) = parts.first()
                        && let Some(l) = sql_literal(part)
                    {
                        self.sql(mig, at + args_at + off + l.start, &l.value);
                    }
                }
                "create_table" => self.alembic_create_table(mig, at + args_at, &parts),
                "add_column" => {
                    let table = arg(0);
                    if let Some(col) = pos.get(1).and_then(|p| column_info(p)) {
                        if col.not_null && !col.server_default && !col.pk && !mig.created(&table) {
                            self.not_null(mig, line, &table, &col.name, "give it a server_default");
                        }
                        self.alembic_column(mig, &table, &col, line);
                    }
                }
                "drop_table" => {
                    let table = arg(0);
                    self.destructive(
                        mig,
                        line,
                        Severity::High,
                        format!("op.drop_table(\"{table}\") in upgrade(): its rows are lost"),
                        "keep the table until no deployed release uses it, back it up, and drop it in a later \
                         migration",
                    );
                    self.schema.drop_table(&table);
                }
                "drop_column" => {
                    let (table, col) = (arg(0), arg(1));
                    self.destructive(
                        mig,
                        line,
                        Severity::High,
                        format!("op.drop_column(\"{table}\", \"{col}\") in upgrade(): the column's data is lost"),
                        "expand/contract: stop using the column in one release, back it up, and drop it in a later \
                         migration",
                    );
                    self.schema.drop_column(&table, &col);
                }
                "alter_column" => {
                    let (table, col) = (arg(0), arg(1));
                    if has_kwarg("type_") {
                        self.type_change(mig, line, &table, &col, "a new type (op.alter_column type_=)");
                    }
                    if let Some(new) = parts.iter().find_map(|(_, p)| kwarg(p, "new_column_name")) {
                        let new = first_literal(new).unwrap_or_default();
                        self.destructive(
                            mig,
                            line,
                            Severity::Medium,
                            format!("renames column {table}.{col} to {new}: code of the running release still uses the old name"),
                            "add the new column, write both, backfill, switch the reads, then drop the old one in a \
                             later migration (expand/contract)",
                        );
                        self.schema.rename_column(&table, &col, &new);
                    }
                }
                "rename_table" => self.rename_table(mig, line, &arg(0), &arg(1)),
                "create_index" | "create_unique_constraint" | "create_primary_key" => {
                    let cols = pos.get(2).map(|p| literals(p)).unwrap_or_default();
                    self.schema.index(&arg(1), cols, Some(arg(0)));
                }
                "create_foreign_key" => {
                    let cols = pos.get(3).map(|p| literals(p)).unwrap_or_default();
                    self.fk(mig, &arg(1), cols, Some(arg(0)), line, false);
                }
                "drop_index" => {
                    let table = parts.iter().find_map(|(_, p)| kwarg(p, "table_name")).and_then(first_literal);
                    self.schema.drop_named(table.as_deref(), &arg(0));
                }
                "drop_constraint" => {
                    let table = pos.get(1).and_then(|p| first_literal(p));
                    self.schema.drop_named(table.as_deref(), &arg(0));
                }
                _ => {}
            }
        }
    }

    fn alembic_create_table(&mut self, mig: &mut Mig<'_>, args_at: usize, parts: &[(usize, &str)]) {
        let Some(table) = parts.first().and_then(|(_, p)| first_literal(p)) else { return };
        mig.create(&table);
        let mut pk = Vec::new();
        for (off, part) in parts.iter().skip(1) {
            let line = mig.line(args_at + off);
            if let Some(col) = column_info(part) {
                if col.pk {
                    pk.push(col.name.clone());
                }
                self.alembic_column(mig, &table, &col, line);
                continue;
            }
            let inner = split_top(inner_args(part));
            let names: Vec<String> = positional(&inner).iter().filter_map(|(_, p)| first_literal(p)).collect();
            let name = inner.iter().find_map(|(_, p)| kwarg(p, "name")).and_then(first_literal);
            match callee(part) {
                "PrimaryKeyConstraint" | "UniqueConstraint" => self.schema.index(&table, names, name),
                "Index" => self.schema.index(&table, names.into_iter().skip(1).collect(), name),
                "ForeignKeyConstraint" => {
                    let cols = inner.first().map(|(_, p)| literals(p)).unwrap_or_default();
                    self.fk(mig, &table, cols, name, line, false);
                }
                _ => {}
            }
        }
        if !pk.is_empty() {
            self.schema.index(&table, pk, Some(format!("{table}_pkey")));
        }
    }

    fn alembic_column(&mut self, mig: &Mig<'_>, table: &str, col: &ColInfo, line: usize) {
        if col.index || col.unique {
            self.schema.index(table, vec![col.name.clone()], None);
        }
        if col.fk {
            self.fk(mig, table, vec![col.name.clone()], None, line, false);
        }
    }

    // --- Knex, Sequelize, TypeORM -------------------------------------------------------------

    fn knex(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
        static SQL: LazyLock<Regex> = LazyLock::new(|| re(r"\.(?:raw|query)\s*\("));
        static DESTRUCTIVE_CALL: LazyLock<Regex> = LazyLock::new(|| {
            re(
                r"\.(dropTable|dropTableIfExists|dropColumns?|removeColumn|changeColumn|renameColumn|renameTable|dropSchema|dropSchemaIfExists)\s*\(|\.(alter)\s*\(\s*\)",
            )
        });
        static TABLE: LazyLock<Regex> =
            LazyLock::new(|| re(r"\.(createTable|createTableIfNotExists|alterTable|table)\s*\("));
        static ADD_COLUMN: LazyLock<Regex> = LazyLock::new(|| re(r"\.addColumn\s*\("));
        for m in SQL.find_iter(body) {
            if let Some(l) = literal_at(body, m.end()) {
                self.sql(mig, at + l.start, &l.value);
            }
        }
        for c in DESTRUCTIVE_CALL.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let method = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
            let args = call_arguments(body, whole.end(), 2_000);
            let what = literals(args).join(", ");
            let line = mig.line(at + whole.start());
            let (severity, message, fix) = match method {
                "renameColumn" | "renameTable" => (
                    Severity::Medium,
                    format!("{method}({what}): code of the running release still uses the old name"),
                    "add the new column or table, write both, backfill, switch the reads, then drop the old one in a \
                     later migration (expand/contract)",
                ),
                "alter" | "changeColumn" => (
                    Severity::High,
                    format!(
                        "{method}() changes an existing column's type or constraints: rewrites and locks the table, and may fail or lose data"
                    ),
                    "add a new column with the new definition, backfill it, switch the code, then drop the old one \
                     (expand/contract)",
                ),
                _ => (
                    Severity::High,
                    format!("{method}({what}) in the up migration: the data is lost"),
                    "expand/contract: stop using it in one release, back it up, and drop it in a later migration",
                ),
            };
            self.destructive(mig, line, severity, message, fix);
        }
        for c in TABLE.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let args_at = whole.end();
            let args = call_arguments(body, args_at, 200_000);
            let Some(table) = first_literal(args) else { continue };
            let create = c[1].starts_with("create");
            if create {
                mig.create(&table);
            }
            self.knex_table(mig, at + args_at, &table, args, create);
        }
        for m in ADD_COLUMN.find_iter(body) {
            // Sequelize: queryInterface.addColumn('t', 'c', { allowNull: false, ... }).
            let parts = split_top(call_arguments(body, m.end(), 20_000));
            let (Some(table), Some(col)) =
                (parts.first().and_then(|(_, p)| first_literal(p)), parts.get(1).and_then(|(_, p)| first_literal(p)))
            else {
                continue;
            };
            let options = parts.get(2).map(|(_, p)| compact(p)).unwrap_or_default();
            if options.contains("allowNull:false") && !options.contains("defaultValue") && !mig.created(&table) {
                let line = mig.line(at + m.start());
                self.not_null(mig, line, &table, &col, "give it a defaultValue");
            }
        }
    }

    /// The column chains of a Knex table builder: `t.integer('customer_id').references(...)`.
    fn knex_table(&mut self, mig: &Mig<'_>, args_at: usize, table: &str, args: &str, create: bool) {
        static PARAM: LazyLock<Regex> = LazyLock::new(|| {
            re(
                r#"^\s*['"][^'"]*['"]\s*,\s*(?:async\s+)?(?:function\s*\w*\s*\(\s*(\w+)|\(\s*(\w+)[^)]*\)\s*=>|(\w+)\s*=>)"#,
            )
        });
        const TYPES: &[&str] = &[
            "increments",
            "bigIncrements",
            "integer",
            "int",
            "bigInteger",
            "bigint",
            "tinyint",
            "smallint",
            "mediumint",
            "uuid",
            "string",
            "text",
            "specificType",
            "boolean",
            "date",
            "datetime",
            "timestamp",
            "decimal",
            "float",
            "double",
            "json",
            "jsonb",
            "enum",
            "enu",
            "binary",
        ];
        let Some(param) = PARAM.captures(args).and_then(|c| c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3))) else {
            return;
        };
        let Ok(chain) = Regex::new(&format!(r"\b{}\s*\.\s*(\w+)\s*\(", regex::escape(param.as_str()))) else {
            return;
        };
        let starts: Vec<(usize, String, usize)> = chain
            .captures_iter(args)
            .filter_map(|c| Some((c.get(0)?.start(), c[1].to_string(), c.get(0)?.end())))
            .collect();
        for (i, (start, method, open)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(args.len(), |n| n.0);
            let text = compact(&args[*start..end]);
            let first = call_arguments(args, *open, 5_000);
            let first_pos = split_top(first).first().map(|(_, p)| p.to_string()).unwrap_or_default();
            let line = mig.line(args_at + start);
            let method = method.as_str();
            if TYPES.contains(&method) {
                let Some(col) = first_literal(&first_pos) else { continue };
                if method.ends_with("ncrements")
                    || [".primary(", ".unique(", ".index("].iter().any(|s| text.contains(s))
                {
                    self.schema.index(table, vec![col.clone()], None);
                }
                if text.contains(".references(") {
                    self.fk(mig, table, vec![col.clone()], None, line, false);
                }
                if !create
                    && text.contains(".notNullable()")
                    && !text.contains(".defaultTo(")
                    && !text.contains(".alter()")
                {
                    self.not_null(mig, line, table, &col, "give it .defaultTo(...)");
                }
            } else if method == "foreign" && text.contains(".references(") {
                self.fk(mig, table, literals(&first_pos), None, line, false);
            } else if matches!(method, "index" | "unique" | "primary") {
                self.schema.index(table, literals(&first_pos), None);
            }
        }
    }

    // --- Django -------------------------------------------------------------------------------

    fn django(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
        static OPS: LazyLock<Regex> = LazyLock::new(|| {
            re(r"\b(?:migrations\.)?(RemoveField|DeleteModel|AlterField|RenameField|RenameModel)\s*\(")
        });
        static RUN_SQL: LazyLock<Regex> = LazyLock::new(|| re(r"\bRunSQL\s*\("));
        static FK: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:models\.)?ForeignKey\s*\("));
        static FIELD_NAME: LazyLock<Regex> = LazyLock::new(|| re(r#"['"](\w+)['"]\s*,\s*$"#));
        static MODEL: LazyLock<Regex> =
            LazyLock::new(|| re(r#"(?:model_name|CreateModel\(\s*name)\s*=\s*['"](\w+)['"]"#));
        for m in RUN_SQL.find_iter(body) {
            let parts = split_top(call_arguments(body, m.end(), 200_000));
            let sql = positional(&parts)
                .first()
                .copied()
                .or_else(|| parts.iter().copied().find(|(_, p)| KWARG.captures(p).is_some_and(|c| &c[1] == "sql")));
            if let Some((off, part)) = sql
                && let Some(l) = sql_literal(part)
            {
                self.sql(mig, at + m.end() + off + l.start, &l.value);
            }
        }
        for c in OPS.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let parts = split_top(call_arguments(body, whole.end(), 20_000));
            let kw = |n: &str| parts.iter().find_map(|(_, p)| kwarg(p, n)).and_then(first_literal).unwrap_or_default();
            let line = mig.line(at + whole.start());
            let (model, name) = (kw("model_name"), kw("name"));
            let (severity, message, fix) = match &c[1] {
                "RemoveField" => (
                    Severity::High,
                    format!("RemoveField drops column {model}.{name}: its data is lost"),
                    "expand/contract: stop using the field in one release (make it nullable), back it up, and remove \
                     it in a later migration",
                ),
                "DeleteModel" => (
                    Severity::High,
                    format!("DeleteModel drops the table of {name}: its rows are lost"),
                    "keep the model's table until no deployed release uses it, back it up, and delete it in a later \
                     migration",
                ),
                "AlterField" => (
                    Severity::High,
                    format!(
                        "AlterField changes {model}.{name}: the column is rewritten, locked, and may fail or lose data"
                    ),
                    "add a new field with the new definition, backfill it, switch the code, then remove the old one \
                     (expand/contract)",
                ),
                other => (
                    Severity::Medium,
                    format!(
                        "{other} renames {}: code of the running release still uses the old name",
                        if name.is_empty() { kw("old_name") } else { name }
                    ),
                    "keep the old name until no deployed release uses it: add the new field or model, copy, switch, \
                     then remove the old one (expand/contract)",
                ),
            };
            self.destructive(mig, line, severity, message, fix);
        }
        for m in FK.find_iter(body) {
            let args = call_arguments(body, m.end(), 5_000);
            if !compact(args).contains("db_index=False") {
                continue;
            }
            let before = &body[..m.start()];
            let field = FIELD_NAME
                .captures(before.trim_end())
                .map(|c| c[1].to_string())
                .or_else(|| {
                    static NAME: LazyLock<Regex> = LazyLock::new(|| re(r#"\bname\s*=\s*['"](\w+)['"]"#));
                    NAME.captures_iter(before).last().map(|c| c[1].to_string())
                })
                .unwrap_or_else(|| "field".to_string());
            let model = MODEL.captures_iter(before).last().map_or_else(|| "model".to_string(), |c| c[1].to_string());
            let line = mig.line(at + m.start());
            self.fk(mig, &model, vec![format!("{field}_id")], None, line, false);
        }
    }

    // --- Rails --------------------------------------------------------------------------------

    fn rails(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
        static EXECUTE: LazyLock<Regex> = LazyLock::new(|| re(r"\bexecute[ \t]*\(?[ \t]*"));
        static HEREDOC: LazyLock<Regex> = LazyLock::new(|| re(r#"^<<[~-]?(['"]?)(\w+)['"]?"#));
        static DESTRUCTIVE_CALL: LazyLock<Regex> = LazyLock::new(|| {
            re(
                r"\b(drop_table|remove_columns?|remove_reference|remove_belongs_to|remove_timestamps|change_column|rename_column|rename_table)\b|\bt\.(remove|rename)\b",
            )
        });
        static TABLE: LazyLock<Regex> = LazyLock::new(|| re(r#"\b(create_table|change_table)[ \t(]*[:'"](\w+)"#));
        static ADD_COLUMN: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)\badd_column\b(.*)$"));
        static ADD_FK: LazyLock<Regex> =
            LazyLock::new(|| re(r#"(?m)\badd_foreign_key[ \t(]*[:'"](\w+)['"]?[ \t]*,[ \t]*[:'"](\w+)['"]?(.*)$"#));
        static T_REF: LazyLock<Regex> =
            LazyLock::new(|| re(r#"(?m)\b\w+\.(?:references|belongs_to)[ \t(]*[:'"](\w+)['"]?(.*)$"#));
        static ADD_REF: LazyLock<Regex> = LazyLock::new(|| {
            re(r#"(?m)\badd_(?:reference|belongs_to)[ \t(]*[:'"](\w+)['"]?[ \t]*,[ \t]*[:'"](\w+)['"]?(.*)$"#)
        });
        static ADD_INDEX: LazyLock<Regex> =
            LazyLock::new(|| re(r#"(?m)\badd_index[ \t(]*[:'"](\w+)['"]?[ \t]*,[ \t]*(\[[^\]]*\]|[:'"]\w+['"]?)"#));
        static T_INDEX: LazyLock<Regex> = LazyLock::new(|| re(r#"(?m)\b\w+\.index[ \t(]*(\[[^\]]*\]|[:'"]\w+['"]?)"#));
        static COLUMN_OPT: LazyLock<Regex> = LazyLock::new(|| re(r#"column:[ \t]*[:'"](\w+)"#));
        for m in EXECUTE.find_iter(body) {
            let rest = &body[m.end()..];
            if let Some(h) = HEREDOC.captures(rest) {
                let tag = &h[2];
                let Some(nl) = rest.find('\n') else { continue };
                let content = &rest[nl + 1..];
                let end = content
                    .match_indices('\n')
                    .map(|(i, _)| i + 1)
                    .chain(std::iter::once(0))
                    .filter(|&i| content[i..].lines().next().is_some_and(|l| l.trim() == tag))
                    .min()
                    .unwrap_or(content.len());
                self.sql(mig, at + m.end() + nl + 1, &content[..end]);
            } else if let Some(l) = literal_at(body, m.end()) {
                self.sql(mig, at + l.start, &l.value);
            }
        }
        let tables: Vec<(usize, String, bool)> = TABLE
            .captures_iter(body)
            .filter_map(|c| Some((c.get(0)?.start(), c[2].to_string(), &c[1] == "create_table")))
            .collect();
        for (_, t, create) in &tables {
            if *create {
                mig.create(t);
                self.schema.index(t, vec!["id".to_string()], Some(format!("{t}_pkey")));
            }
        }
        let table_at = |pos: usize| tables.iter().rev().find(|t| t.0 < pos).map(|t| t.1.clone()).unwrap_or_default();
        for c in DESTRUCTIVE_CALL.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let call = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
            let line = mig.line(at + whole.start());
            let rest = body[whole.end()..].lines().next().unwrap_or("");
            let what = literals(rest).join(", ");
            let (severity, message, fix) = match call {
                "rename_column" | "rename_table" | "rename" => (
                    Severity::Medium,
                    format!("{call} {what}: code of the running release still uses the old name"),
                    "add the new column or table, write both, backfill, switch the reads, then drop the old one in a \
                     later migration (expand/contract)",
                ),
                "change_column" => (
                    Severity::High,
                    format!("change_column {what}: rewrites and locks the table, and may fail or lose data"),
                    "add a new column with the new type, backfill it, switch the code, then drop the old one \
                     (expand/contract)",
                ),
                _ => (
                    Severity::High,
                    format!("{call} {what}: the data is lost"),
                    "expand/contract: stop using it in one release, back it up, and drop it in a later migration",
                ),
            };
            self.destructive(mig, line, severity, message, fix);
        }
        for c in ADD_COLUMN.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let args = compact(&c[1]);
            let names = literals(&c[1]);
            if args.contains("null:false") && !args.contains("default:") {
                let (table, col) =
                    (names.first().cloned().unwrap_or_default(), names.get(1).cloned().unwrap_or_default());
                if !mig.created(&table) {
                    let line = mig.line(at + whole.start());
                    self.not_null(mig, line, &table, &col, "give it a default:");
                }
            }
        }
        for c in ADD_FK.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let col =
                COLUMN_OPT.captures(&c[3]).map_or_else(|| format!("{}_id", singular(&c[2])), |o| o[1].to_string());
            let line = mig.line(at + whole.start());
            self.fk(mig, &c[1], vec![col], None, line, false);
        }
        let refs = T_REF
            .captures_iter(body)
            .filter_map(|c| Some((c.get(0)?.start(), table_at(c.get(0)?.start()), c[1].to_string(), c[2].to_string())))
            .chain(
                ADD_REF
                    .captures_iter(body)
                    .filter_map(|c| Some((c.get(0)?.start(), c[1].to_string(), c[2].to_string(), c[3].to_string()))),
            )
            .collect::<Vec<_>>();
        for (pos, table, reference, opts) in refs {
            let opts = compact(&opts);
            let col = format!("{reference}_id");
            let cols = if opts.contains("polymorphic:true") {
                vec![format!("{reference}_type"), col.clone()]
            } else {
                vec![col.clone()]
            };
            if !opts.contains("index:false") {
                self.schema.index(&table, cols, None);
            }
            if opts.contains("foreign_key:true") || opts.contains("foreign_key:{") {
                let line = mig.line(at + pos);
                self.fk(mig, &table, vec![col], None, line, false);
            }
        }
        for c in ADD_INDEX.captures_iter(body) {
            self.schema.index(&c[1], literals(&c[2]), None);
        }
        for c in T_INDEX.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let table = table_at(whole.start());
            self.schema.index(&table, literals(&c[1]), None);
        }
    }
}

/// An English singular, good enough for Rails table names (`customers` → `customer`).
fn singular(t: &str) -> String {
    if let Some(s) = t.strip_suffix("ies") {
        format!("{s}y")
    } else if ["ses", "xes", "ches", "shes"].iter().any(|e| t.ends_with(e)) {
        t[..t.len() - 2].to_string()
    } else {
        t.strip_suffix('s').unwrap_or(t).to_string()
    }
}

/// What an Alembic `sa.Column(...)` says.
struct ColInfo {
    name: String,
    fk: bool,
    pk: bool,
    unique: bool,
    index: bool,
    not_null: bool,
    server_default: bool,
}

fn column_info(part: &str) -> Option<ColInfo> {
    if callee(part) != "Column" {
        return None;
    }
    let parts = split_top(inner_args(part));
    let name = parts.first().and_then(|(_, p)| first_literal(p))?;
    let flag = |n: &str| parts.iter().any(|(_, p)| kwarg(p, n).is_some_and(|v| v == "True"));
    Some(ColInfo {
        fk: parts.iter().any(|(_, p)| callee(p) == "ForeignKey"),
        pk: flag("primary_key"),
        unique: flag("unique"),
        index: flag("index"),
        not_null: parts.iter().any(|(_, p)| kwarg(p, "nullable").is_some_and(|v| v == "False")),
        server_default: parts.iter().any(|(_, p)| kwarg(p, "server_default").is_some()),
        name,
    })
}

fn adds_not_null_without_default(c: &ColumnDef) -> bool {
    let not_null = c.options.iter().any(|o| matches!(o.option, ColumnOption::NotNull));
    let filled = c.options.iter().any(|o| match &o.option {
        ColumnOption::Default(_)
        | ColumnOption::Generated { .. }
        | ColumnOption::Identity(_)
        | ColumnOption::Materialized(_)
        | ColumnOption::Alias(_)
        | ColumnOption::Ephemeral(_) => true,
        ColumnOption::DialectSpecific(tokens) => {
            tokens.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT"))
        }
        _ => false,
    });
    not_null && !filled && !c.data_type.to_string().to_ascii_uppercase().contains("SERIAL")
}

/// A parser message with its `Line: n, Column: m` (relative to the parsed text, which starts on
/// line `first` of the file) turned into the file's line.
fn in_file(message: &str, first: usize) -> String {
    static AT: LazyLock<Regex> = LazyLock::new(|| re(r"at Line: (\d+), Column: (\d+)"));
    AT.replace(message, |c: &regex::Captures<'_>| {
        let line = c[1].parse::<usize>().unwrap_or(1).max(1);
        format!("at line {}, column {}", first + line - 1, &c[2])
    })
    .into_owned()
}

/// A statement, shortened for a message.
fn short(st: &Statement) -> String {
    let s = st.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_read_arguments_and_literals() {
        let parts = split_top(r#""users", sa.Column("a", sa.String(64), nullable=False), x=[1, 2]"#);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].1, r#"sa.Column("a", sa.String(64), nullable=False)"#);
        let col = column_info(parts[1].1).unwrap();
        assert!(col.not_null && !col.server_default && col.name == "a");
        assert_eq!(literals(r#"["a", 'b'], :c"#), vec!["a", "b", "c"]);
        let l = literal_at(r#"  """SELECT 1""" "#, 0).unwrap();
        assert_eq!(l.value, "SELECT 1");
        let l = literal_at(r#"("ALTER TABLE a " "DROP COLUMN b")"#, 1).unwrap();
        assert_eq!(l.value, "ALTER TABLE a DROP COLUMN b");
        assert!(literal_at("`DROP ${x}`", 0).is_none());
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("customers"), "customer");
    }

    #[test]
    fn statements_are_located_by_tokens_and_chunks() {
        let p = parse_located("-- a comment: create\n\nCREATE TABLE a (id int);\n/* x */ DROP TABLE b;").unwrap();
        assert_eq!(p.statements.iter().map(|s| s.0).collect::<Vec<_>>(), vec![3, 4]);
        let chunks = split_chunks("SELECT 1;\nCREAT oops;\n\nDROP TABLE x").unwrap();
        assert_eq!(chunks, vec![(1, "SELECT 1"), (2, "CREAT oops"), (4, "DROP TABLE x")]);
    }

    #[test]
    fn js_bodies_are_found() {
        let t = "exports.up = knex => knex.schema.dropTable('a')\nexports.down = async function () {}\n";
        let (s, e) = js_body(t, 0).unwrap();
        assert_eq!(&t[s..e], "knex.schema.dropTable('a')");
        let d = JS_DOWN.find(t).unwrap();
        let (s, e) = js_body(t, d.start()).unwrap();
        assert!(js_body_empty(&t[s..e]));
    }
}
