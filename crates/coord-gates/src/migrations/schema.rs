//! The schema as a migration set leaves it, as far as the `fk-without-index` rule needs it: the
//! indexes (and key constraints) and the foreign keys of each table, followed through drops and
//! renames in version order; and the fix for a foreign key without an index, in the migration's
//! own language.

use crate::migrations::Tool;

/// Named columns of a table: an index, a key constraint, or the columns of a foreign key.
pub(super) struct Columns {
    pub(super) table: String,
    pub(super) cols: Vec<String>,
    pub(super) name: Option<String>,
}

/// A foreign key, with where it was declared.
pub(super) struct Fk {
    pub(super) on: Columns,
    pub(super) file: String,
    pub(super) line: usize,
    pub(super) tool: Tool,
    /// The database indexes it itself (MySQL InnoDB).
    pub(super) auto: bool,
}

/// Names compare without case, as unquoted SQL identifiers do.
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The indexes and foreign keys of one migration set.
#[derive(Default)]
pub(super) struct Schema {
    indexes: Vec<Columns>,
    fks: Vec<Fk>,
}

impl Schema {
    /// Records an index or key constraint (none without columns).
    pub(super) fn index(&mut self, table: &str, cols: Vec<String>, name: Option<String>) {
        if !cols.is_empty() {
            self.indexes.push(Columns { table: table.to_string(), cols, name });
        }
    }

    /// Records a foreign key.
    pub(super) fn foreign_key(&mut self, fk: Fk) {
        self.fks.push(fk);
    }

    /// Keeps the indexes and foreign keys whose columns `keep` accepts.
    fn retain(&mut self, keep: impl Fn(&Columns) -> bool) {
        self.indexes.retain(&keep);
        self.fks.retain(|f| keep(&f.on));
    }

    /// The columns of every index and foreign key.
    fn all_mut(&mut self) -> impl Iterator<Item = &mut Columns> {
        self.indexes.iter_mut().chain(self.fks.iter_mut().map(|f| &mut f.on))
    }

    /// A dropped table takes its indexes and foreign keys with it.
    pub(super) fn drop_table(&mut self, table: &str) {
        self.retain(|c| !same(&c.table, table));
    }

    /// A dropped index or constraint, by name (on `table` when the statement names it).
    pub(super) fn drop_named(&mut self, table: Option<&str>, name: &str) {
        self.retain(|c| {
            !(c.name.as_deref().is_some_and(|n| same(n, name)) && table.is_none_or(|table| same(&c.table, table)))
        });
    }

    /// A dropped column takes the indexes and foreign keys on it with it.
    pub(super) fn drop_column(&mut self, table: &str, col: &str) {
        self.retain(|c| !(same(&c.table, table) && c.cols.iter().any(|c| same(c, col))));
    }

    /// Indexes and foreign keys follow a renamed table.
    pub(super) fn rename_table(&mut self, old: &str, new: &str) {
        for c in self.all_mut().filter(|c| same(&c.table, old)) {
            c.table = new.to_string();
        }
    }

    /// Indexes and foreign keys follow a renamed column.
    pub(super) fn rename_column(&mut self, table: &str, old: &str, new: &str) {
        for c in self.all_mut().filter(|c| same(&c.table, table)) {
            for col in c.cols.iter_mut().filter(|c| same(c, old)) {
                *col = new.to_string();
            }
        }
    }

    /// The foreign keys no index covers (the database's own indexes aside), one per table and
    /// column list, in declaration order.
    pub(super) fn unindexed_foreign_keys(&self) -> Vec<&Fk> {
        let mut seen = std::collections::HashSet::new();
        self.fks
            .iter()
            .filter(|fk| !fk.auto && !self.covered(fk))
            .filter(|fk| seen.insert((fk.on.table.to_ascii_lowercase(), joined(&fk.on.cols))))
            .collect()
    }

    /// Whether some index has the foreign key's columns as its leading columns (in any order).
    fn covered(&self, fk: &Fk) -> bool {
        let fk = &fk.on;
        self.indexes.iter().any(|i| {
            same(&i.table, &fk.table)
                && i.cols.len() >= fk.cols.len()
                && fk.cols.iter().all(|c| i.cols[..fk.cols.len()].iter().any(|ic| same(ic, c)))
        })
    }
}

/// Columns joined for a generated name (`customer_id_region`).
pub(super) fn joined(cols: &[String]) -> String {
    cols.join("_").to_ascii_lowercase()
}

/// The fix for a foreign key without an index, in the migration's own language.
pub(super) fn index_fix(tool: Tool, table: &str, cols: &[String]) -> String {
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
