//! Database migrations: discovery of the common layouts (sqlx, Flyway, plain SQL folders with
//! up/down files or sections, Prisma, Alembic, Knex, Django, Rails) and checks of what they do —
//! SQL parsed with `sqlparser`: migrations without a rollback, destructive statements, NOT NULL
//! columns added without a default, and foreign keys without an index. ORM migrations
//! (Alembic, Knex, Django, Rails) are read for their operations by pattern.

use crate::checker::{CheckOutput, Checker, SourceFile, Workspace};
use crate::finding::{Finding, Note, Severity};
use regex::Regex;
use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ColumnOption, ObjectType, Statement, TableConstraint};
use sqlparser::dialect::{GenericDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use std::collections::BTreeMap;
use std::sync::LazyLock;

fn re(p: &str) -> Regex {
    // Constant patterns of this file, exercised by its tests.
    #[allow(clippy::expect_used)]
    Regex::new(p).expect("constant regex compiles")
}

/// The tool a migration belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    /// `<version>_<name>.up.sql` / `.down.sql` or single `.sql` files (sqlx, golang-migrate,
    /// dbmate, sql-migrate, plain folders).
    Sql,
    /// `V<version>__<name>.sql` with optional `U<version>__<name>.sql`.
    Flyway,
    /// `prisma/migrations/<dir>/migration.sql` (no down migrations).
    Prisma,
    /// `versions/*.py` with `upgrade()` / `downgrade()`.
    Alembic,
    /// `migrations/*.js|ts` with `up` / `down`.
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
    /// Version, for ordering.
    pub version: String,
    /// Name.
    pub name: String,
    /// `(file, text)` of the up step.
    pub up: (String, String),
    /// `(file, text)` of the down step, when there is one.
    pub down: Option<(String, String)>,
}

static SQL_FILE: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:(\d[\w.]*?)[_-]+)?(.+?)(?:\.(up|down))?\.sql$"));
static FLYWAY: LazyLock<Regex> = LazyLock::new(|| re(r"^([VU])(\d[\d._]*)__(.+)\.sql$"));
static SECTION_DOWN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?im)^\s*--\s*(?:\+migrate\s+down|migrate:down|\+goose\s+down)\b.*$"));
static PY_UPGRADE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^def upgrade\(\)[^:]*:"));
static PY_DOWNGRADE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^def downgrade\(\)[^:]*:"));
static KNEX_UP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?m)(?:exports\.up\s*=|export\s+(?:async\s+)?function\s+up\b|up\s*:\s*(?:async\s*)?(?:function|\())")
});
static KNEX_DOWN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?m)(?:exports\.down\s*=|export\s+(?:async\s+)?function\s+down\b|down\s*:\s*(?:async\s*)?(?:function|\())")
});
static EXECUTE_SQL: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?s)\.execute\(\s*(?:sa\.text\(\s*)?(?:"""(.*?)"""|'''(.*?)'''|"([^"]*)"|'([^']*)')"#));

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The Python body of `def name():` up to the next top-level statement.
fn py_body<'a>(text: &'a str, header: &Regex) -> Option<&'a str> {
    let m = header.find(text)?;
    let rest = &text[m.end()..];
    let end = rest
        .match_indices('\n')
        .find(|(i, _)| rest[i + 1..].chars().next().is_some_and(|c| !c.is_whitespace()))
        .map_or(rest.len(), |(i, _)| i);
    Some(&rest[..end])
}

fn is_empty_body(body: &str) -> bool {
    body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//")).all(|l| {
        matches!(l, "pass" | "{" | "}" | "};" | "});" | "return;" | "return Promise.resolve();" | "\"\"\"")
            || l.starts_with("\"\"\"")
    })
}

