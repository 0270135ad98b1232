//! The LLM planner: the configured model is asked for the task list as structured output (JSON
//! matching a schema), the answer goes through the same DAG validation as every plan, validation
//! errors go back to the model for repair (a bounded number of times), and when the model
//! cannot produce a valid plan the rule-based planner takes over with a visible note.

use crate::{PlanInput, Planner, PlanningError, RulePlanner, build_pool, plan_objective};
use coord_core::{Analysis, Plan, Priority, Requirements, Roster, Task, TaskKind, ValidatedPlan, dag};
use coord_llm::{LlmClient, Message, Part, Request, Role};
use serde::Deserialize;

/// A task as the model writes it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DraftTask {
    id: String,
    title: String,
    specialist: String,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    kind: Option<TaskKind>,
    #[serde(default)]
    objective: String,
    #[serde(default)]
    requirements: Requirements,
    #[serde(default)]
    acceptance_criteria: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    expected_output: Vec<String>,
    #[serde(default)]
    success_criteria: Vec<String>,
    #[serde(default)]
    estimate_hours: Option<f64>,
}

/// The model's answer.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Draft {
    tasks: Vec<DraftTask>,
    #[serde(default)]
    notes: Vec<String>,
}

/// The JSON Schema the model must answer with.
pub fn draft_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Draft)).unwrap_or_default()
}

fn prompt(objective: &str, analysis: &Analysis, roster: &Roster) -> String {
    let specialists: Vec<String> = roster
        .iter()
        .filter(|s| !matches!(s.name.as_str(), "backend-coordinator" | "tech-lead-orchestrator"))
        .map(|s| format!("- {}: {}", s.name, s.description))
        .collect();
    format!(
        "Decompose this backend objective into a dependency graph of tasks for the specialists below.\n\n\
         OBJECTIVE:\n{objective}\n\nANALYSIS (facets, stack, endpoints, requirements, integrations):\n{}\n\n\
         SPECIALISTS (use these names exactly):\n{}\n\n\
         Rules: ids like backend-T001; every task names one specialist; depends_on lists ids of tasks that must be \
         done first (no cycles); design (API contract, schema) before implementation; a security audit and \
         performance testing as final validation where the facets call for them. Answer with JSON only.",
        serde_json::to_string_pretty(analysis).unwrap_or_default(),
        specialists.join("\n")
    )
}

fn to_plan(objective: &str, analysis: &Analysis, draft: Draft) -> Plan {
    let mut plan = Plan::new(objective);
    plan.planner = "llm".into();
    plan.analysis = analysis.clone();
    plan.notes = draft.notes;
    for d in draft.tasks {
        let mut t = Task::new(d.id, d.title, d.specialist);
        t.priority = d.priority.unwrap_or_default();
        t.kind = d.kind.unwrap_or_default();
        t.objective = d.objective;
        t.requirements = d.requirements;
        t.acceptance_criteria = d.acceptance_criteria;
        t.depends_on = d.depends_on;
        t.expected_output = d.expected_output;
        t.success_criteria = d.success_criteria;
        t.estimate_hours = d.estimate_hours.unwrap_or(1.0);
        plan.tasks.push(t);
    }
    plan
}

/// Strips a Markdown code fence a model may wrap its JSON in.
fn json_text(text: &str) -> &str {
    let t = text.trim();
    let t = t.strip_prefix("```json").or_else(|| t.strip_prefix("```")).unwrap_or(t);
    t.strip_suffix("```").unwrap_or(t).trim()
}

/// A plan the model made, or the rules' plan when it could not (and why), with the tokens and
/// cost of every call (malformed answers included).
#[derive(Debug, Clone)]
pub struct LlmPlanned {
    /// The plan.
    pub plan: ValidatedPlan,
    /// Why the rules planned instead, when they did.
    pub fallback: Option<String>,
    /// Tokens of all the planner's calls.
    pub usage: coord_llm::Usage,
    /// Their cost.
    pub cost_usd: f64,
}

/// Plans with the model, repairing invalid answers up to `repairs` times, and falls back to
/// `rules` (saying so in the plan's notes and in `fallback`) when it cannot. The model sees the
/// analysis with the inferences of `rules`' playbooks.
pub async fn plan_with_llm(
    input: &PlanInput<'_>,
    client: &LlmClient,
    roster: &Roster,
    rules: &RulePlanner,
    repairs: u32,
) -> Result<LlmPlanned, PlanningError> {
    let mut usage = coord_llm::Usage::default();
    let objective = input.objective.trim();
    let mut analysis = crate::analyse(input.objective, input.repo, input.stack)?;
    rules.refine(objective, &mut analysis);
    let persona = roster.get("backend-coordinator").map(|s| s.persona.clone()).unwrap_or_default();
    let mut messages = vec![Message::user(prompt(objective, &analysis, roster))];
    let mut last_problem = String::new();
    for _ in 0..=repairs {
        let req = Request {
            system: persona.clone(),
            messages: messages.clone(),
            tools: Vec::new(),
            max_tokens: 8192,
            temperature: Some(0.0),
            json_schema: Some(("plan".into(), draft_schema())),
        };
        let resp = match client.complete(&req).await {
            Ok(r) => r,
            Err(e) => {
                last_problem = format!("the model call failed: {e}");
                break;
            }
        };
        usage.add(resp.usage);
        let text = resp.text();
        messages.push(Message { role: Role::Assistant, parts: vec![Part::Text { text: text.clone() }] });
        let problem = match serde_json::from_str::<Draft>(json_text(&text)) {
            Err(e) => format!("the answer is not a plan matching the schema: {e}"),
            Ok(draft) => {
                let mut plan = to_plan(objective, &analysis, draft);
                if input.workflows {
                    crate::workflows::add_workflows(&mut plan, &analysis);
                }
                plan.context = build_pool(objective, &analysis, input.repo);
                let ids: Vec<String> = plan.context.iter().map(|c| c.id.clone()).collect();
                for t in &mut plan.tasks {
                    t.context = ids.clone();
                }
                match dag::validate(plan, |n| roster.contains(n)) {
                    Ok(mut valid) => {
                        valid.raise_critical_path(Priority::High);
                        return Ok(LlmPlanned { plan: valid, fallback: None, usage, cost_usd: client.cost(&usage) });
                    }
                    Err(errors) => format!("the plan is invalid: {errors}"),
                }
            }
        };
        last_problem = problem.clone();
        messages.push(Message::user(format!("{problem}\nReturn the whole corrected plan as JSON.")));
    }
    let mut valid = plan_objective(input, rules, roster)?;
    let note = format!(
        "The LLM planner could not produce a valid plan ({last_problem}); the rule-based planner made this one."
    );
    let mut plan = valid.plan().clone();
    plan.notes.insert(0, note);
    valid = dag::validate(plan, |n| roster.contains(n))
        .map_err(|errors| PlanningError::Invalid { planner: "rules".into(), errors })?;
    Ok(LlmPlanned { plan: valid, fallback: Some(last_problem), usage, cost_usd: client.cost(&usage) })
}
