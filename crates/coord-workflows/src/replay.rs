//! Migration replay on a scratch database — a SQLite file, or a throwaway schema of a
//! PostgreSQL database when the project uses PostgreSQL: the repository's migrations are applied
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
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::collections::BTreeMap;
use std::path::Path;

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

/// The schema of a SQLite database in three queries (the pragma table functions joined to
/// `sqlite_master`), whatever the number of tables.
async fn sqlite_snapshot(db: &SqlitePool) -> Result<Snapshot, sqlx::Error> {
    let mut snap = Snapshot::new();
    let cols = sqlx::query(
        "SELECT m.name AS t, p.name, p.type, p.\"notnull\" AS nn, p.dflt_value, p.pk
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
    )
    .fetch_all(db)
    .await?;
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in cols {
        let t: String = c.try_get("t")?;
        let name: String = c.try_get("name")?;
        let ty: String = c.try_get("type")?;
        let notnull: i64 = c.try_get("nn")?;
        let dflt: Option<String> = c.try_get("dflt_value")?;
        let pk: i64 = c.try_get("pk")?;
        tables.entry(t).or_default().push(format!(
            "{name} {ty}{}{}{}",
            if notnull == 1 { " NOT NULL" } else { "" },
            dflt.map(|d| format!(" DEFAULT {d}")).unwrap_or_default(),
            if pk > 0 { format!(" PK{pk}") } else { String::new() }
        ));
    }
    for (t, cols) in tables {
        snap.insert(format!("table {t}"), cols.join(", "));
    }
    let fks = sqlx::query(
        "SELECT m.name AS t, f.\"from\" AS c, f.\"table\" AS target, f.\"to\" AS target_column
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
         WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
    )
    .fetch_all(db)
    .await?;
    let mut fk_by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in fks {
        let t: String = f.try_get("t")?;
        let from: String = f.try_get("c")?;
        let target: String = f.try_get("target")?;
        let to: Option<String> = f.try_get("target_column")?;
        fk_by_table.entry(t).or_default().push(format!("{from} -> {target}({})", to.unwrap_or_default()));
    }
    for (t, mut fks) in fk_by_table {
        fks.sort();
        snap.insert(format!("foreign keys of {t}"), fks.join(", "));
    }
    let idx = sqlx::query(
        "SELECT m.name AS t, il.name AS idx, il.\"unique\" AS u, group_concat(ii.name, ', ') AS cols
         FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii
         WHERE m.type = 'table' GROUP BY m.name, il.name ORDER BY m.name, il.name",
    )
    .fetch_all(db)
    .await?;
    for i in idx {
        let t: String = i.try_get("t")?;
        let name: String = i.try_get("idx")?;
        let unique: i64 = i.try_get("u")?;
        let cols: Option<String> = i.try_get("cols")?;
        let cols = cols.unwrap_or_default();
        // Automatic index names differ by creation order; key them by table and columns.
        let key = if name.starts_with("sqlite_autoindex") {
            format!("auto index on {t}({cols})")
        } else {
            format!("index {name}")
        };
        snap.insert(key, format!("on {t}({cols}){}", if unique == 1 { " UNIQUE" } else { "" }));
    }
    Ok(snap)
}

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
        let result = match (self, atomic) {
            (Scratch::Sqlite(db), false) => script.execute(db).await.map(|_| ()),
            (Scratch::Postgres(db, _), false) => script.execute(db).await.map(|_| ()),
            (Scratch::Sqlite(db), true) => {
                let mut tx = db.begin().await.map_err(|e| e.to_string())?;
                match script.execute(&mut *tx).await {
                    Ok(_) => tx.commit().await,
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
            (Scratch::Postgres(db, _), true) => {
                let mut tx = db.begin().await.map_err(|e| e.to_string())?;
                match script.execute(&mut *tx).await {
                    Ok(_) => tx.commit().await,
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
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
        }
    }

    async fn snapshot(&self) -> Result<Snapshot, sqlx::Error> {
        match self {
            Scratch::Sqlite(db) => sqlite_snapshot(db).await,
            Scratch::Postgres(db, schema) => pg_snapshot(db, schema).await,
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

async fn pg_snapshot(db: &PgPool, schema: &str) -> Result<Snapshot, sqlx::Error> {
    let strip = |s: String| s.replace(&format!("{schema}."), "");
    let mut snap = Snapshot::new();
    let cols = sqlx::query(
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
         WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
    )
    .bind(schema)
    .fetch_all(db)
    .await?;
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in cols {
        let table: String = c.try_get("table_name")?;
        let name: String = c.try_get("column_name")?;
        let ty: String = c.try_get("data_type")?;
        let nullable: String = c.try_get("is_nullable")?;
        let default: Option<String> = c.try_get("column_default")?;
        tables.entry(table).or_default().push(format!(
            "{name} {ty}{}{}",
            if nullable == "NO" { " NOT NULL" } else { "" },
            default.map(|d| format!(" DEFAULT {}", strip(d))).unwrap_or_default()
        ));
    }
    for (t, cols) in tables {
        snap.insert(format!("table {t}"), cols.join(", "));
    }
    for i in sqlx::query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1")
        .bind(schema)
        .fetch_all(db)
        .await?
    {
        let name: String = i.try_get("indexname")?;
        let def: String = i.try_get("indexdef")?;
        snap.insert(format!("index {name}"), strip(def));
    }
    let constraints = sqlx::query(
        "SELECT tc.table_name, tc.constraint_name, tc.constraint_type,
                coalesce(string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position), '') AS columns
         FROM information_schema.table_constraints tc
         LEFT JOIN information_schema.key_column_usage kcu
           ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
         WHERE tc.table_schema = $1 AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK')
         GROUP BY tc.table_name, tc.constraint_name, tc.constraint_type",
    )
    .bind(schema)
    .fetch_all(db)
    .await?;
    for c in constraints {
        let table: String = c.try_get("table_name")?;
        let name: String = c.try_get("constraint_name")?;
        let kind: String = c.try_get("constraint_type")?;
        let columns: String = c.try_get("columns")?;
        // CHECK constraints of NOT NULL columns get generated names; NOT NULL is in the columns.
        if kind == "CHECK" && name.contains("_not_null") {
            continue;
        }
        snap.insert(format!("constraint {name} on {table}"), format!("{kind} ({columns})"));
    }
    Ok(snap)
}

/// Replays the migrations among `files` on a fresh SQLite database in `scratch`.
pub async fn replay_sqlite(files: &[SourceFile], scratch: &Path) -> Result<ReplayReport, sqlx::Error> {
    let db_path = scratch.join("replay.db");
    let _ = std::fs::remove_file(&db_path);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&db_path).create_if_missing(true).foreign_keys(true))
        .await?;
    let db = Scratch::Sqlite(pool.clone());
    let report = replay_on(files, &db).await;
    pool.close().await;
    report
}

/// Replays the migrations among `files` in a throwaway schema of the PostgreSQL database at
/// `url`; the schema is dropped afterwards, whatever happened.
pub async fn replay_postgres(files: &[SourceFile], url: &str) -> Result<ReplayReport, sqlx::Error> {
    let schema = format!(
        "coord_replay_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
    );
    let admin = PgPoolOptions::new().max_connections(1).connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await?;
    let search_path = schema.clone();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            let sp = search_path.clone();
            Box::pin(async move {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {sp}"))).execute(conn).await.map(|_| ())
            })
        })
        .connect(url)
        .await;
    let report = match pool {
        Ok(pool) => {
            let db = Scratch::Postgres(pool.clone(), schema.clone());
            let r = replay_on(files, &db).await;
            pool.close().await;
            r
        }
        Err(e) => Err(e),
    };
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await;
    admin.close().await;
    report
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
