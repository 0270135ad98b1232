//! Runs plans. Owns the scheduler ([`scheduler`]: dispatch of ready tasks under a concurrency
//! limit, critical path first, leases with heartbeats, group commit of results, cancellation
//! and timeouts), workers that serve every run of a shared store ([`worker`]), one attempt as
//! both run it (`attempt`), the escalation protocol ([`escalation`]: the spec's four levels as
//! an explicit policy), the executors ([`executor`]), the run configuration read from
//! `coord.toml` ([`config`]), the metrics computed from the event log ([`metrics`]), and the
//! coordinator's own checks of the coordination workflows ([`workflow`]), and the operations
//! people and agent hosts share: starting a run ([`start`]) and manual work on tasks
//! ([`manual`]), used alike by the CLI, the HTTP server and the MCP server; where each
//! attempt works and how results are integrated ([`workspace`]); and who holds a lease and
//! whether that process is gone ([`owner`]).

mod attempt;
pub mod config;
pub mod decide;
pub mod driver;
pub mod escalation;
pub mod events;
pub mod executor;
pub mod gating;
pub mod judge;
pub mod manual;
pub mod metrics;
pub mod notify;
pub mod owner;
pub mod redact;
mod run_report;
pub mod scheduler;
pub mod start;
pub mod upstream;
mod watch;
pub mod worker;
pub mod workflow;
mod workflow_gate;
pub mod workspace;

pub use config::{Config, ConfigError, ExecutorKind, SpecialistConfig};
pub use decide::{DecisionError, Resolution};
pub use escalation::{Failure, Policy, Step};
pub use executor::{Executor, FailureCategory, Job, Outcome};
pub use owner::{owner_id, owner_is_dead};
pub use run_report::RunReport;
pub use scheduler::{Halt, Progress, Runtime, RuntimeError};
pub use start::{PlannerChoice, RunSource, StartedRun, new_run_id, start_run};
pub use worker::{WorkerLog, WorkerOptions, WorkerReport};

/// Milliseconds since the Unix epoch: the store's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
