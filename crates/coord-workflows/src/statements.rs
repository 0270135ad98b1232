//! Splitting a SQL script into its statements, to say which statement of a migration failed.
//!
//! The splitter knows what a `;` inside a statement looks like: quoted strings and identifiers
//! (`'...'`, `"..."`, `` `...` ``), line and block comments, PostgreSQL dollar quotes
//! (`$$...$$`, `$tag$...$tag$`) and the `BEGIN ... END` body of a `CREATE TRIGGER`. It is used
//! only to locate an error: the replay applies each migration as the database's own script.

/// One statement of a script: the 1-based line it starts on, and its text without the `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement {
    /// Line of the statement's first character.
    pub line: usize,
    /// The statement.
    pub text: String,
}

/// The statements of `sql`, in order; blank and comment-only pieces are left out.
pub fn split_statements(sql: &str) -> Vec<ScriptStatement> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut depth = 0usize; // BEGIN ... END nesting inside CREATE TRIGGER
    let push = |out: &mut Vec<ScriptStatement>, from: usize, to: usize| {
        if let Some(lead) = first_code(&sql[from..to]) {
            let line = sql[..from + lead].bytes().filter(|&c| c == b'\n').count() + 1;
            out.push(ScriptStatement { line, text: sql[from + lead..to].trim_end().to_string() });
        }
    };
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if i + 1 < b.len() && b[i + 1] == q {
                            i += 2; // doubled quote inside the string
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                // `$tag$` opens a dollar quote; `$1` is a parameter.
                let tag_end = sql[i + 1..].find('$').map(|n| i + 1 + n);
                match tag_end {
                    Some(end)
                        if sql[i + 1..end].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                            && !sql[i + 1..end].starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        let tag = &sql[i..=end];
                        match sql[end + 1..].find(tag) {
                            Some(close) => i = end + 1 + close + tag.len(),
                            None => i = b.len(),
                        }
                    }
                    _ => i += 1,
                }
            }
            b';' if depth == 0 => {
                push(&mut out, start, i);
                i += 1;
                start = i;
            }
            c if c.is_ascii_alphabetic() && (i == 0 || !is_word(b[i - 1])) => {
                let end = (i..b.len()).find(|&j| !is_word(b[j])).unwrap_or(b.len());
                let word = &sql[i..end];
                if word.eq_ignore_ascii_case("BEGIN") && in_trigger(&sql[start..i]) {
                    depth += 1;
                } else if word.eq_ignore_ascii_case("END") && depth > 0 {
                    depth -= 1;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    push(&mut out, start, b.len().max(start));
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn in_trigger(statement_so_far: &str) -> bool {
    let upper = statement_so_far.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    words.first() == Some(&"CREATE") && words.iter().take(6).any(|w| *w == "TRIGGER")
}

/// Offset of the first character of `piece` that is neither blank nor a comment.
fn first_code(piece: &str) -> Option<usize> {
    let mut at = 0;
    loop {
        let rest = &piece[at..];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            at += trimmed.find('\n').map_or(trimmed.len(), |n| n + 1);
        } else if trimmed.starts_with("/*") {
            at += trimmed.find("*/").map_or(trimmed.len(), |n| n + 2);
        } else if trimmed.is_empty() {
            return None;
        } else {
            return Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<(usize, String)> {
        split_statements(sql).into_iter().map(|s| (s.line, s.text)).collect()
    }

    #[test]
    fn semicolons_inside_strings_comments_dollar_quotes_and_triggers_do_not_split() {
        let sql = "-- users\nCREATE TABLE users (id INT, note TEXT DEFAULT 'a;b');\n\nINSERT INTO users VALUES (1, 'it''s; fine'); /* x; y */\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nCREATE TRIGGER t AFTER INSERT ON users BEGIN UPDATE users SET note = 'x'; END;\nSELECT $1;";
        let got = texts(sql);
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0], (2, "CREATE TABLE users (id INT, note TEXT DEFAULT 'a;b')".to_string()));
        assert_eq!(got[1].0, 4);
        assert!(got[1].1.ends_with("'it''s; fine')"));
        assert!(got[2].1.contains("$body$ SELECT 1; $body$"), "{}", got[2].1);
        assert_eq!(got[2].0, 5, "the block comment before it is skipped");
        assert_eq!(
            got[3],
            (6, "CREATE TRIGGER t AFTER INSERT ON users BEGIN UPDATE users SET note = 'x'; END".to_string())
        );
        assert_eq!(got[4].1, "SELECT $1");
    }

    #[test]
    fn comment_only_and_blank_pieces_are_dropped() {
        assert!(texts("-- nothing here\n;\n  ;").is_empty());
        assert_eq!(texts("SELECT 1").len(), 1);
    }
}
