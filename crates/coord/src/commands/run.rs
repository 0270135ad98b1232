//! `coord run`, `resume`, `status`, `log`, `cancel` and `metrics`. `run` and `resume` stop
//! gracefully on Ctrl-C or SIGTERM (the run stays `running`; only `coord cancel` cancels) and
//! exit with a status that says how the run stands (`docs/exit-codes.md`).

use super::context::{Project, newest_run, open, tokio_runtime};
use super::progress;
use super::signals::{StopSignal, until_stopped};
use crate::cli::{LogArgs, MetricsArgs, MetricsFormat, ResumeArgs, RunArgs, RunRef, StatusArgs, StoreArgs};
use crate::input_error;
use crate::plan_file::load_plan;
use anyhow::{Context, Result, anyhow};
use coord_core::Plan;
use coord_plan::{PlanningError, StackFlag};
use coord_runtime::{Halt, PlannerChoice, RunReport, RunSource, Runtime, RuntimeError, metrics, now_ms, start_run};
use coord_store::{RunState, Store, StoreError};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

/// `coord run` and `coord resume` exit with this when the run is done.
const DONE: u8 = 0;
/// ... when the run failed or was cancelled (or coord could not go on: a store error).
const FAILED: u8 = 1;
/// ... when the run waits on a person (manual tasks) or an escalation.
const WAITING: u8 = 3;

/// What stops a drive: the first Ctrl-C or SIGTERM sets [`Halt::Stop`] and records which.
struct StopSwitch {
    halt: watch::Receiver<Halt>,
    by: Arc<OnceLock<StopSignal>>,
}

/// Runs a `coord run` or `coord resume` (`work`) until it ends or a signal stops it.
fn with_stop_switch<Fut>(store: &StoreArgs, work: impl FnOnce(StopSwitch) -> Fut) -> Result<ExitCode>
where
    Fut: std::future::Future<Output = Result<ExitCode>>,
{
    let (tx, halt) = watch::channel(Halt::Go);
    let by = Arc::new(OnceLock::new());
    let seen = by.clone();
    until_stopped(super::context::drive_runtime(store)?, work(StopSwitch { halt, by }), move |signal| {
        let _ = seen.set(signal);
        eprintln!(
            "coord: {}: stopping; attempts under way are interrupted and their tasks made ready again, the run stays running (another Ctrl-C or SIGTERM exits at once)",
            signal.name()
        );
        let _ = tx.send(Halt::Stop);
    })
}

/// Errors in what the user gave `coord run`/`resume` (exit 2), told from the rest (exit 1):
/// the project folder, `coord.toml`, a database file that is not coord's, an unknown run.
fn as_input(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<StoreError>() {
        None | Some(StoreError::NotOurs { .. } | StoreError::UnknownRun(_)) => input_error(e),
        Some(_) => e,
    }
}

/// The run's wall time, and this drive's when the run began before it (a resumed run, or one
/// worked by hand).
fn wall(report: &RunReport) -> String {
    let run = crate::render::duration_ms(report.run_wall_ms);
    if report.run_wall_ms - report.wall_ms as i64 > 1_000 {
        format!("{run} since the run started ({} in this drive)", crate::render::duration_ms(report.wall_ms as i64))
    } else {
        run
    }
}

fn print_report(report: &RunReport, json: bool) {
    if json {
        println!("{}", serde_json::json!({ "event": "report", "report": report }));
        return;
    }
    let count = |s: &str| report.tasks.get(s).copied().unwrap_or(0);
    println!(
        "\nrun {}: {} — {} done, {} failed, {} escalated, {} blocked, {} waiting; {} attempts; wall {}; critical path {}",
        report.run_id,
        report.state,
        count("done"),
        count("failed"),
        count("escalated"),
        count("blocked"),
        count("ready") + count("pending") + count("retrying") + count("running"),
        report.attempts,
        wall(report),
        crate::render::duration_ms(report.critical_path_ms)
    );
    if report.llm.tokens > 0 {
        println!("LLM: {} tokens, ${:.4}; by specialist and by task:", report.llm.tokens, report.llm.cost_usd);
    }
    if let Some(d) = &report.delivery {
        print_delivery(d);
    }
    if let Some(what) = &report.delivered {
        println!("{what}");
    }
    if !report.waiting_for_people.is_empty() {
        println!(
            "\n{} task(s) wait for a person or an agent host (no executor configured for their specialist):",
            report.waiting_for_people.len()
        );
        for (task, specialist) in report.waiting_for_people.iter().take(10) {
            println!("  {task}  @{specialist}");
        }
        if let Some((first, _)) = report.waiting_for_people.first() {
            println!(
                "next: coord task show {first} --run {run}; coord task complete {first} --run {run} --note \"...\"; then coord resume {run}",
                run = report.run_id
            );
            println!("      (or configure [specialists.NAME] executor = \"command\" in coord.toml)");
        }
    }
    if report.open_escalations > 0 {
        println!("{} open escalation(s): coord escalation list --run {}", report.open_escalations, report.run_id);
    }
}

