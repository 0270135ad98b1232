//! Planning: objective analysis, stack detection, the planners, briefs and token counting.
//!
//! [`plan_objective`] is the whole pipeline: analyse the objective (and repository), plan with
//! a [`Planner`], attach the context pool, validate the DAG and mark the critical path.
//!
//! ```
//! use coord_plan::{PlanInput, RulePlanner, plan_objective};
//! let roster = coord_agents::builtin_roster();
//! let input = PlanInput { objective: "Add user authentication system with OAuth2 and JWT", repo: None, stack: None, workflows: true };
//! let plan = plan_objective(&input, &RulePlanner::default(), &roster).unwrap();
//! // The spec's tasks A–H, and the steps of its two coordination workflows.
//! assert_eq!(plan.plan().tasks.len(), 13);
//! ```

mod analyse;
mod context_pool;
pub mod eval;
pub mod llm_planner;
pub mod numbers;
pub mod playbooks;
pub mod repo;
mod rules;
pub mod stack;
pub mod tokens;
pub mod workflows;

pub use analyse::{AnalysisError, MAX_OBJECTIVE_BYTES, analyse};
pub use context_pool::build_pool;
pub use playbooks::engine::Explanation;
pub use playbooks::{PlaybookError, Playbooks};
pub use repo::RepoFacts;
pub use rules::subject;
pub use stack::{StackFlag, UnknownStack};
pub use tokens::{BriefStats, brief_with_stats, count_tokens};

use coord_core::{Analysis, Plan, PlanErrors, Priority, Roster, ValidatedPlan, dag};
use std::sync::Arc;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    /// The objective could not be analysed.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// A project playbook is invalid.
    #[error(transparent)]
    Playbooks(#[from] PlaybookError),
    /// The planner produced an invalid plan (a bug for the rule planner; a repairable answer for
    /// a model).
    #[error("the {planner} planner produced an invalid plan: {errors}")]
    Invalid {
        /// Which planner.
        planner: String,
        /// What is wrong.
        errors: PlanErrors,
    },
}

/// The seam where planners plug in: an analysed objective and a roster in, a plan out. Every
/// plan, whatever its source, then goes through the same validation.
pub trait Planner {
    /// The planner's name, recorded in the plan (`rules`, `llm`).
    fn name(&self) -> &str;
    /// Decomposes the objective into tasks.
    fn plan(&self, objective: &str, analysis: &Analysis, roster: &Roster) -> Result<Plan, PlanningError>;
    /// Adds what the planner's knowledge infers to the analysis (facets and entities the words
    /// imply), before planning. The default adds nothing.
    fn refine(&self, _objective: &str, _analysis: &mut Analysis) {}
}

/// The rule-based planner: offline and deterministic, driven by playbooks (the built-in ones,
/// or those plus a project's `.coord/playbooks/`).
#[derive(Debug, Clone)]
pub struct RulePlanner {
    playbooks: Arc<Playbooks>,
}

impl Default for RulePlanner {
    /// The built-in playbooks.
    fn default() -> Self {
        // The built-in playbooks are constant files embedded in the binary; the test
        // `every_builtin_playbook_loads` loads them, so this cannot fail in a released build.
        #[allow(clippy::expect_used)]
        let playbooks = playbooks::builtin().expect("the built-in playbooks load (tested)");
        RulePlanner { playbooks }
    }
}

impl RulePlanner {
    /// A planner with these playbooks.
    pub fn with_playbooks(playbooks: Arc<Playbooks>) -> Self {
        RulePlanner { playbooks }
    }

    /// The built-in playbooks plus the project's `.coord/playbooks/*.toml`.
    pub fn for_project(project: &std::path::Path) -> Result<Self, PlaybookError> {
        Ok(RulePlanner { playbooks: playbooks::load_project(project)? })
    }

    /// Its playbooks.
    pub fn playbooks(&self) -> &Playbooks {
        &self.playbooks
    }

    /// Analyses and plans an objective (the specialists' work, without workflows) and says why:
    /// what was inferred, which templates fired and which did not, who was chosen and why.
    pub fn explain(&self, input: &PlanInput<'_>, roster: &Roster) -> Result<PlanExplanation, PlanningError> {
        let objective = input.objective.trim();
        let mut analysis = analyse(input.objective, input.repo, input.stack)?;
        let inferred = playbooks::infer::apply_inferences(objective, &mut analysis, &self.playbooks);
        let (plan, explanation) = self.plan_explained(objective, &analysis, roster);
        Ok(PlanExplanation { analysis, inferred, explanation, plan })
    }

    /// Plans like [`Planner::plan`] and says why: which templates fired, which did not, why
    /// each specialist was chosen.
    pub fn plan_explained(&self, objective: &str, analysis: &Analysis, roster: &Roster) -> (Plan, Explanation) {
        playbooks::engine::plan_with_playbooks(objective, analysis, &self.playbooks, roster)
    }
}

impl Planner for RulePlanner {
    fn name(&self) -> &str {
        "rules"
    }
    fn plan(&self, objective: &str, analysis: &Analysis, roster: &Roster) -> Result<Plan, PlanningError> {
        Ok(self.plan_explained(objective, analysis, roster).0)
    }
    fn refine(&self, objective: &str, analysis: &mut Analysis) {
        playbooks::infer::apply_inferences(objective, analysis, &self.playbooks);
    }
}

/// What [`RulePlanner::explain`] found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanExplanation {
    /// The analysis, inferences included.
    pub analysis: Analysis,
    /// What the playbooks inferred, with evidence.
    pub inferred: Vec<String>,
    /// Templates fired and skipped, and assignments.
    pub explanation: Explanation,
    /// The plan made (not validated).
    pub plan: Plan,
}

/// What to plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The objective text.
    pub objective: &'a str,
    /// Facts of the target repository, when `--repo` was given.
    pub repo: Option<&'a RepoFacts>,
    /// The `--stack` choice.
    pub stack: Option<StackFlag>,
    /// Whether to add the coordination workflows the objective calls for (database changes,
    /// API contracts); `coord plan --no-workflows` turns them off.
    pub workflows: bool,
}

/// Analyses, plans, attaches the context pool and validates.
pub fn plan_objective(
    input: &PlanInput<'_>,
    planner: &dyn Planner,
    roster: &Roster,
) -> Result<ValidatedPlan, PlanningError> {
    let objective = input.objective.trim();
    let mut analysis = analyse(input.objective, input.repo, input.stack)?;
    planner.refine(objective, &mut analysis);
    let mut plan = planner.plan(objective, &analysis, roster)?;
    plan.objective = objective.to_string();
    plan.planner = planner.name().to_string();
    if input.workflows {
        workflows::add_workflows(&mut plan, &analysis);
    }
    plan.context = build_pool(objective, &analysis, input.repo);
    let all: Vec<String> = plan.context.iter().map(|c| c.id.clone()).collect();
    for task in &mut plan.tasks {
        if task.context.is_empty() {
            task.context = all.clone();
        }
    }
    if analysis.stack.source == coord_core::StackSource::Default {
        plan.notes.push("No stack was named or found: implementation goes to the spec's default @nodejs-expert (use --stack or --repo to change it).".into());
    }
    plan.notes.extend(analysis.notes.iter().cloned());
    plan.analysis = analysis;
    let mut valid = dag::validate(plan, |name| roster.contains(name))
        .map_err(|errors| PlanningError::Invalid { planner: planner.name().to_string(), errors })?;
    valid.raise_critical_path(Priority::High);
    Ok(valid)
}
