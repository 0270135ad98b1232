//! The tools' input types: each derives its JSON Schema, which the server publishes as the
//! tool's `inputSchema`, and unknown fields are refused.

use schemars::JsonSchema;
use serde::Deserialize;

/// `plan_objective`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanObjective {
    /// The backend objective, e.g. "Add user authentication system with OAuth2 and JWT".
    pub objective: String,
    /// Force the stack: node, python, java or graphql.
    pub stack: Option<String>,
    /// Who plans: "auto" (default: the configured model if any), "rules" or "llm".
    pub planner: Option<String>,
    /// Include the coordination workflows the objective calls for (migration replay and
    /// deployment, contract publishing, frontend review, contract test). Default true.
    pub workflows: Option<bool>,
}

/// `list_tasks`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasks {
    /// The run (default: the newest running run).
    pub run: Option<String>,
    /// Only tasks in this state: pending, ready, running, done, retrying, escalated, blocked...
    pub state: Option<String>,
    /// At most this many tasks in the answer (default 500, at most 5,000).
    pub limit: Option<u32>,
    /// Where to go on: the `next_cursor` of the previous answer.
    pub cursor: Option<String>,
}

/// `next_ready_tasks`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NextReady {
    /// The run (default: the newest running run).
    pub run: Option<String>,
    /// Only tasks of this specialist (e.g. nodejs-expert).
    pub specialist: Option<String>,
    /// At most this many (default 10).
    pub limit: Option<u32>,
}

/// A task of a run (`get_brief`, `claim_task`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    /// The run (default: the newest running run that has the task).
    pub run: Option<String>,
    /// The task id, e.g. backend-T001.
    pub task: String,
}

/// `submit_result`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitResult {
    /// The run (default: the newest running run that has the task).
    pub run: Option<String>,
    /// The task id.
    pub task: String,
    /// What was done.
    pub summary: String,
    /// Files produced or changed, relative to the project; the task's quality gates check them.
    #[serde(default)]
    pub artifacts: Vec<String>,
}

/// `escalate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalate {
    /// The run (default: the newest running run that has the task).
    pub run: Option<String>,
    /// The task id.
    pub task: String,
    /// Why the task cannot be finished as briefed.
    pub reason: String,
    /// The spec's trigger: performance, database, api_contract, architecture, security,
    /// breaking_change, cross_service, timeline (or general).
    pub category: String,
}

/// `resolve_escalation`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// The escalation id (from list_tasks or an escalate answer).
    pub id: i64,
    /// retry, reassign:NAME, approve, skip or abort.
    pub decision: String,
    /// What you decided and why: advice for the next attempt (it joins the task's next brief),
    /// or why you approve. At most 8,000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// `run_gates`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunGates {
    /// Gates: api, code, security, performance, database, testing, documentation (default all
    /// but testing).
    #[serde(default)]
    pub gates: Vec<String>,
    /// Only findings in these files (relative to the project); default all.
    #[serde(default)]
    pub files: Vec<String>,
}

/// `metrics`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsOf {
    /// One run; default all runs.
    pub run: Option<String>,
}
