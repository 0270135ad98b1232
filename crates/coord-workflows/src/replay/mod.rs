//! Migration replay on a scratch database — a SQLite file, a throwaway schema of a PostgreSQL
//! database or a throwaway database of a MySQL/MariaDB server when the project uses one: the
//! repository's migrations are applied
//! in order; for each one the schema is snapshotted before it, after up, after down and after up
//! again. After down the schema must equal the one before up (tables, columns, types, defaults,
//! NOT NULL, primary keys, indexes, foreign keys), and up must be repeatable (the second up
//! gives the first up's schema). A migration without a down step is reported as irreversible.
//! A statement that fails is reported with its line, its text and the database's error; ORM
//! migrations (Alembic, Knex, Django, Rails) cannot be replayed here and are noted.

use crate::statements::split_statements;
use coord_gates::SourceFile;
use coord_gates::migrations::{Migration, Tool, find_migrations};
use serde::Serialize;
use sqlx::{MySqlPool, PgPool, SqlitePool};
use std::collections::BTreeMap;

mod mysql;
mod postgres;
mod sqlite;

pub use mysql::replay_mysql;
pub use postgres::replay_postgres;
pub use sqlite::replay_sqlite;

/// The kind of server a replica URL names, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaKind {
    /// `postgres://` or `postgresql://`: a throwaway schema.
    Postgres,
    /// `mysql://` or `mariadb://`: a throwaway database.
    Mysql,
}

impl ReplicaKind {
    /// The kind of `url`, or `None` when its scheme is neither.
    pub fn of_url(url: &str) -> Option<ReplicaKind> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase())?;
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(ReplicaKind::Postgres),
            "mysql" | "mariadb" => Some(ReplicaKind::Mysql),
            _ => None,
        }
    }

    /// The SQL dialect it runs, as `workflow::foreign_dialect` names dialects.
    pub fn dialect(self) -> &'static str {
        match self {
            ReplicaKind::Postgres => "postgresql",
            ReplicaKind::Mysql => "mysql",
        }
    }

    /// Where the replay runs, for reports.
    pub fn engine(self) -> &'static str {
        match self {
            ReplicaKind::Postgres => "a throwaway PostgreSQL schema",
            ReplicaKind::Mysql => "a throwaway MySQL database",
        }
    }
}

/// A name for a throwaway schema or database: `coord_replay_<pid>_<nanoseconds>`.
fn throwaway_name() -> String {
    format!(
        "coord_replay_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
    )
}

/// Replays the migrations among `files` where coord replays them: on the replica server
/// `replica` names when there is one of a known kind, else on a fresh SQLite database in
/// `scratch`. Returns the report and where it ran. (Whether the migrations may be replayed there
/// at all is `coord_runtime::workflow::replica_refusal`'s question, asked first.)
pub async fn replay_where(
    files: &[SourceFile],
    replica: Option<&str>,
    scratch: &std::path::Path,
) -> (Result<ReplayReport, sqlx::Error>, &'static str) {
    match replica.and_then(|url| ReplicaKind::of_url(url).map(|kind| (url, kind))) {
        Some((url, kind)) => (replay_replica(files, url).await, kind.engine()),
        None => (replay_sqlite(files, scratch).await, "a scratch SQLite database"),
    }
}

/// Replays the migrations among `files` on the replica server `url` names (PostgreSQL or
/// MySQL/MariaDB, by the URL's scheme).
pub async fn replay_replica(files: &[SourceFile], url: &str) -> Result<ReplayReport, sqlx::Error> {
    match ReplicaKind::of_url(url) {
        Some(ReplicaKind::Postgres) => replay_postgres(files, url).await,
        Some(ReplicaKind::Mysql) => replay_mysql(files, url).await,
        None => Err(sqlx::Error::Configuration(
            "the replica URL is neither postgres:// nor mysql:// (or mariadb://)".into(),
        )),
    }
}

/// One problem found by replaying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReplayFinding {
    /// `migrate/up-failed`, `migrate/down-failed`, `migrate/down-not-restoring`,
    /// `migrate/up-not-repeatable`, `migrate/irreversible` (no down step),
    /// `migrate/data-loss-unapproved`.
    pub rule: String,
    /// The migration file.
    pub file: String,
    /// What happened, with the evidence (the error or the schema difference).
    pub message: String,
}

/// What a replay found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayReport {
    /// Migrations replayed.
    pub replayed: usize,
    /// Problems.
    pub findings: Vec<ReplayFinding>,
    /// Migrations that could not be replayed, and why.
    pub notes: Vec<String>,
}

/// A schema snapshot: object → its description.
type Snapshot = BTreeMap<String, String>;

fn difference(a: &Snapshot, b: &Snapshot) -> String {
    let mut lines = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => lines.push(format!("missing {k} ({v})")),
            Some(w) if w != v => lines.push(format!("{k} differs: {v} ≠ {w}")),
            _ => {}
        }
    }
    for (k, v) in b {
        if !a.contains_key(k) {
            lines.push(format!("extra {k} ({v})"));
        }
    }
    lines.join("; ")
}

/// A scratch database the replay runs on.
enum Scratch {
    Sqlite(SqlitePool),
    /// A pool whose connections use the throwaway schema, and the schema's name.
    Postgres(PgPool, String),
    /// A pool on the throwaway database, and the database's name.
    Mysql(MySqlPool, String),
}

