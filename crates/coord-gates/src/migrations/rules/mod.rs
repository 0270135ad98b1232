//! The checker: runs the rules over every migration set in version order, one file of rules per
//! migration language (`sql`, `alembic`, `knex`, `django`, `rails`); this file holds what they
//! share: the migration being checked, the findings they push, and recording foreign keys and
//! reporting those no index covers.

use super::discover::{Found, dir_of, discover, file_name};
use super::schema::{Columns, Fk, Schema, index_fix, joined};
use super::{Migration, Tool, re};
use crate::checker::{CheckOutput, Checker, SourceFile, Workspace, line_at};
use crate::finding::{Finding, Severity};
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

mod alembic;
mod django;
mod knex;
mod rails;
mod sql;

const TESTED: &str = "database.migrations-tested";
const INDEXES: &str = "database.indexes";
const NO_ROLLBACK: &str = "migrations/no-rollback";
const DESTRUCTIVE: &str = "migrations/destructive";
const NOT_NULL: &str = "migrations/not-null-without-default";
const FK_INDEX: &str = "migrations/fk-without-index";

/// The fix for a renamed column (SQL, Alembic).
const RENAME_COLUMN_FIX: &str = "add the new column, write both, backfill, switch the reads, then drop the old one \
                                 in a later migration (expand/contract)";
/// The fix for a renamed column or table of a schema builder (Knex, Rails).
const RENAME_FIX: &str = "add the new column or table, write both, backfill, switch the reads, then drop the old one \
                          in a later migration (expand/contract)";
/// The fix for data a schema builder drops (Knex, Rails).
const DROP_LATER_FIX: &str =
    "expand/contract: stop using it in one release, back it up, and drop it in a later migration";

/// The migrations checker (id `migrations`): see [the module documentation](crate::migrations) for
/// the rules.
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

/// The checker's state over one run: the output, and the schema of the current migration set.
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
            cwe: None,
            fingerprint: String::new(),
        });
    }

    /// A `destructive` finding.
    fn destructive(&mut self, mig: &Mig<'_>, line: usize, severity: Severity, message: String, fix: &str) {
        self.push(DESTRUCTIVE, severity, mig.file, line, message, fix.to_string(), TESTED);
    }

    /// A rename: `what` (`renames column a.b to c`) is still used by the running release.
    fn renamed(&mut self, mig: &Mig<'_>, line: usize, what: String, fix: &str) {
        let message = format!("{what}: code of the running release still uses the old name");
        self.destructive(mig, line, Severity::Medium, message, fix);
    }

    /// A schema-builder call that rewrites an existing column.
    fn rewritten(&mut self, mig: &Mig<'_>, line: usize, what: String, fix: &str) {
        let message = format!("{what}: rewrites and locks the table, and may fail or lose data");
        self.destructive(mig, line, Severity::High, message, fix);
    }

    /// A schema-builder call that drops data.
    fn data_lost(&mut self, mig: &Mig<'_>, line: usize, what: String) {
        self.destructive(mig, line, Severity::High, format!("{what}: the data is lost"), DROP_LATER_FIX);
    }

    /// A renamed table (SQL, Alembic): warned, and followed in the schema.
    fn rename_table(&mut self, mig: &Mig<'_>, line: usize, old: &str, new: &str) {
        self.renamed(
            mig,
            line,
            format!("renames table {old} to {new}"),
            "create the new table (or a view with the new name), keep the old name until no deployed release uses it, \
             then drop it (expand/contract)",
        );
        self.schema.rename_table(old, new);
    }

    /// A changed column type (SQL, Alembic).
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

    /// A `not-null-without-default` finding; `how` is the tool's way to give the column a default.
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

    /// Records a foreign key (named as PostgreSQL would when it has no name) for the
    /// `fk-without-index` rule; `auto` when the database indexes it itself.
    fn fk(&mut self, mig: &Mig<'_>, table: &str, cols: Vec<String>, name: Option<String>, line: usize, auto: bool) {
        if cols.is_empty() {
            return;
        }
        let name = name.or_else(|| Some(format!("{}_{}_fkey", table.to_ascii_lowercase(), joined(&cols))));
        self.schema.foreign_key(Fk {
            on: Columns { table: table.to_string(), cols, name },
            file: mig.file.to_string(),
            line,
            tool: mig.tool,
            auto: auto || self.mysql,
        });
    }

    /// The `fk-without-index` findings of the current set, once all its migrations have run.
    fn unindexed_foreign_keys(&mut self) {
        let findings: Vec<Finding> = self
            .schema
            .unindexed_foreign_keys()
            .into_iter()
            .map(|fk| Finding {
                rule: FK_INDEX.into(),
                severity: Severity::Medium,
                file: fk.file.clone(),
                line: fk.line,
                message: format!(
                    "foreign key {}({}) has no index leading with its columns: joins and lookups by it, and deletes \
                     or updates of the referenced rows, scan {}",
                    fk.on.table,
                    fk.on.cols.join(", "),
                    fk.on.table
                ),
                fix: index_fix(fk.tool, &fk.on.table, &fk.on.cols),
                item: INDEXES.into(),
                cwe: None,
                fingerprint: String::new(),
            })
            .collect();
        self.out.findings.extend(findings);
    }
}
