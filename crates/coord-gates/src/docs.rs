//! Documentation: an OpenAPI document for HTTP services, a README with run and test sections,
//! schema documentation where migrations exist, a deployment procedure, and a backup plan.

use crate::checker::re;
use crate::checker::{CheckOutput, Checker, SourceFile, Workspace};
use crate::finding::{Finding, Severity};
use regex::Regex;
use std::sync::LazyLock;

static HTTP_SERVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?m)"(?:express|fastify|@nestjs/core|koa|hapi)"\s*:|^\s*(?:fastapi|flask|django|starlette)\b|spring-boot-starter-web|\bapp\.(?:get|post|put|delete)\s*\(\s*["'/]|@(?:RestController|GetMapping|PostMapping)\b|@app\.(?:get|post|route)\("#,
    )
});
static OPENAPI_DOC: LazyLock<Regex> = LazyLock::new(|| re(r#"(?m)^\s*["']?(?:openapi|swagger)["']?\s*:\s*["']?\d"#));
static HEADING: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^#{1,6}\s+(.+)$"));

fn is_migration(f: &SourceFile) -> bool {
    let r = f.rel.to_ascii_lowercase();
    (r.contains("migrations/")
        || r.contains("db/migrate/")
        || r.contains("db/migration/")
        || r.contains("alembic/versions/"))
        && matches!(f.ext().as_str(), "sql" | "py" | "js" | "ts" | "rb")
}

fn finding(rule: &str, severity: Severity, file: &str, message: &str, fix: &str, item: &str) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        file: file.into(),
        line: 0,
        message: message.into(),
        fix: fix.into(),
        item: item.into(),
        cwe: None,
        fingerprint: String::new(),
    }
}

/// The documentation checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocsChecker;

