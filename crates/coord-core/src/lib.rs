//! The vocabulary of backend-coordinator and its pure algorithms.
//!
//! This crate owns the types every other crate speaks: the [`Analysis`] of an objective, the
//! [`Plan`] of [`Task`]s, the [`Specialist`]s of a [`Roster`] with their [`ContextPolicy`],
//! the [`ContextItem`]s a brief may carry, and the [`Brief`] itself. It also owns the
//! algorithms that need no I/O: DAG validation ([`dag::validate`]), parallel groups,
//! the critical path, and context filtering. It performs no I/O and has no async code.
//!
//! ```
//! use coord_core::{Plan, Task, dag};
//! let mut plan = Plan::new("Add a health endpoint");
//! plan.tasks.push(Task::new("backend-T001", "Design the API", "api-architect"));
//! let mut impl_task = Task::new("backend-T002", "Implement it", "nodejs-expert");
//! impl_task.depends_on.push("backend-T001".into());
//! plan.tasks.push(impl_task);
//! let valid = dag::validate(plan, |_| true).unwrap();
//! assert_eq!(valid.plan().groups, vec![vec!["backend-T001".to_string()], vec!["backend-T002".to_string()]]);
//! ```

pub mod analysis;
pub mod brief;
pub mod context;
pub mod dag;
pub mod facet;
pub mod plan;
pub mod specialist;
pub mod workflow;

pub use analysis::{
    Analysis, ApiStyle, Endpoint, EndpointSource, Integration, Language, Requirement, RequirementKind, StackDecision,
    StackSource,
};
pub use brief::{Brief, ExcludedItem, render_brief, render_brief_delivered, render_brief_with};
pub use context::{ContextCategory, ContextItem, ContextPolicy};
pub use dag::{PlanError, PlanErrors, ValidatedPlan};
pub use facet::Facet;
pub use plan::{Plan, Priority, Requirements, Task, TaskKind};
pub use specialist::{Roster, Specialist};
pub use workflow::{COORDINATOR, Rollout, Workflow, WorkflowKind, WorkflowStage, WorkflowStep};
