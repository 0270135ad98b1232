//! The rules on Rails migrations: `drop_table`, `remove_column`, `change_column` and renames,
//! `add_column ... null: false` without a default, references, foreign keys and indexes, and
//! the SQL of `execute` (strings and heredocs).

use super::{Mig, RENAME_FIX, Run};
use crate::migrations::code_text::{compact, literal_at, literals};
use crate::migrations::re;
use regex::Regex;
use std::sync::LazyLock;

impl Run {
    /// Checks the body of `change` or `up`, which starts at byte `at` of the migration's file.
    pub(super) fn rails(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
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
            match call {
                "rename_column" | "rename_table" | "rename" => {
                    self.renamed(mig, line, format!("{call} {what}"), RENAME_FIX)
                }
                "change_column" => self.rewritten(
                    mig,
                    line,
                    format!("change_column {what}"),
                    "add a new column with the new type, backfill it, switch the code, then drop the old one \
                     (expand/contract)",
                ),
                _ => self.data_lost(mig, line, format!("{call} {what}")),
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_made_singular() {
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("customers"), "customer");
    }
}
