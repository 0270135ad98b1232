//! A throwaway schema of a PostgreSQL database, for tests and benchmarks: created with a unique
//! name, handed out as a URL whose `search_path` selects it, dropped (with everything in it)
//! when the value is dropped. `COORD_TEST_PG` names the database in tests and benchmarks.

use crate::{Result, StoreError};
use sqlx::postgres::PgPoolOptions;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A schema that exists until this value is dropped.
#[derive(Debug)]
pub struct ScratchSchema {
    base: String,
    name: String,
}

impl ScratchSchema {
    /// Creates `coord_<prefix>_<pid>_<n>_<time>` in the database at `base_url`.
    pub async fn create(base_url: &str, prefix: &str) -> Result<ScratchSchema> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let clock =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
        let prefix: String =
            prefix.chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect::<String>().to_lowercase();
        let name = format!("coord_{prefix}_{}_{n}_{:x}", std::process::id(), clock % 0xffff_ffff);
        let shown = super::redact_url(base_url);
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(base_url)
            .await
            .map_err(|e| StoreError::Connect { url: shown.clone(), reason: e.to_string() })?;
        // The name is made of [a-z0-9_] above: safe to splice into the statement.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"))).execute(&admin).await?;
        admin.close().await;
        Ok(ScratchSchema { base: base_url.to_string(), name })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database URL with the schema as its `search_path`.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }

    /// Drops the schema now (also done on drop).
    pub async fn drop_now(&self) -> Result<()> {
        let admin = PgPoolOptions::new().max_connections(1).connect(&self.base).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)))
            .execute(&admin)
            .await?;
        admin.close().await;
        Ok(())
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        // Drop has no async: a short-lived runtime on its own thread, so this works inside
        // and outside a tokio runtime alike.
        let (base, name) = (self.base.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let admin = PgPoolOptions::new().max_connections(1).connect(&base).await.ok()?;
                let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&admin).await.ok();
                admin.close().await;
                done
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("coord-store: could not drop the scratch schema {} (drop it by hand)", self.name);
        }
    }
}
