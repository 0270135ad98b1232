//! The coordinator's executor: `backend-coordinator` does not write code, so its attempt at a
//! workflow step does nothing by itself; the step's check (see [`crate::workflow`]) runs as the
//! task's gate and decides. A task without an automated workflow step given to the coordinator
//! is refused, so the escalation protocol reassigns it to a specialist.

use super::{Executor, FailureCategory, Job, Outcome};

/// The executor of `backend-coordinator`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkflowExecutor;

impl Executor for WorkflowExecutor {
    fn kind(&self) -> &'static str {
        "workflow"
    }

    async fn execute(&self, job: &Job) -> Outcome {
        match job.workflow {
            Some(step) if step.is_automated() => {
                Outcome::Succeeded { artifacts: Vec::new(), summary: format!("the coordinator runs the {step} check") }
            }
            _ => Outcome::Failed {
                error: format!(
                    "@{} coordinates and does not write code: task {} needs a specialist",
                    coord_core::COORDINATOR,
                    job.task_id
                ),
                category: FailureCategory::General,
                retryable: false,
            },
        }
    }
}
