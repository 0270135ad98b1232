//! Tasks: list (filters, pagination), get (attempts, feedback, escalations), brief, gate
//! reports, an attempt's transcript, and manual work — claim, complete (gated), fail (through
//! the escalation protocol) — with `coord_runtime::manual`, the implementation the CLI and the
//! MCP server use too.

use super::escalations::escalation_view;
use super::types::{
    AttemptPath, AttemptView, BriefView, ClaimBody, ClaimView, CompleteBody, FailBody, FeedbackLine, GateReportView,
    NextStepView, OutcomeView, RunPath, TaskDetail, TaskList, TaskPath, TaskQuery, TaskView, TranscriptView,
};
use super::{ApiJson, ApiPath, ApiQuery, AppState, PlanIndex, check_id, page, who};
use crate::error::{ApiResult, AppError, ErrorBody};
use axum::Json;
use axum::extract::State;
use coord_runtime::manual::{self, GateReport, Outcome};
use coord_runtime::{Failure, FailureCategory};
use coord_store::{HandDone, Store, TaskRecord, TaskState};
use std::path::Path;

fn task_view<S: Store + Clone + 'static>(st: &AppState<S>, plan: &PlanIndex, t: TaskRecord) -> TaskView {
    let (position, group) = plan.position.get(&t.task_id).copied().unwrap_or((usize::MAX, 0));
    let planned = plan.plan.tasks.get(position);
    TaskView {
        title: planned.map(|p| p.title.clone()).unwrap_or_default(),
        kind: planned.map(|p| p.kind.as_str().to_string()).unwrap_or_default(),
        priority: planned.map(|p| p.priority.to_string()).unwrap_or_default(),
        depends_on: planned.map(|p| p.depends_on.clone()).unwrap_or_default(),
        group: group as u64,
        critical: plan.critical.contains(&t.task_id),
        automatic: st.automatic.contains(&t.specialist),
        state: t.state.as_str().to_string(),
        task_id: t.task_id,
        specialist: t.specialist,
        attempts: t.attempts,
        escalation_level: t.escalation_level,
        not_before: t.not_before,
    }
}

fn gate_view(g: GateReport) -> GateReportView {
    GateReportView { attempt: g.attempt, gate: g.gate, passed: g.passed, report: g.report }
}

fn outcome_view(o: Outcome) -> OutcomeView {
    OutcomeView {
        task: o.task,
        attempt: o.attempt,
        accepted: o.accepted,
        error: o.error,
        gates: o.gates.into_iter().map(gate_view).collect(),
        next: NextStepView {
            action: o.next.action,
            level: o.next.level,
            specialist: o.next.specialist,
            retry_at: o.next.retry_at,
            what: o.next.what,
        },
        ready: o.ready,
        run_state: o.run_state.as_str().to_string(),
    }
}

/// The tasks of a run in plan order, filtered and paged.
#[utoipa::path(get, path = "/runs/{run}/tasks", operation_id = "listTasks", tag = "tasks",
    params(RunPath, TaskQuery),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(RunPath { run }): ApiPath<RunPath>,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> ApiResult<Json<TaskList>> {
    let run = check_id("run", &run)?;
    let (limit, offset) = page(q.limit, q.offset)?;
    let state = q.state.as_deref().map(str::parse::<TaskState>).transpose().map_err(AppError::bad_request)?;
    let plan = st.plan(run).await?;
    let tasks: Vec<TaskRecord> = st
        .store()
        .tasks(run)
        .await?
        .into_iter()
        .filter(|t| state.is_none_or(|s| t.state == s))
        .filter(|t| q.specialist.as_deref().is_none_or(|s| t.specialist == s.trim_start_matches('@')))
        .collect();
    let total = tasks.len() as u64;
    let tasks =
        tasks.into_iter().skip(offset as usize).take(limit as usize).map(|t| task_view(&st, &plan, t)).collect();
    Ok(Json(TaskList { tasks, total, limit, offset }))
}

