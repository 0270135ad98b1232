//! One module per command family; [`run`] dispatches.

mod agents;
mod brief;
mod clean;
mod context;
mod contract;
mod gate;
mod init;
mod migrate;
mod plan;
mod playbooks;
mod progress;
mod run;
mod serve;
mod signals;
mod task;
mod worker;

use crate::cli::{Cli, Command, SchemaKind};
use anyhow::Result;
use coord_agents::{LoadedRoster, load_roster};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs one parsed command.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Plan(args) => plan::plan(args),
        Command::Validate(args) => plan::validate(args),
        Command::Brief(args) => brief::brief(args),
        Command::Agents(args) => agents::agents(args),
        Command::Playbooks(args) => playbooks::playbooks(args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "coord", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => man(out.as_deref()),
        Command::Run(args) => run::run(args),
        Command::Resume(args) => run::resume(args),
        Command::Status(args) => run::status(args),
        Command::Log(args) => run::log(args),
        Command::Cancel(args) => run::cancel(args),
        Command::Clean(args) => clean::clean(args),
        Command::Init(args) => init::init(args),
        Command::Sandbox(crate::cli::SandboxCommand::Check { json }) => clean::sandbox_check(json),
        Command::Metrics(args) => run::metrics(args),
        Command::Task(args) => task::task(args),
        Command::Gate(args) => gate::gate(args),
        Command::Contract(args) => contract::contract(args),
        Command::Migrate(args) => migrate::migrate(args),
        Command::Escalation(args) => task::escalation(args),
        Command::Worker(args) => worker::worker(args),
        Command::Workers(args) => worker::workers(args),
        Command::Serve(args) => serve::serve(args),
        Command::Mcp(args) => serve::mcp(args),
        Command::Schema(args) => match args.which {
            SchemaKind::Plan => {
                println!("{}", plan_schema());
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

/// `coord man`: the page of `coord` on stdout, or every command's page written into a folder.
fn man(out: Option<&Path>) -> Result<ExitCode> {
    use anyhow::Context as _;
    let cmd = <Cli as clap::CommandFactory>::command();
    match out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page).context("cannot render the man page")?;
            std::io::Write::write_all(&mut std::io::stdout(), &page).context("cannot write the man page")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
            eprintln!("coord: man pages written to {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON Schema of plan files, as `coord schema plan` prints it.
pub fn plan_schema() -> String {
    let schema = schemars::schema_for!(coord_core::Plan);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// The project folder agent files are read from: `--repo`, else the current folder.
fn project_dir(repo: Option<&Path>) -> PathBuf {
    repo.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Loads the roster and prints a warning line for each agent file that was skipped.
fn roster_with_warnings(repo: Option<&Path>) -> LoadedRoster {
    let dir = project_dir(repo);
    let loaded = load_roster(Some(&dir));
    for d in &loaded.diagnostics {
        eprintln!("coord: warning: skipped agent file {d}");
    }
    loaded
}

/// Waits for Ctrl-C or SIGTERM (only Ctrl-C where SIGTERM cannot be watched): how `coord run`,
/// `coord worker` and `coord serve` learn to stop.
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
