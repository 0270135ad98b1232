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

/// `Access-Control-Allow-Origin` set to a value: the value's text.
static HEADER_ORIGIN: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)["']Access-Control-Allow-Origin["']\s*[,:]\s*([^,;)\n]+)"#));
/// The request's Origin header, in Express, Flask/Django and servlets.
static REQUEST_ORIGIN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)req(?:uest)?\.(?:headers?(?:\.origin|\[["']origin["']\]|\.get\(\s*["'](?:http_)?origin["']\s*\))|get(?:Header)?\(\s*["']origin["']\s*\)|META(?:\[["']HTTP_ORIGIN["']\]|\.get\(\s*["']HTTP_ORIGIN["']))"#,
    )
});
static HEADER_CREDENTIALS: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)["']Access-Control-Allow-Credentials["']\s*[,:]\s*["']?true"#));
/// `name = <request origin>`: the names that hold the request's Origin.
static ORIGIN_VARIABLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)\b([A-Za-z_$][A-Za-z0-9_$]*)\s*=\s*([^;\n]+)"));
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
                fingerprint: String::new(),
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
        if let (Some(all), true) = (DJANGO_ALL.find(&f.text), DJANGO_CREDENTIALS.is_match(&f.text)) {
            found(all.start(), "django-cors-headers");
        }
        // Raw headers: the request's Origin echoed back (directly or through a variable), or a
        // wildcard, with credentials allowed within a few lines (the same handler). A wildcard
        // without credentials is a public API, not a defect. Most files allow no credentials:
        // the assignments (every one of the file, the costly part) are read only when one does.
        let credential_lines: Vec<usize> =
            HEADER_CREDENTIALS.find_iter(&f.text).map(|m| f.line_of(m.start())).collect();
        if credential_lines.is_empty() {
            return;
        }
        let origin_vars: Vec<&str> = ORIGIN_VARIABLE
            .captures_iter(&f.text)
            .filter(|c| c.get(2).is_some_and(|v| REQUEST_ORIGIN.is_match(v.as_str())))
            .filter_map(|c| c.get(1).map(|n| n.as_str()))
            .collect();
        for c in HEADER_ORIGIN.captures_iter(&f.text) {
            let (Some(all), Some(value)) = (c.get(0), c.get(1)) else { continue };
            let v = value.as_str().trim();
            let reflected = REQUEST_ORIGIN.is_match(v) || origin_vars.contains(&v);
            let wildcard = v.trim_matches(|c| c == '"' || c == '\'') == "*";
            let line = f.line_of(all.start());
            let credentials = credential_lines.iter().any(|l| l.abs_diff(line) <= 6);
            if (reflected || wildcard) && credentials {
                found(all.start(), "the Access-Control-Allow-Origin header");
            }
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
        let reflected = "public String vuls1(HttpServletRequest request, HttpServletResponse response) {\n    String origin = request.getHeader(\"origin\");\n    response.setHeader(\"Access-Control-Allow-Origin\", origin);\n    response.setHeader(\"Access-Control-Allow-Credentials\", \"true\");\n}\n";
        let wildcard = "public String vuls2(HttpServletResponse response) {\n    response.setHeader(\"Access-Control-Allow-Origin\", \"*\");\n    return info;\n}\n";
        assert_eq!(scan("Cors.java", reflected), 1, "the Origin echoed through a variable, with credentials");
        assert_eq!(scan("Cors.java", wildcard), 0, "a wildcard without credentials is a public API");
        let apart = format!("{reflected}{}{wildcard}", "\n".repeat(20));
        assert_eq!(scan("Cors.java", &apart), 1, "credentials of one handler do not make another's wildcard a defect");
        assert_eq!(scan("app.py", "CORS(app, origins=[\"https://app.example.com\"], supports_credentials=True)"), 0);
        assert_eq!(scan("settings.py", "CORS_ALLOW_ALL_ORIGINS = True\nCORS_ALLOW_CREDENTIALS = True\n"), 1);
    }
}