/// The report's last line: how a drive that did not end the run left it (exit 3 or a signal's).
fn print_outcome(report: &RunReport, watching: bool) {
    if report.stopped && watching {
        eprintln!("coord: stopped watching; the run goes on with its workers (coord status, coord workers)");
    } else if report.stopped {
        println!(
            "stopped: {} attempt(s) interrupted, their tasks ready again; the run is still {} (coord resume {run} continues it, coord cancel {run} ends it)",
            report.interrupted,
            report.state,
            run = report.run_id
        );
    } else if report.state == "running" && report.tasks.get("failed").copied().unwrap_or(0) == 0 {
        println!("{}", waiting_line(report));
    }
}

/// What a run that exits with 3 waits on.
fn waiting_line(report: &RunReport) -> String {
    let mut on = Vec::new();
    if !report.waiting_for_people.is_empty() {
        on.push(format!("{} task(s) for a person", report.waiting_for_people.len()));
    }
    if report.open_escalations > 0 {
        on.push(format!("{} open escalation(s)", report.open_escalations));
    }
    if on.is_empty() {
        on.push("tasks nothing here can run (coord status lists them)".to_string());
    }
    format!("waiting on {}; then coord resume {}", on.join(" and "), report.run_id)
}

/// The exit status of `coord run` and `coord resume` for how the drive ended (see
/// `docs/exit-codes.md`): a stopped drive exits with its signal's status.
fn exit_status(report: &RunReport, stopped_by: Option<StopSignal>) -> ExitCode {
    if report.stopped {
        return stopped_by.unwrap_or(StopSignal::Interrupt).exit_code();
    }
    ExitCode::from(match report.state.as_str() {
        "done" => DONE,
        // A task failed for good: the run can only end failed.
        "running" if report.tasks.get("failed").copied().unwrap_or(0) == 0 => WAITING,
        _ => FAILED,
    })
}

/// One line on stderr saying how specialists' commands are confined here (when any runs).
fn say_sandbox(project: &Project) {
    use coord_runtime::config::{ExecutorKind, SandboxMode};
    let confined: Vec<&str> = project
        .roster
        .names()
        .filter(|n| {
            let kind = project.config.specialist(n).executor;
            kind.writes_files() && kind != ExecutorKind::Workflow
        })
        .filter(|n| project.config.specialist(n).sandbox == SandboxMode::Strict)
        .collect();
    if confined.is_empty() {
        return;
    }
    let s = coord_sandbox::support();
    if s.can_confine() {
        eprintln!("coord: {}", s.summary());
    } else {
        eprintln!("coord: warning: {}", s.refusal());
    }
}

fn print_delivery(d: &coord_runtime::workspace::Delivery) {
    let short = |c: &str| c.chars().take(12).collect::<String>();
    let stat = if d.diffstat.is_empty() { "no changes".to_string() } else { d.diffstat.clone() };
    println!("result: branch {} at {} ({stat})", d.branch, short(&d.commit));
    println!("  look: git log --first-parent {}; git diff {}...{}", d.branch, short(&d.start), d.branch);
    println!("  take: git merge {}", d.branch);
    if !d.unmerged.is_empty() {
        println!(
            "  not merged (resolve on the task branch, then coord escalation resolve ... --decision approve): {}",
            d.unmerged.join(", ")
        );
    }
}

