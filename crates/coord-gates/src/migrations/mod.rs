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
//! `execute`); SQL the parser cannot read becomes a [`Note`](crate::finding::Note) with the
//! parser's message, statement by statement, and the rest of the file is still checked.
//! Operations of code migrations are read by pattern.
//!
//! The parts: `discover` finds the migrations of each layout family (one file per family);
//! `code_text` reads the arguments and string literals of code migrations; `sql_parse` parses
//! SQL with the line of each statement; `schema` follows indexes and foreign keys through a
//! migration set; `rules` is the checker, with one file of rules per migration language.

use crate::checker::SourceFile;
use crate::checker::re;
use sqlparser::ast::Statement;

mod code_text;
mod discover;
mod rules;
mod schema;
mod sql_parse;

pub use rules::MigrationsChecker;

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
    discover::discover(files).into_iter().map(|f| f.m).collect()
}

/// Parses SQL with the PostgreSQL dialect, then MySQL, then the generic one, then SQLite; the
/// error is the PostgreSQL parser's.
pub fn parse_sql(sql: &str) -> Result<Vec<Statement>, String> {
    sql_parse::parse_located(sql).map(|p| p.statements.into_iter().map(|(_, s)| s).collect())
}
