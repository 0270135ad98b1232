//! The API's request and response bodies, with their OpenAPI schemas. Records of the store
//! and the runtime are converted into these, so the documented shape is the served shape.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The `{run}` of a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// Run id.
    #[param(pattern = r"^(?!\.+$)[A-Za-z0-9._-]{1,128}$")]
    pub run: String,
}

/// The `{run}` and `{task}` of a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// Run id.
    #[param(pattern = r"^(?!\.+$)[A-Za-z0-9._-]{1,128}$")]
    pub run: String,
    /// Task id.
    #[param(pattern = r"^(?!\.+$)[A-Za-z0-9._-]{1,128}$")]
    pub task: String,
}

/// The `{run}`, `{task}` and `{attempt}` of a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AttemptPath {
    /// Run id.
    #[param(pattern = r"^(?!\.+$)[A-Za-z0-9._-]{1,128}$")]
    pub run: String,
    /// Task id.
    #[param(pattern = r"^(?!\.+$)[A-Za-z0-9._-]{1,128}$")]
    pub task: String,
    /// Attempt number, from 1.
    pub attempt: i64,
}

/// A path relative to the project, without `..`.
#[derive(Debug, ToSchema)]
#[schema(pattern = r"^(?![/\\])(?!(.*[/\\])?\.\.([/\\]|$))[^\u0000]{1,4096}$")]
pub struct ArtifactPath(pub String);

/// A run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    /// Id.
    pub id: String,
    /// The objective.
    pub objective: String,
    /// `running`, `done`, `failed` or `cancelled`.
    #[schema(example = "running")]
    pub state: String,
    /// Created, unix ms.
    pub created_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
    /// Number of tasks by state.
    pub tasks: BTreeMap<String, u64>,
    /// Number of tasks.
    pub total_tasks: u64,
    /// Whether this server is executing its automatic tasks now.
    pub driving: bool,
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    /// The runs of this page.
    pub runs: Vec<RunView>,
    /// Runs matching the filter.
    pub total: u64,
    /// Page size.
    pub limit: u64,
    /// Runs skipped.
    pub offset: u64,
}

/// Filters and pagination of `GET /runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Only runs in this state.
    #[param(pattern = "^(running|done|failed|cancelled)$")]
    pub state: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Runs to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Who plans an objective.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlannerName {
    /// The configured model when there is one, else the rules.
    Auto,
    /// The rule-based planner.
    Rules,
    /// The configured model.
    Llm,
}

/// `POST /runs`: an objective to plan, or a plan (as `coord schema plan` describes it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRun {
    /// The objective, e.g. "Add user authentication system with OAuth2 and JWT".
    #[schema(min_length = 1, max_length = 65536)]
    pub objective: Option<String>,
    /// A plan instead of an objective.
    #[schema(value_type = Option<Object>)]
    pub plan: Option<serde_json::Value>,
    /// Force the stack: node, python, java or graphql.
    #[schema(pattern = "^(node|python|java|graphql)$")]
    pub stack: Option<String>,
    /// Who plans (default auto).
    pub planner: Option<PlannerName>,
    /// Whether the plan includes the coordination workflows the objective calls for (migration
    /// replay and deployment, contract publishing, frontend review, contract test); default true.
    pub workflows: Option<bool>,
}

/// A new run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunCreated {
    /// The run.
    pub run: RunView,
    /// Parallel groups of task ids, in order.
    pub groups: Vec<Vec<String>>,
    /// The critical path.
    pub critical_path: Vec<String>,
    /// What a person should know (the LLM planner was off...).
    pub warnings: Vec<String>,
}

/// A task of a run: the plan's fields and the store's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    /// Task id.
    pub task_id: String,
    /// Title.
    pub title: String,
    /// Kind of work.
    pub kind: String,
    /// Priority.
    pub priority: String,
    /// Its specialist now (may differ from the plan's after a reassignment).
    pub specialist: String,
    /// `pending`, `ready`, `running`, `gating`, `done`, `failed`, `retrying`, `escalated`,
    /// `blocked` or `cancelled`.
    pub state: String,
    /// Attempts started.
    pub attempts: i64,
    /// Escalation level reached.
    pub escalation_level: i64,
    /// Tasks it depends on.
    pub depends_on: Vec<String>,
    /// Its parallel group (0-based).
    pub group: u64,
    /// On the critical path.
    pub critical: bool,
    /// Whether the server's executors do it (otherwise a person or an agent host).
    pub automatic: bool,
    /// Not started before this time, unix ms (retry backoff).
    pub not_before: i64,
}