/// One task with its attempts, feedback and escalations.
#[utoipa::path(get, path = "/runs/{run}/tasks/{task}", operation_id = "getTask", tag = "tasks",
    params(TaskPath),
    responses((status = 200, body = TaskDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_task<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(TaskPath { run, task }): ApiPath<TaskPath>,
) -> ApiResult<Json<TaskDetail>> {
    let (run, task) = (check_id("run", &run)?, check_id("task", &task)?);
    let plan = st.plan(run).await?;
    let record = manual::task_record(st.store(), run, task).await?;
    let objective = plan.plan.task(task).map(|t| t.objective.clone()).unwrap_or_default();
    let store = st.store();
    let attempts = store
        .attempts(run, task)
        .await?
        .into_iter()
        .map(|a| AttemptView {
            attempt: a.attempt,
            specialist: a.specialist,
            owner: a.owner,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome,
            detail: a.detail,
        })
        .collect();
    let feedback =
        store.feedback(run, task).await?.into_iter().map(|(source, text)| FeedbackLine { source, text }).collect();
    let escalations = store
        .escalations(Some(run), false)
        .await?
        .into_iter()
        .filter(|e| e.task_id == task)
        .map(escalation_view)
        .collect();
    Ok(Json(TaskDetail { task: task_view(&st, &plan, record), objective, attempts, feedback, escalations }))
}

/// The task's brief as its specialist receives it (context filtered, feedback included).
#[utoipa::path(get, path = "/runs/{run}/tasks/{task}/brief", operation_id = "getTaskBrief", tag = "tasks",
    params(TaskPath),
    responses((status = 200, body = BriefView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn brief<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(TaskPath { run, task }): ApiPath<TaskPath>,
) -> ApiResult<Json<BriefView>> {
    let (run, task) = (check_id("run", &run)?, check_id("task", &task)?);
    let record = manual::task_record(st.store(), run, task).await?;
    let markdown = manual::brief(st.store(), st.runtime.roster(), run, task).await?;
    Ok(Json(BriefView { run: run.into(), task: task.into(), specialist: record.specialist, markdown }))
}

/// The task's gate reports, oldest first.
#[utoipa::path(get, path = "/runs/{run}/tasks/{task}/gates", operation_id = "getTaskGates", tag = "tasks",
    params(TaskPath),
    responses((status = 200, body = Vec<GateReportView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn gates<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(TaskPath { run, task }): ApiPath<TaskPath>,
) -> ApiResult<Json<Vec<GateReportView>>> {
    let (run, task) = (check_id("run", &run)?, check_id("task", &task)?);
    manual::task_record(st.store(), run, task).await?;
    let reports = manual::gate_reports(st.store(), run, task, None).await?;
    Ok(Json(reports.into_iter().map(gate_view).collect()))
}

/// At most this much of a log is returned.
const LOG_TAIL: u64 = 64 * 1024;

fn tail(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL))).ok()?;
    let mut bytes = Vec::new();
    f.take(LOG_TAIL).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// What an attempt left: its LLM transcript, or its command's output.
#[utoipa::path(get, path = "/runs/{run}/tasks/{task}/attempts/{attempt}", operation_id = "getTaskAttempt", tag = "tasks",
    params(AttemptPath),
    responses((status = 200, body = TranscriptView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn transcript<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(AttemptPath { run, task, attempt }): ApiPath<AttemptPath>,
) -> ApiResult<Json<TranscriptView>> {
    let (run, task) = (check_id("run", &run)?, check_id("task", &task)?);
    if !st.store().attempts(run, task).await?.iter().any(|a| a.attempt == attempt) {
        manual::task_record(st.store(), run, task).await?;
        return Err(AppError::not_found(format!("task `{task}` of run `{run}` has no attempt {attempt}")));
    }
    // Both ids passed check_id and the attempt is a number: the path stays under runs_dir.
    let dir = st.runs_dir.join(run).join(task).join(format!("attempt-{attempt}"));
    let view = tokio::task::spawn_blocking(move || TranscriptView {
        attempt,
        transcript: std::fs::read_to_string(dir.join("transcript.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok()),
        stdout: tail(&dir.join("stdout.log")),
        stderr: tail(&dir.join("stderr.log")),
    })
    .await
    .map_err(AppError::internal)?;
    Ok(Json(view))
}

/// Takes a ready task for a person or an agent host.
#[utoipa::path(post, path = "/runs/{run}/tasks/{task}/claim", operation_id = "claimTask", tag = "tasks", request_body = ClaimBody,
    params(TaskPath),
    responses((status = 200, body = ClaimView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn claim<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(TaskPath { run, task }): ApiPath<TaskPath>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<Json<ClaimView>> {
    let (run, task) = (check_id("run", &run)?, check_id("task", &task)?);
    let who = who(body.who)?;
    let _turn = st.write_turn().await;
    let taken = st.runtime.claim_manual(run, task, &who).await?;
    let c = taken.claim;
    Ok(Json(ClaimView {
        run: c.run_id,
        task: c.task_id,
        attempt: c.attempt,
        specialist: c.specialist,
        workspace: taken.workspace.map(|p| p.display().to_string()),
        branch: taken.branch,
    }))
}

fn check_artifacts(artifacts: &[String]) -> ApiResult<()> {
    if artifacts.len() > 1000 {
        return Err(AppError::bad_request("at most 1000 artifacts"));
    }
    for a in artifacts {
        let bad = a.is_empty()
            || a.chars().count() > 4096
            || a.starts_with(['/', '\\'])
            || a.contains('\0')
            || a.split(['/', '\\']).any(|part| part == "..");
        if bad {
            return Err(AppError::bad_request(format!(
                "artifact `{}` must be a path inside the project, relative to it, without `..`",
                a.chars().take(200).collect::<String>().escape_debug()
            )));
        }
    }
    Ok(())
}

/// Completes a manual task: the artifacts go through the task's quality gates; a refusal
/// enters the escalation protocol and the answer says what happens next.
#[utoipa::path(post, path = "/runs/{run}/tasks/{task}/complete", operation_id = "completeTask", tag = "tasks", request_body = CompleteBody,
    params(TaskPath),
    responses((status = 200, body = OutcomeView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn complete<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(TaskPath { run, task }): ApiPath<TaskPath>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> ApiResult<Json<OutcomeView>> {
    let (run, task) = (check_id("run", &run)?, check_id("task", &task)?);
    check_artifacts(&body.artifacts)?;
    let note = body.note.unwrap_or_default();
    if note.chars().count() > 64 * 1024 {
        return Err(AppError::bad_request("`note` is longer than 64 KiB"));
    }
    let who = who(body.who)?;
    let plan = st.plan(run).await?;
    let gates_disabled = st.runtime.config().gates.disabled_in_runs;
    // In a git repository a completion commits and merges the task's worktree: never batched.
    if !st.runtime.workspaces().is_git() && !manual::needs_gate(&plan.plan, task, &body.artifacts, gates_disabled) {
        // Only store writes: recorded together with the completions arriving meanwhile.
        let item = HandDone {
            run_id: run.to_string(),
            task_id: task.to_string(),
            owner: manual::person(&who),
            detail: manual::done_detail(&note, &body.artifacts),
        };
        return Ok(Json(outcome_view(st.completions.complete(item).await?)));
    }
    // Gates or a workflow check run first (for minutes, maybe): no write turn is held.
    let out = st.runtime.complete_manual(run, task, &who, &note, &body.artifacts).await?;
    st.driver.kick(run).await;
    Ok(Json(outcome_view(out)))
}

/// Reports a manual task failed; the escalation protocol decides the next step.
#[utoipa::path(post, path = "/runs/{run}/tasks/{task}/fail", operation_id = "failTask", tag = "tasks", request_body = FailBody,
    params(TaskPath),
    responses((status = 200, body = OutcomeView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn fail<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(TaskPath { run, task }): ApiPath<TaskPath>,
    ApiJson(body): ApiJson<FailBody>,
) -> ApiResult<Json<OutcomeView>> {
    let (run, task) = (check_id("run", &run)?, check_id("task", &task)?);
    if body.note.is_empty() || body.note.chars().count() > 64 * 1024 {
        return Err(AppError::bad_request("`note` must say what went wrong (1 to 65536 characters)"));
    }
    let category = match body.category.as_deref() {
        None => FailureCategory::General,
        Some(c) => c.parse::<FailureCategory>().map_err(AppError::bad_request)?,
    };
    let failure = Failure { error: body.note, category, retryable: true, park: false };
    let out = st.runtime.fail_manual(run, task, &who(body.who)?, failure).await?;
    st.driver.kick(run).await;
    Ok(Json(outcome_view(out)))
}
