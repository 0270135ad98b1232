//! SQL parsing with locations: statements with their line, trying the PostgreSQL, MySQL, generic
//! and SQLite dialects in turn; a text that does not parse split into statements to parse one by
//! one; parser messages moved to the file's lines.

use crate::checker::line_at;
use crate::migrations::re;
use regex::Regex;
use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, Tokenizer};
use std::sync::LazyLock;

/// SQL comments: `/* ... */` and `-- ...`.
pub(super) static SQL_COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)/\*.*?\*/|--[^\n]*"));

/// Statements with their 1-based line in the parsed text.
pub(super) struct Parsed {
    pub(super) statements: Vec<(usize, Statement)>,
    /// Only the MySQL dialect understood it.
    pub(super) mysql: bool,
}

/// Parses with the first dialect that reads the whole text; the error is the PostgreSQL parser's.
pub(super) fn parse_located(sql: &str) -> Result<Parsed, String> {
    let dialects: [(&dyn Dialect, bool); 4] = [
        (&PostgreSqlDialect {}, false),
        (&MySqlDialect {}, true),
        (&GenericDialect {}, false),
        (&SQLiteDialect {}, false),
    ];
    let mut first_error = None;
    for (dialect, mysql) in dialects {
        match Parser::parse_sql(dialect, sql) {
            Ok(statements) => {
                let lines = statement_lines(sql, dialect, &statements);
                return Ok(Parsed { statements: lines.into_iter().zip(statements).collect(), mysql });
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

/// The line of each statement: the first token after each `;`, or, when the tokens do not split
/// into as many statements (bodies with inner semicolons), each statement's first keyword.
fn statement_lines(sql: &str, dialect: &dyn Dialect, statements: &[Statement]) -> Vec<usize> {
    if let Ok(tokens) = Tokenizer::new(dialect, sql).tokenize_with_location() {
        let mut lines = Vec::new();
        let mut want = true;
        for t in &tokens {
            match t.token {
                Token::Whitespace(_) => {}
                Token::SemiColon => want = true,
                _ if want => {
                    lines.push((t.span.start.line as usize).max(1));
                    want = false;
                }
                _ => {}
            }
        }
        if lines.len() == statements.len() {
            return lines;
        }
    }
    let blank: String = SQL_COMMENT
        .replace_all(sql, |c: &regex::Captures<'_>| {
            c[0].bytes().map(|b| if b == b'\n' { '\n' } else { ' ' }).collect::<String>()
        })
        .to_ascii_lowercase();
    let mut cursor = 0;
    statements
        .iter()
        .map(|st| {
            let shown = st.to_string().to_ascii_lowercase();
            let word = shown.split_whitespace().next().unwrap_or("");
            if let Some(i) = blank.get(cursor..).and_then(|rest| rest.find(word)) {
                cursor += i;
                let line = line_at(&blank, cursor);
                cursor += word.len();
                line
            } else {
                line_at(&blank, cursor)
            }
        })
        .collect()
}

fn offset_of(sql: &str, line_starts: &[usize], loc: Location) -> usize {
    let Some(&start) = line_starts.get((loc.line as usize).saturating_sub(1)) else { return sql.len() };
    sql[start..].char_indices().nth((loc.column as usize).saturating_sub(1)).map_or(sql.len(), |(i, _)| start + i)
}

/// The statements of a text as `(line, text)` chunks split on top-level `;`, for parsing one by
/// one when the whole text does not parse.
pub(super) fn split_chunks(sql: &str) -> Result<Vec<(usize, &str)>, String> {
    let mut tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location();
    if tokens.is_err() {
        tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location();
    }
    let tokens = tokens.map_err(|e| e.to_string())?;
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect::<Vec<_>>();
    let mut chunks = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for t in &tokens {
        match t.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if let Some((line, s)) = start.take() {
                    let e = offset_of(sql, &line_starts, t.span.start).max(s);
                    chunks.push((line, &sql[s..e]));
                }
            }
            _ if start.is_none() => {
                start = Some((t.span.start.line as usize, offset_of(sql, &line_starts, t.span.start)));
            }
            _ => {}
        }
    }
    if let Some((line, s)) = start {
        chunks.push((line, &sql[s..]));
    }
    Ok(chunks)
}

/// A parser message with its `Line: n, Column: m` (relative to the parsed text, which starts on
/// line `first` of the file) turned into the file's line.
pub(super) fn in_file(message: &str, first: usize) -> String {
    static AT: LazyLock<Regex> = LazyLock::new(|| re(r"at Line: (\d+), Column: (\d+)"));
    AT.replace(message, |c: &regex::Captures<'_>| {
        let line = c[1].parse::<usize>().unwrap_or(1).max(1);
        format!("at line {}, column {}", first + line - 1, &c[2])
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_located_by_tokens_and_chunks() {
        let p = parse_located("-- a comment: create\n\nCREATE TABLE a (id int);\n/* x */ DROP TABLE b;").unwrap();
        assert_eq!(p.statements.iter().map(|s| s.0).collect::<Vec<_>>(), vec![3, 4]);
        let chunks = split_chunks("SELECT 1;\nCREAT oops;\n\nDROP TABLE x").unwrap();
        assert_eq!(chunks, vec![(1, "SELECT 1"), (2, "CREAT oops"), (4, "DROP TABLE x")]);
    }
}
