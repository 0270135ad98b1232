//! The records the store reads and writes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// States of a task, as `../shared/DESIGN.md` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Waiting for dependencies.
    Pending,
    /// Dependencies done; waiting for a worker.
    Ready,
    /// A worker holds its lease.
    Running,
    /// Its result is being checked by the quality gates.
    Gating,
    /// Finished and accepted.
    Done,
    /// Failed for good.
    Failed,
    /// Failed; will be ready again after its backoff.
    Retrying,
    /// Parked at an escalation level, waiting for a decision.
    Escalated,
    /// A dependency failed or was escalated.
    Blocked,
    /// The run was cancelled.
    Cancelled,
}

impl TaskState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Ready => "ready",
            TaskState::Running => "running",
            TaskState::Gating => "gating",
            TaskState::Done => "done",
            TaskState::Failed => "failed",
            TaskState::Retrying => "retrying",
            TaskState::Escalated => "escalated",
            TaskState::Blocked => "blocked",
            TaskState::Cancelled => "cancelled",
        }
    }

    /// Whether the task will not change again without a person's decision.
    pub fn is_final(self) -> bool {
        matches!(self, TaskState::Done | TaskState::Failed | TaskState::Cancelled)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => TaskState::Pending,
            "ready" => TaskState::Ready,
            "running" => TaskState::Running,
            "gating" => TaskState::Gating,
            "done" => TaskState::Done,
            "failed" => TaskState::Failed,
            "retrying" => TaskState::Retrying,
            "escalated" => TaskState::Escalated,
            "blocked" => TaskState::Blocked,
            "cancelled" => TaskState::Cancelled,
            other => return Err(format!("unknown task state `{other}`")),
        })
    }
}

/// States of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Tasks remain.
    Running,
    /// Every task is done.
    Done,
    /// Some task failed for good or is blocked.
    Failed,
    /// Cancelled by a person.
    Cancelled,
}

impl RunState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }
}

impl FromStr for RunState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "running" => RunState::Running,
            "done" => RunState::Done,
            "failed" => RunState::Failed,
            "cancelled" => RunState::Cancelled,
            other => return Err(format!("unknown run state `{other}`")),
        })
    }
}

/// A run to create.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Unique id.
    pub id: String,
    /// The objective.
    pub objective: String,
    /// The validated plan, as JSON.
    pub plan_json: String,
    /// `(task id, specialist, dependencies, rank)` in plan order; lower rank dispatches first.
    pub tasks: Vec<(String, String, Vec<String>, i64)>,
}

impl NewRun {
    /// Builds a run from a validated plan. Ready tasks dispatch by their bottom level (the
    /// longest chain of estimated work from the task to the end of the plan) — so the critical
    /// path goes first and, among the rest, the tasks that hold up the most work — then by
    /// priority, then by plan order (list scheduling with the HLFET rule).
    pub fn from_plan(id: impl Into<String>, plan: &coord_core::ValidatedPlan) -> Result<NewRun, serde_json::Error> {
        let p = plan.plan();
        let n = p.tasks.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(plan.layer(i)));
        let mut bottom = vec![0f64; n];
        for &i in &order {
            let after = plan.dependents(i).iter().map(|&d| bottom[d as usize]).fold(0f64, f64::max);
            bottom[i] = after + p.tasks[i].estimate_hours;
        }
        let longest = bottom.iter().copied().fold(0f64, f64::max);
        let tasks = p
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                // Minutes of slack behind the longest chain, then priority, then position.
                let slack = ((longest - bottom[i]) * 60.0).round() as i64;
                let rank = slack * 100_000_000 + (t.priority as i64) * 10_000_000 + i as i64;
                let mut deps = t.depends_on.clone();
                deps.sort();
                deps.dedup();
                (t.id.clone(), t.specialist.clone(), deps, rank)
            })
            .collect();
        Ok(NewRun { id: id.into(), objective: p.objective.clone(), plan_json: serde_json::to_string(p)?, tasks })
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Id.
    pub id: String,
    /// Objective.
    pub objective: String,
    /// State.
    pub state: RunState,
    /// The plan as JSON.
    pub plan_json: String,
    /// Created, unix ms.
    pub created_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    /// The task id of the plan.
    pub task_id: String,
    /// Its specialist (may change on reassignment).
    pub specialist: String,
    /// State.
    pub state: TaskState,
    /// Attempts started so far.
    pub attempts: i64,
    /// Escalation level reached (0 = none).
    pub escalation_level: i64,
    /// Failures recorded at the current escalation level.
    pub failures_at_level: i64,
    /// Dependencies not yet done.
    pub remaining_deps: i64,
    /// Not dispatched before this time (unix ms).
    pub not_before: i64,
}

/// A claimed task: what a worker needs to execute it and to report back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The run.
    pub run_id: String,
    /// The task.
    pub task_id: String,
    /// The specialist it is assigned to.
    pub specialist: String,
    /// The attempt number, from 1.
    pub attempt: i64,
    /// The fencing token of the lease.
    pub token: i64,
}

/// A task a person (or an agent host) finished by hand, with nothing for the gates to check:
/// see [`crate::Store::complete_by_hand`].
#[derive(Debug, Clone, PartialEq)]
pub struct HandDone {
    /// The run.
    pub run_id: String,
    /// The task.
    pub task_id: String,
    /// Who did it (`person:NAME`): the claim's owner when the task was not claimed yet.
    pub owner: String,
    /// The attempt's detail (JSON text).
    pub detail: String,
}