/// A page of tasks in plan order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    /// The tasks of this page.
    pub tasks: Vec<TaskView>,
    /// Tasks matching the filter.
    pub total: u64,
    /// Page size.
    pub limit: u64,
    /// Tasks skipped.
    pub offset: u64,
}

/// Filters and pagination of `GET /runs/{id}/tasks`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// Only tasks in this state.
    #[param(pattern = "^(pending|ready|running|gating|done|failed|retrying|escalated|blocked|cancelled)$")]
    pub state: Option<String>,
    /// Only tasks of this specialist.
    pub specialist: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Tasks to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// One attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// Attempt number.
    pub attempt: i64,
    /// Who did it.
    pub specialist: String,
    /// The coordinator or person that held the lease.
    pub owner: String,
    /// Started, unix ms.
    pub started_at: i64,
    /// Finished, unix ms.
    pub finished_at: Option<i64>,
    /// `succeeded`, `failed`, `interrupted` or `cancelled`.
    pub outcome: Option<String>,
    /// Error or summary.
    pub detail: Option<String>,
}

/// A line of feedback for the next brief.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackLine {
    /// Where it comes from.
    pub source: String,
    /// What it says.
    pub text: String,
}

/// One task with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDetail {
    /// The task.
    pub task: TaskView,
    /// Its objective.
    pub objective: String,
    /// Its attempts.
    pub attempts: Vec<AttemptView>,
    /// Feedback for its next attempt.
    pub feedback: Vec<FeedbackLine>,
    /// Its escalations, newest first.
    pub escalations: Vec<EscalationView>,
}

/// A task's brief.
#[derive(Debug, Serialize, ToSchema)]
pub struct BriefView {
    /// The run.
    pub run: String,
    /// The task.
    pub task: String,
    /// The specialist it is for.
    pub specialist: String,
    /// The delegation template, filled in.
    pub markdown: String,
}

/// A stored gate report.
#[derive(Debug, Serialize, ToSchema)]
pub struct GateReportView {
    /// The attempt it checked.
    pub attempt: i64,
    /// The gate.
    pub gate: String,
    /// Whether it passed.
    pub passed: bool,
    /// Findings, files scanned, artifacts.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// What an attempt left behind: an LLM transcript, or a command's output (last 64 KiB).
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptView {
    /// The attempt.
    pub attempt: i64,
    /// The LLM transcript, for LLM specialists.
    #[schema(value_type = Option<Object>)]
    pub transcript: Option<serde_json::Value>,
    /// Standard output of a command.
    pub stdout: Option<String>,
    /// Standard error of a command.
    pub stderr: Option<String>,
}

/// `POST .../claim`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// Who takes the task (default `web`).
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]{1,64}$")]
    pub who: Option<String>,
}

/// A claimed task.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    /// The run.
    pub run: String,
    /// The task.
    pub task: String,
    /// The attempt number.
    pub attempt: i64,
    /// The specialist.
    pub specialist: String,
    /// In a git repository: the task's worktree (on its branch, built on its dependencies'
    /// results). Completing the task commits, gates and merges what it holds.
    pub workspace: Option<String>,
    /// In a git repository: the task's branch.
    pub branch: Option<String>,
}

/// `POST .../complete`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// What was done.
    #[schema(max_length = 65536)]
    pub note: Option<String>,
    /// Files produced, relative to the project; they go through the task's quality gates.
    #[serde(default)]
    #[schema(value_type = Vec<ArtifactPath>, max_items = 1000)]
    pub artifacts: Vec<String>,
    /// Who did it (default `web`).
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]{1,64}$")]
    pub who: Option<String>,
}

/// `POST .../fail`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailBody {
    /// What went wrong.
    #[schema(min_length = 1, max_length = 65536)]
    pub note: String,
    /// performance, database, api_contract, architecture, security, breaking_change,
    /// cross_service, timeline (default general).
    #[schema(
        pattern = "^(general|performance|database|api_contract|architecture|security|breaking_change|cross_service|timeline)$"
    )]
    pub category: Option<String>,
    /// Who reports it (default `web`).
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]{1,64}$")]
    pub who: Option<String>,
}

