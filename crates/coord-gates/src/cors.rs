//! CORS: a wildcard (or reflected) origin together with credentials, in Express (`cors()`
//! options, hand-set headers), FastAPI/Starlette, Flask-CORS, Django and Spring.

use crate::checker::re;
use crate::checker::{FileChecker, SourceFile};
use crate::finding::{Finding, Severity};
use regex::Regex;
use std::sync::LazyLock;

/// (framework, a configuration block, wildcard pattern inside it, credentials pattern inside it)
static RULES: LazyLock<Vec<(&'static str, Regex, Regex, Regex)>> = LazyLock::new(|| {
    vec![
        (
            "Express cors()",
            re(r"(?s)\bcors\s*\(\s*\{.{0,600}?\}\s*\)"),
            re(r#"origin\s*:\s*(?:["'`]\*["'`]|true\b)"#),
            re(r"credentials\s*:\s*true\b"),
        ),
        (
            "Starlette CORSMiddleware",
            re(r"(?s)(?:add_middleware\s*\(\s*(?:#[^\n]*\n\s*)?)?CORSMiddleware\s*,.{0,600}?\)"),
            re(r#"allow_origins\s*=\s*\[\s*["']\*["']\s*\]|allow_origin_regex\s*=\s*["']\.\*["']"#),
            re(r"allow_credentials\s*=\s*True"),
        ),
        (
            "Flask-CORS",
            re(r"(?s)\bCORS\s*\(\s*app\b.{0,400}?\)"),
            // Flask-CORS allows every origin unless `origins` is given (checked below too).
            re(r#"origins\s*=\s*["']\*["']"#),
            re(r"supports_credentials\s*=\s*True"),
        ),
        (
            "Spring @CrossOrigin",
            re(r"(?s)@CrossOrigin\s*\(.{0,400}?\)"),
            re(r#"origins\s*=\s*(?:\{\s*)?"\*"|originPatterns\s*=\s*(?:\{\s*)?"\*""#),
            re(r#"allowCredentials\s*=\s*"true""#),
        ),
        (
            "Spring CorsRegistry",
            re(r"(?s)\.addMapping\s*\(.{0,600}?;"),
            re(r#"allowedOrigin(?:s|Patterns)\s*\(\s*"\*"\s*\)"#),
            re(r"allowCredentials\s*\(\s*true\s*\)"),
        ),
    ]
});

static HEADER_ORIGIN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)["']Access-Control-Allow-Origin["']\s*[,:]\s*(?:["']\*["']|req(?:uest)?\.headers?(?:\.origin|\[["']origin["']\]|\.get\(["']origin["']\)))"#,
    )
});
static HEADER_CREDENTIALS: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)["']Access-Control-Allow-Credentials["']\s*[,:]\s*["']?true"#));
static DJANGO_ALL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^\s*CORS_(?:ORIGIN_ALLOW_ALL|ALLOW_ALL_ORIGINS)\s*=\s*True"));
static DJANGO_CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*CORS_ALLOW_CREDENTIALS\s*=\s*True"));

/// The CORS checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct CorsChecker;

impl FileChecker for CorsChecker {
    fn id(&self) -> &'static str {
        "cors"
    }

    fn file(&self, f: &SourceFile, out: &mut Vec<Finding>) {
        if !matches!(f.ext().as_str(), "js" | "mjs" | "cjs" | "ts" | "py" | "java" | "kt") {
            return;
        }
        let mut found = |offset: usize, what: &str| {
            out.push(Finding {
                rule: "cors/wildcard-with-credentials".into(),
                severity: Severity::High,
                file: f.rel.clone(),
                line: f.line_of(offset),
                message: format!(
                    "{what} allows any origin together with credentials: any site can make authenticated requests"
                ),
                fix: "list the allowed frontend origins explicitly (from configuration) when credentials are allowed"
                    .into(),
                item: "security.cors".into(),
                cwe: Some("CWE-942".into()),
            });
        };
        for (what, block, wildcard, credentials) in RULES.iter() {
            for m in block.find_iter(&f.text) {
                let b = m.as_str();
                let default_wildcard = *what == "Flask-CORS" && !b.contains("origins");
                if credentials.is_match(b) && (wildcard.is_match(b) || default_wildcard) {
                    found(m.start(), what);
                }
            }
        }
        if let (Some(origin), true) = (HEADER_ORIGIN.find(&f.text), HEADER_CREDENTIALS.is_match(&f.text)) {
            found(origin.start(), "the Access-Control-Allow-Origin header");
        }
        if let (Some(all), true) = (DJANGO_ALL.find(&f.text), DJANGO_CREDENTIALS.is_match(&f.text)) {
            found(all.start(), "django-cors-headers");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(name: &str, text: &str) -> usize {
        let f = SourceFile { rel: name.into(), path: name.into(), text: text.into() };
        let mut out = Vec::new();
        CorsChecker.file(&f, &mut out);
        out.len()
    }

    #[test]
    fn frameworks() {
        assert_eq!(scan("app.js", "app.use(cors({ origin: '*', credentials: true }));"), 1);
        assert_eq!(scan("app.js", "app.use(cors({ origin: true, credentials: true }));"), 1, "reflects any origin");
        assert_eq!(scan("app.js", "app.use(cors({ origin: ['https://app.example.com'], credentials: true }));"), 0);
        assert_eq!(scan("app.js", "app.use(cors({ origin: '*' }));"), 0, "public API without credentials");
        assert_eq!(
            scan(
                "main.py",
                "app.add_middleware(\n    CORSMiddleware,\n    allow_origins=[\"*\"],\n    allow_credentials=True,\n)"
            ),
            1
        );
        assert_eq!(
            scan(
                "main.py",
                "app.add_middleware(CORSMiddleware, allow_origins=settings.origins, allow_credentials=True)"
            ),
            0
        );
        assert_eq!(scan("Web.java", "@CrossOrigin(origins = \"*\", allowCredentials = \"true\")"), 1);
        assert_eq!(
            scan("Cfg.java", "registry.addMapping(\"/**\").allowedOriginPatterns(\"*\").allowCredentials(true);"),
            1
        );
        assert_eq!(
            scan(
                "s.js",
                "res.setHeader('Access-Control-Allow-Origin', req.headers.origin);\nres.setHeader('Access-Control-Allow-Credentials', 'true');"
            ),
            1
        );
        assert_eq!(scan("app.py", "CORS(app, supports_credentials=True)"), 1, "flask-cors defaults to every origin");
        assert_eq!(scan("app.py", "CORS(app, origins=[\"https://app.example.com\"], supports_credentials=True)"), 0);
        assert_eq!(scan("settings.py", "CORS_ALLOW_ALL_ORIGINS = True\nCORS_ALLOW_CREDENTIALS = True\n"), 1);
    }
}
