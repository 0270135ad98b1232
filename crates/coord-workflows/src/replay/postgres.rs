//! The PostgreSQL scratch database: a throwaway schema of the replica database, read through
//! `information_schema` and `pg_indexes`.

use super::{ReplayReport, Scratch, Snapshot, replay_on};
use coord_gates::SourceFile;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::collections::BTreeMap;

/// Replays the migrations among `files` in a throwaway schema of the PostgreSQL database at
/// `url`; the schema is dropped afterwards, whatever happened.
pub async fn replay_postgres(files: &[SourceFile], url: &str) -> Result<ReplayReport, sqlx::Error> {
    let schema = super::throwaway_name();
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

pub(super) async fn snapshot(db: &PgPool, schema: &str) -> Result<Snapshot, sqlx::Error> {
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
