//! The coordinator's own steps of the coordination workflows, run as the check of a workflow
//! task: after the coordinator's (empty) attempt, or after the specialist the work went back to
//! has fixed it, the step's check decides whether the task is done.
//!
//! - `migration-replay`: every migration up, down and up on a scratch database (or a throwaway
//!   PostgreSQL schema with `[workflows] replica_url_env`), data-loss statements of the run's
//!   migrations need a recorded approval, and the deployment note is written.
//! - `contract-publish`: every OpenAPI document published as a version under the contracts
//!   folder; a version with breaking changes made in this run needs a recorded approval.
//! - `contract-test`: the service is started, requests generated from the newest contract
//!   versions go to every operation, `api_endpoint_coverage` is recorded.
//!
//! Approvals are the tech lead's `approve` decisions on the escalations these checks raise: the
//! check records `approval_requested` with the exact files (and their SHA-256) it asks about,
//! and an `approve` resolution of that task's escalation approves them ([`review`]).

use crate::config::WorkflowsConfig;
use crate::escalation::Failure;
use crate::executor::FailureCategory;
use coord_core::{Rollout, WorkflowStep};
use coord_gates::walk::{WalkLimits, read_tree};
use coord_store::Store;
use coord_workflows::data_loss::{data_loss, sha256_hex};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a check needs.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The project (or the attempt's worktree).
    pub root: PathBuf,
    /// `[workflows]`.
    pub config: WorkflowsConfig,
    /// A folder of the attempt for scratch databases.
    pub scratch: PathBuf,
    /// Files the run's attempts changed (their artifacts): the change under review.
    pub changed: BTreeSet<String>,
    /// `(file, sha256)` approved in this run.
    pub approved: BTreeSet<(String, String)>,
    /// The rollout the plan chose for its database change, if any.
    pub rollout: Option<Rollout>,
}

/// What a check decided.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// Whether the step passed.
    pub passed: bool,
    /// The report stored as the step's gate result.
    pub report: Value,
    /// Why it failed; the category decides what follows (breaking changes and data loss go to
    /// the tech lead for approval).
    pub failure: Option<Failure>,
    /// Files the step wrote.
    pub artifacts: Vec<String>,
    /// One line for the record and for the briefs of the tasks that follow.
    pub summary: String,
    /// Events to append: `(kind, data)`.
    pub events: Vec<(String, Value)>,
}

