//! Database query times of the service under test, read from PostgreSQL's `pg_stat_statements`
//! before and after the contract test: the difference is what the test's requests made the
//! database do, per normalised statement (calls and execution time). This is the spec's
//! `database_query_performance`, measured on the database the service really uses rather than
//! estimated.
//!
//! It needs the extension in that database (`shared_preload_libraries = 'pg_stat_statements'`
//! in the server's configuration, then `CREATE EXTENSION pg_stat_statements`); without it the
//! reading is a note, never a failure. Statements are PostgreSQL's normalised texts (constants
//! replaced by `$1`), cut to [`QUERY_TEXT_LIMIT`] characters; coord's own reads are left out.

use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use std::collections::HashMap;
use std::str::FromStr;

/// Characters of a statement's text kept in reports.
pub const QUERY_TEXT_LIMIT: usize = 200;

/// The statistics of one database at one moment, by statement id.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    by_id: HashMap<i64, (i64, f64, String)>,
}

/// One statement's share of the difference between two readings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementTime {
    /// The normalised statement, cut to [`QUERY_TEXT_LIMIT`] characters.
    pub query: String,
    /// Executions between the readings.
    pub calls: u64,
    /// Execution time of those calls, seconds.
    pub total_seconds: f64,
    /// Mean execution time, seconds.
    pub mean_seconds: f64,
}

/// What the database did between two readings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryTimes {
    /// Executions of every statement.
    pub calls: u64,
    /// Their execution time, seconds.
    pub total_seconds: f64,
    /// Per statement, the most time-consuming first.
    pub statements: Vec<StatementTime>,
}

impl QueryTimes {
    /// Mean execution time of a query, seconds (none without calls).
    pub fn mean_seconds(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.total_seconds / self.calls as f64)
    }
}

/// Why the statistics could not be read. The message never holds the URL.
#[derive(Debug, thiserror::Error)]
pub enum QueryStatsError {
    /// The URL is not a PostgreSQL one.
    #[error("query times are read from PostgreSQL's pg_stat_statements; the URL is not a postgres:// one")]
    NotPostgres,
    /// The extension is not installed in that database.
    #[error(
        "pg_stat_statements is not installed in that database (set shared_preload_libraries = 'pg_stat_statements' in the server's configuration, restart it, then CREATE EXTENSION pg_stat_statements)"
    )]
    NoExtension,
    /// The database refused or failed.
    #[error("the database failed: {0}")]
    Database(String),
}

/// Reads the statistics of the database at `url` (the statements of that database only).
pub async fn read(url: &str) -> Result<Reading, QueryStatsError> {
    if crate::replay::ReplicaKind::of_url(url) != Some(crate::replay::ReplicaKind::Postgres) {
        return Err(QueryStatsError::NotPostgres);
    }
    let scrub = |e: sqlx::Error| QueryStatsError::Database(e.to_string().replace(url, "(the database URL)"));
    let options = PgConnectOptions::from_str(url).map_err(scrub)?.disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options).await.map_err(scrub)?;
    let installed: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        .fetch_optional(&mut conn)
        .await
        .map_err(scrub)?;
    if installed.is_none() {
        let _ = conn.close().await;
        return Err(QueryStatsError::NoExtension);
    }
    let rows = sqlx::query(
        "SELECT queryid, calls, total_exec_time, query FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(scrub)?;
    let _ = conn.close().await;
    let mut reading = Reading::default();
    for r in rows {
        let id: i64 = r.try_get("queryid").map_err(scrub)?;
        let calls: i64 = r.try_get("calls").map_err(scrub)?;
        let total_ms: f64 = r.try_get("total_exec_time").map_err(scrub)?;
        let query: Option<String> = r.try_get("query").map_err(scrub)?;
        let query = query.unwrap_or_default();
        // coord's own reading of the statistics is not the service's work.
        if query.contains("pg_stat_statements") || query.contains("pg_extension") {
            continue;
        }
        reading.by_id.insert(id, (calls, total_ms, query));
    }
    Ok(reading)
}

/// What happened between `before` and `after`: statements whose call count grew (a statistics
/// reset in between counts from zero).
pub fn difference(before: &Reading, after: &Reading) -> QueryTimes {
    let mut out = QueryTimes::default();
    for (id, (calls, total_ms, query)) in &after.by_id {
        let (calls0, total0) = match before.by_id.get(id) {
            Some((c, t, _)) if c <= calls => (*c, *t),
            _ => (0, 0.0),
        };
        let n = (calls - calls0).max(0) as u64;
        if n == 0 {
            continue;
        }
        let seconds = ((total_ms - total0) / 1000.0).max(0.0);
        let one_line = query.split_whitespace().collect::<Vec<_>>().join(" ");
        let query = match one_line.char_indices().nth(QUERY_TEXT_LIMIT) {
            Some((i, _)) => format!("{}…", &one_line[..i]),
            None => one_line,
        };
        out.calls += n;
        out.total_seconds += seconds;
        out.statements.push(StatementTime {
            query,
            calls: n,
            total_seconds: seconds,
            mean_seconds: seconds / n as f64,
        });
    }
    out.statements.sort_by(|a, b| b.total_seconds.total_cmp(&a.total_seconds).then_with(|| a.query.cmp(&b.query)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(rows: &[(i64, i64, f64, &str)]) -> Reading {
        Reading { by_id: rows.iter().map(|(id, c, t, q)| (*id, (*c, *t, q.to_string()))).collect() }
    }

    #[test]
    fn the_difference_counts_only_what_happened_between_the_readings() {
        let before = reading(&[(1, 10, 100.0, "SELECT a"), (2, 5, 50.0, "SELECT b")]);
        let after = reading(&[(1, 14, 140.0, "SELECT a"), (2, 5, 50.0, "SELECT b"), (3, 2, 1.0, "INSERT c")]);
        let d = difference(&before, &after);
        assert_eq!(d.calls, 6);
        assert!((d.total_seconds - 0.041).abs() < 1e-9, "{d:?}");
        assert_eq!(d.statements.len(), 2);
        assert_eq!((d.statements[0].query.as_str(), d.statements[0].calls), ("SELECT a", 4));
        assert!((d.statements[0].mean_seconds - 0.01).abs() < 1e-9);
        assert_eq!(d.statements[1].query, "INSERT c");
        // Statistics reset between the readings: the after counts are all new.
        let reset = difference(&reading(&[(1, 100, 10.0, "SELECT a")]), &reading(&[(1, 3, 0.3, "SELECT a")]));
        assert_eq!(reset.calls, 3);
        assert_eq!(difference(&after, &after), QueryTimes::default());
    }
}
