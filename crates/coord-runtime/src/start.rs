//! Starting a run: the one implementation behind `coord run`, `POST /runs` and the MCP
//! `plan_objective` tool. An objective is planned (rule planner, or the configured model with
//! repair and fallback), or a given plan is validated against the roster; the validated plan
//! is stored as a new run whose tasks without dependencies are ready.

use crate::now_ms;
use crate::scheduler::RuntimeError;
use coord_core::{Plan, Roster, ValidatedPlan, dag};
use coord_plan::{PlanInput, RepoFacts, RulePlanner, StackFlag, plan_objective};
use coord_store::{NewRun, Store};
use std::path::Path;

/// Who plans an objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlannerChoice {
    /// The configured model when `[llm]` is set and its key present; the rules otherwise.
    #[default]
    Auto,
    /// The rule-based planner: offline and deterministic.
    Rules,
    /// The configured model; the rules plan, with a warning, when there is none or it fails.
    Llm,
    /// The configured model only: when it cannot plan, no run starts
    /// ([`RuntimeError::PlannerFellBack`]).
    LlmOnly,
}

/// What a run is made from.
#[derive(Debug, Clone)]
pub enum RunSource {
    /// An objective to plan.
    Objective {
        /// The objective text.
        objective: String,
        /// A forced stack.
        stack: Option<StackFlag>,
        /// Who plans.
        planner: PlannerChoice,
        /// Whether the plan includes the coordination workflows the objective calls for.
        workflows: bool,
    },
    /// A plan (from a file or a client), validated before it is stored.
    Plan(Box<Plan>),
}

/// A stored new run.
#[derive(Debug, Clone)]
pub struct StartedRun {
    /// The run's id.
    pub run_id: String,
    /// Its validated plan.
    pub plan: ValidatedPlan,
    /// What a person should know (the LLM planner was off, and why).
    pub warnings: Vec<String>,
    /// The LLM planner's spending (recorded as the run's `llm_usage` of `llm-planner`).
    pub planner_usage: Option<serde_json::Value>,
}

/// A fresh run id: `run-` then the time in base 36 and a process tag.
pub fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    // Two runs started in the same millisecond by one process still get distinct ids.
    let now = now_ms() as u64;
    let mut prev = LAST.load(Ordering::SeqCst);
    let ms = loop {
        let next = now.max(prev + 1);
        match LAST.compare_exchange(prev, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break next,
            Err(seen) => prev = seen,
        }
    };
    let mut n = ms;
    let mut s = String::new();
    while n > 0 {
        let d = (n % 36) as u32;
        s.insert(0, char::from_digit(d, 36).unwrap_or('0'));
        n /= 36;
    }
    format!("run-{s}{:03x}", std::process::id() % 4096)
}

/// Plans (or validates) and stores a new run. `project` is the target repository, scanned for
/// the planner's stack decision and context.
pub async fn start_run<S: Store>(
    store: &S,
    roster: &Roster,
    config: &crate::Config,
    project: &Path,
    source: RunSource,
) -> Result<StartedRun, RuntimeError> {
    let mut warnings = Vec::new();
    let mut planner_usage = None;
    let plan = match source {
        RunSource::Plan(plan) => dag::validate(*plan, |n| roster.contains(n)).map_err(RuntimeError::InvalidPlan)?,
        RunSource::Objective { objective, stack, planner, workflows } => {
            let repo = RepoFacts::scan(project).ok();
            let input = PlanInput { objective: &objective, repo: repo.as_ref(), stack, workflows };
            let client = config.llm.clone().map(coord_llm::LlmClient::new);
            let use_llm = match planner {
                PlannerChoice::Rules => false,
                PlannerChoice::Llm | PlannerChoice::LlmOnly => true,
                PlannerChoice::Auto => matches!(client, Some(Ok(_))),
            };
            let strict = planner == PlannerChoice::LlmOnly;
            let rules = RulePlanner::for_project(project).map_err(coord_plan::PlanningError::from)?;
            match (use_llm, client) {
                (false, _) => plan_objective(&input, &rules, roster)?,
                (true, Some(Ok(client))) => {
                    let planned = coord_plan::llm_planner::plan_with_llm(&input, &client, roster, &rules, 2).await?;
                    if planned.usage != coord_llm::Usage::default() {
                        planner_usage = Some(serde_json::json!({
                            "specialist": "llm-planner",
                            "model": client.config().model,
                            "input_tokens": planned.usage.input_tokens,
                            "cached_input_tokens": planned.usage.cached_input_tokens,
                            "output_tokens": planned.usage.output_tokens,
                            "cost_usd": planned.cost_usd,
                        }));
                    }
                    if let Some(why) = planned.fallback {
                        if strict {
                            return Err(RuntimeError::PlannerFellBack(why));
                        }
                        warnings.push(format!("the LLM planner could not plan ({why}); the rule-based planner did"));
                    }
                    planned.plan
                }
                (true, other) => {
                    let why = match other {
                        Some(Err(e)) => e.to_string(),
                        _ => "no [llm] section in coord.toml".to_string(),
                    };
                    if strict {
                        return Err(RuntimeError::PlannerFellBack(format!("the LLM planner is off: {why}")));
                    }
                    warnings.push(format!("the LLM planner is off ({why}); the rule-based planner plans"));
                    plan_objective(&input, &rules, roster)?
                }
            }
        }
    };
    let run_id = new_run_id();
    let new_run = NewRun::from_plan(&run_id, &plan).map_err(|e| RuntimeError::Plan(e.to_string()))?;
    // Where the run's tasks work: the start commit and the integration branch, or turns in
    // the project folder outside git.
    let workspaces = crate::workspace::Workspaces::open(project).with_remote(config.workspace.remote.clone());
    let notes = workspaces.begin_run(store, &run_id).await.map_err(|e| RuntimeError::Workspace(e.to_string()))?;
    warnings.extend(notes);
    store.create_run(&new_run, now_ms()).await?;
    if let Some(usage) = &planner_usage {
        store.record_event(&run_id, None, "llm_usage", usage.clone(), now_ms()).await?;
    }
    Ok(StartedRun { run_id, plan, warnings, planner_usage })
}