async fn drive(
    project: &Project,
    run_id: &str,
    parallel: Option<usize>,
    json: bool,
    stop: StopSwitch,
) -> Result<ExitCode> {
    let mut config = project.config.clone();
    if let Some(p) = parallel {
        config.run.parallel = p;
    }
    let watching = config.run.parallel == 0;
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
    // Bars need the plan's groups; lines need nothing of it.
    let sink = if progress::bars_wanted(json) {
        let record = project.store.run(run_id).await?;
        let plan: Plan = serde_json::from_str(&record.plan_json).context("the run's stored plan is unreadable")?;
        progress::bars(&plan)
    } else {
        progress::lines(json)
    };
    if watching && !json {
        eprintln!("coord: --parallel 0: nothing runs here; workers (coord worker) execute the run");
    }
    let report = runtime.drive(run_id, stop.halt, sink.as_ref()).await?;
    drop(sink);
    print_report(&report, json);
    if report.llm.tokens > 0 && !json {
        let m = metrics::compute(&project.store, &[run_id.to_string()]).await?;
        for (who, spend) in &m.llm_by_specialist {
            println!("  @{who}: {} tokens, ${:.4}", spend.tokens, spend.cost_usd);
        }
        for (task, spend) in &m.llm_by_task {
            println!("  {}: {} tokens, ${:.4}", task.rsplit('/').next().unwrap_or(task), spend.tokens, spend.cost_usd);
        }
    }
    if !json {
        print_outcome(&report, watching);
    }
    Ok(exit_status(&report, stop.by.get().copied()))
}

/// `coord run`.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    with_stop_switch(&args.store.clone(), |stop| async move {
        let project = open(&args.store).await.map_err(as_input)?;
        let source = match &args.plan {
            Some(path) => RunSource::Plan(Box::new(load_plan(path).map_err(input_error)?)),
            None => RunSource::Objective {
                objective: args.objective.clone().unwrap_or_default(),
                stack: args.stack.as_deref().map(str::parse::<StackFlag>).transpose().map_err(input_error)?,
                planner: match args.planner {
                    crate::cli::PlannerKind::Rules => PlannerChoice::Rules,
                    crate::cli::PlannerKind::Llm if args.fallback.is_some() => PlannerChoice::Llm,
                    crate::cli::PlannerKind::Llm => PlannerChoice::LlmOnly,
                    crate::cli::PlannerKind::Auto => PlannerChoice::Auto,
                },
                workflows: !args.no_workflows,
            },
        };
        let started = match start_run(&project.store, &project.roster, &project.config, &project.dir, source).await {
            Err(e @ RuntimeError::PlannerFellBack(_)) => {
                eprintln!("coord: {e}");
                return Ok(ExitCode::from(WAITING));
            }
            other => other,
        };
        let started = started.map_err(|e| match (&args.plan, e) {
            // The error names the plan file.
            (Some(path), RuntimeError::InvalidPlan(errors)) => input_error(anyhow!("{}: {errors}", path.display())),
            (_, e @ (RuntimeError::InvalidPlan(_) | RuntimeError::Planning(PlanningError::Analysis(_)))) => {
                input_error(e)
            }
            (_, e) => e.into(),
        })?;
        for w in &started.warnings {
            eprintln!("coord: warning: {w}");
        }
        say_sandbox(&project);
        let (id, valid) = (started.run_id, started.plan);
        if args.json {
            println!("{}", serde_json::json!({ "event": "run_created", "run": id, "tasks": valid.plan().tasks.len() }));
        } else {
            println!("run {id}: {} tasks in {} parallel groups", valid.plan().tasks.len(), valid.plan().groups.len());
        }
        // The drive reads the plan from the store: this copy is not kept through the run.
        drop(valid);
        drive(&project, &id, args.parallel, args.json, stop).await
    })
}

/// `coord resume`.
pub fn resume(args: ResumeArgs) -> Result<ExitCode> {
    with_stop_switch(&args.store.clone(), |stop| async move {
        let project = open(&args.store).await.map_err(as_input)?;
        let run = newest_run(&project.store, args.run.as_deref()).await.map_err(input_error)?;
        let record = project.store.run(&run).await.map_err(|e| as_input(e.into()))?;
        if record.state != RunState::Running {
            return Err(input_error(anyhow!(
                "run {} is {}; only a running run can be resumed",
                run,
                record.state.as_str()
            )));
        }
        drive(&project, &run, args.parallel, args.json, stop).await
    })
}

/// `coord cancel`.
pub fn cancel(args: RunRef) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let n = project.store.cancel_run(&args.run, now_ms()).await?;
        println!("run {}: cancelled ({n} unfinished tasks); a coordinator driving it stops within a second", args.run);
        Ok(ExitCode::SUCCESS)
    })
}

