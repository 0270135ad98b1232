//! Hard-coded secrets: provider key formats (AWS, GitHub, Slack, Stripe, OpenAI, Anthropic,
//! private keys), JWT secrets in configuration, and an entropy rule for literals assigned to
//! names like `secret`, `password` or `token`. Paths matching the allow list (test fixtures) and
//! lines marked `coord:allow-secret` are skipped. Findings never repeat the secret: the message
//! shows a redacted form.

use crate::checker::re;
use crate::checker::{FileChecker, SourceFile};
use crate::finding::{Finding, Severity};
use regex::Regex;
use std::sync::LazyLock;

/// (rule, severity, what it is, pattern)
static PROVIDERS: LazyLock<Vec<(&'static str, Severity, &'static str, Regex)>> = LazyLock::new(|| {
    vec![
        ("secrets/aws-access-key", Severity::High, "AWS access key id", re(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
        (
            "secrets/aws-secret-key",
            Severity::Critical,
            "AWS secret access key",
            re(r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b"#),
        ),
        (
            "secrets/github-token",
            Severity::High,
            "GitHub token",
            re(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
        ),
        ("secrets/slack-token", Severity::High, "Slack token", re(r"\bxox[baprs]-[A-Za-z0-9-]{10,}")),
        (
            "secrets/slack-webhook",
            Severity::Medium,
            "Slack webhook URL",
            re(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"),
        ),
        (
            "secrets/stripe-live-key",
            Severity::Critical,
            "Stripe live secret key",
            re(r"\b[sr]k_live_[A-Za-z0-9]{20,}\b"),
        ),
        ("secrets/stripe-test-key", Severity::Low, "Stripe test secret key", re(r"\b[sr]k_test_[A-Za-z0-9]{20,}\b")),
        ("secrets/anthropic-key", Severity::Critical, "Anthropic API key", re(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
        (
            "secrets/openai-key",
            Severity::Critical,
            "OpenAI API key",
            re(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"),
        ),
        (
            "secrets/private-key",
            Severity::Critical,
            "private key",
            re(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
        ),
    ]
});

static JWT_CONFIG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)\b(jwt[._-]?secret|jwt[._-]?key|jwtsecret|secret[_-]?key|token[_-]?secret|signing[_-]?key)["']?\s*[:=]\s*["']?([^\s"'#,}]{8,})"#,
    )
});

/// `jwt:` with a nested `secret:` in YAML (Spring's application.yml and friends).
static JWT_NESTED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?m)^[ \t]*jwt[ \t]*:[ \t]*\n(?:[ \t]+[^\n]*\n){0,10}?[ \t]+(?:secret|key|signing[-_]?key|secret[-_]?key)[ \t]*:[ \t]*["']?([^\s"'#]{8,})"#,
    )
});
/// A cheap first pass for the assignment rules: lines that mention a secret-like name at all.
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)secret|passw|pwd|token|api_?key|apikey|access_?key|private_?key|credential|signing_?key|session_?key|auth_?key",
    )
});
/// A name that holds a secret, assigned a quoted literal (any text, spaces included). The name
/// may start with the keyword (`password`, `SECRET_KEY`, `token`).
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?:^|[^a-z0-9_.$-])((?:[a-z0-9_.$-]*?)(?:secret|password|passwd|passphrase|pwd|token|api_?key|apikey|access_?key|private_?key|credential|signing_?key|session_?key|auth_?key)[a-z0-9_.-]*)["']?\s*(?::=|=>|[:=])\s*(?:[rbuRBU]|@)?(["'`])([^"'`\r\n]{1,200})["'`]"#,
    )
});
/// The same in configuration files (`.env`, `.properties`, YAML, INI), where values need no
/// quotes: the value runs to the end of the line.
static CONFIG_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?im)^[ \t]*(?:export[ \t]+)?((?:[a-z0-9_.-]*?)(?:secret|password|passwd|passphrase|pwd|token|api_?key|apikey|access_?key|private_?key|credential|signing_?key|session_?key|auth_?key)[a-z0-9_.-]*)[ \t]*[:=][ \t]*([^\s"'#;][^\r\n#;]*?)[ \t]*$"#,
    )
});
/// Names that mention a secret but hold something else (a field name, a URL, a length...).
static NOT_A_SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(error|warning|text|title|description|help|tooltip|field|label|placeholder|name$|_name|type|url|uri|path|file|header|param|prompt|message|msg|hint|pattern|regex|format|policy|length|_len|min|max|reset|forgot|confirm|expir|ttl|timeout|endpoint|prefix|count|enabled|required|input|column|selector|env_var|variable|_env$|location|provider|strategy|mode|scope|audience|issuer|algorithm|cookie_name|validator|encoder|hasher)",
    )
});