impl CheckResult {
    fn failed(error: String, category: FailureCategory, report: Value) -> CheckResult {
        CheckResult {
            passed: false,
            summary: first_line(&error).to_string(),
            failure: Some(Failure { error, category, retryable: true, park: false }),
            report,
            artifacts: Vec::new(),
            events: Vec::new(),
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Whether the contract test can run: it needs a base URL.
pub fn contract_test_configured(config: &WorkflowsConfig) -> bool {
    config.contract_test_base_url.as_deref().is_some_and(|u| !u.trim().is_empty())
}

/// What to tell a person when the contract test has no service to test.
pub fn contract_test_unconfigured() -> String {
    "the contract integration test needs the implemented service: set contract_test_base_url (and contract_test_start, the command that starts it) under [workflows] in coord.toml, then resolve this escalation with --decision retry; --decision skip goes on without the test".into()
}

/// Runs the check of `step`.
pub async fn check(step: WorkflowStep, ctx: &CheckContext) -> CheckResult {
    let root = ctx.root.clone();
    let tree = tokio::task::spawn_blocking(move || read_tree(&root, &WalkLimits::default())).await;
    let Ok(tree) = tree else {
        return CheckResult::failed(
            "the repository could not be read".into(),
            FailureCategory::General,
            json!({ "step": step.as_str() }),
        );
    };
    match step {
        WorkflowStep::MigrationReplay => migration_replay(ctx, &tree.files).await,
        WorkflowStep::ContractPublish => contract_publish(ctx, &tree.files),
        WorkflowStep::ContractTest => contract_test(ctx, &tree.files).await,
        WorkflowStep::Deployment | WorkflowStep::ContractReview => CheckResult {
            passed: true,
            report: json!({ "step": step.as_str(), "checked_by": "a person or specialist" }),
            failure: None,
            artifacts: Vec::new(),
            summary: String::new(),
            events: Vec::new(),
        },
    }
}

/// SQL that SQLite does not run, as (pattern, the dialect that runs it, what it is).
const DIALECT_MARKS: &[(&str, &str, &str)] = &[
    (r"(?i)\bnow\(\)", ANY_SERVER, "now()"),
    (r"(?i)\b(big)?serial\b", "postgresql", "SERIAL"),
    (r"(?i)\bjsonb\b", "postgresql", "JSONB"),
    (r"(?i)\btimestamptz\b", "postgresql", "TIMESTAMPTZ"),
    (r"(?i)\bgen_random_uuid\(|\buuid_generate_v4\(", "postgresql", "a UUID function"),
    (r"(?i)\bcreate\s+extension\b", "postgresql", "CREATE EXTENSION"),
    (r"(?i)\bcreate\s+type\s+\w+\s+as\s+enum\b", "postgresql", "CREATE TYPE ... AS ENUM"),
    (r"(?i)\bconcurrently\b", "postgresql", "CONCURRENTLY"),
    (r"::\s*[a-zA-Z_]+", "postgresql", "a :: cast"),
    (r"(?i)\bauto_increment\b", "mysql", "AUTO_INCREMENT"),
    (r"(?i)\bengine\s*=\s*\w+", "mysql", "ENGINE="),
    (r"(?i)\bunsigned\b", "mysql", "UNSIGNED"),
];

/// The dialect of a mark both PostgreSQL and MySQL run.
const ANY_SERVER: &str = "postgresql or mysql";

/// The dialect the migrations are written in when it is not one SQLite runs, as (dialect, what,
/// `file:line`): the first mark only one server runs, else the first both run. Comments are
/// skipped.
pub fn foreign_dialect(
    migrations: &[coord_gates::migrations::Migration],
) -> Option<(&'static str, &'static str, String)> {
    let marks: Vec<(regex::Regex, &str, &str)> =
        DIALECT_MARKS.iter().filter_map(|(p, d, w)| regex::Regex::new(p).ok().map(|r| (r, *d, *w))).collect();
    let mut shared = None;
    for m in migrations {
        let (file, text) = &m.up;
        if !file.ends_with(".sql") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("--").next().unwrap_or("");
            for (_, dialect, what) in marks.iter().filter(|(r, _, _)| r.is_match(code)) {
                let found = (*dialect, *what, format!("{file}:{}", n + 1));
                if *dialect != ANY_SERVER {
                    return Some(found);
                }
                shared.get_or_insert(found);
            }
        }
    }
    shared
}

/// Why the migrations cannot be replayed where coord would replay them, if they cannot: a
/// replica URL of no known scheme, a replica of another dialect than the migrations', or
/// PostgreSQL or MySQL migrations with no replica (replaying them on SQLite fails on syntax and
/// says nothing about the migrations). `var` is the variable the URL is read from; the URL itself
/// never appears (it may hold a password).
pub fn replica_refusal(
    var: &str,
    kind: Option<Option<coord_workflows::replay::ReplicaKind>>,
    foreign: Option<&(&'static str, &'static str, String)>,
) -> Option<String> {
    match (kind, foreign) {
        (Some(None), _) => Some(format!(
            "{var} is not a postgres://, mysql:// or mariadb:// URL: coord replays migrations on PostgreSQL or MySQL/MariaDB replicas (or on SQLite with {var} unset)"
        )),
        (Some(Some(kind)), Some((dialect, what, place))) if !dialect.split(" or ").any(|d| d == kind.dialect()) => {
            Some(format!(
                "the migrations are written for {dialect} ({what} at {place}) but {var} names a {} server: point it at a {dialect} database",
                kind.dialect()
            ))
        }
        (None, Some((dialect, what, place))) => Some(format!(
            "the migrations are written for {dialect} ({what} at {place}) and cannot be replayed on the scratch SQLite database: set {var}={} (a server coord may create a throwaway schema or database in{})",
            match *dialect {
                "mysql" => "mysql://...",
                "postgresql" => "postgres://...",
                _ => "postgres://... or mysql://...",
            },
            if var.starts_with("--") { "" } else { "; [workflows] replica_url_env names another variable" },
        )),
        _ => None,
    }
}

async fn migration_replay(ctx: &CheckContext, files: &[coord_gates::SourceFile]) -> CheckResult {
    let migrations = coord_gates::migrations::find_migrations(files);
    if migrations.is_empty() {
        return CheckResult::failed(
            "no migrations found in the repository: the schema design must deliver migration scripts, each with its rollback".into(),
            FailureCategory::Database,
            json!({ "replayed": 0 }),
        );
    }
    // One variable: the configured name, else COORD_REPLICA_URL.
    let var = ctx.config.replica_url_env.as_deref().unwrap_or("COORD_REPLICA_URL");
    let replica = std::env::var(var).ok().filter(|u| !u.is_empty());
    let foreign = foreign_dialect(&migrations);
    let kind = replica.as_deref().map(coord_workflows::replay::ReplicaKind::of_url);
    if let Some(refusal) = replica_refusal(var, kind, foreign.as_ref()) {
        let mut result = CheckResult::failed(
            refusal,
            FailureCategory::Database,
            json!({ "dialect": foreign.as_ref().map(|f| f.0), "evidence": foreign.as_ref().map(|f| f.2.clone()) }),
        );
        // A person points coord at the right database (or approves without a replay).
        if let Some(f) = result.failure.as_mut() {
            f.park = true;
        }
        return result;
    }
    let dir = ctx.scratch.join("replica");
    let _ = std::fs::create_dir_all(&dir);
    let (report, engine) = coord_workflows::replay::replay_where(files, replica.as_deref(), &dir).await;
    let report = match report {
        Ok(r) => r,
        // The scratch database itself failed (not the migrations): scrub the URL from it.
        Err(e) => {
            let mut msg = e.to_string();
            if let Some(url) = &replica {
                msg = msg.replace(url.as_str(), "(replica URL)");
            }
            return CheckResult::failed(
                format!("the replica database failed: {msg}"),
                FailureCategory::General,
                json!({ "engine": engine }),
            );
        }
    };
    // Data loss in the migrations this run changed (the older ones are already deployed).
    let loss: Vec<_> = data_loss(&ctx.root, files)
        .into_iter()
        .filter(|d| ctx.changed.contains(&d.file))
        .filter(|d| !ctx.approved.contains(&(d.file.clone(), d.sha256.clone())))
        .collect();
    // The deployment note covers the run's migrations (all of them when none was recorded).
    let changed_count = migrations.iter().filter(|m| ctx.changed.contains(&m.up.0)).count();
    let pending = if changed_count == 0 { migrations.len() } else { changed_count };
    let note = coord_workflows::deploy::deployment_note(files, pending);
    let planned = ctx.rollout.as_ref().map(|r| (r.strategy.as_str(), r.reason.as_str()));
    let note_path = ctx.config.deployment_note.clone();
    let mut artifacts = Vec::new();
    let mut notes = report.notes.clone();
    match write_file(&ctx.root, &note_path, &note.markdown(planned)) {
        Ok(()) => artifacts.push(note_path.clone()),
        Err(e) => notes.push(format!("the deployment note could not be written to {note_path}: {e}")),
    }
    let json_report = json!({
        "engine": engine,
        "replayed": report.replayed,
        "findings": report.findings,
        "notes": notes,
        "data_loss_unapproved": loss,
        "deployment_note": note_path,
        "rollout": note.rollout,
    });
    let summary =
        format!("{} migrations replayed up, down and up on {engine}; deployment note {note_path}", report.replayed);
    if !report.findings.is_empty() {
        let mut error = format!("the replica test failed: {} finding(s)", report.findings.len());
        for f in report.findings.iter().take(20) {
            error.push_str(&format!("\n- [{}] {}: {}", f.rule, f.file, f.message));
        }
        let mut r = CheckResult::failed(error, FailureCategory::Database, json_report);
        r.artifacts = artifacts;
        return r;
    }
    if !loss.is_empty() {
        let mut error = format!(
            "{} migration(s) of this change lose data and need the tech lead's approval (coord escalation resolve ID --decision approve):",
            loss.len()
        );
        for d in &loss {
            error.push_str(&format!("\n- {} (sha256 {}…): {}", d.file, &d.sha256[..12], d.statements.join("; ")));
        }
        let items: Vec<Value> =
            loss.iter().map(|d| json!({ "file": d.file, "sha256": d.sha256, "what": d.statements })).collect();
        let mut r = CheckResult::failed(error, FailureCategory::BreakingChange, json_report);
        r.events.push((
            "approval_requested".into(),
            json!({ "kind": "data-loss", "items": items, "artifacts": artifacts, "summary": summary }),
        ));
        r.artifacts = artifacts;
        return r;
    }
    CheckResult { passed: true, report: json_report, failure: None, artifacts, summary, events: Vec::new() }
}

fn write_file(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("coord-tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)
}

fn contract_publish(ctx: &CheckContext, files: &[coord_gates::SourceFile]) -> CheckResult {
    let report = match coord_workflows::publish::publish(&ctx.root, files, &ctx.config.contracts_dir) {
        Ok(r) => r,
        Err(e) => return CheckResult::failed(e.to_string(), FailureCategory::ApiContract, json!({})),
    };
    let mut artifacts = Vec::new();
    let mut events = Vec::new();
    let mut needs_approval = Vec::new();
    let mut lines = Vec::new();
    for c in &report.contracts {
        let made_now = c.changed;
        if made_now {
            artifacts.push(c.path.clone());
            artifacts.extend(c.changes_path.clone());
            events.push((
                "contract_published".to_string(),
                json!({ "name": c.name, "version": c.version, "path": c.path, "source": c.source,
                        "changes": c.changes.len(), "breaking": c.breaking }),
            ));
        }
        let in_this_run = made_now || ctx.changed.contains(&c.path);
        let text = std::fs::read_to_string(ctx.root.join(&c.path)).unwrap_or_default();
        let key = (c.path.clone(), sha256_hex(&text));
        if c.breaking > 0 && in_this_run && !ctx.approved.contains(&key) {
            needs_approval.push((c, key));
        }
        let changes = c.changes_path.as_deref().map(|p| format!(", changes in {p}")).unwrap_or_default();
        lines.push(format!(
            "{} v{} ({} changes, {} breaking) at {}{changes}",
            c.name,
            c.version,
            c.changes.len(),
            c.breaking,
            c.path
        ));
    }
    let json_report = json!({ "contracts": report.contracts, "notes": report.notes });
    // The first line for the record; the classified changes below it reach the reviewer's brief.
    let mut summary = format!("published {}", lines.join("; "));
    for c in &report.contracts {
        for ch in &c.changes {
            let tag = if ch.impact == coord_gates::contract::Impact::Breaking { "BREAKING" } else { "non-breaking" };
            let detail = if ch.detail.is_empty() { String::new() } else { format!(": {}", ch.detail) };
            summary.push_str(&format!("\n{} v{}: {tag} {} {}{detail}", c.name, c.version, ch.code, ch.location));
        }
    }
    if !needs_approval.is_empty() {
        let mut error = format!(
            "{} contract version(s) break existing clients and need the tech lead's approval (coord escalation resolve ID --decision approve):",
            needs_approval.len()
        );
        for (c, _) in &needs_approval {
            for ch in c.changes.iter().filter(|ch| ch.impact == coord_gates::contract::Impact::Breaking).take(10) {
                error.push_str(&format!("\n- {} v{}: {} {} {}", c.name, c.version, ch.code, ch.location, ch.detail));
            }
        }
        let items: Vec<Value> = needs_approval
            .iter()
            .map(|(c, (path, sha))| json!({ "file": path, "sha256": sha, "breaking": c.breaking }))
            .collect();
        // What an approval accepts: the versions written and their changes, for the next briefs.
        events.push((
            "approval_requested".into(),
            json!({ "kind": "breaking-contract", "items": items, "artifacts": artifacts, "summary": summary }),
        ));
        let mut r = CheckResult::failed(error, FailureCategory::BreakingChange, json_report);
        r.artifacts = artifacts;
        r.events = events;
        return r;
    }
    CheckResult { passed: true, report: json_report, failure: None, artifacts, summary, events }
}

/// `Name: value` headers with `$NAME` taken from the environment.
fn headers(config: &WorkflowsConfig) -> Vec<(String, String)> {
    config
        .contract_test_headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| {
            let mut value = String::new();
            let mut rest = v.trim();
            while let Some(at) = rest.find('$') {
                value.push_str(&rest[..at]);
                let name: String =
                    rest[at + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                value.push_str(&std::env::var(&name).unwrap_or_default());
                rest = &rest[at + 1 + name.len()..];
            }
            value.push_str(rest);
            (k.trim().to_string(), value)
        })
        .collect()
}

async fn contract_test(ctx: &CheckContext, files: &[coord_gates::SourceFile]) -> CheckResult {
    let Some(base_url) = ctx.config.contract_test_base_url.clone().filter(|u| !u.trim().is_empty()) else {
        return CheckResult::failed(contract_test_unconfigured(), FailureCategory::General, json!({}));
    };
    // The newest published version of every contract; the repository's documents otherwise.
    let dir = &ctx.config.contracts_dir;
    let mut docs: Vec<(String, Value)> = std::fs::read_dir(ctx.root.join(dir))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            coord_workflows::publish::latest_version(&ctx.root, dir, &name)
                .map(|(n, doc)| (format!("{dir}/{name}/v{n}.json"), doc))
        })
        .collect();
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    if docs.is_empty() {
        docs = coord_workflows::publish::openapi_documents(files, dir, &mut Vec::new());
    }
    if docs.is_empty() {
        return CheckResult::failed(
            "no contract to test: nothing is published under the contracts folder and the repository has no OpenAPI document".into(),
            FailureCategory::ApiContract,
            json!({}),
        );
    }
    let wait = Duration::from_secs(ctx.config.contract_test_wait_secs.max(1));
    let start = ctx.config.contract_test_start.as_deref();
    let mut service = match coord_workflows::service::Service::start(start, &ctx.root, &base_url, wait).await {
        Ok(s) => s,
        Err(e) => {
            return CheckResult::failed(
                format!("the contract test could not reach the service: {e}"),
                FailureCategory::ApiContract,
                json!({ "base_url": base_url }),
            );
        }
    };
    let headers = headers(&ctx.config);
    // The service's database, when configured: its statistics before and after the requests.
    let stats_url =
        ctx.config.query_stats_url_env.as_deref().and_then(|v| std::env::var(v).ok()).filter(|u| !u.is_empty());
    let before = match &stats_url {
        Some(url) => Some(coord_workflows::query_stats::read(url).await),
        None => None,
    };
    let mut operations = Vec::new();
    for (_, doc) in &docs {
        let r = coord_workflows::contract_test(doc, &base_url, &headers, Duration::from_secs(10)).await;
        operations.extend(r.operations);
    }
    let queries = match (&stats_url, before) {
        (Some(url), Some(Ok(before))) => Some(
            coord_workflows::query_stats::read(url)
                .await
                .map(|after| coord_workflows::query_stats::difference(&before, &after)),
        ),
        (_, Some(Err(e))) => Some(Err(e)),
        _ => None,
    };
    service.stop();
    let total = operations.len();
    let passed = operations.iter().filter(|o| o.problems.is_empty()).count();
    let coverage = if total == 0 { 0.0 } else { passed as f64 / total as f64 };
    let p95 = coord_workflows::contract_test::response_time_p95_ms(&operations).map(|ms| ms / 1e3);
    let contracts: Vec<&str> = docs.iter().map(|(p, _)| p.as_str()).collect();
    let mut report = json!({ "contracts": contracts, "base_url": base_url, "operations": operations,
                         "api_endpoint_coverage": coverage, "api_response_time_p95": p95 });
    let mut event = json!({ "operations": total, "passed": passed, "api_endpoint_coverage": coverage,
                            "api_response_time_p95": p95 });
    match queries {
        Some(Ok(q)) => {
            // The event keeps what the metrics need (every statement's calls and mean, at most
            // 500 statements) and the ten slowest texts; the report keeps them all.
            let groups: Vec<[f64; 2]> =
                q.statements.iter().take(500).map(|s| [s.calls as f64, s.mean_seconds]).collect();
            event["database_queries"] = json!({ "calls": q.calls, "total_seconds": q.total_seconds,
                "mean_seconds": q.mean_seconds(), "groups": groups,
                "slowest": q.statements.iter().take(10).collect::<Vec<_>>() });
            report["database_queries"] = json!(q);
        }
        Some(Err(e)) => {
            let note = json!(format!("database query times not measured: {e}"));
            report["database_queries_note"] = note.clone();
            event["database_queries_note"] = note;
        }
        None => {}
    }
    let event = ("contract_test".to_string(), event);
    let summary = format!("api_endpoint_coverage {:.0}% ({passed} of {total} operations conform)", coverage * 100.0);
    if passed < total || total == 0 {
        let mut error = format!("the contract test failed: {summary}");
        for o in operations.iter().filter(|o| !o.problems.is_empty()).take(20) {
            let status = o.status.map_or("no answer".to_string(), |s| s.to_string());
            error.push_str(&format!("\n- {} ({status}): {}", o.operation, o.problems.join("; ")));
        }
        let mut r = CheckResult::failed(error, FailureCategory::ApiContract, report);
        r.events.push(event);
        return r;
    }
    CheckResult { passed: true, report, failure: None, artifacts: Vec::new(), summary, events: vec![event] }
}

/// What the checks need to know of the run so far.
#[derive(Debug, Clone, Default)]
pub struct RunReview {
    /// Files the run changed: the artifacts of its attempts' results, and the contract versions
    /// it published.
    pub changed: BTreeSet<String>,
    /// `(file, sha256)` the tech lead approved: the items of every `approval_requested` event of
    /// a task whose next escalation was resolved with `approve`.
    pub approved: BTreeSet<(String, String)>,
}

/// Reads [`RunReview`] from the run's attempts and event log.
pub async fn review<S: Store>(store: &S, run: &str, tasks: &[String]) -> Result<RunReview, coord_store::StoreError> {
    let mut out = RunReview::default();
    for task in tasks {
        for a in store.attempts(run, task).await? {
            let Some(detail) = a.detail.as_deref() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(detail) else { continue };
            for f in v.get("artifacts").and_then(Value::as_array).into_iter().flatten() {
                if let Some(f) = f.as_str() {
                    out.changed.insert(f.to_string());
                }
            }
        }
    }
    let mut pending: std::collections::HashMap<String, Vec<(String, String)>> = Default::default();
    for e in &crate::events::run_events(store, run).await? {
        let Some(task) = &e.task_id else { continue };
        match e.kind.as_str() {
            "contract_published" => {
                if let Some(p) = e.data.get("path").and_then(Value::as_str) {
                    out.changed.insert(p.to_string());
                }
            }
            "approval_requested" => {
                let items = e.data.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
                let keys = items.iter().filter_map(|i| {
                    Some((i.get("file")?.as_str()?.to_string(), i.get("sha256")?.as_str()?.to_string()))
                });
                pending.insert(task.clone(), keys.collect());
            }
            "escalation_resolved" => {
                let items = pending.remove(task).unwrap_or_default();
                if e.data.get("decision").and_then(Value::as_str) == Some("approve") {
                    out.approved.extend(items);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{foreign_dialect, replica_refusal};
    use coord_workflows::replay::ReplicaKind;

    fn dialect_of(up: &str) -> Option<(&'static str, &'static str, String)> {
        let files = [("migrations/001_a.up.sql", up), ("migrations/001_a.down.sql", "DROP TABLE a;")]
            .map(|(rel, text)| coord_gates::SourceFile { rel: rel.into(), path: rel.into(), text: text.into() });
        foreign_dialect(&coord_gates::migrations::find_migrations(&files))
    }

    #[test]
    fn the_dialect_is_the_first_mark_only_one_server_runs() {
        let mysql = dialect_of("CREATE TABLE a (t TIMESTAMP DEFAULT now());\nCREATE TABLE b (id INT AUTO_INCREMENT);");
        assert_eq!(mysql, Some(("mysql", "AUTO_INCREMENT", "migrations/001_a.up.sql:2".into())));
        let either = dialect_of("CREATE TABLE a (t TIMESTAMP DEFAULT now());");
        assert_eq!(either.as_ref().map(|d| d.0), Some("postgresql or mysql"));
        assert_eq!(dialect_of("CREATE TABLE a (id INTEGER PRIMARY KEY); -- SERIAL in a comment"), None);
    }

    #[test]
    fn a_replica_must_speak_the_migrations_dialect() {
        let mysql = dialect_of("CREATE TABLE a (id INT AUTO_INCREMENT) ENGINE=InnoDB;");
        let pg = dialect_of("CREATE TABLE a (id SERIAL PRIMARY KEY);");
        let either = dialect_of("CREATE TABLE a (t TIMESTAMP DEFAULT now());");
        let (my, pgk) = (Some(Some(ReplicaKind::Mysql)), Some(Some(ReplicaKind::Postgres)));
        assert_eq!(replica_refusal("V", my, mysql.as_ref()), None);
        assert_eq!(replica_refusal("V", pgk, pg.as_ref()), None);
        assert_eq!(replica_refusal("V", my, either.as_ref()), None);
        assert_eq!(replica_refusal("V", pgk, either.as_ref()), None);
        assert_eq!(replica_refusal("V", None, None), None);
        let wrong = replica_refusal("V", pgk, mysql.as_ref()).unwrap();
        assert!(
            wrong.contains("written for mysql (AUTO_INCREMENT") && wrong.contains("V names a postgresql server"),
            "{wrong}"
        );
        let none = replica_refusal("V", None, mysql.as_ref()).unwrap();
        assert!(none.contains("set V=mysql://...") && none.contains("replica_url_env"), "{none}");
        let none = replica_refusal("--replica", None, either.as_ref()).unwrap();
        assert!(
            none.contains("set --replica=postgres://... or mysql://...") && !none.contains("replica_url_env"),
            "{none}"
        );
        let odd = replica_refusal("V", Some(None), None).unwrap();
        assert!(odd.contains("V is not a postgres://, mysql:// or mariadb:// URL"), "{odd}");
    }
}
