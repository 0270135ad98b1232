//! `coord task` (manual work on tasks) and `coord escalation` (decisions).

use super::context::{newest_run, open, run_of_task, tokio_runtime};
use crate::cli::{EscalationArgs, EscalationCommand, TaskArgs, TaskCommand};
use anyhow::{Context, Result, anyhow};
use coord_core::{ContextPolicy, Plan, render_brief_delivered};
use coord_runtime::{Failure, FailureCategory, Runtime, now_ms};
use coord_store::{Decision, Finish, Store, TaskState};
use std::process::ExitCode;

/// Manual leases last a week: a person's work is not timed like a program's.
const MANUAL_LEASE_MS: i64 = 7 * 24 * 3600 * 1000;

fn who(name: Option<String>) -> String {
    name.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "someone".to_string())
}

/// The task's current claim, or a new one for the person running the command.
async fn claim_for_person(store: &coord_store::AnyStore, run: &str, task: &str) -> Result<coord_store::Claim> {
    Ok(match store.current_claim(run, task).await? {
        Some(c) => c,
        None => store.claim_task(run, task, &format!("person:{}", who(None)), MANUAL_LEASE_MS, now_ms()).await?,
    })
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
            TaskCommand::Show { task, run } => {
                let run = run_of_task(store, run.as_deref(), &task).await?;
                let record = store.run(&run).await?;
                let plan: Plan =
                    serde_json::from_str(&record.plan_json).context("the run's stored plan is unreadable")?;
                let t = store
                    .tasks(&run)
                    .await?
                    .into_iter()
                    .find(|t| t.task_id == task)
                    .ok_or_else(|| anyhow!("no task `{task}` in run {run}"))?;
                let mut planned =
                    plan.task(&task).cloned().ok_or_else(|| anyhow!("task `{task}` is not in the run's plan"))?;
                planned.specialist = t.specialist.clone();
                let policy = project
                    .roster
                    .get(&t.specialist)
                    .map(|s| s.context.clone())
                    .unwrap_or_else(ContextPolicy::everything);
                let feedback: Vec<String> =
                    store.feedback(&run, &task).await?.into_iter().map(|(s, x)| format!("{s}: {x}")).collect();
                println!(
                    "run {run} · task {task} · {} · @{} · attempts {} · escalation level {}\n",
                    t.state, t.specialist, t.attempts, t.escalation_level
                );
                let delivered = coord_runtime::upstream::delivered(store, &run, &planned, |id| plan.task(id)).await;
                print!(
                    "{}",
                    render_brief_delivered(&plan, &planned, &policy, &feedback, &delivered, |id| plan.task(id))
                        .markdown
                );
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
                let c =
                    store.claim_task(&run, &task, &format!("person:{}", who(name)), MANUAL_LEASE_MS, now_ms()).await?;
                println!(
                    "claimed {task} of run {run} (attempt {}); finish with coord task complete|fail {task} --run {run}",
                    c.attempt
                );
            }
            TaskCommand::Complete { task, run, note, artifact } => {
                let run = run_of_task(store, run.as_deref(), &task).await?;
                let claim = claim_for_person(store, &run, &task).await?;
                // The artifacts a person names are checked like an executor's.
                let runtime = Runtime::new(
                    project.store.clone(),
                    project.roster.clone(),
                    project.config.clone(),
                    project.dir.clone(),
                    project.runs_dir.clone(),
                );
                if let Some(failure) = runtime.gate_manual(&claim, &artifact).await? {
                    println!("{task}: the quality gates refused the result:\n{}", failure.error);
                    match runtime.record_failure(&claim, failure).await? {
                        Finish::Escalate { level, .. } => println!("{task}: escalated (level {level})"),
                        Finish::Retry { level, .. } => {
                            println!("{task}: back to ready at escalation level {level}; fix it and complete it again")
                        }
                        _ => {}
                    }
                    return Ok(ExitCode::from(1));
                }
                let detail =
                    serde_json::json!({ "artifacts": artifact, "summary": note.unwrap_or_default(), "by": "manual" })
                        .to_string();
                store.finish(&claim, &Finish::Done { detail }, now_ms()).await?;
                let ready: Vec<String> = store
                    .tasks(&run)
                    .await?
                    .into_iter()
                    .filter(|t| t.state == TaskState::Ready)
                    .map(|t| t.task_id)
                    .collect();
                println!("{task}: done");
                if !ready.is_empty() {
                    println!("ready now: {} (coord resume {run} runs the automatic ones)", ready.join(", "));
                }
                let state = store.run(&run).await?.state;
                if state != coord_store::RunState::Running {
                    println!("run {run}: {}", state.as_str());
                }
            }
            TaskCommand::Fail { task, run, note, category } => {
                let run = run_of_task(store, run.as_deref(), &task).await?;
                let category = match category {
                    Some(c) => c.parse::<FailureCategory>().map_err(|e| anyhow!(e))?,
                    None => FailureCategory::General,
                };
                let claim = claim_for_person(store, &run, &task).await?;
                let runtime = Runtime::new(
                    project.store.clone(),
                    project.roster.clone(),
                    project.config.clone(),
                    project.dir.clone(),
                    project.runs_dir.clone(),
                );
                let finish = runtime.record_failure(&claim, Failure { error: note, category, retryable: true }).await?;
                match finish {
                    Finish::Retry { level, specialist, retry_at, .. } => {
                        let who = specialist.map(|s| format!(", reassigned to @{s}")).unwrap_or_default();
                        println!(
                            "{task}: failed; escalation level {level}{who}; ready again in {}s",
                            ((retry_at - now_ms()).max(0) + 999) / 1000
                        );
                    }
                    Finish::Escalate { level, .. } => {
                        println!("{task}: escalated (level {level}); see coord escalation list --run {run}")
                    }
                    Finish::Fail { .. } => println!("{task}: failed for good"),
                    Finish::Done { .. } => println!("{task}: done"),
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
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
                    }
                    println!(
                        "decide with: coord escalation resolve ID --decision retry|reassign:NAME|approve|skip|abort"
                    );
                }
            }
            EscalationCommand::Resolve { id, decision } => {
                let decision: Decision = decision.parse().map_err(|e: String| anyhow!(e))?;
                if let Decision::Reassign(name) = &decision
                    && !project.roster.contains(name)
                {
                    return Err(anyhow!("unknown specialist `{name}` (see coord agents list)"));
                }
                let e = project.store.resolve_escalation(id, &decision, now_ms()).await?;
                println!(
                    "escalation #{id} ({}, task {}): {}; continue with coord resume {}",
                    e.run_id,
                    e.task_id,
                    decision.as_string(),
                    e.run_id
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
