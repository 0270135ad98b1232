//! The coordinator as an MCP server (`coord mcp`), over stdio with the official Rust SDK
//! (`rmcp`), so an agent host such as Claude Code can work as the spec's specialists under
//! this coordinator: plan an objective into a run, take the ready tasks, read their briefs,
//! submit results that the quality gates check, escalate, decide escalations, run the gates,
//! read the metrics ([`tools`]; every input has a JSON Schema, [`params`]). Plans and briefs
//! are also resources: `coord://runs/{run}/plan` and `coord://runs/{run}/tasks/{task}/brief`.
//!
//! Automatic tasks (a configured executor, or the coordinator's own workflow steps: migration
//! replay, contract publication and test, deployment note) are executed in the background by
//! `coord_runtime::driver::Driver` after every tool call that can make them ready, so the host
//! never sees them in `next_ready_tasks`; `list_tasks` shows their progress.
//!
//! stdout carries only MCP messages; anything else goes to stderr.

pub mod params;
pub mod schemas;
mod stdio;
pub mod tools;

pub use stdio::serve_lines;

use coord_runtime::driver::Driver;
use coord_runtime::{Runtime, manual};
use coord_store::{RunState, Store, TaskState};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    ErrorData, Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool_handler};
use std::collections::HashSet;
use std::sync::Arc;

/// Resources listed per page.
pub const RESOURCES_PAGE: usize = 500;

/// Why the MCP server stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The transport failed to start or broke.
    #[error("the MCP session failed: {0}")]
    Session(String),
}

/// The server: one runtime, the lease-owner name of the host's work, the tool router.
pub struct CoordMcp<S: Store + Clone + 'static> {
    runtime: Arc<Runtime<S>>,
    /// Executes the automatic tasks (the coordinator's workflow steps among them) of the runs
    /// the host works in, so the host only ever sees the work that waits for it.
    driver: Driver<S>,
    automatic: Arc<HashSet<String>>,
    who: String,
    tool_router: ToolRouter<Self>,
}

impl<S: Store + Clone + 'static> Clone for CoordMcp<S> {
    fn clone(&self) -> Self {
        CoordMcp {
            runtime: self.runtime.clone(),
            driver: self.driver.clone(),
            automatic: self.automatic.clone(),
            who: self.who.clone(),
            tool_router: self.tool_router.clone(),
        }
    }
}

impl<S: Store + Clone + 'static> CoordMcp<S> {
    /// A server over `runtime`; the host's work is recorded as done by `person:{who}`.
    pub fn new(runtime: Runtime<S>, who: impl Into<String>) -> Self {
        let automatic = Arc::new(runtime.automatic_specialists().into_iter().collect());
        let runtime = Arc::new(runtime);
        let driver = Driver::new(runtime.clone());
        CoordMcp { runtime, driver, automatic, who: who.into(), tool_router: Self::tool_router() }
    }

    async fn read(&self, uri: &str) -> Result<(String, &'static str), String> {
        let rest = uri.strip_prefix("coord://runs/").ok_or_else(|| format!("unknown resource `{uri}`"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let store = self.runtime.store();
        match parts.as_slice() {
            [run, "plan"] => {
                let plan = manual::stored_plan(store, run).await.map_err(|e| e.to_string())?;
                Ok((serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?, "application/json"))
            }
            [run, "tasks", task, "brief"] => {
                let brief = manual::brief(store, self.runtime.roster(), run, task).await.map_err(|e| e.to_string())?;
                Ok((brief, "text/markdown"))
            }
            _ => {
                Err(format!("unknown resource `{uri}`: use coord://runs/RUN/plan or coord://runs/RUN/tasks/TASK/brief"))
            }
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl<S: Store + Clone + 'static> ServerHandler for CoordMcp<S> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("coord", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "backend-coordinator: plan_objective starts a run; next_ready_tasks lists the work waiting for you; \
                 get_brief, claim_task, then submit_result (the quality gates check your artifacts and the answer \
                 gives the next step) or escalate. resolve_escalation decides as the tech lead.",
            )
    }

    /// The plans of running runs and the briefs of their ready and running tasks, a page of
    /// [`RESOURCES_PAGE`] at a time (the cursor is where the next page starts).
    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let from = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(c) => c.parse::<usize>().map_err(|_| {
                ErrorData::invalid_params(format!("cursor `{c}` is not one this server gave (use nextCursor)"), None)
            })?,
        };
        let store = self.runtime.store();
        let runs = store.runs().await.map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let mut list = Vec::new();
        for r in runs.iter().filter(|r| r.state == RunState::Running).take(20) {
            list.push(
                Resource::new(format!("coord://runs/{}/plan", r.id), format!("plan of {}", r.id))
                    .with_description(r.objective.chars().take(200).collect::<String>())
                    .with_mime_type("application/json"),
            );
            let tasks = store.tasks(&r.id).await.map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            for t in tasks.iter().filter(|t| matches!(t.state, TaskState::Ready | TaskState::Running)) {
                list.push(
                    Resource::new(
                        format!("coord://runs/{}/tasks/{}/brief", r.id, t.task_id),
                        format!("brief of {} ({})", t.task_id, r.id),
                    )
                    .with_description(format!("for @{}", t.specialist))
                    .with_mime_type("text/markdown"),
                );
            }
        }
        let total = list.len();
        let page: Vec<Resource> = list.into_iter().skip(from).take(RESOURCES_PAGE).collect();
        let next = (from + page.len() < total).then(|| (from + page.len()).to_string());
        let mut result = ListResourcesResult::with_all_items(page);
        result.next_cursor = next;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("coord://runs/{run}/plan", "plan of a run").with_mime_type("application/json"),
            ResourceTemplate::new("coord://runs/{run}/tasks/{task}/brief", "brief of a task")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        match self.read(&request.uri).await {
            Ok((text, mime)) => {
                let contents = ResourceContents::text(text, request.uri.clone()).with_mime_type(mime);
                Ok(ReadResourceResult::new(vec![contents]).into())
            }
            Err(message) => Err(ErrorData::resource_not_found(message, None)),
        }
    }
}

/// Serves MCP over stdin and stdout until the host closes the session.
pub async fn serve_stdio<S: Store + Clone + 'static>(server: CoordMcp<S>) -> Result<(), McpError> {
    serve_lines(server, tokio::io::stdin(), tokio::io::stdout()).await
}
