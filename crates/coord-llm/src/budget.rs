//! A spending cap shared by concurrent model calls (a run's `run_tokens` / `run_cost_usd`).
//! Each call reserves what it may cost before it is sent — its output limit and an estimate of
//! its input, priced — and settles with what it really cost after. A call is allowed while what
//! is spent plus what calls under way have reserved is below the cap, so parallel calls cannot
//! overspend it together: the most a run spends is the cap plus one call's reservation.

use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Default)]
struct Totals {
    spent_tokens: u64,
    spent_cost: f64,
    reserved_tokens: u64,
    reserved_cost: f64,
}

/// The cap and what is spent and reserved against it.
#[derive(Debug)]
pub struct SpendCap {
    tokens: Option<u64>,
    cost: Option<f64>,
    totals: Mutex<Totals>,
}

/// A call's reservation: settle it with the call's real usage, or drop it (a call that was
/// never answered costs nothing).
#[derive(Debug)]
pub struct Reservation {
    cap: Arc<SpendCap>,
    tokens: u64,
    cost: f64,
    open: bool,
}

impl SpendCap {
    /// A cap of `tokens` and/or `cost` dollars, `spent` already (tokens, dollars).
    pub fn new(tokens: Option<u64>, cost: Option<f64>, spent: (u64, f64)) -> Arc<SpendCap> {
        Arc::new(SpendCap {
            tokens,
            cost,
            totals: Mutex::new(Totals { spent_tokens: spent.0, spent_cost: spent.1, ..Totals::default() }),
        })
    }

    fn totals(&self) -> std::sync::MutexGuard<'_, Totals> {
        self.totals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why no call may start now (the cap is reached by what is spent and reserved), if so.
    pub fn refusal(&self) -> Option<String> {
        let t = self.totals();
        let over_tokens = self.tokens.is_some_and(|c| t.spent_tokens + t.reserved_tokens >= c);
        let over_cost = self.cost.is_some_and(|c| t.spent_cost + t.reserved_cost >= c);
        (over_tokens || over_cost).then(|| {
            format!(
                "the run's LLM budget is reached: {} tokens and ${:.4} spent, {} tokens and ${:.4} reserved by calls under way (cap: {}{})",
                t.spent_tokens,
                t.spent_cost,
                t.reserved_tokens,
                t.reserved_cost,
                self.tokens.map(|c| format!("{c} tokens")).unwrap_or_default(),
                self.cost.map(|c| format!("{}${c:.4}", if self.tokens.is_some() { ", " } else { "" })).unwrap_or_default(),
            )
        })
    }

    /// Reserves a call's worst case; refused (with why) when the cap is reached.
    pub fn reserve(self: &Arc<Self>, tokens: u64, cost: f64) -> Result<Reservation, String> {
        let mut t = self.totals();
        let over_tokens = self.tokens.is_some_and(|c| t.spent_tokens + t.reserved_tokens >= c);
        let over_cost = self.cost.is_some_and(|c| t.spent_cost + t.reserved_cost >= c);
        if over_tokens || over_cost {
            drop(t);
            return Err(self.refusal().unwrap_or_else(|| "the run's LLM budget is reached".into()));
        }
        t.reserved_tokens += tokens;
        t.reserved_cost += cost;
        Ok(Reservation { cap: self.clone(), tokens, cost, open: true })
    }

    /// Counts spending that was not reserved (an agent CLI's whole run).
    pub fn add(&self, tokens: u64, cost: f64) {
        let mut t = self.totals();
        t.spent_tokens += tokens;
        t.spent_cost += cost;
    }

    /// Dollars left under the cost cap (what is spent and reserved taken off), when there is one.
    pub fn remaining_cost(&self) -> Option<f64> {
        let t = self.totals();
        self.cost.map(|c| (c - t.spent_cost - t.reserved_cost).max(0.0))
    }

    /// What is spent (tokens, dollars).
    pub fn spent(&self) -> (u64, f64) {
        let t = self.totals();
        (t.spent_tokens, t.spent_cost)
    }
}

impl Reservation {
    /// Replaces the reservation by the call's real usage.
    pub fn settle(mut self, tokens: u64, cost: f64) {
        self.release();
        self.cap.add(tokens, cost);
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.open) {
            let mut t = self.cap.totals();
            t.reserved_tokens = t.reserved_tokens.saturating_sub(self.tokens);
            t.reserved_cost = (t.reserved_cost - self.cost).max(0.0);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_reservations_stop_at_the_cap() {
        let cap = SpendCap::new(None, Some(0.05), (0, 0.0));
        let a = cap.reserve(1000, 0.03).unwrap();
        let b = cap.reserve(1000, 0.03).unwrap();
        assert!(cap.reserve(1000, 0.03).is_err(), "0.06 reserved: over the cap");
        a.settle(500, 0.01);
        drop(b);
        let c = cap.reserve(1000, 0.03).unwrap();
        assert!(cap.refusal().is_none(), "0.01 spent and 0.03 reserved: below the cap");
        c.settle(900, 0.045);
        let err = cap.reserve(10, 0.001).unwrap_err();
        assert!(err.contains("$0.0550 spent"), "{err}");
    }
}
