//! Runs: create (from an objective or a plan), list, get, plan, cancel, resume. A run created
//! or resumed here is driven in the background by the server's runtime.

use super::types::{CreateRun, PlannerName, RunCreated, RunList, RunPath, RunQuery, RunView};
use super::{ApiJson, ApiPath, ApiQuery, AppState, check_id, page};
use crate::error::{ApiResult, AppError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use coord_core::Plan;
use coord_runtime::{PlannerChoice, RunSource, now_ms, start_run};
use coord_store::{RunRecord, RunState, Store};
use std::collections::BTreeMap;

/// The view of a stored run.
pub async fn view<S: Store + Clone + 'static>(st: &AppState<S>, r: RunRecord) -> ApiResult<RunView> {
    let tasks = st.store().tasks(&r.id).await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for t in &tasks {
        *counts.entry(t.state.as_str().to_string()).or_default() += 1;
    }
    Ok(RunView {
        driving: st.driver.is_driving(&r.id),
        id: r.id,
        objective: r.objective,
        state: r.state.as_str().to_string(),
        created_at: r.created_at,
        updated_at: r.updated_at,
        tasks: counts,
        total_tasks: tasks.len() as u64,
    })
}

/// Lists runs, newest first.
#[utoipa::path(get, path = "/runs", operation_id = "listRuns", tag = "runs", params(RunQuery),
    responses((status = 200, body = RunList), (status = 400, body = ErrorBody)))]
pub async fn list<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<RunList>> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let state = q
        .state
        .as_deref()
        .map(str::parse::<RunState>)
        .transpose()
        .map_err(|e| AppError::bad_request(format!("state: {e} (running, done, failed, cancelled)")))?;
    let runs: Vec<RunRecord> =
        st.store().runs().await?.into_iter().filter(|r| state.is_none_or(|s| r.state == s)).collect();
    let total = runs.len() as u64;
    let mut views = Vec::new();
    for r in runs.into_iter().skip(offset as usize).take(limit as usize) {
        views.push(view(&st, r).await?);
    }
    Ok(Json(RunList { runs: views, total, limit, offset }))
}

/// Objectives longer than this are refused (the planner's own limit is 64 KiB).
const MAX_OBJECTIVE_CHARS: usize = 64 * 1024;

/// Starts a run: plans the objective (or validates the plan), stores it, and drives its
/// automatic tasks in the background.
#[utoipa::path(post, path = "/runs", operation_id = "createRun", tag = "runs", request_body = CreateRun,
    responses((status = 201, body = RunCreated), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiJson(body): ApiJson<CreateRun>,
) -> ApiResult<(StatusCode, Json<RunCreated>)> {
    let source = match (body.objective, body.plan) {
        (Some(_), Some(_)) => return Err(AppError::unprocessable("give `objective` or `plan`, not both")),
        (None, None) => return Err(AppError::unprocessable("give `objective` (text to plan) or `plan` (a plan)")),
        (Some(objective), None) => {
            if objective.is_empty() {
                return Err(AppError::bad_request("`objective` is empty"));
            }
            if objective.trim().is_empty() {
                return Err(AppError::unprocessable("`objective` has nothing to plan (only white space)"));
            }
            if objective.chars().count() > MAX_OBJECTIVE_CHARS {
                return Err(AppError::bad_request("`objective` is longer than 64 KiB"));
            }
            if let Some(stack) = body.stack.as_deref()
                && !["node", "python", "java", "graphql"].contains(&stack)
            {
                return Err(AppError::bad_request(format!("stack `{stack}`: use node, python, java or graphql")));
            }
            let stack = body
                .stack
                .as_deref()
                .map(str::parse::<coord_plan::StackFlag>)
                .transpose()
                .map_err(|e| AppError::bad_request(format!("stack: {e}")))?;
            let planner = match body.planner.unwrap_or(PlannerName::Auto) {
                PlannerName::Auto => PlannerChoice::Auto,
                PlannerName::Rules => PlannerChoice::Rules,
                PlannerName::Llm => PlannerChoice::Llm,
            };
            RunSource::Objective { objective, stack, planner, workflows: body.workflows.unwrap_or(true) }
        }
        (None, Some(plan)) => {
            if body.stack.is_some() || body.planner.is_some() || body.workflows.is_some() {
                return Err(AppError::unprocessable(
                    "`stack`, `planner` and `workflows` apply to an objective, not to a plan",
                ));
            }
            let plan: Plan = serde_json::from_value(plan)
                .map_err(|e| AppError::unprocessable(format!("`plan` is not a plan (see coord schema plan): {e}")))?;
            RunSource::Plan(Box::new(plan))
        }
    };
    let rt = &st.runtime;
    let started = start_run(rt.store(), rt.roster(), rt.config(), rt.workspace(), source).await?;
    st.driver.kick(&started.run_id).await;
    let record = st.store().run(&started.run_id).await?;
    let plan = started.plan.plan();
    let created = RunCreated {
        run: view(&st, record).await?,
        groups: plan.groups.clone(),
        critical_path: plan.critical_path.clone(),
        warnings: started.warnings,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// One run.
#[utoipa::path(get, path = "/runs/{run}", operation_id = "getRun", tag = "runs", params(RunPath),
    responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_run<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(RunPath { run }): ApiPath<RunPath>,
) -> ApiResult<Json<RunView>> {
    let record = st.store().run(check_id("run", &run)?).await?;
    Ok(Json(view(&st, record).await?))
}

/// The run's plan, as `coord schema plan` describes it.
#[utoipa::path(get, path = "/runs/{run}/plan", operation_id = "getRunPlan", tag = "runs", params(RunPath),
    responses((status = 200, body = Object, description = "The plan"), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn plan<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(RunPath { run }): ApiPath<RunPath>,
) -> ApiResult<Json<serde_json::Value>> {
    let index = st.plan(check_id("run", &run)?).await?;
    serde_json::to_value(&index.plan).map(Json).map_err(AppError::internal)
}

/// Cancels a run: running attempts are killed, nothing else starts.
#[utoipa::path(post, path = "/runs/{run}/cancel", operation_id = "cancelRun", tag = "runs", params(RunPath),
    responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn cancel<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(RunPath { run }): ApiPath<RunPath>,
) -> ApiResult<Json<RunView>> {
    let run = check_id("run", &run)?;
    running(&st, run, "cancelled").await?;
    let _turn = st.write_turn().await;
    st.driver.cancel(run);
    st.store().cancel_run(run, now_ms()).await?;
    let record = st.store().run(run).await?;
    Ok(Json(view(&st, record).await?))
}

/// Resumes a run: its automatic tasks are driven again (after a restart, a manual task or a
/// decision).
#[utoipa::path(post, path = "/runs/{run}/resume", operation_id = "resumeRun", tag = "runs", params(RunPath),
    responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn resume<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(RunPath { run }): ApiPath<RunPath>,
) -> ApiResult<Json<RunView>> {
    let run = check_id("run", &run)?;
    let record = running(&st, run, "resumed").await?;
    st.driver.kick(run).await;
    Ok(Json(view(&st, record).await?))
}

/// The record of `run`, which must be running to be `done_to` (cancelled, resumed).
async fn running<S: Store + Clone + 'static>(st: &AppState<S>, run: &str, done_to: &str) -> ApiResult<RunRecord> {
    let record = st.store().run(run).await?;
    if record.state != RunState::Running {
        return Err(AppError::conflict(format!(
            "run {run} is {}; only a running run can be {done_to}",
            record.state.as_str()
        )));
    }
    Ok(record)
}
