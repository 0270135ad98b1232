//! The SQLite scratch database: a fresh file per replay, and its schema read through the pragma
//! table functions.

use super::{ReplayReport, Scratch, Snapshot, replay_on};
use coord_gates::SourceFile;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::collections::BTreeMap;
use std::path::Path;

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

/// The schema of a SQLite database in three queries (the pragma table functions joined to
/// `sqlite_master`), whatever the number of tables.
pub(super) async fn snapshot(db: &SqlitePool) -> Result<Snapshot, sqlx::Error> {
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
