//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations and the
//! body types, served at `/openapi.json`; the docs page (Swagger UI, its files embedded in
//! the binary) at `/docs`.

use crate::api::{escalations, events, misc, runs, tasks, types};
use crate::error::{ErrorBody, ErrorDetail};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "backend-coordinator", description = "Runs of specialist tasks: plans, manual work, escalations, metrics and live events."),
    paths(
        misc::health, misc::agents, misc::metrics, misc::history,
        runs::list, runs::create, runs::get_run, runs::plan, runs::cancel, runs::resume, events::stream,
        tasks::list, tasks::get_task, tasks::brief, tasks::gates, tasks::transcript, tasks::claim, tasks::complete,
        tasks::fail, escalations::list, escalations::resolve,
    ),
    components(schemas(ErrorBody, ErrorDetail, types::EventView)),
    modifiers(&BearerAuth, &Describe),
    tags((name = "runs"), (name = "tasks"), (name = "escalations"), (name = "server")),
)]
pub struct ApiDoc;

/// Declares the optional bearer token.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Gives every response a description (OpenAPI requires one; linters and client generators
/// refuse a document without), from its status code where the handler gave none; every
/// operation a description (its handler's doc comment); the document its server (the one
/// serving it).
struct Describe;

impl Modify for Describe {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        doc.servers = Some(vec![utoipa::openapi::server::Server::new("/")]);
        for item in doc.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                if op.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
                    op.description = op.summary.clone();
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    if let RefOr::T(r) = response
                        && r.description.trim().is_empty()
                    {
                        r.description = describe(status).to_string();
                    }
                }
            }
        }
    }
}

/// What a status code means in this API.
fn describe(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted: the work goes on in the background",
        "204" => "Done, nothing to return",
        "400" => "Bad request: a parameter or the body is malformed (the error names it)",
        "401" => "The bearer token is missing or wrong",
        "403" => "Refused: a host or origin this server does not answer to",
        "404" => "No such run, task or escalation",
        "409" => "Conflict: the thing is not in a state that allows this",
        "413" => "The body is larger than the server accepts",
        "415" => "The body is not JSON",
        "422" => "Well-formed but not acceptable (the error says why)",
        "429" => "Too many changes at once: retry after the Retry-After header",
        "500" => "Internal error",
        _ => "See the error body",
    }
}

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
