//! `coord task` (manual work on tasks) and `coord escalation` (decisions).

use super::context::{newest_run, open, run_of_task, tokio_runtime};
use crate::cli::{EscalationArgs, EscalationCommand, TaskArgs, TaskCommand};
use anyhow::{Context, Result, anyhow};
use coord_runtime::{Failure, FailureCategory, Resolution, manual, now_ms};
use coord_store::Store;
use std::process::ExitCode;

fn who(name: Option<String>) -> String {
    name.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "someone".to_string())
}

/// `coord task`.
pub fn task(args: TaskArgs) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let store = &project.store;
        match args.command {
            TaskCommand::List { run, json } => {
                let run = newest_run(store, run.as_deref()).await?;
                let tasks = store.tasks(&run).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&tasks)?);
                } else {
                    println!("run {run}");
                    for t in tasks {
                        println!(
                            "  {:<14} {:<10} @{:<22} attempts {}",
                            t.task_id,
                            t.state.as_str(),
                            t.specialist,
                            t.attempts
                        );
                    }
                }
            }
            TaskCommand::Show { task, run, json } => {
                let run = run_of_task(store, run.as_deref(), &task).await?;
                let t = manual::task_record(store, &run, &task).await?;
                let brief = manual::brief(store, &project.roster, &run, &task).await?;
                if json {
                    let feedback: Vec<serde_json::Value> = store
                        .feedback(&run, &task)
                        .await?
                        .into_iter()
                        .map(|(source, text)| serde_json::json!({ "source": source, "text": text }))
                        .collect();
                    let escalations: Vec<_> =
                        store.escalations(Some(&run), false).await?.into_iter().filter(|e| e.task_id == task).collect();
                    let out = serde_json::json!({
                        "run": run, "task": t, "brief": brief, "attempts": store.attempts(&run, &task).await?,
                        "feedback": feedback, "escalations": escalations,
                    });
                    println!("{}", serde_json::to_string_pretty(&out)?);
                    return Ok(ExitCode::SUCCESS);
                }
                println!(
                    "run {run} · task {task} · {} · @{} · attempts {} · escalation level {}\n",
                    t.state, t.specialist, t.attempts, t.escalation_level
                );
                print!("{brief}");
                let attempts = store.attempts(&run, &task).await?;
                if !attempts.is_empty() {
                    println!("\nATTEMPTS:");
                    for a in attempts {
                        println!(
                            "- {} by @{} ({}): {} {}",
                            a.attempt,
                            a.specialist,
                            a.owner,
                            a.outcome.as_deref().unwrap_or("running"),
                            a.detail.unwrap_or_default()
                        );
                    }
                }
            }
            TaskCommand::Claim { task, run, who: name } => {
                let run = run_of_task(store, run.as_deref(), &task).await?;
                let taken = project.runtime().claim_manual(&run, &task, &who(name)).await?;
                println!("claimed {task} of run {run} (attempt {})", taken.claim.attempt);
                if let (Some(dir), Some(branch)) = (&taken.workspace, &taken.branch) {
                    println!("work in {} (branch {branch}); leave your changes there, committed or not", dir.display());
                }
                println!("finish with coord task complete|fail {task} --run {run}");
            }
            TaskCommand::Complete { task, run, note, artifact } => {
                let run = run_of_task(store, run.as_deref(), &task).await?;
                // The artifacts a person names are checked like an executor's.
                let out = project
                    .runtime()
                    .complete_manual(&run, &task, &who(None), &note.unwrap_or_default(), &artifact)
                    .await?;
                if !out.accepted {
                    println!("{task}: the quality gates refused the result:\n{}", out.error.unwrap_or_default());
                    match out.next.action.as_str() {
                        "escalated" => println!("{task}: escalated (level {})", out.next.level),
                        "failed" => {}
                        _ => println!(
                            "{task}: back to ready at escalation level {}; fix it and complete it again",
                            out.next.level
                        ),
                    }
                    return Ok(ExitCode::from(1));
                }
                println!("{task}: done");
                if !out.ready.is_empty() {
                    println!("ready now: {} (coord resume {run} runs the automatic ones)", out.ready.join(", "));
                }
                if out.run_state != coord_store::RunState::Running {
                    println!("run {run}: {}", out.run_state.as_str());
                }
            }
            TaskCommand::Fail { task, run, note, category } => {
                let run = run_of_task(store, run.as_deref(), &task).await?;
                let category = match category {
                    Some(c) => c.parse::<FailureCategory>().map_err(|e| anyhow!(e))?,
                    None => FailureCategory::General,
                };
                let failure = Failure { error: note, category, retryable: true, park: false };
                let out = project.runtime().fail_manual(&run, &task, &who(None), failure).await?;
                match out.next.action.as_str() {
                    "retry" | "consult" | "reassign" => {
                        let who = out.next.specialist.map(|s| format!(", reassigned to @{s}")).unwrap_or_default();
                        let wait = out.next.retry_at.map_or(0, |at| ((at - now_ms()).max(0) + 999) / 1000);
                        println!("{task}: failed; escalation level {}{who}; ready again in {wait}s", out.next.level);
                    }
                    "escalated" => {
                        println!("{task}: escalated (level {}); see coord escalation list --run {run}", out.next.level)
                    }
                    "failed" => println!("{task}: failed for good"),
                    _ => println!("{task}: done"),
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A decision's note from a file, or from standard input for `-`.
fn read_note(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).context("cannot read the note from standard input")?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| format!("cannot read the note {}", path.display()))?;
    }
    Ok(text)
}

/// `coord escalation`.
pub fn escalation(args: EscalationArgs) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        match args.command {
            EscalationCommand::List { run, all, json } => {
                let list = project.store.escalations(run.as_deref(), !all).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else if list.is_empty() {
                    println!("no {}escalations", if all { "" } else { "open " });
                } else {
                    for e in list {
                        println!(
                            "#{:<4} {} {:<14} level {} {:<15} {:<8} {}{}",
                            e.id,
                            e.run_id,
                            e.task_id,
                            e.level,
                            e.category,
                            e.state,
                            e.reason.lines().next().unwrap_or(""),
                            e.decision.map(|d| format!(" → {d}")).unwrap_or_default()
                        );
                        if let Some(note) = &e.note {
                            println!("      note: {}", note.lines().next().unwrap_or(""));
                        }
                    }
                    println!(
                        "decide with: coord escalation resolve ID --decision retry|reassign:NAME|approve|skip|abort [--note TEXT]"
                    );
                }
            }
            EscalationCommand::Resolve { id, decision, note, note_file } => {
                let note = match note_file {
                    Some(path) => Some(read_note(&path)?),
                    None => note,
                };
                let r = Resolution::parse(&decision, note.as_deref(), &project.roster)?;
                let e = project.store.resolve_escalation(id, &r.decision, r.note(), now_ms()).await?;
                println!(
                    "escalation #{id} ({}, task {}): {}{}; continue with coord resume {}",
                    e.run_id,
                    e.task_id,
                    r.decision.as_string(),
                    if r.note.is_some() { ", with your note" } else { "" },
                    e.run_id
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
