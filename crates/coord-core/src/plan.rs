//! Plans and tasks: every field of the spec's "Task Delegation Template", plus the derived
//! schedule (parallel groups and the critical path).

use crate::analysis::Analysis;
use crate::context::ContextItem;
use crate::workflow::{Workflow, WorkflowStep};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A plan: an objective decomposed into a dependency graph of tasks.
///
/// `groups`, `critical_path` and each task's `blocks` are derived by [`crate::dag::validate`];
/// a plan file written by a person may leave them out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The objective as given.
    pub objective: String,
    /// What the analyser understood of the objective.
    #[serde(default)]
    pub analysis: Analysis,
    /// Which planner produced the plan: `rules`, `llm` or `file`.
    #[serde(default = "default_planner")]
    pub planner: String,
    /// The context pool: every item the coordinator could hand to specialists.
    #[serde(default)]
    pub context: Vec<ContextItem>,
    /// The tasks, in plan order.
    pub tasks: Vec<Task>,
    /// Parallel groups: topological layers of task ids. Derived.
    #[serde(default)]
    pub groups: Vec<Vec<String>>,
    /// The chain of tasks with the largest summed estimate. Derived.
    #[serde(default)]
    pub critical_path: Vec<String>,
    /// Summed estimate of the critical path, in hours. Derived.
    #[serde(default)]
    pub critical_path_hours: f64,
    /// Remarks of the planner a person should read.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The coordination procedures the plan runs (database changes, API contracts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflows: Vec<Workflow>,
}

fn default_planner() -> String {
    "file".to_string()
}

impl Plan {
    /// An empty plan for an objective.
    pub fn new(objective: impl Into<String>) -> Self {
        Plan {
            objective: objective.into(),
            analysis: Analysis::default(),
            planner: default_planner(),
            context: Vec::new(),
            tasks: Vec::new(),
            groups: Vec::new(),
            critical_path: Vec::new(),
            critical_path_hours: 0.0,
            notes: Vec::new(),
            workflows: Vec::new(),
        }
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The context item with this id.
    pub fn context_item(&self, id: &str) -> Option<&ContextItem> {
        self.context.iter().find(|c| c.id == id)
    }
}

/// How urgent a task is. The spec's template shows `high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Blocks everything else.
    Critical,
    /// On the critical path or security relevant.
    High,
    /// Ordinary work.
    #[default]
    Medium,
    /// Can wait.
    Low,
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        })
    }
}

/// What kind of work a task is; gates and workflows key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Service architecture and patterns.
    Architecture,
    /// API contract design (OpenAPI or GraphQL schema).
    ApiDesign,
    /// Database schema and migrations.
    SchemaDesign,
    /// Endpoint or service implementation.
    #[default]
    Implementation,
    /// Integration with a third-party service.
    Integration,
    /// Cross-cutting middleware (authentication, rate limiting...).
    Middleware,
    /// Data access: repositories, CRUD, sessions.
    DataAccess,
    /// Database operations: backups, replicas, maintenance, deployment of migrations.
    DatabaseOperations,
    /// Query and index optimisation, caching.
    Optimization,
    /// Logging, metrics, tracing, alerting.
    Observability,
    /// Security review.
    SecurityAudit,
    /// Load and performance testing.
    PerformanceTest,
    /// Documentation.
    Documentation,
}

impl TaskKind {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Architecture => "architecture",
            TaskKind::ApiDesign => "api-design",
            TaskKind::SchemaDesign => "schema-design",
            TaskKind::Implementation => "implementation",
            TaskKind::Integration => "integration",
            TaskKind::Middleware => "middleware",
            TaskKind::DataAccess => "data-access",
            TaskKind::DatabaseOperations => "database-operations",
            TaskKind::Optimization => "optimization",
            TaskKind::Observability => "observability",
            TaskKind::SecurityAudit => "security-audit",
            TaskKind::PerformanceTest => "performance-test",
            TaskKind::Documentation => "documentation",
        }
    }
}

/// The REQUIREMENTS section of the delegation template, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Technical requirements.
    #[serde(default)]
    pub technical: Vec<String>,
    /// Security requirements.
    #[serde(default)]
    pub security: Vec<String>,
    /// Performance requirements (latency, throughput).
    #[serde(default)]
    pub performance: Vec<String>,
    /// Scalability requirements.
    #[serde(default)]
    pub scalability: Vec<String>,
}

impl Requirements {
    /// Whether no requirement of any kind is listed.
    pub fn is_empty(&self) -> bool {
        self.technical.is_empty()
            && self.security.is_empty()
            && self.performance.is_empty()
            && self.scalability.is_empty()
    }
}

/// One task: a unit of work for one specialist, with every field of the spec's template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// TASK ID, e.g. `backend-T001`. Letters, digits, `.`, `_` and `-` only.
    pub id: String,
    /// A short title.
    pub title: String,
    /// DELEGATION TO: the specialist's name.
    pub specialist: String,
    /// PRIORITY.
    #[serde(default)]
    pub priority: Priority,
    /// What kind of work this is.
    #[serde(default)]
    pub kind: TaskKind,
    /// OBJECTIVE: a clear description. Defaults to the title.
    #[serde(default)]
    pub objective: String,
    /// REQUIREMENTS.
    #[serde(default)]
    pub requirements: Requirements,
    /// ACCEPTANCE CRITERIA.
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    /// DEPENDENCIES / Depends on: ids of tasks that must be done first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// DEPENDENCIES / Blocks: ids of tasks that wait for this one. Derived from `depends_on`.
    #[serde(default)]
    pub blocks: Vec<String>,
    /// CONTEXT: ids of the plan's context items this task is given (before filtering).
    #[serde(default)]
    pub context: Vec<String>,
    /// EXPECTED OUTPUT.
    #[serde(default)]
    pub expected_output: Vec<String>,
    /// SUCCESS CRITERIA.
    #[serde(default)]
    pub success_criteria: Vec<String>,
    /// Estimated effort in hours; the critical path sums these.
    #[serde(default = "default_estimate")]
    pub estimate_hours: f64,
    /// The coordination-workflow step this task carries out, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowStep>,
    /// Why this specialist was chosen (the rule planner says; hand-written plans may too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_because: Option<String>,
}

fn default_estimate() -> f64 {
    1.0
}

impl Task {
    /// A task with the given id, title and specialist and every other field empty.
    pub fn new(id: impl Into<String>, title: impl Into<String>, specialist: impl Into<String>) -> Self {
        Task {
            id: id.into(),
            title: title.into(),
            specialist: specialist.into(),
            priority: Priority::default(),
            kind: TaskKind::default(),
            objective: String::new(),
            requirements: Requirements::default(),
            acceptance_criteria: Vec::new(),
            depends_on: Vec::new(),
            blocks: Vec::new(),
            context: Vec::new(),
            expected_output: Vec::new(),
            success_criteria: Vec::new(),
            estimate_hours: default_estimate(),
            workflow: None,
            assigned_because: None,
        }
    }
}
