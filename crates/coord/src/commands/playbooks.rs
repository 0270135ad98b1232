//! `coord playbooks list|show|explain`: the rule planner's playbooks, and why an objective
//! gets the plan it gets.

use super::{project_dir, roster_with_warnings};
use crate::cli::{ListFormat, PlaybooksArgs, PlaybooksCommand};
use anyhow::{Context, Result, anyhow};
use coord_plan::{PlanInput, RepoFacts, RulePlanner, StackFlag};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Runs `coord playbooks`.
pub fn playbooks(args: PlaybooksArgs) -> Result<ExitCode> {
    match args.command {
        PlaybooksCommand::List { repo, out } => list(repo.as_deref(), out.format()),
        PlaybooksCommand::Show { name, repo } => {
            let planner = RulePlanner::for_project(&project_dir(repo.as_deref()))?;
            let playbook = planner.playbooks().get(&name).ok_or_else(|| {
                let known: Vec<&str> = planner.playbooks().playbooks.iter().map(|p| p.name.as_str()).collect();
                anyhow!("no playbook named `{name}` (known: {})", known.join(", "))
            })?;
            println!("# {} ({})", playbook.name, playbook.source);
            print!("{}", playbook.text);
            Ok(ExitCode::SUCCESS)
        }
        PlaybooksCommand::Explain { objective, repo, stack, out } => explain(&objective, repo, stack, out.format()),
    }
}

fn list(repo: Option<&std::path::Path>, format: ListFormat) -> Result<ExitCode> {
    let planner = RulePlanner::for_project(&project_dir(repo))?;
    let set = planner.playbooks();
    if format == ListFormat::Json {
        let rows: Vec<serde_json::Value> = set
            .playbooks
            .iter()
            .map(|p| {
                let mut keys: Vec<&str> = p.templates.iter().map(|t| t.key.as_str()).collect();
                keys.dedup();
                serde_json::json!({
                    "name": p.name, "order": p.order, "source": p.source,
                    "overrides_builtin": p.overrides_builtin, "description": p.description,
                    "tasks": keys, "inferences": p.inferences.len(),
                })
            })
            .collect();
        let out = serde_json::json!({ "playbooks": rows, "disabled": set.disabled });
        println!("{}", serde_json::to_string_pretty(&out).context("cannot encode the list")?);
        return Ok(ExitCode::SUCCESS);
    }
    for p in &set.playbooks {
        let mut keys: Vec<&str> = p.templates.iter().map(|t| t.key.as_str()).collect();
        keys.dedup();
        let source = if p.overrides_builtin { format!("{} (overrides built-in)", p.source) } else { p.source.clone() };
        println!("{:<20} {:>4}  {:<40} tasks: {}", p.name, p.order, source, keys.join(", "));
        println!("{:<26}{}", "", p.description);
    }
    for name in &set.disabled {
        println!("{name:<20}  off   (enabled = false)");
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(
    objective: &str,
    repo: Option<std::path::PathBuf>,
    stack: Option<String>,
    format: ListFormat,
) -> Result<ExitCode> {
    let stack = stack.as_deref().map(str::parse::<StackFlag>).transpose()?;
    let facts = match &repo {
        Some(dir) => Some(RepoFacts::scan(dir).with_context(|| format!("cannot scan repository {}", dir.display()))?),
        None => None,
    };
    let dir = project_dir(repo.as_deref());
    let planner = RulePlanner::for_project(&dir)?;
    let loaded = roster_with_warnings(repo.as_deref());
    let input = PlanInput { objective, repo: facts.as_ref(), stack, workflows: false };
    let e = planner.explain(&input, &loaded.roster)?;
    if format == ListFormat::Json {
        println!("{}", serde_json::to_string_pretty(&e).context("cannot encode the explanation")?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let _ = writeln!(out, "Objective: {}", objective.trim());
    let _ = writeln!(out, "\nFacets:");
    for f in &e.analysis.facets {
        let evidence = e.analysis.facet_evidence.get(f).map(|v| v.join("; ")).unwrap_or_default();
        let _ = writeln!(out, "  {:<13} {evidence}", f.as_str());
    }
    let _ = writeln!(
        out,
        "Stack: {} -> {} ({})",
        e.analysis.stack.framework.clone().unwrap_or_else(|| e.analysis.stack.language.as_str().into()),
        e.analysis.stack.specialist,
        e.analysis.stack.evidence.join("; ")
    );
    if !e.inferred.is_empty() {
        let _ = writeln!(out, "\nInferred:");
        for i in &e.inferred {
            let _ = writeln!(out, "  {i}");
        }
    }
    let _ = writeln!(out, "\nFired:");
    for f in &e.explanation.fired {
        let variant = if f.variant > 1 { format!(" (variant {})", f.variant) } else { String::new() };
        let because = if f.because.is_empty() { "always".to_string() } else { f.because.join("; ") };
        let _ = writeln!(out, "  {}{variant} -> {}  because {because}", f.template, f.tasks.join(", "));
    }
    let _ = writeln!(out, "\nNot fired:");
    for s in &e.explanation.skipped {
        let _ = writeln!(out, "  {}  because {}", s.template, s.because);
    }
    let _ = writeln!(out, "\nTasks:");
    for t in &e.plan.tasks {
        let why = t.assigned_because.as_deref().unwrap_or("");
        let deps = if t.depends_on.is_empty() { String::new() } else { format!("  after {}", t.depends_on.join(", ")) };
        let _ = writeln!(out, "  {} {}  @{} ({why}){deps}", t.id, t.title, t.specialist);
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
