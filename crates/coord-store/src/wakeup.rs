//! Waking idle workers when tasks become ready: `LISTEN/NOTIFY` on PostgreSQL (every
//! transaction that makes a task claimable notifies the store's channel when it commits), and a
//! polling fallback for SQLite, for backoffs that end without a transaction, and for the moments
//! the listening connection is down (a restarted server: notifications sent meanwhile are lost,
//! so the poll is what guarantees progress).

use sqlx::postgres::PgListener;
use std::time::Duration;

/// Where a waiting worker's wake-up comes from.
pub struct ReadySignal {
    listener: Option<PgListener>,
    /// Why the listener is off, once (printed by the worker).
    trouble: Option<String>,
}

impl std::fmt::Debug for ReadySignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadySignal").field("listening", &self.listener.is_some()).finish()
    }
}

impl ReadySignal {
    /// No notifications: every wait lasts its whole timeout.
    pub fn polling() -> ReadySignal {
        ReadySignal { listener: None, trouble: None }
    }

    pub(crate) fn listening(listener: PgListener) -> ReadySignal {
        ReadySignal { listener: Some(listener), trouble: None }
    }

    /// Whether a notification can end a wait early.
    pub fn is_listening(&self) -> bool {
        self.listener.is_some()
    }

    /// What went wrong with the listening connection since the last call, if anything. The
    /// listener reconnects by itself; until then waits last their timeout.
    pub fn take_trouble(&mut self) -> Option<String> {
        self.trouble.take()
    }

    /// Waits until tasks may have become ready or `timeout` passed. Returns whether a
    /// notification ended the wait. Notifications that arrived meanwhile are drained, so one
    /// wait consumes a burst of them.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        let Some(listener) = self.listener.as_mut() else {
            tokio::time::sleep(timeout).await;
            return false;
        };
        match tokio::time::timeout(timeout, listener.try_recv()).await {
            Err(_) => false,
            Ok(Ok(Some(_))) => {
                while listener.next_buffered().is_some() {}
                true
            }
            // The connection was lost; it reconnects on the next call. Notifications sent in
            // between are gone, which the caller's next claim makes up for.
            Ok(Ok(None)) => {
                self.trouble = Some("the notification connection was lost; reconnecting".into());
                true
            }
            Ok(Err(e)) => {
                self.trouble = Some(format!("cannot listen for notifications ({e}); polling until it comes back"));
                tokio::time::sleep(timeout).await;
                false
            }
        }
    }
}