/// A stored password hash (Django, bcrypt, argon2, crypt): not a credential in itself.
static PASSWORD_HASH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(pbkdf2_sha(1|256)\$|bcrypt(_sha256)?\$|argon2(id|i|d)?\$|md5\$|sha1\$|unsalted_(md5|sha1)\$|crypt\$|\$2[abxy]?\$\d\d\$|\$argon2|\$[156]\$)",
    )
});

/// Passwords and keys that are known to attackers: default credentials, the examples of
/// popular libraries' documentation (`keyboard cat` is express-session's), and the top of
/// leaked-password lists. Found whatever their entropy.
const KNOWN_WEAK: &[&str] = &[
    "keyboard cat",
    "secret",
    "secretkey",
    "secret_key",
    "mysecret",
    "my-secret",
    "my_secret",
    "supersecret",
    "super-secret",
    "topsecret",
    "s3cr3t",
    "s3cur3",
    "shhhhh",
    "shhhhhhh",
    "your-256-bit-secret",
    "jwt_secret",
    "jwtsecret",
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "admin",
    "admin123",
    "admin1234",
    "administrator",
    "root",
    "toor",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "qwerty123",
    "letmein",
    "welcome",
    "welcome1",
    "default",
    "guest",
    "test",
    "test123",
    "testing",
    "pass",
    "pass123",
    "abc123",
    "iloveyou",
    "monkey",
    "dragon",
    "master",
    "sunshine",
    "princess",
    "football",
    "trustno1",
    "hunter2",
    "postgres",
    "mysql",
    "sa",
    "oracle",
    "tiger",
    "manager",
    "notasecret",
    "development",
    "dev",
];

const CONFIG_EXTS: &[&str] = &["env", "yml", "yaml", "json", "properties", "toml", "ini", "cfg", "conf"];

/// Placeholders and references that are not secrets.
fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    l.contains("${")
        || l.starts_with('$')
        || l.starts_with('<')
        || l.starts_with('%')
        || l.contains("process.env")
        || l.contains("os.environ")
        || l.contains("getenv")
        || l.contains("{{")
        || [
            "changeme",
            "change-me",
            "example",
            "placeholder",
            "your-",
            "your_",
            "xxxx",
            "dummy",
            "redacted",
            "secret123",
        ]
        .iter()
        .any(|p| l.contains(p))
        || l.chars().all(|c| c == '*' || c == 'x' || c == '.')
        // `put_your_key_here`, `enter-token-here`: an instruction, not a value.
        || ((l.ends_with("here") || l.contains("_here") || l.contains("-here"))
            && ["your", "put", "insert", "enter", "replace", "add"].iter().any(|w| l.contains(w)))
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// `abcd…wxyz` (length n): enough to recognise, too little to use.
fn redact(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 8 {
        return format!("{}… (length {})", chars.iter().take(2).collect::<String>(), chars.len());
    }
    format!(
        "{}…{} (length {})",
        chars[..4].iter().collect::<String>(),
        chars[chars.len() - 2..].iter().collect::<String>(),
        chars.len()
    )
}

