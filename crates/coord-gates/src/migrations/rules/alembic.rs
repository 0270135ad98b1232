//! The rules on Alembic migrations: the `op.*` and `batch_op.*` calls of `upgrade()` (drops,
//! type changes and renames, `NOT NULL` columns, indexes and foreign keys), and the SQL of
//! `op.execute`.

use super::{Mig, RENAME_COLUMN_FIX, Run};
use crate::checker::call_arguments;
use crate::finding::Severity;
use crate::migrations::code_text::{
    callee, find_kwarg, first_literal, inner_args, kwarg, literals, positional, split_top, sql_literal,
};
use crate::migrations::re;
use regex::Regex;
use std::sync::LazyLock;

impl Run {
    /// Checks the body of `upgrade()`, which starts at byte `at` of the migration's file.
    pub(super) fn alembic(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
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
            let has_kwarg = |name: &str| find_kwarg(&parts, name).is_some();
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
                    if let Some(new) = find_kwarg(&parts, "new_column_name") {
                        let new = first_literal(new).unwrap_or_default();
                        self.renamed(mig, line, format!("renames column {table}.{col} to {new}"), RENAME_COLUMN_FIX);
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
                    let table = find_kwarg(&parts, "table_name").and_then(first_literal);
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

    /// `op.create_table(name, columns and constraints...)`.
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
            let name = find_kwarg(&inner, "name").and_then(first_literal);
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

    /// The indexes and foreign key one column declares.
    fn alembic_column(&mut self, mig: &Mig<'_>, table: &str, col: &ColInfo, line: usize) {
        if col.index || col.unique {
            self.schema.index(table, vec![col.name.clone()], None);
        }
        if col.fk {
            self.fk(mig, table, vec![col.name.clone()], None, line, false);
        }
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

/// The column an argument declares, if it is `sa.Column(...)`.
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
        server_default: find_kwarg(&parts, "server_default").is_some(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_read() {
        let parts = split_top(r#""users", sa.Column("a", sa.String(64), nullable=False), x=[1, 2]"#);
        let col = column_info(parts[1].1).unwrap();
        assert!(col.not_null && !col.server_default && col.name == "a");
    }
}
