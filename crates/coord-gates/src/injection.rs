//! SQL injection: SQL built by string concatenation or interpolation and handed to a query call,
//! in JavaScript/TypeScript (`query(`, `execute(`, `raw(` with a template literal or `+`),
//! Python (`execute(f"...")`, `"..." % x`, `.format(`, `+`) and Java (`Statement` methods,
//! `createQuery`, `JdbcTemplate` with `+`). Parameterized queries pass. A value from the request
//! (`req.`, `request.`, `params`, `body`...) makes it critical; any other interpolation is high.
//! One hop through a variable is followed: `const sql = "SELECT ..." + id; db.query(sql)`.

use crate::checker::re;
use crate::checker::{FileChecker, SourceFile, call_arguments};
use crate::finding::{Finding, Severity};
use regex::Regex;
use std::sync::LazyLock;

const SQL_WORDS: &str =
    r"(?i:\b(?:select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|where\s|order\s+by)\b)";

/// Query calls of each language, capturing the first argument's opening.
static JS_CALL: LazyLock<Regex> =
    LazyLock::new(|| re(r"\.(?:query|execute|raw|unsafe|\$queryRawUnsafe|\$executeRawUnsafe|queryRaw)\s*\(\s*"));
static PY_CALL: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:execute|executemany|executescript|raw|text|exec_driver_sql)\s*\(\s*"));
static JAVA_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:executeQuery|executeUpdate|execute|addBatch|createQuery|createNativeQuery|prepareStatement|query|queryForObject|queryForList|update)\s*\(\s*",
    )
});
static SQL: LazyLock<Regex> = LazyLock::new(|| re(SQL_WORDS));
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:req|request|ctx\.request|params|body|query|args|form|input|getParameter|request\.args|request\.form|request\.json|path_params|query_params)\b",
    )
});
static SQL_VERB: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)select|insert|update|delete"));
static PERCENT_FORMAT: LazyLock<Regex> = LazyLock::new(|| re(r#"["']\s*%\s*[\w(]"#));
static ASSIGN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^\s*(?:const|let|var|final\s+String|String|)\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$"));

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Js,
    Py,
    Java,
}

/// The first argument only (up to a top-level comma).
fn first_argument(arg: &str) -> &str {
    let bytes = arg.as_bytes();
    let (mut depth, mut quote) = (0i32, None::<u8>);
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' | b'`' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => return &arg[..i],
                _ => {}
            },
        }
    }
    arg
}

/// Whether an expression builds a string from pieces (rather than being one literal).
fn is_built(expr: &str, lang: Lang) -> bool {
    let e = expr.trim();
    match lang {
        Lang::Js => (e.starts_with('`') && e.contains("${")) || concatenates(e),
        Lang::Py => {
            let fstring = e.len() > 1 && matches!(&e[..2], "f\"" | "f'" | "F\"" | "F'");
            let fmt = PERCENT_FORMAT.is_match(e) || e.contains(".format(");
            fstring || fmt || concatenates(e)
        }
        Lang::Java => concatenates(e) || e.contains("String.format(") || e.contains(".formatted("),
    }
}

/// A `+` outside string literals with a string literal on one side.
fn concatenates(e: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut has_literal = false;
    let mut plus = false;
    let mut prev = ' ';
    for c in e.chars() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => {
                    quote = Some(c);
                    has_literal = true;
                }
                '+' => plus = true,
                _ => {}
            },
        }
        prev = c;
    }
    has_literal && plus
}

fn lang_of(f: &SourceFile) -> Option<Lang> {
    match f.ext().as_str() {
        "js" | "mjs" | "cjs" | "ts" | "tsx" | "jsx" => Some(Lang::Js),
        "py" => Some(Lang::Py),
        "java" | "kt" => Some(Lang::Java),
        _ => None,
    }
}

/// The SQL injection checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct InjectionChecker;