/// `text` with every provider key, private key header and high-entropy secret assignment
/// replaced by `[redacted]`: for transcripts and logs that may quote files holding secrets.
pub fn redact_secrets(text: &str) -> String {
    let mut out = text.to_string();
    for (_, _, _, pattern) in PROVIDERS.iter() {
        out = pattern.replace_all(&out, "[redacted]").into_owned();
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for c in ASSIGNMENT.captures_iter(&out) {
        if let Some(v) = c.get(3)
            && !is_placeholder(v.as_str())
            && entropy(v.as_str()) >= 3.0
        {
            spans.push((v.start(), v.end()));
        }
    }
    for c in JWT_CONFIG.captures_iter(&out) {
        if let Some(v) = c.get(2)
            && !is_placeholder(v.as_str())
        {
            spans.push((v.start(), v.end()));
        }
    }
    spans.sort();
    spans.dedup();
    for (start, end) in spans.into_iter().rev() {
        if out.is_char_boundary(start) && out.is_char_boundary(end) {
            out.replace_range(start..end, "[redacted]");
        }
    }
    out
}

/// The secrets checker.
#[derive(Debug, Clone, Default)]
pub struct SecretsChecker {
    /// Path prefixes or substrings whose files are allowed to hold fake secrets (test fixtures).
    pub allow: Vec<String>,
}

impl SecretsChecker {
    fn allowed(&self, rel: &str) -> bool {
        self.allow.iter().any(|a| !a.is_empty() && (rel.starts_with(a.as_str()) || rel.contains(a.as_str())))
    }
}

impl FileChecker for SecretsChecker {
    fn id(&self) -> &'static str {
        "secrets"
    }

    fn file(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        if self.allowed(&f.rel) {
            return;
        }
        let line_allowed = |offset: usize| {
            let start = f.text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let end = f.text[offset..].find('\n').map_or(f.text.len(), |i| offset + i);
            f.text[start..end].contains("coord:allow-secret")
        };
        let mut seen_lines = Vec::new();
        let mut push =
            |out: &mut Vec<Finding>, rule: &str, severity, offset: usize, message: String, fix: &str, item: &str| {
                let line = f.line_of(offset);
                if seen_lines.contains(&line) || line_allowed(offset) {
                    return;
                }
                seen_lines.push(line);
                out.push(Finding {
                    rule: rule.into(),
                    severity,
                    file: f.rel.clone(),
                    line,
                    message,
                    fix: fix.into(),
                    item: item.into(),
                    cwe: Some("CWE-798".into()),
                    fingerprint: String::new(),
                });
            };
        for (rule, severity, what, pattern) in PROVIDERS.iter() {
            for m in pattern.find_iter(&f.text) {
                push(
                    out,
                    rule,
                    *severity,
                    m.start(),
                    format!("hard-coded {what}: {}", redact(m.as_str())),
                    "remove it, rotate the credential, and read it from an environment variable or secret manager",
                    "code.no-secrets",
                );
            }
        }
        let is_config =
            CONFIG_EXTS.contains(&f.ext().as_str()) || f.rel.rsplit('/').next().is_some_and(|n| n.starts_with(".env"));
        if is_config {
            let flat = JWT_CONFIG.captures_iter(&f.text).filter_map(|c| Some((c.get(0)?.start(), c.get(2)?)));
            let nested = JWT_NESTED.captures_iter(&f.text).filter_map(|c| c.get(1).map(|v| (v.start(), v)));
            let found: Vec<_> = flat.chain(nested).collect();
            for (start, value) in found {
                if is_placeholder(value.as_str()) {
                    continue;
                }
                push(
                    out,
                    "secrets/jwt-secret-in-config",
                    Severity::High,
                    start,
                    format!("JWT signing secret in configuration: {}", redact(value.as_str())),
                    "load the signing key from an environment variable or secret manager; rotate the exposed one",
                    "security.secrets-env",
                );
            }
        }
        let mut last_line_end = 0;
        let candidates: Vec<(usize, &str)> = KEYWORD
            .find_iter(&f.text)
            .filter_map(|k| {
                if k.start() < last_line_end {
                    return None;
                }
                let start = f.text[..k.start()].rfind('\n').map_or(0, |i| i + 1);
                let end = f.text[k.start()..].find('\n').map_or(f.text.len(), |i| k.start() + i);
                last_line_end = end;
                Some((start, &f.text[start..end]))
            })
            .collect();
        // Documentation shows example configuration: only real key formats count there.
        let is_doc = matches!(f.ext().as_str(), "md" | "markdown" | "rst" | "txt" | "adoc" | "html" | "htm");
        for (line_start, line) in candidates.into_iter().filter(|_| !is_doc) {
            let quoted = ASSIGNMENT.captures_iter(line).filter_map(|c| Some((c.get(1)?, c.get(3)?)));
            let unquoted = CONFIG_ASSIGNMENT
                .captures_iter(line)
                .filter(|_| is_config)
                .filter_map(|c| Some((c.get(1)?, c.get(2)?)));
            let found: Vec<_> = quoted.chain(unquoted).collect();
            for (name, value) in found {
                let at = line_start + name.start();
                let (n, v) = (name.as_str(), value.as_str().trim());
                if let Some((rule, message)) = judge_assignment(n, v) {
                    push(
                        out,
                        rule,
                        Severity::High,
                        at,
                        format!("`{n}` is assigned {message}: {}", redact(v)),
                        "read it from an environment variable (process.env / os.environ / System.getenv) or a secret manager, and rotate it",
                        "security.secrets-env",
                    );
                }
            }
        }
    }
}

