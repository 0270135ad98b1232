//! `coord migrate check`: step 3 of the spec's database change coordination ("test on a
//! replica") on any repository with SQL migrations.

use super::context::tokio_runtime;
use crate::cli::{MigrateArgs, MigrateCommand};
use anyhow::{Context, Result, anyhow};
use coord_gates::walk::{WalkLimits, read_tree};
use std::path::PathBuf;
use std::process::ExitCode;

/// Files changed since a git revision (committed, staged, unstaged and untracked), relative to
/// the repository folder.
fn changed_since(root: &std::path::Path, rev: &str) -> Result<std::collections::BTreeSet<String>> {
    let run = |args: &[&str]| -> Result<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .with_context(|| format!("cannot run git in {}", root.display()))?;
        if !out.status.success() {
            return Err(anyhow!(
                "git {} failed in {}: {}",
                args.join(" "),
                root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let mut files: std::collections::BTreeSet<String> =
        run(&["diff", "--name-only", "--relative", rev, "--"])?.lines().map(String::from).collect();
    files.extend(run(&["ls-files", "--others", "--exclude-standard"])?.lines().map(String::from));
    Ok(files)
}

/// `coord migrate`.
pub fn migrate(args: MigrateArgs) -> Result<ExitCode> {
    match args.command {
        MigrateCommand::Check { repo, since, replica, json } => {
            let replica = replica.or_else(|| std::env::var("COORD_REPLAY_PG").ok().filter(|u| !u.is_empty()));
            let root = repo.unwrap_or_else(|| PathBuf::from("."));
            if !root.is_dir() {
                return Err(anyhow!("{} is not a folder", root.display()));
            }
            let tree = read_tree(&root, &WalkLimits::default());
            let foreign =
                coord_runtime::workflow::foreign_dialect(&coord_gates::migrations::find_migrations(&tree.files));
            let kind = replica.as_deref().map(coord_workflows::replay::ReplicaKind::of_url);
            if let Some(refusal) = coord_runtime::workflow::replica_refusal("--replica", kind, foreign.as_ref()) {
                return Err(crate::input_error(anyhow!("{refusal}")));
            }
            let scratch = std::env::temp_dir().join(format!("coord-migrate-{}", std::process::id()));
            std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
            let (report, engine) = tokio_runtime()?.block_on(coord_workflows::replay::replay_where(
                &tree.files,
                replica.as_deref(),
                &scratch,
            ));
            let _ = std::fs::remove_dir_all(&scratch);
            let mut report = report.map_err(|e| {
                // A URL may carry a password: never repeat it.
                let msg = e.to_string();
                let msg = match &replica {
                    Some(url) => msg.replace(url.as_str(), "(the --replica URL)"),
                    None => msg,
                };
                anyhow!("the scratch database failed: {msg}")
            })?;
            let changed = match &since {
                Some(rev) => Some(changed_since(&root, rev)?),
                None => None,
            };
            for d in coord_workflows::data_loss::data_loss(&root, &tree.files) {
                if changed.as_ref().is_some_and(|c| !c.contains(&d.file)) {
                    continue;
                }
                match &d.approved_in_file {
                    Some(by) => report.notes.push(format!("{}: data loss approved ({by})", d.file)),
                    None => report.findings.push(coord_workflows::ReplayFinding {
                        rule: "migrate/data-loss-unapproved".into(),
                        file: d.file.clone(),
                        message: format!(
                            "{}; approve it with a reviewed `-- {} <who>: <why>` comment in the migration",
                            d.statements.join("; "),
                            coord_workflows::data_loss::APPROVAL_MARKER
                        ),
                    }),
                }
            }
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
            print!("{}", note.markdown(None));
            Ok(ExitCode::SUCCESS)
        }
    }
}
