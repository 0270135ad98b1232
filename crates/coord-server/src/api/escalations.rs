//! The tech lead's queue: escalations (open, or all) and decisions on them. A decision that
//! requeues a task (retry, reassign, skip) sets the run moving again in the background.

use super::types::{EscalationQuery, EscalationView, ResolveBody};
use super::{ApiJson, ApiPath, ApiQuery, AppState, check_id};
use crate::error::{ApiResult, AppError, ErrorBody};
use axum::Json;
use axum::extract::State;
use coord_runtime::{DecisionError, Resolution, now_ms};
use coord_store::{Decision, EscalationRecord, Store};

/// The view of a stored escalation.
pub fn escalation_view(e: EscalationRecord) -> EscalationView {
    EscalationView {
        id: e.id,
        run_id: e.run_id,
        task_id: e.task_id,
        level: e.level,
        category: e.category,
        reason: e.reason,
        state: e.state,
        decision: e.decision,
        note: e.note,
        created_at: e.created_at,
    }
}

/// Escalations, newest first.
#[utoipa::path(get, path = "/escalations", operation_id = "listEscalations", tag = "escalations", params(EscalationQuery),
    responses((status = 200, body = Vec<EscalationView>), (status = 400, body = ErrorBody)))]
pub async fn list<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiQuery(q): ApiQuery<EscalationQuery>,
) -> ApiResult<Json<Vec<EscalationView>>> {
    let open_only = match q.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => return Err(AppError::bad_request(format!("state `{other}`: use open or all"))),
    };
    let run = q.run.as_deref().map(|r| check_id("run", r)).transpose()?;
    let list = st.store().escalations(run, open_only).await?;
    Ok(Json(list.into_iter().map(escalation_view).collect()))
}

/// Decides an open escalation: `retry`, `reassign:NAME`, `approve`, `skip` or `abort`, with an
/// optional note (advice for the next attempt, or why a data-loss change is approved).
#[utoipa::path(post, path = "/escalations/{id}/resolve", operation_id = "resolveEscalation", tag = "escalations", request_body = ResolveBody,
    params(("id" = i64, Path, description = "Escalation id")),
    responses((status = 200, body = EscalationView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn resolve<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<EscalationView>> {
    let r = match Resolution::parse(&body.decision, body.note.as_deref(), st.runtime.roster()) {
        Ok(r) => r,
        Err(e @ DecisionError::Unknown(_)) => return Err(AppError::bad_request(e.to_string())),
        Err(DecisionError::UnknownSpecialist(name)) => {
            return Err(AppError::unprocessable(format!("unknown specialist `{name}` (GET /agents lists them)")));
        }
        Err(e @ DecisionError::NoteTooLong(_)) => return Err(AppError::unprocessable(e.to_string())),
    };
    let _turn = st.write_turn().await;
    let e = st.store().resolve_escalation(id, &r.decision, r.note(), now_ms()).await?;
    if r.decision != Decision::Abort {
        st.driver.kick(&e.run_id).await;
    } else {
        st.driver.cancel(&e.run_id);
    }
    Ok(Json(escalation_view(e)))
}
