//! `coord plan` and `coord validate`.

use super::roster_with_warnings;
use crate::cli::{PlanArgs, PlanFormat, PlannerKind, ValidateArgs};
use crate::plan_file::{FileFormat, load_plan, read_text, write_atomically};
use crate::render::plan_text;
use anyhow::{Context, Result, anyhow};
use coord_core::{Plan, dag};
use coord_plan::{PlanInput, RepoFacts, RulePlanner, StackFlag, plan_objective};
use std::io::Read;
use std::process::ExitCode;

fn objective_text(args: &PlanArgs) -> Result<String> {
    if let Some(path) = &args.objective_file {
        return read_text(path, "objective file");
    }
    match args.objective.as_deref() {
        Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(coord_plan::MAX_OBJECTIVE_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .context("cannot read the objective from stdin")?;
            String::from_utf8(bytes).map_err(|e| {
                anyhow!("the objective on stdin is not valid UTF-8 (byte {})", e.utf8_error().valid_up_to())
            })
        }
        Some(text) => Ok(text.to_string()),
        None => Err(anyhow!("give an objective, e.g. coord plan \"Add user authentication with OAuth2 and JWT\"")),
    }
}

fn serialize(plan: &Plan, format: PlanFormat) -> Result<String> {
    Ok(match format {
        PlanFormat::Text => plan_text(plan),
        PlanFormat::Json => {
            let mut s = serde_json::to_string_pretty(plan).context("cannot encode the plan as JSON")?;
            s.push('\n');
            s
        }
        PlanFormat::Yaml => yaml_serde::to_string(plan).context("cannot encode the plan as YAML")?,
    })
}

/// Plans with the chosen planner. The LLM planner needs `[llm]` in the project's coord.toml and
/// its key; without them, or when the model cannot plan, the rules plan, the plan's notes say
/// why, and so does the second value (a warning line is printed on stderr).
pub fn make_plan(
    input: &PlanInput<'_>,
    planner: PlannerKind,
    dir: &std::path::Path,
    roster: &coord_core::Roster,
) -> Result<(coord_core::ValidatedPlan, Option<String>)> {
    let rules = RulePlanner::for_project(dir)?;
    if planner == PlannerKind::Rules {
        return Ok((plan_objective(input, &rules, roster)?, None));
    }
    let config = coord_runtime::Config::load(&dir.join("coord.toml"))?;
    if planner == PlannerKind::Auto && config.llm.clone().is_none_or(|c| coord_llm::LlmClient::new(c).is_err()) {
        return Ok((plan_objective(input, &rules, roster)?, None));
    }
    let why_not = match config.llm.clone().map(coord_llm::LlmClient::new) {
        None => "no [llm] section in coord.toml".to_string(),
        Some(Err(e)) => e.to_string(),
        Some(Ok(client)) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let planned = rt.block_on(coord_plan::llm_planner::plan_with_llm(input, &client, roster, &rules, 2))?;
            eprintln!(
                "coord: the LLM planner used {} input + {} cached + {} output tokens (${:.4})",
                planned.usage.input_tokens,
                planned.usage.cached_input_tokens,
                planned.usage.output_tokens,
                planned.cost_usd
            );
            if let Some(why) = &planned.fallback {
                eprintln!("coord: warning: the LLM planner could not plan ({why}); the rule-based planner did");
            }
            return Ok((planned.plan, planned.fallback));
        }
    };
    eprintln!("coord: warning: the LLM planner is off ({why_not}); the rule-based planner plans");
    let valid = plan_objective(input, &rules, roster)?;
    let mut plan = valid.plan().clone();
    plan.notes.insert(0, format!("The LLM planner is off ({why_not}); the rule-based planner made this plan."));
    let valid = coord_core::dag::validate(plan, |n| roster.contains(n)).map_err(|e| anyhow!("{e}"))?;
    Ok((valid, Some(why_not)))
}

/// `coord plan`.
pub fn plan(args: PlanArgs) -> Result<ExitCode> {
    let stack = args.stack.as_deref().map(str::parse::<StackFlag>).transpose()?;
    let objective = objective_text(&args)?;
    let repo = match &args.repo {
        Some(dir) => Some(RepoFacts::scan(dir).with_context(|| format!("cannot scan repository {}", dir.display()))?),
        None => None,
    };
    let loaded = roster_with_warnings(args.repo.as_deref());
    let input = PlanInput { objective: &objective, repo: repo.as_ref(), stack, workflows: !args.no_workflows };
    let dir = args.repo.clone().unwrap_or_else(|| std::path::PathBuf::from("."));
    let (valid, fell_back) = make_plan(&input, args.planner, &dir, &loaded.roster)?;
    // Asked for the model's plan and given the rules': printed, but not a success.
    let refused_fallback = args.planner == PlannerKind::Llm && fell_back.is_some() && args.fallback.is_none();
    let plan = valid.plan();
    let format = args
        .format
        .or_else(|| {
            args.out.as_deref().and_then(FileFormat::from_path).map(|f| match f {
                FileFormat::Json => PlanFormat::Json,
                FileFormat::Yaml => PlanFormat::Yaml,
            })
        })
        .unwrap_or(PlanFormat::Text);
    let rendered = serialize(plan, format)?;
    match &args.out {
        Some(path) => {
            write_atomically(path, &rendered)?;
            eprintln!(
                "coord: wrote a plan of {} tasks in {} parallel groups to {} (next: coord brief {} {})",
                plan.tasks.len(),
                plan.groups.len(),
                path.display(),
                path.display(),
                plan.tasks.first().map(|t| t.id.as_str()).unwrap_or("TASK")
            );
        }
        None => print!("{rendered}"),
    }
    if refused_fallback {
        eprintln!(
            "coord: the plan above is the rule-based planner's, not the model's: exit 3 (--fallback rules accepts it)"
        );
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

/// `coord validate`.
pub fn validate(args: ValidateArgs) -> Result<ExitCode> {
    let plan = load_plan(&args.plan)?;
    let loaded = roster_with_warnings(args.repo.as_deref());
    match dag::validate(plan, |name| loaded.roster.contains(name)) {
        Ok(valid) if args.json => {
            let p = valid.plan();
            let out = serde_json::json!({
                "plan": args.plan.display().to_string(), "valid": true, "tasks": p.tasks.len(),
                "groups": p.groups, "critical_path": p.critical_path, "critical_path_hours": p.critical_path_hours,
            });
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) if args.json => {
            let list: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
            println!(
                "{}",
                serde_json::json!({ "plan": args.plan.display().to_string(), "valid": false, "errors": list })
            );
            Ok(ExitCode::from(1))
        }
        Ok(valid) => {
            let p = valid.plan();
            println!(
                "{}: valid plan: {} tasks, {} parallel groups, critical path {} ({}h)",
                args.plan.display(),
                p.tasks.len(),
                p.groups.len(),
                p.critical_path.join(" → "),
                p.critical_path_hours
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("coord: error: {}: {e}", args.plan.display());
            }
            Ok(ExitCode::from(1))
        }
    }
}
