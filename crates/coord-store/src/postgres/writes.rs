//! One write transaction on PostgreSQL, with what must happen at its end in a fixed order.
//!
//! Events are buffered while the transaction changes state, then inserted in one statement just
//! before the commit, after taking a transaction-scoped advisory lock per run (sorted, so two
//! writers never deadlock on them). Since the sequence number is drawn after the lock, the events
//! of one run commit in `seq` order: a reader following `seq` never sees a later event before
//! an earlier one commits. Under the same lock the run's state is settled (done when every task
//! is, failed when nothing can move), so two workers finishing a run's last two tasks at once
//! cannot both miss that the run is done. A transaction that made tasks claimable notifies the
//! store's channel; PostgreSQL delivers it at commit.
//!
//! The advisory lock is the last lock a transaction takes: after it, only the `runs` row
//! (settling) and the events are written, so a holder never waits for a task row.

use crate::{Result, StoreError};
use sqlx::{PgConnection, Postgres, Transaction};

/// The first key of coord's advisory locks ("CORD"); the second is the hash of the run id.
pub(super) const LOCK_CLASS: i32 = 0x434F_5244;

/// A write transaction with its buffered events.
pub(super) struct Writes {
    tx: Transaction<'static, Postgres>,
    runs: Vec<String>,
    tasks: Vec<Option<String>>,
    at: Vec<i64>,
    kinds: Vec<String>,
    data: Vec<String>,
    settle: Vec<String>,
    settle_at: i64,
    wake: bool,
}

impl Writes {
    pub(super) fn new(tx: Transaction<'static, Postgres>) -> Writes {
        Writes {
            tx,
            runs: Vec::new(),
            tasks: Vec::new(),
            at: Vec::new(),
            kinds: Vec::new(),
            data: Vec::new(),
            settle: Vec::new(),
            settle_at: 0,
            wake: false,
        }
    }

    /// The connection, for the transaction's statements.
    pub(super) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Buffers an event; it is inserted at commit.
    pub(super) fn event(&mut self, run: &str, task: Option<&str>, kind: &str, data: serde_json::Value, now: i64) {
        self.runs.push(run.to_string());
        self.tasks.push(task.map(str::to_string));
        self.at.push(now);
        self.kinds.push(kind.to_string());
        self.data.push(data.to_string());
    }

    /// Asks for the run's state to be settled at commit, under its lock.
    pub(super) fn settle(&mut self, run: &str, now: i64) {
        if !self.settle.iter().any(|r| r == run) {
            self.settle.push(run.to_string());
        }
        self.settle_at = self.settle_at.max(now);
    }

    /// Tasks became claimable: waiting workers are notified at commit.
    pub(super) fn wake(&mut self) {
        self.wake = true;
    }

    /// Locks the runs written, settles them, inserts the events, notifies, commits. On an
    /// error the transaction is rolled back at once (not when the connection is next used), so
    /// no lock outlives the failure.
    pub(super) async fn commit(mut self, channel: &str) -> Result<()> {
        if let Err(e) = self.flush(channel).await {
            self.rollback().await;
            return Err(e);
        }
        self.tx.commit().await?;
        Ok(())
    }

    /// Ends the transaction without applying it.
    pub(super) async fn rollback(self) {
        // A rollback that fails leaves a broken connection, which the pool discards.
        let _ = self.tx.rollback().await;
    }

    async fn flush(&mut self, channel: &str) -> Result<()> {
        let mut locked: Vec<&String> = self.runs.iter().chain(self.settle.iter()).collect();
        locked.sort_unstable();
        locked.dedup();
        if !locked.is_empty() || self.wake {
            // The locks (sorted by key) and the notification in one round trip; notifications
            // are delivered at commit, so their place in the transaction does not matter.
            let locked: Vec<String> = locked.into_iter().cloned().collect();
            sqlx::query(
                "SELECT (SELECT count(*) FROM (
                             SELECT pg_advisory_xact_lock($1, h)
                             FROM (SELECT DISTINCT hashtext(r) AS h FROM unnest($2::text[]) AS r) AS s ORDER BY h
                         ) AS l),
                        CASE WHEN $3 THEN pg_notify($4, '') END",
            )
            .bind(LOCK_CLASS)
            .bind(&locked)
            .bind(self.wake)
            .bind(channel)
            .execute(&mut *self.tx)
            .await?;
        }
        if self.runs.is_empty() && self.settle.is_empty() {
            return Ok(());
        }
        // Settling and the events in one statement, after the locks: its snapshot sees every
        // transaction that held them before. A run that settles logs `run_done` or
        // `run_failed` after the transaction's other events.
        sqlx::query(
            "WITH settled AS (
                 SELECT r AS run_id,
                        CASE WHEN NOT EXISTS (SELECT 1 FROM tasks WHERE run_id = r AND state IN
                                 ('pending', 'ready', 'running', 'gating', 'retrying', 'escalated', 'failed', 'blocked', 'cancelled'))
                             THEN 'done'
                             WHEN NOT EXISTS (SELECT 1 FROM tasks WHERE run_id = r AND state IN
                                 ('pending', 'ready', 'running', 'gating', 'retrying', 'escalated'))
                             THEN 'failed' END AS state
                 FROM unnest($6::text[]) AS r
             ),
             changed AS (
                 UPDATE runs SET state = s.state, updated_at = $7 FROM settled s
                 WHERE runs.id = s.run_id AND runs.state = 'running' AND s.state IS NOT NULL
                 RETURNING runs.id, runs.state
             )
             INSERT INTO events (run_id, task_id, at, kind, data)
             SELECT r, t, a, k, d FROM (
                 SELECT r, t, a, k, d, n
                 FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[]) WITH ORDINALITY AS e(r, t, a, k, d, n)
                 UNION ALL
                 SELECT id, NULL, $7, 'run_' || state, '{}', 9223372036854775807 FROM changed
             ) AS logged ORDER BY n",
        )
        .bind(&self.runs)
        .bind(&self.tasks)
        .bind(&self.at)
        .bind(&self.kinds)
        .bind(&self.data)
        .bind(&self.settle)
        .bind(self.settle_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

/// Whether a failed transaction may simply be run again: a deadlock PostgreSQL broke by
/// aborting it, or a serialization failure.
pub(super) fn is_retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01") | Some("40001"))
        }
        _ => false,
    }
}
