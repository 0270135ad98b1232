//! The MySQL/MariaDB scratch database: a throwaway database on the replica server (the URL's
//! user needs `CREATE` and `DROP` on databases), read through `information_schema`.
//!
//! MySQL commits every DDL statement on its own, so a migration step cannot be rolled back as
//! a whole: its statements are applied one by one and the first that fails is reported with
//! its line. The client-side `DELIMITER` command (stored procedures written for the `mysql`
//! shell) is not SQL and is refused with that reason.

use super::{ReplayReport, Scratch, Snapshot, replay_on, shorten};
use crate::statements::split_statements;
use coord_gates::SourceFile;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Row};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Replays the migrations among `files` in a throwaway database of the MySQL or MariaDB server
/// at `url` (`mysql://` or `mariadb://`); the database is dropped afterwards, whatever happened.
pub async fn replay_mysql(files: &[SourceFile], url: &str) -> Result<ReplayReport, sqlx::Error> {
    let database = super::throwaway_name();
    // sqlx's MySQL driver reads `mysql://`; MariaDB's own scheme names the same protocol.
    let url = url.strip_prefix("mariadb://").map(|rest| format!("mysql://{rest}")).unwrap_or_else(|| url.to_string());
    let options = MySqlConnectOptions::from_str(&url)?.disable_statement_logging();
    let admin = MySqlPoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{database}`"))).execute(&admin).await?;
    let report = match MySqlPoolOptions::new().max_connections(1).connect_with(options.database(&database)).await {
        Ok(pool) => {
            let db = Scratch::Mysql(pool.clone(), database.clone());
            let r = replay_on(files, &db).await;
            pool.close().await;
            r
        }
        Err(e) => Err(e),
    };
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE `{database}`"))).execute(&admin).await;
    admin.close().await;
    report
}

/// Applies one migration step statement by statement; the first failure names its line.
pub(super) async fn apply(db: &MySqlPool, sql: &str) -> Result<(), String> {
    if let Some((n, _)) =
        sql.lines().enumerate().find(|(_, l)| l.trim_start().to_ascii_uppercase().starts_with("DELIMITER "))
    {
        return Err(format!(
            "line {}: DELIMITER is a command of the mysql shell, not SQL; coord replays migrations as the server runs them (write the routine without DELIMITER, as Flyway and most tools expect)",
            n + 1
        ));
    }
    for s in split_statements(sql) {
        // A piece that holds only `#` comments (MySQL's own comment style) is not a statement.
        let code = s.text.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
        if code.trim().is_empty() {
            continue;
        }
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(s.text.clone())).execute(db).await {
            return Err(format!("statement at line {} `{}` failed: {e}", s.line, shorten(&s.text)));
        }
    }
    Ok(())
}

/// The schema of the throwaway database: columns (type, NOT NULL, default, auto-increment),
/// indexes (primary keys and unique ones included) and foreign keys. Every value is read as
/// text (`CAST(... AS CHAR)`), as MySQL 8 and MariaDB type `information_schema` differently.
pub(super) async fn snapshot(db: &MySqlPool, database: &str) -> Result<Snapshot, sqlx::Error> {
    let mut snap = Snapshot::new();
    let cols = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(COLUMN_NAME AS CHAR) AS c, CAST(COLUMN_TYPE AS CHAR) AS ty,
                CAST(IS_NULLABLE AS CHAR) AS nullable, CAST(COLUMN_DEFAULT AS CHAR) AS dflt, CAST(EXTRA AS CHAR) AS extra
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )
    .bind(database)
    .fetch_all(db)
    .await?;
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in cols {
        let table: String = c.try_get("t")?;
        let name: String = c.try_get("c")?;
        let ty: String = c.try_get("ty")?;
        let nullable: String = c.try_get("nullable")?;
        let default: Option<String> = c.try_get("dflt")?;
        let extra: Option<String> = c.try_get("extra")?;
        let extra = extra.filter(|e| !e.is_empty()).map(|e| format!(" {e}")).unwrap_or_default();
        tables.entry(table).or_default().push(format!(
            "{name} {ty}{}{}{extra}",
            if nullable == "NO" { " NOT NULL" } else { "" },
            default.map(|d| format!(" DEFAULT {d}")).unwrap_or_default(),
        ));
    }
    for (t, cols) in tables {
        snap.insert(format!("table {t}"), cols.join(", "));
    }
    let indexes = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(INDEX_NAME AS CHAR) AS i, CAST(MIN(NON_UNIQUE) AS SIGNED) AS non_unique,
                CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ', ') AS CHAR) AS cols
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? GROUP BY TABLE_NAME, INDEX_NAME",
    )
    .bind(database)
    .fetch_all(db)
    .await?;
    for i in indexes {
        let table: String = i.try_get("t")?;
        let name: String = i.try_get("i")?;
        let non_unique: i64 = i.try_get("non_unique")?;
        let cols: Option<String> = i.try_get("cols")?;
        // Index names are per table in MySQL (every primary key is `PRIMARY`).
        snap.insert(
            format!("index {name} on {table}"),
            format!("({}){}", cols.unwrap_or_default(), if non_unique == 0 { " UNIQUE" } else { "" }),
        );
    }
    let fks = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(CONSTRAINT_NAME AS CHAR) AS name,
                CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ',') AS CHAR) AS cols,
                CAST(REFERENCED_TABLE_NAME AS CHAR) AS target,
                CAST(GROUP_CONCAT(REFERENCED_COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ',') AS CHAR) AS target_cols
         FROM information_schema.KEY_COLUMN_USAGE
         WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL
         GROUP BY TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME",
    )
    .bind(database)
    .fetch_all(db)
    .await?;
    for f in fks {
        let table: String = f.try_get("t")?;
        let name: String = f.try_get("name")?;
        let cols: Option<String> = f.try_get("cols")?;
        let target: String = f.try_get("target")?;
        let target_cols: Option<String> = f.try_get("target_cols")?;
        snap.insert(
            format!("foreign key {name} on {table}"),
            format!("({}) -> {target}({})", cols.unwrap_or_default(), target_cols.unwrap_or_default()),
        );
    }
    Ok(snap)
}
