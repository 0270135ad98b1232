//! Facts read from a target repository: manifests (package.json, pyproject.toml,
//! requirements.txt, pom.xml, build.gradle), GraphQL schemas, OpenAPI documents, migration
//! folders, DevOps files and frontend assets. The scan is bounded (depth, entry count, file
//! size), skips dependency and build folders, never follows symlinks, and turns unreadable
//! files into notes instead of errors.

use crate::analyse::{note, push_unique};
use coord_core::{Analysis, Facet, Language};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAX_DEPTH: usize = 6;
const MAX_ENTRIES: usize = 50_000;
const MAX_MANIFEST_BYTES: u64 = 2 * 1024 * 1024;
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    "dist",
    "build",
    ".venv",
    "venv",
    "__pycache__",
    ".idea",
    ".vscode",
    "vendor",
    ".next",
    "coverage",
    ".gradle",
    ".mvn",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".coord",
];

/// One language stack found in the repository.
#[derive(Debug, Clone, PartialEq)]
pub struct StackHint {
    /// The language family.
    pub language: Language,
    /// A framework, when a dependency names one.
    pub framework: Option<String>,
    /// The manifest it came from (relative path).
    pub manifest: String,
    /// Folder depth of the manifest; the shallowest manifest describes the project.
    pub depth: usize,
}

/// What a repository scan found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepoFacts {
    /// The repository root as given.
    pub root: PathBuf,
    /// Stacks, one per manifest.
    pub stacks: Vec<StackHint>,
    /// GraphQL schema files.
    pub graphql_files: Vec<String>,
    /// OpenAPI / Swagger documents.
    pub openapi_files: Vec<String>,
    /// Folders holding database migrations, with the tool they belong to.
    pub migration_dirs: Vec<(String, String)>,
    /// Prisma schema or other schema definition files.
    pub schema_files: Vec<String>,
    /// Dockerfiles, compose files, CI workflows, Kubernetes manifests.
    pub devops_files: Vec<String>,
    /// HTML, CSS and front-end component files (first few).
    pub frontend_files: Vec<String>,
    /// Source files by extension, for "existing code patterns".
    pub source_counts: BTreeMap<String, usize>,
    /// A few source files that show the project's patterns (routes, controllers, models).
    pub pattern_samples: Vec<String>,
    /// Dependencies that name data stores or third-party services (`pg`, `stripe`...).
    pub notable_dependencies: Vec<String>,
    /// Languages of manifests no built-in specialist covers (Go, Rust...).
    pub uncovered: Vec<String>,
    /// Problems met while scanning (unreadable or non-UTF-8 files, limits reached).
    pub notes: Vec<String>,
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// Reads a text file for scanning; problems become notes.
fn read_text(path: &Path, shown: &str, notes: &mut Vec<String>) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_MANIFEST_BYTES => {
            notes.push(format!("{shown}: skipped, {} bytes is over the {MAX_MANIFEST_BYTES} byte limit", m.len()));
            return None;
        }
        Err(e) => {
            notes.push(format!("{shown}: cannot read: {e}"));
            return None;
        }
        Ok(_) => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(e) => {
                notes.push(format!("{shown}: not valid UTF-8 at byte {}; ignored", e.utf8_error().valid_up_to()));
                None
            }
        },
        Err(e) => {
            notes.push(format!("{shown}: cannot read: {e}"));
            None
        }
    }
}

/// Dependency names of a package.json.
fn npm_dependencies(text: &str, shown: &str, notes: &mut Vec<String>) -> Vec<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => ["dependencies", "devDependencies", "peerDependencies"]
            .iter()
            .filter_map(|k| v.get(k).and_then(|d| d.as_object()))
            .flat_map(|o| o.keys().cloned())
            .collect(),
        Err(e) => {
            notes.push(format!("{shown}:{}: invalid JSON ({e}); its dependencies were not read", e.line()));
            Vec::new()
        }
    }
}

/// Package names of a requirements.txt or the dependency strings of a pyproject.toml: the
/// leading name of each requirement specifier (PEP 508), lower-cased.
fn python_dependencies(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['"', '\'']);
        if line.starts_with('#') || line.starts_with('-') || line.starts_with('[') {
            continue;
        }
        let name: String =
            line.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
        if !name.is_empty() {
            names.push(name.to_ascii_lowercase().replace('_', "-"));
        }
    }
    names
}

