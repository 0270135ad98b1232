//! The rules on Django migrations: `RemoveField`, `DeleteModel`, `AlterField` and renames,
//! foreign keys declared with `db_index=False`, and the SQL of `RunSQL`.

use super::{Mig, Run};
use crate::checker::call_arguments;
use crate::finding::Severity;
use crate::migrations::code_text::{compact, find_kwarg, first_literal, kwarg, positional, split_top, sql_literal};
use crate::migrations::re;
use regex::Regex;
use std::sync::LazyLock;

impl Run {
    /// Checks a Django migration file, whose operations start at byte `at`.
    pub(super) fn django(&mut self, mig: &mut Mig<'_>, at: usize, body: &str) {
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
                .or_else(|| parts.iter().copied().find(|(_, p)| kwarg(p, "sql").is_some()));
            if let Some((off, part)) = sql
                && let Some(l) = sql_literal(part)
            {
                self.sql(mig, at + m.end() + off + l.start, &l.value);
            }
        }
        for c in OPS.captures_iter(body) {
            let Some(whole) = c.get(0) else { continue };
            let parts = split_top(call_arguments(body, whole.end(), 20_000));
            let kw = |n: &str| find_kwarg(&parts, n).and_then(first_literal).unwrap_or_default();
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
}