/// Whether a literal assigned to a secret-like name is a secret: a known weak or default value
/// (whatever its entropy), or a random-looking one. `None` for placeholders, references and
/// names that only mention a secret.
fn judge_assignment(name: &str, value: &str) -> Option<(&'static str, &'static str)> {
    let lower_name = name.to_ascii_lowercase();
    let lower = value.to_ascii_lowercase();
    // The closing quote of a string followed by code (`" password: " + request.get(...)`).
    let code = ["+ ", ", ", ". ", ") ", "+\t"].iter().any(|p| value.trim_start().starts_with(p));
    if value.is_empty() || code || NOT_A_SECRET_NAME.is_match(name) || PASSWORD_HASH.is_match(value) {
        return None;
    }
    // A reference to configuration, never a value.
    let reference = lower.starts_with('$')
        || lower.contains("${")
        || lower.contains("{{")
        || lower.starts_with('<')
        || lower.starts_with('%')
        || lower.contains("process.env")
        || lower.contains("os.environ")
        || lower.contains("getenv")
        || lower.starts_with("env(")
        || lower.starts_with("!")
        || lower == "null"
        || lower == "none"
        || lower == "true"
        || lower == "false";
    if reference {
        return None;
    }
    // The value names the field (`password: "password"` in a form schema).
    let keyword_is_value = lower_name.ends_with(&lower) && lower.len() < lower_name.len() + 1 && !lower.contains(' ');
    if KNOWN_WEAK.contains(&lower.as_str()) && !(keyword_is_value && lower != "secret") {
        return Some(("secrets/weak-credential", "a known weak or default credential"));
    }
    if is_placeholder(value) || keyword_is_value || value.chars().count() < 8 {
        return None;
    }
    // Passwords, and long values (a passphrase-like key needs less randomness per character
    // to be long enough to guess), need less entropy.
    let threshold = if lower_name.contains("pass") || lower_name.contains("pwd") || value.chars().count() >= 16 {
        3.0
    } else {
        3.5
    };
    (entropy(value) >= threshold).then_some(("secrets/high-entropy-assignment", "a literal that looks like a secret"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(name: &str, text: &str) -> Vec<Finding> {
        let f = SourceFile { rel: name.into(), path: name.into(), text: text.into() };
        let mut out = Vec::new();
        SecretsChecker::default().file(&f, &mut out);
        out
    }

    #[test]
    fn provider_formats() {
        let aws = format!("const k = \"{}{}\";", "AKIA", "Z7Q4W2E8R6T1Y3U5");
        assert_eq!(scan("a.js", &aws)[0].rule, "secrets/aws-access-key");
        let gh = format!("token: {}{}", "ghp_", "a".repeat(36));
        assert_eq!(scan("a.yml", &gh)[0].rule, "secrets/github-token");
        let key = format!("{}-----\nMIIE\n", "-----BEGIN RSA PRIVATE KEY");
        assert_eq!(scan("id_rsa", &key)[0].rule, "secrets/private-key");
        let ant = format!("ANTHROPIC = '{}{}'", "sk-ant-", "api03-abcdefghijklmnopqrstuvwxyz012345");
        let found = scan("x.py", &ant);
        assert!(found.iter().any(|f| f.rule == "secrets/anthropic-key"), "{found:?}");
        assert!(!found.iter().any(|f| f.rule == "secrets/openai-key"), "anthropic keys are not openai keys");
    }

    #[test]
    fn messages_never_carry_the_secret() {
        let secret = format!("{}{}", "sk_live_", "4eC39HqLyjWDarjtT1zdp7dc");
        let found = scan("pay.js", &format!("const stripe = require('stripe')('{secret}');"));
        assert_eq!(found[0].rule, "secrets/stripe-live-key");
        assert!(!found[0].message.contains(&secret));
    }

    #[test]
    fn entropy_rule_and_placeholders() {
        assert_eq!(scan("c.py", "DB_PASSWORD = \"k9#Lq2!vZ8@xR4\"")[0].rule, "secrets/high-entropy-assignment");
        assert!(scan("c.py", "DB_PASSWORD = os.environ[\"DB_PASSWORD\"]").is_empty());
        assert!(scan("c.py", "password = \"changeme123\"").is_empty());
        assert!(scan("c.js", "const token = \"aaaaaaaaaaaa\";").is_empty(), "low entropy");
        assert!(scan("c.js", "const token = \"Zk8pQ2vL9xW4rT7m\"; // coord:allow-secret").is_empty());
        assert_eq!(scan(".env", "JWT_SECRET=s3cr3tK3yF0rS1gn1ng")[0].rule, "secrets/jwt-secret-in-config");
        assert!(scan(".env", "JWT_SECRET=${JWT_SECRET}").is_empty());
        assert_eq!(scan("application.yml", "jwt:\n  issuer: me\n  secret: h7Kp2Qz9Lw4Xv8Nc\n")[0].line, 3);
        assert!(scan("application.yml", "jwt:\n  secret: ${JWT_SECRET}\n").is_empty());
    }

    #[test]
    fn keyword_first_names_unquoted_values_spaces_and_weak_credentials() {
        let rules = |name: &str, text: &str| scan(name, text).into_iter().map(|f| f.rule).collect::<Vec<_>>();
        assert_eq!(
            rules("server.js", "app.use(session({\n  secret: 'keyboard cat',\n}));"),
            ["secrets/weak-credential"]
        );
        assert_eq!(
            rules("settings.py", "SECRET_KEY = '0yxzudryd8)-%)(fz&7q-!v&cq1u6vbfoc4u7@u_&i)b@4eh^q'"),
            ["secrets/high-entropy-assignment"]
        );
        assert_eq!(rules("db.py", "password = \"admin123\""), ["secrets/weak-credential"]);
        assert_eq!(rules("Jwt.java", "private static final String SECRET = \"123456\";"), ["secrets/weak-credential"]);
        assert_eq!(rules("application.properties", "spring.datasource.password=root"), ["secrets/weak-credential"]);
        assert_eq!(rules("config.yml", "db:\n  password: Zk8pQ2vL9xW4rT7m\n"), ["secrets/high-entropy-assignment"]);
        assert_eq!(rules(".env", "DB_PASSWORD=correct horse battery staple"), ["secrets/high-entropy-assignment"]);
        // References, field names and comparisons are not secrets.
        assert!(rules("application.properties", "spring.datasource.password=${DB_PASSWORD}").is_empty());
        assert!(rules("form.js", "const passwordField = 'password';").is_empty());
        assert!(rules("a.py", "if password == \"admin123\":\n    pass").is_empty());
        assert!(rules("a.py", "token = request.headers['Authorization']").is_empty(), "code needs quotes");
        assert!(rules("a.js", "const author = 'Jane Q. Smith-Random';").is_empty());
        assert!(rules("A.java", "log.warn(\" password: \" + request.getParameter(\"password\"));").is_empty());
        assert_eq!(
            rules("all.js", "cookieSecret: \"session_cookie_secret_key_here\","),
            ["secrets/high-entropy-assignment"]
        );
        assert!(rules("all.js", "apiKey: \"put_your_api_key_here\",").is_empty());
    }

    #[test]
    fn redaction_removes_keys_and_secret_values() {
        let key = format!("{}{}", "AKIA", "Z7Q4W2E8R6T1Y3U5");
        let text =
            format!("aws = {key}\nDB_PASSWORD = \"k9#Lq2!vZ8@xR4\"\nJWT_SECRET=s3cr3tK3yF0rS1gn1ng\nname = \"orders\"");
        let r = redact_secrets(&text);
        assert!(!r.contains(&key) && !r.contains("k9#Lq2") && !r.contains("s3cr3tK3y"), "{r}");
        assert!(r.contains("name = \"orders\""));
    }

    #[test]
    fn allow_list_skips_fixtures() {
        let f = SourceFile {
            rel: "tests/fixtures/keys.js".into(),
            path: "k".into(),
            text: format!("{}{}", "AKIA", "Z7Q4W2E8R6T1Y3U5"),
        };
        let mut out = Vec::new();
        SecretsChecker { allow: vec!["tests/fixtures/".into()] }.file(&f, &mut out);
        assert!(out.is_empty());
    }
}