/// The next step of the escalation protocol.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextStepView {
    /// `done`, `retry`, `consult`, `reassign`, `escalated` or `failed`.
    pub action: String,
    /// Escalation level.
    pub level: i64,
    /// The specialist it goes to next, on reassignment.
    pub specialist: Option<String>,
    /// Ready again at, unix ms.
    pub retry_at: Option<i64>,
    /// What happens.
    pub what: String,
}

/// What a completion or failure led to.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeView {
    /// The task.
    pub task: String,
    /// The recorded attempt.
    pub attempt: i64,
    /// Whether the task is done.
    pub accepted: bool,
    /// Why the result was refused, or what failed.
    pub error: Option<String>,
    /// The gate reports of this attempt.
    pub gates: Vec<GateReportView>,
    /// What happens next.
    pub next: NextStepView,
    /// Tasks ready now.
    pub ready: Vec<String>,
    /// The run's state.
    pub run_state: String,
}

/// An escalation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationView {
    /// Id.
    pub id: i64,
    /// The run.
    pub run_id: String,
    /// The task.
    pub task_id: String,
    /// Level (4 = strategic).
    pub level: i64,
    /// The failure category.
    pub category: String,
    /// Why.
    pub reason: String,
    /// `open` or `resolved`.
    pub state: String,
    /// The decision, once resolved.
    pub decision: Option<String>,
    /// What the person who decided wrote with the decision.
    pub note: Option<String>,
    /// Raised, unix ms.
    pub created_at: i64,
}

/// Filters of `GET /escalations`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EscalationQuery {
    /// Only this run's.
    #[param(pattern = r"^(?!\.+$)[A-Za-z0-9._-]{1,128}$")]
    pub run: Option<String>,
    /// `open` (default) or `all`.
    #[param(pattern = "^(open|all)$")]
    pub state: Option<String>,
}

/// `POST /escalations/{id}/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `retry`, `reassign:NAME`, `approve` (accept the result: a data-loss migration, a
    /// breaking contract change), `skip` or `abort`.
    #[schema(example = "retry", pattern = "^(retry|approve|skip|abort|reassign:@?[A-Za-z0-9._-]+)$")]
    pub decision: String,
    /// What you decided and why: advice that joins the task's next brief (the answer to a
    /// level-2 peer consultation), or why you approve. At most 8,000 characters.
    #[serde(default)]
    #[schema(max_length = 8000, example = "Add an index on orders(user_id, created_at) first.")]
    pub note: Option<String>,
}

/// A specialist of the roster.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    /// Name, without `@`.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its executor: manual, command, llm...
    pub executor: String,
    /// Whether the server executes its tasks.
    pub automatic: bool,
}

/// An entry of a run's event log.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Sequence number.
    pub seq: i64,
    /// The run.
    pub run_id: String,
    /// The task, for task events.
    pub task_id: Option<String>,
    /// When, unix ms.
    pub at: i64,
    /// What happened.
    pub kind: String,
    /// Details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Headers of `GET /runs/{run}/events` (documentation only: read from the header map).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct EventHeaders {
    /// Resume after this sequence number (browsers send it when they reconnect).
    #[param(rename = "Last-Event-ID", minimum = 0, nullable = false)]
    pub last_event_id: Option<i64>,
}

/// One server-sent event of `GET /runs/{run}/events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SseEvent {
    /// The event's sequence number.
    pub id: Option<String>,
    /// `message`, or `error` when the log could not be read.
    pub event: Option<String>,
    /// An [`EventView`] as JSON (for `error`, a sentence).
    pub data: String,
}

/// Query of `GET /runs/{id}/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events after this sequence number (also read from `Last-Event-ID`).
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// The metrics at one moment, for the dashboard's charts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricsSample {
    /// When, unix ms.
    pub at: i64,
    /// `backend_tasks_completed`.
    pub tasks_completed: u64,
    /// `backend_success_rate`.
    pub success_rate: Option<f64>,
    /// `backend_avg_completion_time`, seconds.
    pub avg_completion_time: Option<f64>,
    /// `security_audit_pass_rate`.
    pub security_audit_pass_rate: Option<f64>,
    /// Tasks ready or retrying.
    pub queue_depth: u64,
    /// Tasks running or gating.
    pub running: u64,
    /// Open escalations.
    pub escalations_open: u64,
    /// LLM tokens.
    pub tokens: u64,
    /// LLM cost, dollars.
    pub cost_usd: f64,
}

/// Samples of the metrics, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsHistory {
    /// The samples.
    pub samples: Vec<MetricsSample>,
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// The server's version.
    pub version: String,
}
