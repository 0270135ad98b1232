//! The rules on JavaScript and TypeScript migrations: Knex schema builders (`dropTable`,
//! `renameColumn`, `.alter()`, column chains with `.notNullable()`, `.references()`, `.index()`),
//! Sequelize `queryInterface` calls, and the SQL of `knex.raw` / `queryRunner.query`.

use super::{Mig, RENAME_FIX, Run};
use crate::checker::call_arguments;
use crate::migrations::code_text::{compact, first_literal, literal_at, literals, split_top};
use crate::migrations::re;
use regex::Regex;
use std::sync::LazyLock;

impl Run {
    /// Checks the body of the up function, which starts at byte `at` of the migration's file.
    pub(super) fn knex(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
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
            match method {
                "renameColumn" | "renameTable" => self.renamed(mig, line, format!("{method}({what})"), RENAME_FIX),
                "alter" | "changeColumn" => self.rewritten(
                    mig,
                    line,
                    format!("{method}() changes an existing column's type or constraints"),
                    "add a new column with the new definition, backfill it, switch the code, then drop the old one \
                     (expand/contract)",
                ),
                _ => self.data_lost(mig, line, format!("{method}({what}) in the up migration")),
            }
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
}