impl Checker for DocsChecker {
    fn id(&self) -> &'static str {
        "docs"
    }

    fn check(&self, ws: &Workspace<'_>) -> CheckOutput {
        let mut out = CheckOutput::default();
        let files = ws.files;
        let docs: Vec<&SourceFile> =
            files.iter().filter(|f| matches!(f.ext().as_str(), "md" | "rst" | "adoc" | "txt")).collect();
        let readme = files.iter().find(|f| !f.rel.contains('/') && f.rel.to_ascii_lowercase().starts_with("readme"));
        let headings: Vec<String> = docs
            .iter()
            .flat_map(|d| {
                HEADING
                    .captures_iter(&d.text)
                    .filter_map(|c| c.get(1).map(|m| m.as_str().to_ascii_lowercase()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let doc_text_has = |words: &[&str]| {
            docs.iter().any(|d| {
                let name = d.rel.to_ascii_lowercase();
                words.iter().any(|w| name.contains(w))
            }) || headings.iter().any(|h| words.iter().any(|w| h.contains(w)))
        };

        // A finding about a missing document points at a file that exists (GitHub code scanning
        // cannot show an alert on a file that is not there): the project's manifest, else the
        // first file.
        let anchor = files
            .iter()
            .find(|f| {
                matches!(
                    f.rel.as_str(),
                    "package.json"
                        | "pyproject.toml"
                        | "setup.py"
                        | "requirements.txt"
                        | "pom.xml"
                        | "build.gradle"
                        | "build.gradle.kts"
                        | "go.mod"
                        | "Cargo.toml"
                        | "Gemfile"
                        | "composer.json"
                )
            })
            .or_else(|| files.first())
            .map_or("README.md", |f| f.rel.as_str());
        match readme {
            None => out.findings.push(finding(
                "docs/no-readme",
                Severity::Medium,
                anchor,
                "the repository has no README",
                "add a README that says what the service is, how to run it and how to test it",
                "documentation.deployment",
            )),
            Some(r) => {
                let hs: Vec<String> = HEADING
                    .captures_iter(&r.text)
                    .filter_map(|c| c.get(1).map(|m| m.as_str().to_ascii_lowercase()))
                    .collect();
                if !hs.iter().any(|h| {
                    ["run", "usage", "getting started", "quick start", "quickstart", "install", "setup", "set-up"]
                        .iter()
                        .any(|w| h.contains(w))
                }) {
                    out.findings.push(finding(
                        "docs/readme-no-run",
                        Severity::Low,
                        &r.rel,
                        "the README has no section on running the service",
                        "add a \"Running\" section with the commands",
                        "documentation.deployment",
                    ));
                }
                if !hs.iter().any(|h| h.contains("test")) {
                    out.findings.push(finding(
                        "docs/readme-no-test",
                        Severity::Low,
                        &r.rel,
                        "the README has no section on running the tests",
                        "add a \"Testing\" section with the test command",
                        "testing.unit",
                    ));
                }
            }
        }

        let service = files.iter().find(|f| {
            matches!(f.ext().as_str(), "json" | "txt" | "toml" | "xml" | "gradle" | "kts" | "js" | "ts" | "py" | "java")
                && HTTP_SERVICE.is_match(&f.text)
        });
        let has_openapi =
            files.iter().any(|f| matches!(f.ext().as_str(), "yaml" | "yml" | "json") && OPENAPI_DOC.is_match(&f.text))
                || files.iter().any(|f| {
                    f.text.contains("swagger-ui") || f.text.contains("springdoc") || f.text.contains("openapi_url")
                });
        if let (Some(s), false) = (service, has_openapi) {
            out.findings.push(finding(
                "docs/no-openapi",
                Severity::Medium,
                &s.rel,
                "this is an HTTP service but the repository has no OpenAPI document",
                "write or generate openapi.yaml (FastAPI and springdoc can serve it) and commit it",
                "documentation.openapi",
            ));
        }

        if let Some(m) = files.iter().find(|f| is_migration(f)) {
            if !doc_text_has(&["schema", "database", "data model", "erd", "tables"]) {
                out.findings.push(finding(
                    "docs/no-schema-docs",
                    Severity::Low,
                    &m.rel,
                    "migrations exist but the database schema is not documented",
                    "add docs/schema.md (tables, keys, relations) or a README section",
                    "documentation.schema",
                ));
            }
            if !docs.iter().any(|d| d.text.to_ascii_lowercase().contains("backup")) {
                out.findings.push(finding(
                    "docs/no-backup-plan",
                    Severity::Low,
                    &m.rel,
                    "the database has no documented backup and recovery plan",
                    "document backups (schedule, retention, point-in-time recovery) and a tested restore procedure",
                    "database.backup-plan",
                ));
            }
        }
        if (service.is_some() || readme.is_some())
            && !doc_text_has(&["deploy", "release", "production", "operations", "runbook"])
        {
            out.findings.push(finding(
                "docs/no-deployment-docs",
                Severity::Low,
                readme.map_or(anchor, |r| r.rel.as_str()),
                "no deployment procedure is documented",
                "add a \"Deployment\" section or docs/deploy.md (build, configuration, migration order, rollback)",
                "documentation.deployment",
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
        list.iter().map(|(r, t)| SourceFile { rel: r.to_string(), path: r.into(), text: t.to_string() }).collect()
    }

    fn rules(list: &[(&str, &str)]) -> Vec<String> {
        let fs = files(list);
        let ws = Workspace { root: Path::new("."), files: &fs };
        DocsChecker.check(&ws).findings.into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn undocumented_service() {
        let r = rules(&[
            ("package.json", "{\"dependencies\": {\"express\": \"^4\"}}"),
            ("migrations/001_init.sql", "CREATE TABLE users (id int);"),
            ("README.md", "# Orders\nSome words.\n"),
        ]);
        for rule in [
            "docs/readme-no-run",
            "docs/readme-no-test",
            "docs/no-openapi",
            "docs/no-schema-docs",
            "docs/no-backup-plan",
            "docs/no-deployment-docs",
        ] {
            assert!(r.contains(&rule.to_string()), "{rule}: {r:?}");
        }
        assert_eq!(rules(&[("x.py", "print(1)")]), vec!["docs/no-readme"]);
        let fs = files(&[("src/app.py", "print(1)"), ("pyproject.toml", "[project]\nname = \"x\"\n")]);
        let ws = Workspace { root: Path::new("."), files: &fs };
        let found = DocsChecker.check(&ws).findings;
        assert_eq!(found[0].file, "pyproject.toml", "a missing README is reported on a file that exists");
    }

    #[test]
    fn documented_service() {
        let r = rules(&[
            ("package.json", "{\"dependencies\": {\"express\": \"^4\"}}"),
            ("openapi.yaml", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n"),
            ("migrations/001_init.sql", "CREATE TABLE users (id int);"),
            (
                "README.md",
                "# Orders\n## Running\nnpm start\n## Testing\nnpm test\n## Deployment\nBackups run nightly; restore with pg_restore.\n",
            ),
            ("docs/schema.md", "# Schema\nusers(id)\n"),
        ]);
        assert!(r.is_empty(), "{r:?}");
    }
}
