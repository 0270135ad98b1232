//! Bench-only executors, labelled as such wherever they appear: `noop` returns at once and
//! `sleep` waits for a fixed time. They measure the scheduler and the store, not any work.

use super::{Executor, Job, Outcome};
use std::time::Duration;

/// Returns success at once. For benchmarks only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopExecutor;

impl Executor for NoopExecutor {
    fn kind(&self) -> &'static str {
        "noop (bench only)"
    }
    async fn execute(&self, _job: &Job) -> Outcome {
        // The start time lets a benchmark measure claim-to-start from the store alone (the
        // claim's time is the attempt's `started_at`).
        Outcome::Succeeded { artifacts: Vec::new(), summary: format!("noop started_at_ms={}", crate::now_ms()) }
    }
}

/// Sleeps, then succeeds. The scheduler passes the task's simulated duration in the job's
/// timeout-independent `sleep` field. For benchmarks only.
#[derive(Debug, Clone, Copy)]
pub struct SleepExecutor {
    /// Milliseconds slept per estimated hour of the task.
    pub ms_per_hour: u64,
}

impl SleepExecutor {
    /// How long a task with this estimate sleeps.
    pub fn duration(&self, estimate_hours: f64) -> Duration {
        Duration::from_micros((estimate_hours.max(0.0) * self.ms_per_hour as f64 * 1000.0) as u64)
    }
}

impl Executor for SleepExecutor {
    fn kind(&self) -> &'static str {
        "sleep (bench only)"
    }
    async fn execute(&self, job: &Job) -> Outcome {
        // Tokio's timer rounds a sleep up to its next millisecond tick (20.3 ms sleeps 21): it
        // sleeps all but the last 2 ms, and a thread's sleep, within tens of microseconds, the
        // rest (short, so a cancelled attempt does not hold the runtime's shutdown).
        let deadline = std::time::Instant::now() + self.duration(job.estimate_hours);
        let coarse = deadline.checked_sub(Duration::from_millis(2));
        if let Some(coarse) = coarse {
            tokio::time::sleep_until(coarse.into()).await;
        }
        let _ = tokio::task::spawn_blocking(move || {
            std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now()))
        })
        .await;
        Outcome::Succeeded { artifacts: Vec::new(), summary: "slept".into() }
    }
}
