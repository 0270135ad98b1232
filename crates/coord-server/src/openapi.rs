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
    modifiers(&BearerAuth),
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

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