/// Finds every migration among the files, ordered by tool and version.
pub fn find_migrations(files: &[SourceFile]) -> Vec<Migration> {
    let mut out = Vec::new();
    let mut pairs: BTreeMap<(String, String), Migration> = BTreeMap::new();
    for f in files {
        let rel = f.rel.as_str();
        let lower = rel.to_ascii_lowercase();
        let name = file_name(rel);
        let in_migrations =
            lower.split('/').any(|seg| matches!(seg, "migrations" | "migration" | "migrate" | "versions"));
        match f.ext().as_str() {
            "sql" if lower.contains("prisma/migrations/") && name == "migration.sql" => out.push(Migration {
                tool: Tool::Prisma,
                version: file_name(dir_of(rel)).to_string(),
                name: file_name(dir_of(rel)).to_string(),
                up: (rel.to_string(), f.text.clone()),
                down: None,
            }),
            "sql" if FLYWAY.is_match(name) => {
                let Some(c) = FLYWAY.captures(name) else { continue };
                let key = (dir_of(rel).to_string(), c[2].to_string());
                let entry = pairs.entry(key).or_insert_with(|| Migration {
                    tool: Tool::Flyway,
                    version: c[2].to_string(),
                    name: c[3].to_string(),
                    up: (String::new(), String::new()),
                    down: None,
                });
                if &c[1] == "V" {
                    entry.up = (rel.to_string(), f.text.clone());
                } else {
                    entry.down = Some((rel.to_string(), f.text.clone()));
                }
            }
            "sql" if in_migrations => {
                let Some(c) = SQL_FILE.captures(name) else { continue };
                let version = c.get(1).map_or(String::new(), |m| m.as_str().to_string());
                let stem = c.get(2).map_or("", |m| m.as_str()).to_string();
                let key = (dir_of(rel).to_string(), format!("{version}_{stem}"));
                let entry = pairs.entry(key).or_insert_with(|| Migration {
                    tool: Tool::Sql,
                    version: version.clone(),
                    name: stem.clone(),
                    up: (String::new(), String::new()),
                    down: None,
                });
                match c.get(3).map(|m| m.as_str()) {
                    Some("down") => entry.down = Some((rel.to_string(), f.text.clone())),
                    Some(_) => entry.up = (rel.to_string(), f.text.clone()),
                    None => match SECTION_DOWN.find(&f.text) {
                        // One file with `-- migrate:up` / `-- migrate:down` sections.
                        Some(m) => {
                            entry.up = (rel.to_string(), f.text[..m.start()].to_string());
                            let down = f.text[m.end()..].to_string();
                            if !down.trim().is_empty() {
                                entry.down = Some((rel.to_string(), down));
                            }
                        }
                        None => entry.up = (rel.to_string(), f.text.clone()),
                    },
                }
            }
            "py" if in_migrations && PY_UPGRADE.is_match(&f.text) => {
                let down = py_body(&f.text, &PY_DOWNGRADE).filter(|b| !is_empty_body(b));
                out.push(Migration {
                    tool: Tool::Alembic,
                    version: name.split('_').next().unwrap_or(name).to_string(),
                    name: name.to_string(),
                    up: (rel.to_string(), py_body(&f.text, &PY_UPGRADE).unwrap_or("").to_string()),
                    down: down.map(|d| (rel.to_string(), d.to_string())),
                });
            }
            "py" if lower.contains("/migrations/")
                && f.text.contains("class Migration")
                && name.chars().next().is_some_and(|c| c.is_ascii_digit()) =>
            {
                let irreversible = (f.text.contains("RunPython(") && !f.text.contains("reverse_code"))
                    || (f.text.contains("RunSQL(") && !f.text.contains("reverse_sql"));
                out.push(Migration {
                    tool: Tool::Django,
                    version: name.split('_').next().unwrap_or(name).to_string(),
                    name: name.to_string(),
                    up: (rel.to_string(), f.text.clone()),
                    down: (!irreversible).then(|| (rel.to_string(), "(Django reverses operations)".to_string())),
                });
            }
            "js" | "ts" | "cjs" | "mjs" if in_migrations && KNEX_UP.is_match(&f.text) => {
                let down = KNEX_DOWN.find(&f.text).map(|m| &f.text[m.end()..]).and_then(|rest| {
                    let body_start = rest.find('{')?;
                    let mut depth = 0;
                    for (i, ch) in rest[body_start..].char_indices() {
                        match ch {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    return Some(&rest[body_start + 1..body_start + i]);
                                }
                            }
                            _ => {}
                        }
                    }
                    None
                });
                let up_end = KNEX_DOWN.find(&f.text).map_or(f.text.len(), |m| m.start());
                let up_start = KNEX_UP.find(&f.text).map_or(0, |m| m.start()).min(up_end);
                out.push(Migration {
                    tool: Tool::Knex,
                    version: name.split('_').next().unwrap_or(name).to_string(),
                    name: name.to_string(),
                    up: (rel.to_string(), f.text[up_start..up_end].to_string()),
                    down: down.filter(|b| !is_empty_body(b)).map(|b| (rel.to_string(), b.to_string())),
                });
            }
            "rb" if lower.contains("db/migrate/") => {
                let reversible = f.text.contains("def change") || f.text.contains("def down");
                out.push(Migration {
                    tool: Tool::Rails,
                    version: name.split('_').next().unwrap_or(name).to_string(),
                    name: name.to_string(),
                    up: (rel.to_string(), f.text.clone()),
                    down: reversible.then(|| (rel.to_string(), "(reversible)".to_string())),
                });
            }
            _ => {}
        }
    }
    out.extend(pairs.into_values().filter(|m| !m.up.0.is_empty()));
    out.sort_by(|a, b| (a.tool, natural(&a.version), &a.name).cmp(&(b.tool, natural(&b.version), &b.name)));
    out
}

