//! Redaction at every sink: before a command's output is written to its log, a transcript to
//! its file, a tool's result goes back to the model, or a failure, summary or gate report is
//! stored (and so served by the API and MCP), secrets are replaced by `[REDACTED:<what>]`.
//! Two kinds: the values of secret-looking variables of coord's own environment (provider keys,
//! cloud credentials, database URLs and their passwords, and whatever `env_pass` hands on), and
//! strings that look like credentials whatever their origin (vendor key formats, private keys,
//! bearer tokens, passwords in URLs).

use regex::Regex;
use std::sync::{OnceLock, RwLock};

/// Names of variables whose values are secrets.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "CREDENTIAL",
        "AUTH",
        "PRIVATE",
        "DATABASE_URL",
        "DSN",
        "COOKIE",
        "SESSION",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// Values shorter than this are not redacted (they would match ordinary text).
const MIN_SECRET: usize = 8;

/// What is replaced.
#[derive(Debug)]
pub struct Redactor {
    /// `(value, the variable's name)`, longest first.
    values: Vec<(String, String)>,
    patterns: Vec<(Regex, &'static str)>,
    passed: Vec<String>,
}

fn patterns() -> Vec<(Regex, &'static str)> {
    let raw: &[(&str, &str)] = &[
        (r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)", "private-key"),
        (r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "aws-access-key-id"),
        (r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", "github-token"),
        (r"\bgithub_pat_[A-Za-z0-9_]{60,}\b", "github-token"),
        (r"\bglpat-[A-Za-z0-9_-]{20,}\b", "gitlab-token"),
        (r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", "slack-token"),
        (r"\b(sk|rk)_live_[A-Za-z0-9]{16,}\b", "stripe-key"),
        (r"\bsk-ant-[A-Za-z0-9_-]{20,}\b", "anthropic-key"),
        (r"\bsk-(proj-)?[A-Za-z0-9_-]{20,}\b", "openai-key"),
        (r"\bAIza[0-9A-Za-z_-]{35}\b", "google-api-key"),
        (r"\bnpm_[A-Za-z0-9]{36}\b", "npm-token"),
        (r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{16,}", "bearer-token"),
        (r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", "jwt"),
        (r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):([^\s@/]{3,})@", "url-password"),
    ];
    raw.iter().filter_map(|(re, what)| Regex::new(re).ok().map(|r| (r, *what))).collect()
}

impl Redactor {
    /// A redactor of the secret-looking variables of `env` (and of the whole value of each
    /// variable named in `pass`).
    pub fn new(env: impl IntoIterator<Item = (String, String)>, pass: &[String]) -> Redactor {
        let mut values: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, v)| (secret_name(k) || pass.contains(k)) && v.len() >= MIN_SECRET)
            .map(|(k, v)| (v, k))
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.0.len()));
        values.dedup_by(|a, b| a.0 == b.0);
        Redactor { values, patterns: patterns(), passed: pass.to_vec() }
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, name) in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("[REDACTED:{name}]"));
            }
        }
        for (re, what) in &self.patterns {
            if re.is_match(&out) {
                out = match *what {
                    "url-password" => re.replace_all(&out, format!("$1:[REDACTED:{what}]@").as_str()).into_owned(),
                    "bearer-token" => re.replace_all(&out, format!("$1 [REDACTED:{what}]").as_str()).into_owned(),
                    _ => re.replace_all(&out, format!("[REDACTED:{what}]").as_str()).into_owned(),
                };
            }
        }
        out
    }
}

fn global() -> &'static RwLock<Redactor> {
    static ONCE: OnceLock<RwLock<Redactor>> = OnceLock::new();
    ONCE.get_or_init(|| RwLock::new(Redactor::new(std::env::vars(), &[])))
}

/// Also redacts the whole values of these variables of coord's environment (a specialist's
/// `env_pass`: whatever is handed on is treated as a secret).
pub fn pass_also(names: &[String]) {
    if names.is_empty() {
        return;
    }
    let mut r = global().write().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut all: Vec<String> = r.passed.clone();
    all.extend(names.iter().cloned());
    all.sort();
    all.dedup();
    *r = Redactor::new(std::env::vars(), &all);
}

/// Redacts `text` with this process's redactor.
pub fn redact(text: &str) -> String {
    global().read().unwrap_or_else(std::sync::PoisonError::into_inner).redact(text)
}

/// A finished attempt's record with its texts redacted.
pub fn finish(f: coord_store::Finish) -> coord_store::Finish {
    use coord_store::Finish;
    match f {
        Finish::Done { detail } => Finish::Done { detail: redact(&detail) },
        Finish::Retry { error, retry_at, level, specialist, feedback } => Finish::Retry {
            error: redact(&error),
            retry_at,
            level,
            specialist,
            feedback: feedback.into_iter().map(|(s, t)| (s, redact(&t))).collect(),
        },
        Finish::Escalate { error, level, category } => Finish::Escalate { error: redact(&error), level, category },
        Finish::Fail { error } => Finish::Fail { error: redact(&error) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_secret_variables_and_credential_shapes_are_replaced() {
        let env = vec![
            ("OPENAI_API_KEY".to_string(), "canary-provider-key-123456".to_string()),
            ("DATABASE_URL".to_string(), "postgres://app:hunter2hunter2@db/app".to_string()),
            ("HOME".to_string(), "/home/someone-long".to_string()),
            ("SHORT_TOKEN".to_string(), "abc".to_string()),
        ];
        let r = Redactor::new(env, &[]);
        // The key-shaped parts are split (`concat!`) so that no key sits whole in the repository.
        let text = concat!(
            "key canary-provider-key-123456 url postgres://app:hunter2hunter2@db/app home /home/someone-long ",
            "aws AKIA",
            "IOSFODNN7EXAMPLE gh ghp_",
            "0123456789abcdefghijABCDEFGHIJ012345 abc ",
            "Authorization: Bearer abcdefghijklmnop0123 other https://u:pw12345@example.com/x"
        );
        let out = r.redact(text);
        for secret in [
            "canary-provider-key",
            "hunter2",
            concat!("AKIA", "IOSFODNN7EXAMPLE"),
            "ghp_0123",
            "abcdefghijklmnop0123",
            "pw12345",
        ] {
            assert!(!out.contains(secret), "{secret} left in: {out}");
        }
        assert!(out.contains("[REDACTED:OPENAI_API_KEY]") && out.contains("[REDACTED:DATABASE_URL]"), "{out}");
        assert!(out.contains("/home/someone-long") && out.contains(" abc "), "ordinary values stay: {out}");
        assert!(out.contains("https://u:[REDACTED:url-password]@example.com"), "{out}");
    }
}
