//! The rules on SQL migrations (and the SQL that code migrations run), read from the parsed
//! statements: destructive statements, `NOT NULL` columns without a default added to existing
//! tables, and the indexes, keys and foreign keys the schema tracking follows.

use super::{Mig, RENAME_COLUMN_FIX, Run};
use crate::finding::{Note, Severity};
use crate::migrations::re;
use crate::migrations::schema::joined;
use crate::migrations::sql_parse::{Parsed, in_file, parse_located, split_chunks};
use regex::Regex;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, IndexColumn, ObjectName, ObjectType,
    RenameTableNameKind, Statement, TableConstraint,
};
use std::sync::LazyLock;

impl Run {
    /// Checks SQL that starts at byte `at` of the migration's file.
    pub(super) fn sql(&mut self, mig: &mut Mig<'_>, at: usize, sql: &str) {
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
            Ok(p) => self.statements(mig, base, &p, mysql),
            Err(whole) => {
                let chunks = match split_chunks(sql) {
                    Ok(chunks) if !chunks.is_empty() => chunks,
                    _ => return self.unreadable(mig, base, &whole, "the statements were not checked"),
                };
                for (chunk_line, chunk) in chunks {
                    let first = base + chunk_line.saturating_sub(1);
                    match parse_located(chunk) {
                        Ok(p) => self.statements(mig, first, &p, mysql),
                        Err(e) => {
                            self.unreadable(mig, first, &e, "this statement was not checked, the rest of the file was")
                        }
                    }
                }
            }
        }
    }

    /// Checks parsed statements whose text starts on line `first` of the file.
    fn statements(&mut self, mig: &mut Mig<'_>, first: usize, p: &Parsed, mysql: bool) {
        for (line, st) in &p.statements {
            self.statement(mig, first + line.saturating_sub(1), st, p.mysql || mysql);
        }
    }

    /// Notes SQL the parser cannot read, at `line` of the file.
    fn unreadable(&mut self, mig: &Mig<'_>, line: usize, error: &str, unchecked: &str) {
        self.out.notes.push(Note {
            file: mig.file.to_string(),
            message: format!("line {line}: SQL the parser cannot read ({}); {unchecked}", in_file(error, line)),
        });
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
                    let (old, new) = (&old_column_name.value, &new_column_name.value);
                    self.renamed(mig, line, format!("renames column {table}.{old} to {new}"), RENAME_COLUMN_FIX);
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

/// A statement, shortened for a message.
fn short(st: &Statement) -> String {
    let s = st.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// A table or index name without schema and quotes.
fn object(n: &ObjectName) -> String {
    unquote(n.to_string().rsplit('.').next().unwrap_or(""))
}

/// A name without its quotes (`"a"`, `` `a` ``, `[a]`).
fn unquote(s: &str) -> String {
    s.trim().trim_matches(|c| matches!(c, '"' | '`' | '[' | ']')).to_string()
}

/// The column names of an index or key.
fn index_columns(cols: &[IndexColumn]) -> Vec<String> {
    cols.iter().map(|c| unquote(&c.column.expr.to_string())).collect()
}
