//! Errors: [`ServerError`] for starting the server, and [`AppError`], the one error every
//! handler returns. An `AppError` becomes a JSON body `{"error": {"code", "message"}}` with a
//! status that says who must act (4xx: the client; 5xx: the server). Details of server-side
//! failures go to the log, not to the client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coord_runtime::RuntimeError;
use coord_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A non-loopback address without a token.
    #[error(
        "refusing to listen on {addr}: it is not a loopback address and no bearer token is configured (set the token's environment variable, see --token-env)"
    )]
    UnsafeBind {
        /// The address asked for.
        addr: std::net::SocketAddr,
    },
    /// The token variable is set but empty or too short.
    #[error("the bearer token in ${var} is too short: use at least 16 characters")]
    WeakToken {
        /// The variable's name.
        var: String,
    },
    /// A CORS origin that is not an origin.
    #[error("--cors-origin `{0}` is not an origin like https://example.com")]
    BadOrigin(String),
    /// Binding or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `bad_request`, `invalid_json`, `not_found`, `conflict`, `unauthorized`,
    /// `payload_too_large`, `rate_limited`, `unprocessable`, `internal`.
    pub code: String,
    /// A sentence naming what is wrong and where.
    pub message: String,
}

/// The error of every handler.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl AppError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError { status, code, message: message.into(), retry_after: None }
    }

    /// 400: the request is wrong.
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the thing is not in a state that allows this.
    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 422: well-formed but not acceptable (an invalid plan, an objective that cannot be planned).
    pub fn unprocessable(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
    }

    /// 403: the request may not come from where it comes from (`code` says why).
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 401: no or a wrong bearer token. The message never repeats what was sent.
    pub fn unauthorized() -> AppError {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this server needs `Authorization: Bearer <token>` with the configured token",
        )
    }

    /// 429: too many mutating requests; retry after `secs`.
    pub fn rate_limited(secs: u64) -> AppError {
        let mut e = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many changes at once: retry in {secs}s"),
        );
        e.retry_after = Some(secs);
        e
    }

    /// 500: the server failed; `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        eprintln!("coord serve: internal error: {detail}");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the server failed; its log says why")
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::UnknownRun(_) | StoreError::UnknownTask { .. } | StoreError::UnknownEscalation(_) => {
                AppError::not_found(e.to_string())
            }
            StoreError::AlreadyResolved(_)
            | StoreError::WrongState { .. }
            | StoreError::DuplicateRun(_)
            | StoreError::LeaseLost { .. } => AppError::conflict(e.to_string()),
            StoreError::NotOurs { .. }
            | StoreError::Connect { .. }
            | StoreError::Database(_)
            | StoreError::Migration(_)
            | StoreError::Corrupt(_) => AppError::internal(e),
        }
    }
}

impl From<RuntimeError> for AppError {
    fn from(e: RuntimeError) -> AppError {
        match e {
            RuntimeError::Store(s) => s.into(),
            RuntimeError::Planning(p) => AppError::unprocessable(p.to_string()),
            RuntimeError::InvalidPlan(p) => AppError::unprocessable(format!("invalid plan: {p}")),
            RuntimeError::Plan(p) => AppError::internal(format!("stored plan: {p}")),
            RuntimeError::NothingToDo(why) => AppError::conflict(why),
            RuntimeError::Workspace(why) => AppError::conflict(format!("workspace: {why}")),
            e @ RuntimeError::PlannerFellBack(_) => AppError::unprocessable(e.to_string()),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> AppError {
        match r {
            JsonRejection::JsonDataError(e) => {
                // "Failed to deserialize the JSON body into the target type: field: what"
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", body_message(&e.body_text()))
            }
            JsonRejection::JsonSyntaxError(e) => {
                AppError::new(StatusCode::BAD_REQUEST, "invalid_json", body_message(&e.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than the server's limit (see --max-body)",
            ),
            other => AppError::bad_request(format!("cannot read the request body: {}", other.body_text())),
        }
    }
}

fn body_message(text: &str) -> String {
    let text = text.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(text);
    let text = text.strip_prefix("Failed to parse the request body as JSON: ").unwrap_or(text);
    format!("the JSON body is not acceptable: {text}")
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> AppError {
        AppError::bad_request(format!("bad path parameter: {}", r.body_text()))
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> AppError {
        let text = r.body_text();
        let text = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_string();
        AppError::bad_request(format!("bad query parameter: {text}"))
    }
}

/// Handler results.
pub type ApiResult<T> = Result<T, AppError>;
