//! `coord clean`: removes what a run left in the repository and in `.coord/`: its worktrees,
//! its task branches and coord's refs, its attempt files, and (unless kept) its integration
//! branch. The store keeps the run's record. And `coord sandbox check`: what this machine
//! offers to confine specialists' commands.

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
        let workspaces = Workspaces::open(&project.dir).with_remote(project.config.workspace.remote.clone());
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

/// `coord sandbox check`.
pub fn sandbox_check(json: bool) -> Result<ExitCode> {
    let s = coord_sandbox::support();
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!("{}", s.summary());
        if s.can_confine() {
            println!(
                "a specialist's command: writes only in its task's workspace and a private /tmp (its HOME); reads the system, \
                 the repository and toolchains but not ~/.ssh, ~/.aws, ~/.config/gh, ~/.netrc and other credentials; \
                 no network unless `network = \"on\"` (or \"local\"); files up to 1 GiB; dies with coord"
            );
        } else {
            println!("{}", s.refusal());
        }
    }
    Ok(if s.can_confine() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
