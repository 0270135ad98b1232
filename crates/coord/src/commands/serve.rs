//! `coord serve` (HTTP API, dashboard, metrics) and `coord mcp` (MCP over stdio).

use super::context::{open, tokio_runtime};
use crate::cli::{McpArgs, ServeArgs};
use anyhow::{Result, anyhow};
use coord_runtime::Runtime;
use coord_server::{AppState, Options, Token};
use std::process::ExitCode;

/// `coord serve`.
pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let mut config = project.config.clone();
        if let Some(p) = args.parallel {
            if p == 0 {
                return Err(anyhow!("--parallel must be at least 1"));
            }
            config.run.parallel = p;
        }
        let options = Options {
            addr: args.addr,
            token: Token::from_env(&args.token_env)?,
            max_body: args.max_body,
            rate_per_sec: args.rate_limit,
            rate_burst: args.rate_burst,
            cors_origins: args.cors_origin.clone(),
            allowed_hosts: args.allow_host.clone(),
            ..Options::default()
        };
        let runtime = Runtime::new(
            project.store.clone(),
            project.roster.clone(),
            config,
            project.dir.clone(),
            project.runs_dir.clone(),
        );
        if let Some(why) = runtime.llm_off_reason() {
            eprintln!("coord: warning: {why}");
        }
        let state = AppState::new(runtime, project.runs_dir.clone());
        let listener = coord_server::bind(&options).await?;
        let shutdown = async {
            super::stop_signal().await;
            eprintln!("coord serve: stopping");
        };
        coord_server::serve(listener, state, options, shutdown).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `coord mcp`.
pub fn mcp(args: McpArgs) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let runtime = Runtime::new(
            project.store.clone(),
            project.roster.clone(),
            project.config.clone(),
            project.dir.clone(),
            project.runs_dir.clone(),
        );
        coord_mcp::serve_stdio(coord_mcp::CoordMcp::new(runtime, args.who)).await?;
        Ok(ExitCode::SUCCESS)
    })
}