/// `coord status`.
pub fn status(args: StatusArgs) -> Result<ExitCode> {
    // Reading creates nothing: no database yet means no runs yet.
    if let Some(db) = super::context::missing_database(&args.store) {
        if args.run.is_none() {
            if args.json {
                println!("[]");
            } else {
                println!("no runs yet (no database at {}): coord run \"<objective>\"", db.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        return Err(input_error(anyhow!("no runs yet: there is no database at {}", db.display())));
    }
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        match &args.run {
            None => {
                let runs = project.store.runs().await?;
                if args.json {
                    let list: Vec<_> = runs.iter().map(|r| serde_json::json!({ "id": r.id, "state": r.state, "objective": r.objective, "created_at": r.created_at })).collect();
                    println!("{}", serde_json::Value::from(list));
                } else if runs.is_empty() {
                    println!("no runs yet: coord run \"<objective>\"");
                } else {
                    for r in runs {
                        let tasks = project.store.tasks(&r.id).await?;
                        let done = tasks.iter().filter(|t| t.state == coord_store::TaskState::Done).count();
                        println!("{}  {:<9}  {done}/{} done  {}", r.id, r.state.as_str(), tasks.len(), r.objective);
                    }
                }
            }
            Some(run) => {
                let record = project.store.run(run).await?;
                let tasks = project.store.tasks(run).await?;
                let plan = coord_runtime::manual::stored_plan(&project.store, run).await?;
                // The report holds the delivery (the runtime's workspaces know the remote).
                let report = project.runtime().report(run, &plan, std::time::Instant::now()).await?;
                let delivery = &report.delivery;
                if args.json {
                    let mut artifacts = serde_json::Map::new();
                    for t in &tasks {
                        let accepted = project.store.attempts(run, &t.task_id).await?.into_iter().rev()
                            .find(|a| a.outcome.as_deref() == Some("succeeded"))
                            .and_then(|a| a.detail)
                            .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                            .and_then(|d| d.get("artifacts").cloned());
                        if let Some(a) = accepted {
                            artifacts.insert(t.task_id.clone(), a);
                        }
                    }
                    println!("{}", serde_json::json!({
                        "run": run, "state": record.state, "tasks": tasks, "artifacts": artifacts, "delivery": delivery,
                        "run_wall_ms": report.run_wall_ms, "critical_path_ms": report.critical_path_ms,
                    }));
                } else {
                    println!(
                        "run {run}: {} — {}\nwall {}; critical path {}",
                        record.state.as_str(),
                        record.objective,
                        crate::render::duration_ms(report.run_wall_ms),
                        crate::render::duration_ms(report.critical_path_ms)
                    );
                    for t in tasks {
                        let level = if t.escalation_level > 0 { format!(" level {}", t.escalation_level) } else { String::new() };
                        println!("  {:<14} {:<10} @{:<22} attempts {}{level}", t.task_id, t.state.as_str(), t.specialist, t.attempts);
                    }
                    if let Some(d) = delivery {
                        print_delivery(d);
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `coord log`.
pub fn log(args: LogArgs) -> Result<ExitCode> {
    if let Some(db) = super::context::missing_database(&args.store) {
        return Err(input_error(anyhow!("no runs yet: there is no database at {}", db.display())));
    }
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let run = newest_run(&project.store, args.run.as_deref()).await?;
        project.store.run(&run).await?;
        let mut after = 0;
        loop {
            let events = project.store.events(&run, after, 1000).await?;
            for e in &events {
                after = e.seq;
                if args.json {
                    let mut v = serde_json::to_value(e)?;
                    v["time"] = crate::render::utc_time(e.at, true).into();
                    println!("{v}");
                } else {
                    println!(
                        "{:>6} {} {:<20} {:<14} {}",
                        e.seq,
                        crate::render::utc_time(e.at, false),
                        e.kind,
                        e.task_id.as_deref().unwrap_or("-"),
                        e.data
                    );
                }
            }
            if events.is_empty() {
                if !args.follow || project.store.run(&run).await?.state != RunState::Running {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `coord metrics`.
pub fn metrics(args: MetricsArgs) -> Result<ExitCode> {
    tokio_runtime()?.block_on(async {
        let project = open(&args.store).await?;
        let runs: Vec<String> = match &args.run {
            Some(r) => {
                project.store.run(r).await?;
                vec![r.clone()]
            }
            None => project.store.runs().await?.into_iter().map(|r| r.id).collect(),
        };
        let m = metrics::compute(&project.store, &runs).await?;
        match args.format() {
            MetricsFormat::Prometheus => print!("{}", metrics::prometheus(&m, args.run.as_deref())),
            MetricsFormat::Json => println!("{}", serde_json::to_string_pretty(&m)?),
        }
        Ok(ExitCode::SUCCESS)
    })
}
