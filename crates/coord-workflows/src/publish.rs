//! Step 2 of the spec's API contract coordination ("share spec with frontend-coordinator"):
//! every OpenAPI 3 document of the repository is published as a version of its contract.
//!
//! A contract is named after its `info.title` (`Auth API` → `auth-api`). Its versions live in
//! the repository's contracts folder as `<name>/v<N>.json`; publishing a document that differs
//! from the newest version writes `v<N+1>.json` and `v<N+1>.changes.md`, the change list of
//! `coord_gates::contract::diff` against `v<N>` with every change classified as breaking or not.
//! An unchanged document publishes nothing. The caller stores the report (document included)
//! in the run, so the run keeps every version it published.

use coord_gates::SourceFile;
use coord_gates::contract::{Change, Impact, diff};
use coord_gates::openapi::{looks_like, parse_document};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// One contract as published.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The contract's name (folder under the contracts folder).
    pub name: String,
    /// The repository file it was read from.
    pub source: String,
    /// Its version number after publishing.
    pub version: u32,
    /// The file of that version, relative to the repository.
    pub path: String,
    /// The change list written beside it, when this publication made a new version.
    pub changes_path: Option<String>,
    /// Whether this publication made a new version.
    pub changed: bool,
    /// The changes of this version against the one before it (empty for a first version).
    pub changes: Vec<Change>,
    /// How many of them break existing clients.
    pub breaking: usize,
    /// The document.
    pub document: Value,
}

/// What a publication did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PublishReport {
    /// Every contract found.
    pub contracts: Vec<Published>,
    /// Files that look like OpenAPI but could not be read, and other remarks.
    pub notes: Vec<String>,
}

/// Why nothing could be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// No OpenAPI 3 document in the repository.
    #[error("no OpenAPI 3 document found in the repository (outside {0}/): the contract was not written")]
    NoContract(String),
    /// Writing a version failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A contract name from a title: lower case, runs of other characters as `-`.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "api".into() } else { out.chars().take(64).collect() }
}

/// The OpenAPI 3 documents among `files` (outside the contracts folder): `(file, document)`.
pub fn openapi_documents(files: &[SourceFile], contracts_dir: &str, notes: &mut Vec<String>) -> Vec<(String, Value)> {
    let prefix = format!("{}/", contracts_dir.trim_end_matches('/'));
    let mut out = Vec::new();
    for f in files {
        let ext = f.ext();
        if f.rel.starts_with(&prefix) || !matches!(ext.as_str(), "yaml" | "yml" | "json") {
            continue;
        }
        let json = ext == "json";
        if looks_like(&f.text, json) != Some("openapi") {
            continue;
        }
        match parse_document(&f.text, json) {
            Ok(doc) if doc.get("openapi").and_then(Value::as_str).is_some_and(|v| v.starts_with("3.")) => {
                out.push((f.rel.clone(), doc))
            }
            Ok(_) => {}
            Err((e, line)) => {
                notes.push(format!("{}:{line}: looks like OpenAPI but does not parse ({e}); not published", f.rel))
            }
        }
    }
    out
}

/// Version `n` of a contract.
pub fn load_version(root: &Path, contracts_dir: &str, name: &str, n: u32) -> Option<Value> {
    let text = std::fs::read_to_string(root.join(contracts_dir).join(name).join(format!("v{n}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

/// The newest version of a contract: `(N, document)`.
pub fn latest_version(root: &Path, contracts_dir: &str, name: &str) -> Option<(u32, Value)> {
    let dir = root.join(contracts_dir).join(name);
    let newest = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().strip_prefix('v')?.strip_suffix(".json")?.parse::<u32>().ok()?;
            Some(n)
        })
        .max()?;
    Some((newest, load_version(root, contracts_dir, name, newest)?))
}

/// The change list as markdown.
pub fn changes_markdown(name: &str, version: u32, changes: &[Change]) -> String {
    let breaking = changes.iter().filter(|c| c.impact == Impact::Breaking).count();
    let mut md = format!("# {name} v{version}: changes against v{}\n\n", version.saturating_sub(1));
    if version == 1 {
        md = format!("# {name} v1\n\nFirst published version.\n");
        return md;
    }
    md.push_str(&format!("{} changes, {breaking} breaking.\n\n", changes.len()));
    for c in changes {
        let tag = if c.impact == Impact::Breaking { "BREAKING" } else { "non-breaking" };
        let detail = if c.detail.is_empty() { String::new() } else { format!(": {}", c.detail) };
        md.push_str(&format!("- **{tag}** `{}` {}{detail}\n", c.code, c.location));
    }
    md
}

fn write(root: &Path, rel: &str, text: &str) -> Result<(), PublishError> {
    let path = root.join(rel);
    let err = |source| PublishError::Write { path: rel.to_string(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)
}

/// Publishes every OpenAPI document among `files` (the repository at `root`) into
/// `contracts_dir`.
pub fn publish(root: &Path, files: &[SourceFile], contracts_dir: &str) -> Result<PublishReport, PublishError> {
    let mut report = PublishReport::default();
    let docs = openapi_documents(files, contracts_dir, &mut report.notes);
    if docs.is_empty() {
        return Err(PublishError::NoContract(contracts_dir.to_string()));
    }
    let mut names = BTreeSet::new();
    for (source, doc) in docs {
        let title = doc.pointer("/info/title").and_then(Value::as_str).unwrap_or("");
        let mut name = slug(if title.is_empty() { &source } else { title });
        if !names.insert(name.clone()) {
            // Two documents with one title: the second is told apart by its file.
            name = format!("{name}-{}", slug(&source));
            names.insert(name.clone());
        }
        let previous = latest_version(root, contracts_dir, &name);
        let (version, changed) = match &previous {
            Some((n, old)) if old == &doc => (*n, false),
            Some((n, _)) => (n + 1, true),
            None => (1, true),
        };
        // The changes of the version in force against the one before it, whether this
        // publication made it or an earlier one did.
        let base = match previous {
            Some((_, old)) if changed => Some(old),
            _ if version > 1 => load_version(root, contracts_dir, &name, version - 1),
            _ => None,
        };
        let changes = base.map(|b| diff(&b, &doc)).unwrap_or_default();
        let path = format!("{contracts_dir}/{name}/v{version}.json");
        let mut changes_path = None;
        if changed {
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            write(root, &path, &text)?;
            let md_path = format!("{contracts_dir}/{name}/v{version}.changes.md");
            write(root, &md_path, &changes_markdown(&name, version, &changes))?;
            changes_path = Some(md_path);
        }
        let breaking = changes.iter().filter(|c| c.impact == Impact::Breaking).count();
        report.contracts.push(Published {
            name,
            source,
            version,
            path,
            changes_path,
            changed,
            changes,
            breaking,
            document: doc,
        });
    }
    Ok(report)
}