/// Leases whose owner starts with this are held by a coordinator process (`coord run`, `coord
/// worker`, `coord serve`) executing the task: such work cannot be completed by hand.
pub const WORKER_OWNER_PREFIX: &str = "coord-";

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Accepted: the task is done and its dependents may become ready.
    Done {
        /// A summary (artifacts, notes) as JSON.
        detail: String,
    },
    /// Failed; the task is ready again at `retry_at` (unix ms).
    Retry {
        /// What went wrong.
        error: String,
        /// When to retry (backoff).
        retry_at: i64,
        /// The escalation level the task is at now (1 self-recovery, 2 peer consultation,
        /// 3 coordinator review).
        level: i64,
        /// A new specialist (level 3 reassignment).
        specialist: Option<String>,
        /// `(source, text)` lines for the next brief.
        feedback: Vec<(String, String)>,
    },
    /// Parked at an escalation level: dependents are blocked until a decision.
    Escalate {
        /// What went wrong.
        error: String,
        /// The level (1–4).
        level: i64,
        /// The failure category.
        category: String,
    },
    /// Failed for good: dependents become blocked.
    Fail {
        /// What went wrong.
        error: String,
    },
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Sequence number, increasing.
    pub seq: i64,
    /// The run.
    pub run_id: String,
    /// The task, for task events.
    pub task_id: Option<String>,
    /// When, unix ms.
    pub at: i64,
    /// What happened (`run_created`, `task_ready`, `task_claimed`, `task_done`...).
    pub kind: String,
    /// Details as JSON.
    pub data: serde_json::Value,
}

/// A stored escalation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationRecord {
    /// Id, for `coord escalation resolve ID`.
    pub id: i64,
    /// The run.
    pub run_id: String,
    /// The task.
    pub task_id: String,
    /// The level (4 = strategic).
    pub level: i64,
    /// The failure category.
    pub category: String,
    /// Why.
    pub reason: String,
    /// `open` or `resolved`.
    pub state: String,
    /// The decision, once resolved.
    pub decision: Option<String>,
    /// What the person who decided wrote with the decision (a peer's advice, why a data-loss
    /// migration was approved); it joins the next brief when the task runs again.
    pub note: Option<String>,
    /// Raised, unix ms.
    pub created_at: i64,
}

impl EscalationRecord {
    /// The feedback a decision that sends the task back to work leaves for its next brief:
    /// `(source, text)`. At level 2 the person answered a consultation, so the note is advice.
    pub fn decision_feedback(&self, decided: &str, note: Option<&str>) -> (&'static str, String) {
        let source = if self.level == 2 && note.is_some() { "consultation answer" } else { "tech-lead decision" };
        let text = match note {
            Some(note) => format!("{decided}: {}\n\n{note}", self.reason),
            None => format!("{decided}: {}", self.reason),
        };
        (source, text)
    }
}

/// A decision on an escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Try the task again with the same specialist.
    Retry,
    /// Try again with another specialist.
    Reassign(String),
    /// Treat the task as done without its output; dependents proceed.
    Skip,
    /// Accept the task's result as it is: the approval a data-loss migration or a breaking
    /// contract change needs. The task is done (recorded as approved); dependents proceed.
    Approve,
    /// Cancel the whole run.
    Abort,
}

impl std::str::FromStr for Decision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "retry" => Ok(Decision::Retry),
            "skip" => Ok(Decision::Skip),
            "approve" => Ok(Decision::Approve),
            "abort" => Ok(Decision::Abort),
            other => match other.strip_prefix("reassign:") {
                Some(name) if !name.is_empty() => Ok(Decision::Reassign(name.trim_start_matches('@').to_string())),
                _ => Err(format!("unknown decision `{other}`: use retry, reassign:NAME, approve, skip or abort")),
            },
        }
    }
}

impl Decision {
    /// The decision as written.
    pub fn as_string(&self) -> String {
        match self {
            Decision::Retry => "retry".into(),
            Decision::Reassign(n) => format!("reassign:{n}"),
            Decision::Skip => "skip".into(),
            Decision::Approve => "approve".into(),
            Decision::Abort => "abort".into(),
        }
    }
}

/// One attempt of a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// Attempt number.
    pub attempt: i64,
    /// Who did it.
    pub specialist: String,
    /// Which coordinator or person held the lease.
    pub owner: String,
    /// Started, unix ms.
    pub started_at: i64,
    /// Finished, unix ms.
    pub finished_at: Option<i64>,
    /// `succeeded`, `failed`, `interrupted` or `cancelled`; none while running.
    pub outcome: Option<String>,
    /// Error or summary.
    pub detail: Option<String>,
}

/// What a worker says about itself when it registers and on every beat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerInfo {
    /// Its lease owner name (`coord-PID@HOST/PIDNS/BOOT`, see `coord_runtime::owner`).
    pub id: String,
    /// The machine.
    pub host: String,
    /// Its process id on that machine, in its PID namespace (informative: liveness is told by
    /// the owner name or the registration's age, never by this number alone).
    pub pid: i64,
    /// Tasks it runs at once.
    pub concurrency: i64,
    /// When it started, unix ms.
    pub started_at: i64,
    /// `running`, or `stopping` once it was asked to stop (it claims nothing more).
    pub state: String,
}

/// A registered worker as the store has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerRecord {
    /// What it said about itself.
    #[serde(flatten)]
    pub info: WorkerInfo,
    /// Its last beat, unix ms.
    pub seen_at: i64,
}

/// A lease held on a running task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseRecord {
    /// The run.
    pub run_id: String,
    /// The task.
    pub task_id: String,
    /// Who holds it (a worker, a coordinator, `person:NAME`).
    pub owner: String,
    /// The fencing token (the attempt number).
    pub token: i64,
    /// When it expires unless renewed, unix ms.
    pub expires_at: i64,
}