/// A version as numbers for ordering ("2" before "10").
fn natural(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap_or(0)).collect()
}

/// Parses SQL with the PostgreSQL dialect, then MySQL, then the generic one.
pub fn parse_sql(sql: &str) -> Result<Vec<Statement>, String> {
    let mut first_error = None;
    for result in [
        Parser::parse_sql(&PostgreSqlDialect {}, sql),
        Parser::parse_sql(&MySqlDialect {}, sql),
        Parser::parse_sql(&GenericDialect {}, sql),
    ] {
        match result {
            Ok(statements) => return Ok(statements),
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

fn unquote(s: &str) -> String {
    s.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']').to_ascii_lowercase()
}

/// The migrations checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrationsChecker;

struct Facts {
    /// (table, first column) that have an index, primary key or unique constraint.
    indexed: Vec<(String, String)>,
    /// (table, first column, file, line) of foreign keys.
    fks: Vec<(String, String, String, usize)>,
}

// Every field of a finding is an argument: a struct literal at each call site would be longer.
#[allow(clippy::too_many_arguments)]
fn push(
    out: &mut CheckOutput,
    rule: &str,
    severity: Severity,
    file: &str,
    line: usize,
    message: String,
    fix: &str,
    item: &str,
) {
    out.findings.push(Finding {
        rule: rule.into(),
        severity,
        file: file.into(),
        line,
        message,
        fix: fix.into(),
        item: item.into(),
    });
}

impl MigrationsChecker {
    fn sql(&self, out: &mut CheckOutput, facts: &mut Facts, file: &str, base_line: usize, sql: &str) {
        let statements = match parse_sql(sql) {
            Ok(s) => s,
            Err(e) => {
                out.notes.push(Note {
                    file: file.into(),
                    message: format!("SQL not understood by the parser ({e}); not checked"),
                });
                return;
            }
        };
        let mut created: Vec<String> = Vec::new();
        let mut cursor = 0usize;
        for st in &statements {
            // Find each statement's place by its leading words, in order.
            let shown = st.to_string();
            let head: String = shown.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
            let first_word = head.split_whitespace().next().unwrap_or("");
            let rest = &sql[cursor.min(sql.len())..];
            let offset = rest.to_ascii_lowercase().find(&first_word.to_ascii_lowercase()).map_or(0, |i| i);
            let line = base_line + sql[..(cursor + offset).min(sql.len())].matches('\n').count();
            cursor = (cursor + offset + 1).min(sql.len());
            match st {
                Statement::CreateTable(ct) => {
                    let table = unquote(&ct.name.to_string());
                    created.push(table.clone());
                    for c in &ct.columns {
                        let col = c.name.value.to_ascii_lowercase();
                        for o in &c.options {
                            match &o.option {
                                ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_) => {
                                    facts.indexed.push((table.clone(), col.clone()))
                                }
                                ColumnOption::ForeignKey(_) => {
                                    facts.fks.push((table.clone(), col.clone(), file.into(), line))
                                }
                                _ => {}
                            }
                        }
                    }
                    for tc in &ct.constraints {
                        match tc {
                            TableConstraint::PrimaryKey(pk) => {
                                if let Some(c) = pk.columns.first() {
                                    facts.indexed.push((table.clone(), unquote(&c.column.expr.to_string())));
                                }
                            }
                            TableConstraint::Unique(u) => {
                                if let Some(c) = u.columns.first() {
                                    facts.indexed.push((table.clone(), unquote(&c.column.expr.to_string())));
                                }
                            }
                            TableConstraint::ForeignKey(fk) => {
                                if let Some(c) = fk.columns.first() {
                                    facts.fks.push((table.clone(), c.value.to_ascii_lowercase(), file.into(), line));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Statement::CreateIndex(ci) => {
                    if let Some(c) = ci.columns.first() {
                        facts.indexed.push((unquote(&ci.table_name.to_string()), unquote(&c.column.expr.to_string())));
                    }
                }
                Statement::AlterTable(at) => {
                    let table = unquote(&at.name.to_string());
                    for op in &at.operations {
                        match op {
                            AlterTableOperation::DropColumn { column_names, .. } => push(
                                out,
                                "migrations/destructive",
                                Severity::High,
                                file,
                                line,
                                format!(
                                    "drops column {} of {table}: its data is lost",
                                    column_names.iter().map(|c| c.value.clone()).collect::<Vec<_>>().join(", ")
                                ),
                                "stop using the column first, back it up, and drop it in a later release (expand/contract)",
                                "database.migrations-tested",
                            ),
                            AlterTableOperation::AlterColumn {
                                column_name,
                                op: AlterColumnOperation::SetDataType { .. },
                            } => push(
                                out,
                                "migrations/destructive",
                                Severity::High,
                                file,
                                line,
                                format!(
                                    "changes the type of {table}.{}: may fail or truncate data and locks the table",
                                    column_name.value
                                ),
                                "add a new column of the new type, backfill, switch readers, then drop the old one",
                                "database.migrations-tested",
                            ),
                            AlterTableOperation::RenameColumn { old_column_name, .. } => push(
                                out,
                                "migrations/destructive",
                                Severity::Medium,
                                file,
                                line,
                                format!(
                                    "renames {table}.{}: running code that uses the old name breaks",
                                    old_column_name.value
                                ),
                                "add the new column and keep both until no code reads the old one",
                                "database.migrations-tested",
                            ),
                            AlterTableOperation::RenameTable { .. } => push(
                                out,
                                "migrations/destructive",
                                Severity::Medium,
                                file,
                                line,
                                format!("renames table {table}: running code that uses the old name breaks"),
                                "create a view with the old name during the transition",
                                "database.migrations-tested",
                            ),
                            AlterTableOperation::AddColumn { column_def, .. } => {
                                let not_null =
                                    column_def.options.iter().any(|o| matches!(o.option, ColumnOption::NotNull));
                                let default =
                                    column_def.options.iter().any(|o| matches!(o.option, ColumnOption::Default(_)));
                                if not_null && !default && !created.contains(&table) {
                                    push(
                                        out,
                                        "migrations/not-null-without-default",
                                        Severity::High,
                                        file,
                                        line,
                                        format!(
                                            "adds NOT NULL column {table}.{} without a default: fails on a table that has rows",
                                            column_def.name.value
                                        ),
                                        "add the column as NULL, backfill, then SET NOT NULL in a later migration (expand/contract)",
                                        "database.migrations-tested",
                                    );
                                }
                                if column_def.options.iter().any(|o| matches!(o.option, ColumnOption::ForeignKey(_))) {
                                    facts.fks.push((
                                        table.clone(),
                                        column_def.name.value.to_ascii_lowercase(),
                                        file.into(),
                                        line,
                                    ));
                                }
                            }
                            AlterTableOperation::AddConstraint {
                                constraint: TableConstraint::ForeignKey(fk), ..
                            } => {
                                if let Some(c) = fk.columns.first() {
                                    facts.fks.push((table.clone(), c.value.to_ascii_lowercase(), file.into(), line));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Statement::Drop { object_type: ObjectType::Table, names, .. } => push(
                    out,
                    "migrations/destructive",
                    Severity::High,
                    file,
                    line,
                    format!(
                        "drops table {}: its data is lost",
                        names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                    "rename it away and drop it in a later release after a backup",
                    "database.migrations-tested",
                ),
                Statement::Truncate(_) => push(
                    out,
                    "migrations/destructive",
                    Severity::High,
                    file,
                    line,
                    "TRUNCATE deletes every row".into(),
                    "migrate data with an explicit, reviewed statement instead",
                    "database.migrations-tested",
                ),
                Statement::Delete(d) if d.selection.is_none() => push(
                    out,
                    "migrations/destructive",
                    Severity::High,
                    file,
                    line,
                    "DELETE without WHERE deletes every row".into(),
                    "add a WHERE clause or move data to an archive table",
                    "database.migrations-tested",
                ),
                _ => {}
            }
        }
    }

    /// ORM migrations: destructive operations by pattern. `m.up.1` is padded with the newlines
    /// that precede it in its file, so offsets give file lines.
    fn orm(&self, out: &mut CheckOutput, m: &Migration) {
        static ORM_DESTRUCTIVE: LazyLock<Regex> = LazyLock::new(|| {
            re(
                r"\b(op\.drop_table|op\.drop_column|\.dropTable(?:IfExists)?|\.dropColumns?|migrations\.RemoveField|migrations\.DeleteModel|remove_column|drop_table)\s*\(|op\.alter_column\([^)]*type_\s*=|\.alter\(\)|migrations\.AlterField\(|change_column\b",
            )
        });
        static ORM_NOT_NULL: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)op\.add_column\(.*nullable\s*=\s*False.*$"));
        let (file, text) = (&m.up.0, &m.up.1);
        let line_at = |offset: usize| 1 + text[..offset].matches('\n').count();
        for d in ORM_DESTRUCTIVE.find_iter(text) {
            push(
                out,
                "migrations/destructive",
                Severity::High,
                file,
                line_at(d.start()),
                format!("`{}` destroys or rewrites data", d.as_str().trim_end_matches('(')),
                "use expand/contract: add, backfill, switch, then remove in a later release",
                "database.migrations-tested",
            );
        }
        for n in ORM_NOT_NULL.find_iter(text) {
            if !n.as_str().contains("server_default") {
                push(
                    out,
                    "migrations/not-null-without-default",
                    Severity::High,
                    file,
                    line_at(n.start()),
                    "adds a NOT NULL column without a server default".into(),
                    "add it nullable (or with server_default), backfill, then make it NOT NULL",
                    "database.migrations-tested",
                );
            }
        }
    }
}

impl Checker for MigrationsChecker {
    fn id(&self) -> &'static str {
        "migrations"
    }

    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        let migrations = find_migrations(ws.files);
        let mut facts = Facts { indexed: Vec::new(), fks: Vec::new() };
        let full_text = |rel: &str| ws.files.iter().find(|f| f.rel == rel).map(|f| f.text.as_str()).unwrap_or("");
        for m in &migrations {
            if m.down.is_none() {
                let (severity, fix) = if m.tool == Tool::Prisma {
                    (
                        Severity::Low,
                        "Prisma has no down migrations: keep a rollback script (prisma migrate diff --from-migrations ... --to-schema-datamodel ... --script)",
                    )
                } else {
                    (
                        Severity::Medium,
                        "add a down/undo step that restores the previous schema, and test up, down and up again",
                    )
                };
                push(
                    &mut out,
                    "migrations/no-rollback",
                    severity,
                    &m.up.0,
                    1,
                    format!("migration {} has no rollback step", if m.name.is_empty() { &m.version } else { &m.name }),
                    fix,
                    "database.migrations-tested",
                );
            }
            match m.tool {
                Tool::Sql | Tool::Flyway | Tool::Prisma => {
                    // The up text may be the first part of a file with sections: lines count from 1.
                    self.sql(&mut out, &mut facts, &m.up.0, 1, &m.up.1);
                }
                Tool::Alembic => {
                    let text = full_text(&m.up.0);
                    let base = text.find(&m.up.1).map_or(1, |i| text[..i].matches('\n').count() + 1);
                    for c in EXECUTE_SQL.captures_iter(&m.up.1) {
                        if let Some(sql) = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)).or_else(|| c.get(4)) {
                            let line = base + m.up.1[..sql.start()].matches('\n').count();
                            self.sql(&mut out, &mut facts, &m.up.0, line, sql.as_str());
                        }
                    }
                    let mut shifted = m.clone();
                    shifted.up.1 = text[..text.find(&m.up.1).unwrap_or(0)].replace(|c: char| c != '\n', "") + &m.up.1;
                    self.orm(&mut out, &shifted);
                }
                Tool::Knex | Tool::Django | Tool::Rails => {
                    let text = full_text(&m.up.0);
                    let mut shifted = m.clone();
                    let start = text.find(&m.up.1).unwrap_or(0);
                    shifted.up.1 = text[..start].replace(|c: char| c != '\n', "") + &m.up.1;
                    self.orm(&mut out, &shifted);
                }
            }
        }
        for (table, column, file, line) in &facts.fks {
            if !facts.indexed.iter().any(|(t, c)| t == table && c == column) {
                push(
                    &mut out,
                    "migrations/fk-without-index",
                    Severity::Medium,
                    file,
                    *line,
                    format!("foreign key {table}.{column} has no index: joins and cascading deletes scan the table"),
                    &format!("CREATE INDEX ON {table} ({column})"),
                    "database.indexes",
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
        list.iter().map(|(r, t)| SourceFile { rel: r.to_string(), path: r.into(), text: t.to_string() }).collect()
    }

    #[test]
    fn layouts_are_found_and_ordered() {
        let fs = files(&[
            ("migrations/10_b.up.sql", "CREATE TABLE b (id int primary key);"),
            ("migrations/10_b.down.sql", "DROP TABLE b;"),
            ("migrations/2_a.up.sql", "CREATE TABLE a (id int primary key);"),
            ("db/migration/V1__init.sql", "CREATE TABLE c (id int primary key);"),
            ("db/migration/U1__init.sql", "DROP TABLE c;"),
            ("prisma/migrations/20240101_init/migration.sql", "CREATE TABLE d (id int primary key);"),
        ]);
        let ms = find_migrations(&fs);
        let got: Vec<(Tool, &str, bool)> = ms.iter().map(|m| (m.tool, m.version.as_str(), m.down.is_some())).collect();
        assert_eq!(
            got,
            vec![
                (Tool::Sql, "2", false),
                (Tool::Sql, "10", true),
                (Tool::Flyway, "1", true),
                (Tool::Prisma, "20240101_init", false)
            ]
        );
    }

    #[test]
    fn unparsable_sql_is_a_note_and_the_rest_is_checked() {
        let fs = files(&[
            ("migrations/1_bad.up.sql", "CREAT TABLEZ oops ((("),
            ("migrations/1_bad.down.sql", "SELECT 1;"),
            ("migrations/2_drop.up.sql", "DROP TABLE legacy;"),
            ("migrations/2_drop.down.sql", "CREATE TABLE legacy (id int);"),
        ]);
        let ws = Workspace { root: std::path::Path::new("."), files: &fs };
        let out = MigrationsChecker.check(&ws);
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        assert_eq!(out.findings.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["migrations/destructive"]);
    }
}
