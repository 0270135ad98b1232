//! The spec's two coordination procedures ("Database Change Coordination" and "API Contract
//! Coordination") as data a plan carries: which step a task is ([`WorkflowStep`]), and for each
//! procedure the steps in order with how each one is checked, the rollout strategy and what to
//! monitor after deploying ([`Workflow`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The coordinator itself: the specialist that owns the automated workflow steps.
pub const COORDINATOR: &str = "backend-coordinator";

/// A step of a coordination workflow that a task carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowStep {
    /// Database change, step 3 (with step 2 checked): replay every migration up, down and up on
    /// a scratch database, compare schema snapshots, demand an approval for data-loss
    /// statements, and write the deployment note. Automated.
    MigrationReplay,
    /// Database change, steps 4–6: `@database-admin` coordinates the deployment with the
    /// deployment note, the rollout strategy and the monitoring plan.
    Deployment,
    /// API contract, step 2: store the OpenAPI document versioned in the run, export it to the
    /// repository's contracts folder and classify every change against the previous version.
    /// Automated.
    ContractPublish,
    /// API contract, step 3: the frontend validates the contract (a person or the
    /// `frontend-coordinator` agent), with the classified diff attached.
    ContractReview,
    /// API contract, step 5: start the implemented service, send requests generated from the
    /// contract to every operation and check the answers. Automated.
    ContractTest,
}

impl WorkflowStep {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStep::MigrationReplay => "migration-replay",
            WorkflowStep::Deployment => "deployment",
            WorkflowStep::ContractPublish => "contract-publish",
            WorkflowStep::ContractReview => "contract-review",
            WorkflowStep::ContractTest => "contract-test",
        }
    }

    /// Whether the coordinator performs the step itself, by running a check (the other steps
    /// are work for a specialist or a person).
    pub fn is_automated(self) -> bool {
        matches!(self, WorkflowStep::MigrationReplay | WorkflowStep::ContractPublish | WorkflowStep::ContractTest)
    }
}

impl fmt::Display for WorkflowStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowKind {
    /// "Database Change Coordination".
    DatabaseChange,
    /// "API Contract Coordination".
    ApiContract,
}

impl WorkflowKind {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowKind::DatabaseChange => "database-change",
            WorkflowKind::ApiContract => "api-contract",
        }
    }
}

/// One numbered step of a procedure, and where in the plan it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStage {
    /// The spec's wording of the step.
    pub step: String,
    /// The task that carries it out, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// How the step is checked: by which machine check, or by whom.
    pub checked_by: String,
}

/// A rollout strategy and why it fits the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// `expand/contract`, `canary` or `blue-green`.
    pub strategy: String,
    /// Why.
    pub reason: String,
}

/// A coordination procedure as the plan runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Which procedure.
    pub kind: WorkflowKind,
    /// Its steps in the spec's order.
    pub stages: Vec<WorkflowStage>,
    /// The rollout strategy (database changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// What to watch after deploying, with thresholds (database changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitoring: Vec<String>,
}
