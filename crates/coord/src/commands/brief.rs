//! `coord brief`: one task of a plan file as the spec's delegation template.

use super::roster_with_warnings;
use crate::cli::{BriefArgs, BriefFormat};
use crate::plan_file::load_plan;
use anyhow::{Result, anyhow};
use coord_core::dag;
use coord_plan::brief_with_stats;
use std::process::ExitCode;

/// `coord brief`.
pub fn brief(args: BriefArgs) -> Result<ExitCode> {
    let plan = load_plan(&args.plan)?;
    let loaded = roster_with_warnings(args.repo.as_deref());
    let valid = dag::validate(plan, |name| loaded.roster.contains(name))
        .map_err(|e| anyhow!("{}: {e}", args.plan.display()))?;
    let plan = valid.plan();
    let task = plan.task(&args.task).ok_or_else(|| {
        let ids: Vec<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
        anyhow!("{}: no task `{}` (tasks: {})", args.plan.display(), args.task, ids.join(", "))
    })?;
    let (brief, stats) = brief_with_stats(plan, task, &loaded.roster, &[]);
    match args.format() {
        BriefFormat::Markdown => {
            print!("{}", brief.markdown);
            eprintln!(
                "coord: context for @{}: {} of {} items; {} tokens vs {} unfiltered ({:.0}% saved)",
                brief.specialist,
                stats.items_included,
                stats.items_total,
                stats.tokens,
                stats.unfiltered_tokens,
                stats.saved_percent
            );
        }
        BriefFormat::Json => {
            let out = serde_json::json!({ "brief": brief, "stats": stats });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