const NOTABLE: &[&str] = &[
    "pg",
    "postgres",
    "mysql",
    "mysql2",
    "sqlite3",
    "mongoose",
    "mongodb",
    "prisma",
    "@prisma/client",
    "knex",
    "typeorm",
    "sequelize",
    "drizzle-orm",
    "redis",
    "ioredis",
    "stripe",
    "kafkajs",
    "amqplib",
    "@sendgrid/mail",
    "@aws-sdk/client-s3",
    "aws-sdk",
    "passport",
    "jsonwebtoken",
    "psycopg",
    "psycopg2",
    "psycopg2-binary",
    "asyncpg",
    "sqlalchemy",
    "alembic",
    "django",
    "boto3",
    "celery",
    "pyjwt",
    "authlib",
    "sendgrid",
    "kafka-python",
    "pymongo",
    "twilio",
    "spring-boot-starter-data-jpa",
    "flyway-core",
    "liquibase-core",
    "spring-boot-starter-security",
    "postgresql",
    "spring-kafka",
];

impl RepoFacts {
    /// Scans a repository. Fails only when the root itself cannot be read.
    pub fn scan(root: &Path) -> std::io::Result<RepoFacts> {
        let meta = std::fs::metadata(root)?;
        if !meta.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"));
        }
        let mut facts = RepoFacts { root: root.to_path_buf(), ..RepoFacts::default() };
        let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
        let mut seen = 0usize;
        while let Some((dir, depth)) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    facts.notes.push(format!("{}: cannot read folder: {e}", rel(root, &dir)));
                    continue;
                }
            };
            let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                seen += 1;
                if seen > MAX_ENTRIES {
                    facts.notes.push(format!("scan stopped after {MAX_ENTRIES} entries"));
                    return Ok(facts);
                }
                let Ok(kind) = entry.file_type() else { continue };
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                if kind.is_symlink() {
                    continue; // never followed: a link may point outside the repository or loop
                }
                if kind.is_dir() {
                    let r = rel(root, &path);
                    if let Some(tool) = migration_tool(&r, &name) {
                        facts.migration_dirs.push((r.clone(), tool.to_string()));
                    }
                    if !SKIP_DIRS.contains(&name.as_str()) && depth < MAX_DEPTH {
                        stack.push((path, depth + 1));
                    }
                    continue;
                }
                facts.file(root, &path, &name, depth);
            }
        }
        facts.stacks.sort_by_key(|s| s.depth);
        Ok(facts)
    }

    fn file(&mut self, root: &Path, path: &Path, name: &str, depth: usize) {
        let r = rel(root, path);
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default();
        match lower.as_str() {
            "package.json" => {
                if let Some(text) = read_text(path, &r, &mut self.notes) {
                    let deps = npm_dependencies(&text, &r, &mut self.notes);
                    let has = |d: &str| deps.iter().any(|x| x == d);
                    let framework = if has("@nestjs/core") {
                        Some("NestJS")
                    } else if has("fastify") {
                        Some("Fastify")
                    } else if has("express") {
                        Some("Express")
                    } else if has("koa") {
                        Some("Koa")
                    } else {
                        None
                    };
                    self.stacks.push(StackHint {
                        language: Language::Node,
                        framework: framework.map(String::from),
                        manifest: r.clone(),
                        depth,
                    });
                    if deps.iter().any(|d| d == "graphql" || d.starts_with("@apollo/") || d == "apollo-server") {
                        self.graphql_files.push(format!("{r} (graphql dependency)"));
                    }
                    self.notable(&deps);
                }
            }
            "requirements.txt" | "pyproject.toml" | "pipfile" | "setup.py" => {
                if let Some(text) = read_text(path, &r, &mut self.notes) {
                    let deps = python_dependencies(&text);
                    let has = |d: &str| {
                        deps.iter().any(|x| x == d) || (lower == "pyproject.toml" && text.contains(&format!("\"{d}")))
                    };
                    let framework = if has("fastapi") {
                        Some("FastAPI")
                    } else if has("django") {
                        Some("Django")
                    } else if has("flask") {
                        Some("Flask")
                    } else {
                        None
                    };
                    self.stacks.push(StackHint {
                        language: Language::Python,
                        framework: framework.map(String::from),
                        manifest: r.clone(),
                        depth,
                    });
                    if has("strawberry-graphql") || has("graphene") || has("ariadne") {
                        self.graphql_files.push(format!("{r} (graphql dependency)"));
                    }
                    self.notable(&deps);
                }
            }
            "pom.xml" | "build.gradle" | "build.gradle.kts" => {
                if let Some(text) = read_text(path, &r, &mut self.notes) {
                    let framework = if text.contains("spring-boot") {
                        Some("Spring Boot")
                    } else if text.contains("quarkus") {
                        Some("Quarkus")
                    } else if text.contains("micronaut") {
                        Some("Micronaut")
                    } else {
                        None
                    };
                    self.stacks.push(StackHint {
                        language: Language::Java,
                        framework: framework.map(String::from),
                        manifest: r.clone(),
                        depth,
                    });
                    let deps: Vec<String> =
                        NOTABLE.iter().filter(|d| text.contains(*d)).map(|d| d.to_string()).collect();
                    if text.contains("graphql") {
                        self.graphql_files.push(format!("{r} (graphql dependency)"));
                    }
                    self.notable(&deps);
                }
            }
            "go.mod" => push_unique(&mut self.uncovered, format!("Go ({r})")),
            "cargo.toml" => push_unique(&mut self.uncovered, format!("Rust ({r})")),
            "gemfile" => push_unique(&mut self.uncovered, format!("Ruby ({r})")),
            "composer.json" => push_unique(&mut self.uncovered, format!("PHP ({r})")),
            "schema.prisma" => self.schema_files.push(r.clone()),
            "dockerfile"
            | "docker-compose.yml"
            | "docker-compose.yaml"
            | "compose.yml"
            | "compose.yaml"
            | "procfile"
            | "fly.toml"
            | "render.yaml"
            | "app.yaml"
            | ".gitlab-ci.yml"
            | "jenkinsfile" => self.devops_files.push(r.clone()),
            _ => {}
        }
        if r.starts_with(".github/workflows/") || r.contains("/k8s/") || r.starts_with("k8s/") || r.starts_with("helm/")
        {
            push_unique(&mut self.devops_files, r.clone());
        }
        if matches!(ext.as_str(), "graphql" | "gql") {
            self.graphql_files.push(r.clone());
        }
        if (lower.contains("openapi") || lower.contains("swagger")) && matches!(ext.as_str(), "yaml" | "yml" | "json") {
            self.openapi_files.push(r.clone());
        }
        if matches!(ext.as_str(), "html" | "css" | "scss" | "vue" | "svelte" | "jsx" | "tsx")
            && self.frontend_files.len() < 20
        {
            self.frontend_files.push(r.clone());
        }
        if matches!(
            ext.as_str(),
            "js" | "ts" | "mjs" | "cjs" | "py" | "java" | "kt" | "go" | "rb" | "php" | "rs" | "sql"
        ) {
            *self.source_counts.entry(ext.clone()).or_default() += 1;
            let stem = lower.rsplit_once('.').map_or(lower.as_str(), |(s, _)| s);
            let telling = [
                "route",
                "routes",
                "router",
                "controller",
                "controllers",
                "handler",
                "handlers",
                "model",
                "models",
                "service",
                "repository",
                "views",
                "app",
                "server",
                "main",
            ];
            if telling.iter().any(|t| {
                stem == *t || stem.ends_with(&format!(".{t}")) || stem.ends_with(&format!("_{t}")) || stem.ends_with(t)
            }) && self.pattern_samples.len() < 12
            {
                self.pattern_samples.push(r);
            }
        }
    }

    fn notable(&mut self, deps: &[String]) {
        for d in deps {
            if NOTABLE.contains(&d.as_str()) {
                push_unique(&mut self.notable_dependencies, d.clone());
            }
        }
    }

    /// Adds what the repository says to an analysis: facet evidence from migrations, schema
    /// files and OpenAPI documents, data stores from dependencies, and scan notes.
    pub fn add_evidence(&self, a: &mut Analysis, evidence: &mut BTreeMap<Facet, Vec<String>>) {
        for (dir, tool) in &self.migration_dirs {
            note(evidence, Facet::Database, format!("migrations in {dir} ({tool})"));
        }
        for f in &self.schema_files {
            note(evidence, Facet::Database, format!("schema file {f}"));
        }
        for f in &self.openapi_files {
            note(evidence, Facet::Api, format!("OpenAPI document {f}"));
        }
        for d in &self.notable_dependencies {
            let store = match d.as_str() {
                "pg" | "postgres" | "psycopg" | "psycopg2" | "psycopg2-binary" | "asyncpg" | "postgresql" => {
                    Some("PostgreSQL")
                }
                "mysql" | "mysql2" => Some("MySQL"),
                "sqlite3" => Some("SQLite"),
                "mongoose" | "mongodb" | "pymongo" => Some("MongoDB"),
                _ => None,
            };
            if let Some(store) = store {
                push_unique(&mut a.datastores, store.to_string());
            }
        }
        for u in &self.uncovered {
            a.notes.push(format!(
                "the repository has a {u} manifest and no built-in specialist covers it; add one in .coord/agents/"
            ));
        }
        for n in &self.notes {
            a.notes.push(format!("repository: {n}"));
        }
    }
}

/// The migration tool a folder belongs to, from its path.
fn migration_tool(rel: &str, name: &str) -> Option<&'static str> {
    let r = rel.to_ascii_lowercase();
    if r.ends_with("db/migration") || r.ends_with("resources/db/migration") {
        Some("flyway")
    } else if r.ends_with("alembic/versions") || r == "alembic" {
        Some("alembic")
    } else if r.ends_with("prisma/migrations") {
        Some("prisma")
    } else if r.ends_with("db/migrate") {
        Some("rails-style")
    } else if name == "migrations" {
        Some("sql")
    } else {
        None
    }
}
