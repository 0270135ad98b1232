//! `GET /runs/{id}/events`: the run's event log as server-sent events, from a sequence number
//! on (`?after=` or the `Last-Event-ID` a reconnecting browser sends), then live. Each event's
//! `id` is its sequence number and its data the event as JSON. A client that goes away simply
//! drops the stream; nothing else is held for it.

use super::types::{EventHeaders, EventQuery, EventView, RunPath, SseEvent};
use super::{ApiPath, ApiQuery, AppState, check_id};
use crate::error::{ApiResult, AppError, ErrorBody};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use coord_store::Store;
use futures_util::stream::{self, Stream};
use std::collections::VecDeque;
use std::convert::Infallible;

/// Events read from the store at once.
const BATCH: i64 = 500;

struct Cursor<S: Store + Clone + 'static> {
    st: AppState<S>,
    run: String,
    after: i64,
    buffer: VecDeque<coord_store::Event>,
    failed: bool,
}

fn sse_event(e: coord_store::Event) -> Event {
    let view = EventView { seq: e.seq, run_id: e.run_id, task_id: e.task_id, at: e.at, kind: e.kind, data: e.data };
    let data = serde_json::to_string(&view).unwrap_or_else(|_| "{}".into());
    Event::default().id(view.seq.to_string()).data(data)
}

/// The run's events as a live stream.
#[utoipa::path(get, path = "/runs/{run}/events", operation_id = "streamRunEvents", tag = "runs",
    params(RunPath, EventQuery, EventHeaders),
    responses((status = 200, description = "Server-sent events; each event's data is an EventView as JSON",
        content_type = "text/event-stream", body = SseEvent),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stream<S: Store + Clone + 'static>(
    State(st): State<AppState<S>>,
    ApiPath(RunPath { run }): ApiPath<RunPath>,
    ApiQuery(q): ApiQuery<EventQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let run = check_id("run", &run)?.to_string();
    st.store().run(&run).await?;
    let last =
        match headers.get("last-event-id") {
            None => None,
            Some(v) => {
                Some(v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()).filter(|n| *n >= 0).ok_or_else(
                    || AppError::bad_request("Last-Event-ID must be an event sequence number (0 or more)"),
                )?)
            }
        };
    if let Some(after) = q.after.filter(|a| *a < 0) {
        return Err(AppError::bad_request(format!("after={after}: sequence numbers start at 0")));
    }
    let after = last.or(q.after).unwrap_or(0);
    let cursor = Cursor { st, run, after, buffer: VecDeque::new(), failed: false };
    let events = stream::unfold(cursor, |mut c| async move {
        if c.failed {
            return None;
        }
        loop {
            if let Some(e) = c.buffer.pop_front() {
                c.after = e.seq;
                return Some((Ok(sse_event(e)), c));
            }
            match c.st.store().events(&c.run, c.after, BATCH).await {
                Ok(list) if !list.is_empty() => c.buffer.extend(list),
                Ok(_) => tokio::time::sleep(c.st.sse_poll).await,
                Err(e) => {
                    eprintln!("coord serve: event stream of run {} stopped: {e}", c.run);
                    c.failed = true;
                    let event = Event::default().event("error").data("the event log could not be read; reconnect");
                    return Some((Ok(event), c));
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
