//! `coord clean`: removes what a run left in the repository and in `.coord/`: its worktrees,
//! its task branches and coord's refs, its attempt files, and (unless kept) its integration
//! branch. The store keeps the run's record.

use super::context::{open, tokio_runtime};
use crate::cli::CleanArgs;
use anyhow::{Result, anyhow};
use coord_runtime::workspace::Workspaces;
use coord_store::{RunState, Store};
use std::process::ExitCode;

/// `coord clean`.
pub fn clean(args: CleanArgs) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let record = project.store.run(&args.run).await?;
        if record.state == RunState::Running && !args.force {
            return Err(anyhow!(
                "run {} is still running: cancel it first (coord cancel {}), or clean with --force",
                args.run,
                args.run
            ));
        }
        let workspaces = Workspaces::open(&project.dir);
        let done = workspaces.clean(&args.run, &project.runs_dir, args.keep_branch).await?;
        println!(
            "run {}: removed {} worktree(s), {} branch(es) and ref(s){}",
            args.run,
            done.worktrees,
            done.refs.len(),
            if done.attempt_files { ", and its attempt files" } else { "" }
        );
        if args.keep_branch {
            println!("kept: coord/{}", args.run);
        }
        Ok(ExitCode::SUCCESS)
    })
}
