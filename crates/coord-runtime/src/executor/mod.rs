//! The `Executor` seam: a brief goes in, an [`Outcome`] comes out. Kinds: [`command`] (any
//! program; brief on stdin, task in the environment, the workspace diff as artifacts),
//! [`manual`] (a person or an agent host finishes the task through `coord task`), and the
//! bench-only [`bench`] executors (no-op and sleep) used by the scheduler benchmarks,
//! [`llm`] (an agent loop over a model with workspace-confined tools), and [`workflow`] (the
//! coordinator's own workflow steps, decided by their checks).

pub mod agent;
pub mod bench;
pub mod command;
pub mod confine;
pub mod llm;
pub mod workflow;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// What a failure was about; the escalation policy maps each to a level and a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCategory {
    /// An ordinary failure (exit code, test failure, syntax error): self-recovery first.
    General,
    /// Performance requirements look unachievable.
    Performance,
    /// A database design question or conflict.
    Database,
    /// The implementation and the API contract disagree.
    ApiContract,
    /// An architectural question or mismatch.
    Architecture,
    /// A security concern.
    Security,
    /// A breaking change is needed.
    BreakingChange,
    /// A conflict with another service.
    CrossService,
    /// The work will not fit the timeline.
    Timeline,
    /// The task's result conflicts with work already merged into the run's integration branch.
    MergeConflict,
}

impl FailureCategory {
    /// The name used in configuration and in the escalation JSON line.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCategory::General => "general",
            FailureCategory::Performance => "performance",
            FailureCategory::Database => "database",
            FailureCategory::ApiContract => "api_contract",
            FailureCategory::Architecture => "architecture",
            FailureCategory::Security => "security",
            FailureCategory::BreakingChange => "breaking_change",
            FailureCategory::CrossService => "cross_service",
            FailureCategory::Timeline => "timeline",
            FailureCategory::MergeConflict => "merge_conflict",
        }
    }
}

impl fmt::Display for FailureCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FailureCategory {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "general" => FailureCategory::General,
            "performance" => FailureCategory::Performance,
            "database" => FailureCategory::Database,
            "api_contract" => FailureCategory::ApiContract,
            "architecture" => FailureCategory::Architecture,
            "security" => FailureCategory::Security,
            "breaking_change" => FailureCategory::BreakingChange,
            "cross_service" => FailureCategory::CrossService,
            "timeline" => FailureCategory::Timeline,
            "merge_conflict" => FailureCategory::MergeConflict,
            other => {
                return Err(format!(
                    "unknown failure category `{other}` (use performance, database, api_contract, architecture, security, breaking_change, cross_service, timeline or merge_conflict)"
                ));
            }
        })
    }
}

/// One attempt of one task, as an executor receives it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The run.
    pub run_id: String,
    /// The task.
    pub task_id: String,
    /// The attempt number, from 1.
    pub attempt: i64,
    /// The specialist doing the work.
    pub specialist: String,
    /// The brief (the spec's delegation template, filtered), markdown.
    pub brief: String,
    /// The target repository: the command's working directory.
    pub workspace: PathBuf,
    /// A folder for this attempt's files (brief, stdout, stderr).
    pub attempt_dir: PathBuf,
    /// Stable across retries of the same attempt: `run/task/attempt`, so effects can be made
    /// exactly-once by the executor.
    pub idempotency_key: String,
    /// How long the attempt may take.
    pub timeout: Duration,
    /// The task's estimate in hours (the sleep bench executor simulates it).
    pub estimate_hours: f64,
    /// The coordination-workflow step the task carries out, if any.
    pub workflow: Option<coord_core::WorkflowStep>,
    /// Folders its commands may read besides the workspace (the repository's git folder).
    pub readable: Vec<PathBuf>,
    /// The run's LLM spending cap, shared by its attempts in this process (when the run has a
    /// budget): model calls reserve against it, agent CLIs add what they report.
    pub run_cap: Option<std::sync::Arc<coord_llm::SpendCap>>,
}

/// The start of the reason an attempt gives when the run's LLM budget stopped it: such an
/// escalation parks at once (no specialist can fix it; a person raises the budget or decides).
pub const RUN_BUDGET_REACHED: &str = "the run's LLM budget is reached";

/// How an attempt ended, as the executor saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The work is done.
    Succeeded {
        /// Files the attempt changed (relative to the workspace).
        artifacts: Vec<String>,
        /// A short summary for the record.
        summary: String,
    },
    /// The work failed.
    Failed {
        /// What went wrong, for the record and for the next brief.
        error: String,
        /// What kind of failure it is.
        category: FailureCategory,
        /// Whether trying again can help (false for a missing program, say).
        retryable: bool,
    },
    /// The specialist asked for escalation.
    EscalationRequested {
        /// The category it gave.
        category: FailureCategory,
        /// Its reason.
        reason: String,
    },
}

/// The seam where executors plug in. Dropping the returned future cancels the attempt; an
/// executor must then stop its work (the command executor kills the process group).
pub trait Executor: Send + Sync {
    /// The executor's kind, for the record (`command`, `manual`, `noop`, `sleep`).
    fn kind(&self) -> &'static str;
    /// Runs one attempt.
    fn execute(&self, job: &Job) -> impl std::future::Future<Output = Outcome> + Send;
}