impl FileChecker for InjectionChecker {
    fn id(&self) -> &'static str {
        "sql-injection"
    }

    fn file(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        let Some(lang) = lang_of(f) else { return };
        // No SQL verb anywhere in the file: nothing to check (the common case, checked cheaply).
        if !SQL_VERB.is_match(&f.text) {
            return;
        }
        let call = match lang {
            Lang::Js => &*JS_CALL,
            Lang::Py => &*PY_CALL,
            Lang::Java => &*JAVA_CALL,
        };
        // Variables assigned built SQL strings in this file: name → expression.
        let mut built: Vec<(String, String)> = Vec::new();
        for c in ASSIGN.captures_iter(&f.text) {
            let (Some(name), Some(expr)) = (c.get(1), c.get(2)) else { continue };
            let e = expr.as_str();
            // Cheap tests first: a built string needs a quote and an operator or interpolation.
            let maybe = (e.contains('"') || e.contains('\'') || e.contains('`'))
                && (e.contains('+') || e.contains("${") || e.contains('%') || e.contains("format") || e.contains('{'));
            if maybe && is_built(e, lang) && SQL.is_match(e) {
                built.push((name.as_str().to_string(), expr.as_str().to_string()));
            }
        }
        let mut lines = Vec::new();
        for m in call.find_iter(&f.text) {
            let arg = first_argument(call_arguments(&f.text, m.end(), 2000)).trim();
            let expr = if is_built(arg, lang) && SQL.is_match(arg) {
                Some(arg.to_string())
            } else {
                built.iter().find(|(name, _)| name == arg).map(|(_, e)| e.clone())
            };
            let Some(expr) = expr else { continue };
            let line = f.line_of(m.start());
            if lines.contains(&line) {
                continue;
            }
            lines.push(line);
            let from_request = REQUEST.is_match(&expr);
            let (rule, fix) = match lang {
                Lang::Js => {
                    ("sql-injection/js-interpolation", "pass values as parameters: db.query('... WHERE id = $1', [id])")
                }
                Lang::Py => (
                    "sql-injection/python-interpolation",
                    "pass values as parameters: cursor.execute('... WHERE id = %s', (id,))",
                ),
                Lang::Java => (
                    "sql-injection/java-concatenation",
                    "use a PreparedStatement with ? placeholders (or named parameters in JPA)",
                ),
            };
            out.push(Finding {
                rule: rule.into(),
                severity: if from_request { Severity::Critical } else { Severity::High },
                file: f.rel.clone(),
                line,
                message: format!(
                    "SQL built by {} is passed to a query call{}",
                    if expr.contains("${") || expr.starts_with('f') { "interpolation" } else { "concatenation" },
                    if from_request { " with request data" } else { "" }
                ),
                fix: fix.into(),
                item: "security.sql-injection".into(),
                cwe: Some("CWE-89".into()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(name: &str, text: &str) -> Vec<Finding> {
        let f = SourceFile { rel: name.into(), path: name.into(), text: text.into() };
        let mut out = Vec::new();
        InjectionChecker.file(&f, &mut out);
        out
    }

    #[test]
    fn javascript() {
        let bad = scan("a.js", "const r = await pool.query(`SELECT * FROM users WHERE id = ${req.params.id}`);");
        assert_eq!((bad[0].rule.as_str(), bad[0].severity), ("sql-injection/js-interpolation", Severity::Critical));
        assert_eq!(scan("a.js", "db.query(\"SELECT * FROM users WHERE email = '\" + email + \"'\")").len(), 1);
        let hop = "const sql = 'DELETE FROM orders WHERE id = ' + req.body.id;\nawait db.query(sql);";
        assert_eq!(scan("a.ts", hop)[0].line, 2);
        assert!(scan("a.js", "pool.query('SELECT * FROM users WHERE id = $1', [req.params.id])").is_empty());
        assert!(scan("a.js", "pool.query(`SELECT * FROM users`)").is_empty());
    }

    #[test]
    fn python() {
        assert_eq!(scan("a.py", "cur.execute(f\"SELECT * FROM users WHERE id = {user_id}\")").len(), 1);
        assert_eq!(
            scan("a.py", "cur.execute(\"SELECT * FROM users WHERE name = '%s'\" % request.args['n'])")[0].severity,
            Severity::Critical
        );
        assert_eq!(scan("a.py", "cur.execute(\"SELECT * FROM t WHERE a = {}\".format(a))").len(), 1);
        assert!(scan("a.py", "cur.execute(\"SELECT * FROM users WHERE id = %s\", (user_id,))").is_empty());
        assert!(
            scan("a.py", "session.execute(text(\"SELECT * FROM users WHERE id = :id\"), {\"id\": uid})").is_empty()
        );
    }

    #[test]
    fn java() {
        let bad = "Statement st = conn.createStatement();\nResultSet rs = st.executeQuery(\"SELECT * FROM users WHERE id = \" + request.getParameter(\"id\"));";
        assert_eq!(scan("A.java", bad)[0].rule, "sql-injection/java-concatenation");
        assert!(
            scan("A.java", "PreparedStatement ps = conn.prepareStatement(\"SELECT * FROM users WHERE id = ?\");")
                .is_empty()
        );
    }
}