impl Scratch {
    /// Applies a migration step. Where the script allows it (no transaction control of its own,
    /// nothing PostgreSQL refuses inside a transaction), it runs in a transaction, so a failure
    /// leaves the schema as it was and the failing statement can be found by replaying the
    /// statements one by one in a second transaction that is rolled back.
    async fn apply(&self, sql: &str) -> Result<(), String> {
        let upper = sql.to_ascii_uppercase();
        let own_transactions = split_statements(sql).iter().any(|s| {
            let w = s.text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            matches!(w.as_str(), "BEGIN" | "COMMIT" | "ROLLBACK" | "START" | "END" | "SAVEPOINT")
        });
        let atomic = !own_transactions && !upper.contains("CONCURRENTLY") && !upper.contains("VACUUM");
        let script = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()));
        // The script in one transaction, rolled back when it fails.
        macro_rules! in_transaction {
            ($db:expr) => {{
                let mut tx = $db.begin().await.map_err(|e| e.to_string())?;
                match script.execute(&mut *tx).await {
                    Ok(_) => tx.commit().await,
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }};
        }
        let result = match (self, atomic) {
            (Scratch::Sqlite(db), false) => script.execute(db).await.map(|_| ()),
            (Scratch::Postgres(db, _), false) => script.execute(db).await.map(|_| ()),
            (Scratch::Sqlite(db), true) => in_transaction!(db),
            (Scratch::Postgres(db, _), true) => in_transaction!(db),
            // MySQL commits each DDL statement on its own: statement by statement.
            (Scratch::Mysql(db, _), _) => return mysql::apply(db, sql).await,
        };
        let Err(e) = result else { return Ok(()) };
        let located = if atomic { self.locate(sql).await } else { None };
        Err(match located {
            Some((line, text, error)) => format!("statement at line {line} `{}` failed: {error}", shorten(&text)),
            None => e.to_string(),
        })
    }

    /// The first statement of `sql` that fails, run one by one in a transaction rolled back.
    async fn locate(&self, sql: &str) -> Option<(usize, String, String)> {
        let statements = split_statements(sql);
        macro_rules! first_failure {
            ($db:expr) => {{
                let mut tx = $db.begin().await.ok()?;
                let mut found = None;
                for s in &statements {
                    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(s.text.clone())).execute(&mut *tx).await {
                        found = Some((s.line, s.text.clone(), e.to_string()));
                        break;
                    }
                }
                let _ = tx.rollback().await;
                found
            }};
        }
        match self {
            Scratch::Sqlite(db) => first_failure!(db),
            Scratch::Postgres(db, _) => first_failure!(db),
            // Applied statement by statement: the failing one is already known.
            Scratch::Mysql(..) => None,
        }
    }

    async fn snapshot(&self) -> Result<Snapshot, sqlx::Error> {
        match self {
            Scratch::Sqlite(db) => sqlite::snapshot(db).await,
            Scratch::Postgres(db, schema) => postgres::snapshot(db, schema).await,
            Scratch::Mysql(db, database) => mysql::snapshot(db, database).await,
        }
    }
}

/// A statement shortened for a message.
fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// The replay itself, on any scratch database.
async fn replay_on(files: &[SourceFile], db: &Scratch) -> Result<ReplayReport, sqlx::Error> {
    let mut report = ReplayReport::default();
    let migrations: Vec<Migration> = find_migrations(files);
    for m in migrations {
        if !matches!(m.tool, Tool::Sql | Tool::Flyway | Tool::Prisma) {
            report.notes.push(format!("{}: {:?} migrations are code, not SQL; not replayed", m.up.0, m.tool));
            continue;
        }
        report.replayed += 1;
        let before = db.snapshot().await?;
        if let Err(e) = db.apply(&m.up.1).await {
            report.findings.push(ReplayFinding {
                rule: "migrate/up-failed".into(),
                file: m.up.0.clone(),
                message: format!("up failed: {e}"),
            });
            // Later migrations build on this one: stop rather than report a cascade.
            report.notes.push("replay stopped at the first migration that failed".into());
            break;
        }
        let up = db.snapshot().await?;
        let Some((down_file, down_sql)) = &m.down else {
            report.findings.push(ReplayFinding {
                rule: "migrate/irreversible".into(),
                file: m.up.0.clone(),
                message: "no down step: the migration cannot be rolled back (add its down script)".into(),
            });
            continue;
        };
        if let Err(e) = db.apply(down_sql).await {
            report.findings.push(ReplayFinding {
                rule: "migrate/down-failed".into(),
                file: down_file.clone(),
                message: format!("down failed: {e}"),
            });
            break;
        }
        let down = db.snapshot().await?;
        if down != before {
            report.findings.push(ReplayFinding {
                rule: "migrate/down-not-restoring".into(),
                file: down_file.clone(),
                message: format!("after down the schema is not the one before up: {}", difference(&before, &down)),
            });
        }
        match db.apply(&m.up.1).await {
            Err(e) => {
                report.findings.push(ReplayFinding {
                    rule: "migrate/up-not-repeatable".into(),
                    file: m.up.0.clone(),
                    message: format!("up after down failed: {e}"),
                });
                break;
            }
            Ok(()) => {
                let again = db.snapshot().await?;
                if again != up {
                    report.findings.push(ReplayFinding {
                        rule: "migrate/up-not-repeatable".into(),
                        file: m.up.0.clone(),
                        message: format!("up after down gives another schema: {}", difference(&up, &again)),
                    });
                }
            }
        }
    }
    Ok(report)
}
