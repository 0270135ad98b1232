//! JavaScript and TypeScript migrations (Knex, Sequelize, TypeORM): files of a migrations folder
//! with `up` and `down` functions, and the bodies of those functions.

use super::{Found, file_name, in_migration_dir, natural, split_version, stem};
use crate::checker::{SourceFile, line_at};
use crate::migrations::code_text::{matching_brace, skip_quote};
use crate::migrations::{Migration, Tool, re};
use regex::Regex;
use std::sync::LazyLock;

static JS_UP: LazyLock<Regex> = LazyLock::new(|| js_function("up"));
static JS_DOWN: LazyLock<Regex> = LazyLock::new(|| js_function("down"));
static JS_COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)/\*.*?\*/|//[^\n]*"));

/// Where a function `name` is defined: `exports.up =`, `export async function up`, `export const
/// up`, `up: async (...) =>`, or a class method `async up(queryRunner)`.
fn js_function(name: &str) -> Regex {
    re(&format!(
        r"(?m)\bexports\.{name}\s*=|\bexport\s+(?:async\s+)?function\s+{name}\b|\bexport\s+const\s+{name}\b|\b{name}\s*:\s*(?:async\s+)?(?:function\b|\(|\w+\s*=>)|^[ \t]*(?:public\s+|private\s+)?(?:async\s+)?{name}\s*\(",
    ))
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

/// The JavaScript or TypeScript migration a file holds, if it is one.
pub(super) fn js_file(f: &SourceFile) -> Option<Found> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
