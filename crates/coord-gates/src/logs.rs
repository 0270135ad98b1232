//! Sensitive data in logs: passwords, tokens, secrets, card numbers or whole request bodies
//! passed to logger calls (`console.*`, `logger.*`, `log.*`, `logging.*`, SLF4J/Log4j). Words
//! inside string literals ("invalid password") do not count; identifiers and interpolations do.

use crate::checker::re;
use crate::checker::{FileChecker, SourceFile, call_arguments};
use crate::finding::{Finding, Severity};
use regex::Regex;
use std::sync::LazyLock;

static LOG_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:console\.(?:log|info|warn|error|debug|trace)|(?:logger|log|LOG|LOGGER|logging|winston|pino|bunyan|app\.logger|self\.logger|this\.logger)\.(?:info|debug|warn|warning|error|trace|fatal|critical|exception|log))\s*\(",
    )
});
static SENSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(password|passwd|pwd|secret|client_?secret|api_?key|apikey|access_?token|refresh_?token|id_?token|token|authorization|auth_?header|card_?number|cardnumber|credit_?card|cvv|cvc|ssn|private_?key)\b|\breq(?:uest)?\.(?:body|headers)\b(?:\s*(?:[,)}]|$)|\.(?:password|token|authorization))",
    )
});
/// A sensitive value taken out of a mapping by its key: `body["password"]`, `data.get('token')`.
static SENSITIVE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?:\[\s*|\.get\(\s*)["'](password|passwd|secret|client_secret|token|access_token|refresh_token|api_key|apikey|authorization|card_number|cardnumber|cvv|ssn|private_key)["']"#,
    )
});
static DIGITS: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:\d[ -]?){13,19}\b"));

/// The code of a call's arguments with the text of string literals blanked, but template and
/// f-string interpolations kept.
fn code_only(args: &str) -> String {
    let mut out = String::with_capacity(args.len());
    let mut quote: Option<char> = None;
    let mut interp = 0;
    let mut prev = ' ';
    for c in args.chars() {
        match quote {
            Some(q) => {
                if interp > 0 {
                    if c == '}' {
                        interp -= 1;
                    }
                    out.push(c);
                } else if c == '{' && (prev == '$' || q != '`') {
                    interp += 1;
                    out.push(' ');
                } else if c == q && prev != '\\' {
                    quote = None;
                    out.push(' ');
                } else {
                    out.push(' ');
                }
            }
            None => {
                if matches!(c, '"' | '\'' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
        prev = c;
    }
    out
}

fn luhn(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() < 13 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum();
    sum.is_multiple_of(10)
}

/// The sensitive-data-in-logs checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogsChecker;

impl FileChecker for LogsChecker {
    fn id(&self) -> &'static str {
        "sensitive-logs"
    }

    fn file(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        if !matches!(f.ext().as_str(), "js" | "mjs" | "cjs" | "ts" | "tsx" | "jsx" | "py" | "java" | "kt" | "go" | "rb")
        {
            return;
        }
        for m in LOG_CALL.find_iter(&f.text) {
            let args = call_arguments(&f.text, m.end(), 600);
            let code = code_only(args);
            let hit = SENSITIVE
                .find(&code)
                .map(|s| s.as_str().trim_end_matches([',', ')', '}', ' ']).to_string())
                .or_else(|| {
                    SENSITIVE_KEY.captures(args).and_then(|c| c.get(1)).map(|k| format!("the \"{}\" value", k.as_str()))
                });
            let card = DIGITS.find_iter(args).any(|d| luhn(d.as_str()));
            let (rule, what) = match (hit, card) {
                (_, true) => ("sensitive-logs/card-number", "a card number".to_string()),
                (Some(word), false) => ("sensitive-logs/secret-in-log", format!("`{word}`")),
                (None, false) => continue,
            };
            out.push(Finding {
                rule: rule.into(),
                severity: Severity::High,
                file: f.rel.clone(),
                line: f.line_of(m.start()),
                message: format!("a logger call writes {what}"),
                fix: "log an identifier (user id, request id) instead; mask or drop secrets and personal data".into(),
                item: "security.sensitive-logs".into(),
                cwe: Some("CWE-532".into()),
                fingerprint: String::new(),
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
        LogsChecker.file(&f, &mut out);
        out
    }

    #[test]
    fn secrets_in_log_calls() {
        assert_eq!(scan("a.js", "console.log('login', email, password);").len(), 1);
        assert_eq!(scan("a.js", "logger.info(`user ${user.id} token ${accessToken}`);").len(), 1);
        assert_eq!(
            scan("a.py", "logging.info(\"body %s\", request.json)").len(),
            0,
            "request.json alone is not flagged"
        );
        assert_eq!(scan("a.py", "logger.debug(f\"reset with {password}\")").len(), 1);
        assert_eq!(scan("A.java", "log.info(\"auth header {}\", authorization);").len(), 1);
        assert_eq!(scan("a.py", "log.info(\"login %s\", body[\"password\"])").len(), 1);
        assert_eq!(scan("a.js", "console.log(req.body)").len(), 1);
        assert_eq!(
            scan("a.js", "console.log('charged card 4111 1111 1111 1111')")[0].rule,
            "sensitive-logs/card-number"
        );
    }

    #[test]
    fn words_in_messages_are_fine() {
        assert!(scan("a.js", "logger.warn('invalid password for user', { userId: user.id });").is_empty());
        assert!(scan("a.py", "logging.info(\"token refreshed for %s\", user_id)").is_empty());
        assert!(scan("a.js", "console.log('order 1234567890123 shipped')").is_empty(), "not a Luhn number");
    }
}
