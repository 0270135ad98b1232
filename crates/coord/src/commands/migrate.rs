//! `coord migrate check`: step 3 of the spec's database change coordination ("test on a
//! replica") on any repository with SQL migrations.

use super::context::tokio_runtime;
use crate::cli::{MigrateArgs, MigrateCommand};
use anyhow::{Context, Result, anyhow};
use coord_gates::walk::{WalkLimits, read_tree};
use std::path::PathBuf;
use std::process::ExitCode;

/// `coord migrate`.
pub fn migrate(args: MigrateArgs) -> Result<ExitCode> {
    match args.command {
        MigrateCommand::Check { repo, postgres, json } => {
            let root = repo.unwrap_or_else(|| PathBuf::from("."));
            if !root.is_dir() {
                return Err(anyhow!("{} is not a folder", root.display()));
            }
            let tree = read_tree(&root, &WalkLimits::default());
            let scratch = std::env::temp_dir().join(format!("coord-migrate-{}", std::process::id()));
            std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
            let (report, engine) = match &postgres {
                Some(url) => (
                    tokio_runtime()?.block_on(coord_workflows::replay::replay_postgres(&tree.files, url)),
                    "a throwaway PostgreSQL schema",
                ),
                None => (
                    tokio_runtime()?.block_on(coord_workflows::replay_sqlite(&tree.files, &scratch)),
                    "a scratch SQLite database",
                ),
            };
            let _ = std::fs::remove_dir_all(&scratch);
            let report = report.context("the scratch database failed")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for f in &report.findings {
                    println!("{:<28} {}\n  {}", f.rule, f.file, f.message);
                }
                for n in &report.notes {
                    println!("note: {n}");
                }
                println!(
                    "\n{} migrations replayed up, down and up on {engine}: {} findings",
                    report.replayed,
                    report.findings.len()
                );
            }
            Ok(if report.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        MigrateCommand::Plan { repo, pending, json } => {
            let root = repo.unwrap_or_else(|| PathBuf::from("."));
            if !root.is_dir() {
                return Err(anyhow!("{} is not a folder", root.display()));
            }
            let tree = read_tree(&root, &WalkLimits::default());
            let note = coord_workflows::deploy::deployment_note(&tree.files, pending);
            if json {
                println!("{}", serde_json::to_string_pretty(&note)?);
                return Ok(ExitCode::SUCCESS);
            }
            if note.order.is_empty() {
                println!("no migrations found");
                return Ok(ExitCode::SUCCESS);
            }
            println!("DEPLOYMENT NOTE for @database-admin\n\nORDER:");
            for (i, f) in note.order.iter().enumerate() {
                println!("{}. {f}", i + 1);
            }
            println!("\nRISK BY STATEMENT:");
            for s in &note.steps {
                println!("- {} [{}; {}]\n  {}", s.statement, s.lock, s.duration, s.advice);
            }
            for n in &note.not_analysed {
                println!("- {n}: not analysed (ORM code)");
            }
            println!("\nROLLOUT: {} — {}", note.rollout, note.rollout_reason);
            println!("\nMONITOR AFTER DEPLOY:");
            for m in &note.monitoring {
                println!("- {m}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
