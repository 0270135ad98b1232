//! The playbook engine: for each phase, each playbook in order, each task template whose
//! conditions hold, create the task (once, or once per integration), fill its texts, wire its
//! dependencies to the tasks created before it and choose its specialist. What fired and what
//! did not, with the evidence, is kept for `coord playbooks explain`.

use super::assign::{Choice, choose_specialist};
use super::condition::{Facts, holds};
use super::{After, ForEach, PHASES, Playbooks, Template};
use crate::context_pool::{performance_lines, scalability_lines};
use crate::rules::subject;
use coord_core::{Analysis, ApiStyle, Integration, Plan, Roster, Task, TaskKind};
use serde::Serialize;

/// A template that made tasks.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    /// `playbook.key`.
    pub template: String,
    /// Which variant (1-based) of the key was used.
    pub variant: usize,
    /// The tasks it made.
    pub tasks: Vec<String>,
    /// Why its conditions held.
    pub because: Vec<String>,
}

/// A template that made nothing.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// `playbook.key`.
    pub template: String,
    /// Why not (the first condition that failed, per variant).
    pub because: String,
}

/// What the engine did, in creation order (why each specialist was chosen is on the task:
/// `assigned_because`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Explanation {
    /// Templates that made tasks.
    pub fired: Vec<Fired>,
    /// Templates that did not.
    pub skipped: Vec<Skipped>,
}

struct Vars {
    objective: String,
    subject: String,
    entities: String,
    endpoints: String,
    auth_endpoints: String,
    identity_provider: String,
    cache_store: String,
    impl_noun: String,
    stack: String,
}

impl Vars {
    fn new(objective: &str, a: &Analysis) -> Vars {
        let subject = subject(objective);
        let entities = if a.entities.is_empty() {
            subject.clone()
        } else {
            a.entities.iter().take(3).cloned().collect::<Vec<_>>().join("/")
        };
        let names: Vec<String> = a
            .endpoints
            .iter()
            .filter(|e| e.path.contains("auth") || e.path.contains("login"))
            .filter(|e| !e.path.contains("oauth"))
            .map(|e| format!("/{}", e.path.rsplit('/').next().unwrap_or(&e.path)))
            .collect();
        let identity: Vec<&str> =
            a.integrations.iter().filter(|i| i.category == "identity").map(|i| i.name.as_str()).collect();
        Vars {
            objective: objective.to_string(),
            entities,
            endpoints: a.endpoints.iter().map(|e| e.display()).collect::<Vec<_>>().join(", "),
            auth_endpoints: if names.is_empty() { "/login, /logout, /refresh".into() } else { names.join(", ") },
            identity_provider: if identity.len() == 1 && identity[0] == "OAuth2" {
                "OAuth2 provider".to_string()
            } else {
                format!("OAuth2 provider ({})", identity.join(", "))
            },
            cache_store: a
                .integrations
                .iter()
                .find(|i| i.category == "cache")
                .map(|i| format!(" with {}", i.name))
                .unwrap_or_default(),
            impl_noun: if a.stack.api_style == ApiStyle::Graphql { "resolvers" } else { "endpoints" }.into(),
            stack: a.stack.framework.clone().unwrap_or_else(|| a.stack.language.as_str().to_string()),
            subject,
        }
    }

    fn fill(&self, text: &str, integration: Option<&Integration>) -> String {
        self.fill_inner(text, integration).0
    }

    /// The filled line, or `None` when one of its variables is empty.
    fn fill_all(&self, text: &str, integration: Option<&Integration>) -> Option<String> {
        let (line, complete) = self.fill_inner(text, integration);
        complete.then_some(line)
    }

    fn fill_inner(&self, text: &str, integration: Option<&Integration>) -> (String, bool) {
        let mut complete = true;
        let mut out = String::with_capacity(text.len() + 32);
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return (out, complete);
            };
            let value = match &after[..close] {
                "objective" => self.objective.as_str(),
                "subject" => &self.subject,
                "entities" => &self.entities,
                "endpoints" => &self.endpoints,
                "auth_endpoints" => &self.auth_endpoints,
                "identity_provider" => &self.identity_provider,
                "cache_store" => &self.cache_store,
                "impl_noun" => &self.impl_noun,
                "stack" => &self.stack,
                "integration" => integration.map(|i| i.name.as_str()).unwrap_or(""),
                "integration_category" => integration.map(|i| i.category.as_str()).unwrap_or(""),
                // Loading refused unknown variables; keep the text as written if one slips by.
                _ => &rest[open..open + close + 2],
            };
            complete &= !value.is_empty();
            out.push_str(value);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        (out, complete)
    }
}

fn fill_list(vars: &Vars, list: &[String], i: Option<&Integration>, perf: &[String], scale: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in list {
        let expanded: Vec<String> = match line.as_str() {
            "$perf" => perf.to_vec(),
            "$scale" => scale.to_vec(),
            // A line whose variable is empty says nothing ("Covers: "): it is left out.
            _ => match vars.fill_all(line, i) {
                Some(l) => vec![l],
                None => vec![],
            },
        };
        for l in expanded {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

fn default_hours(kind: TaskKind) -> f64 {
    match kind {
        TaskKind::Architecture => 4.0,
        TaskKind::ApiDesign | TaskKind::SchemaDesign => 3.0,
        TaskKind::Implementation => 6.0,
        TaskKind::Integration => 5.0,
        TaskKind::DataAccess | TaskKind::DatabaseOperations | TaskKind::Optimization => 4.0,
        TaskKind::Middleware | TaskKind::Observability | TaskKind::SecurityAudit | TaskKind::PerformanceTest => 3.0,
        TaskKind::Documentation => 2.0,
    }
}

/// Tasks nothing depends on yet, final validation excluded: what "after implementation" means.
fn sinks(tasks: &[Task]) -> Vec<String> {
    tasks
        .iter()
        .filter(|t| !matches!(t.kind, TaskKind::SecurityAudit | TaskKind::PerformanceTest))
        .filter(|t| !tasks.iter().any(|o| o.depends_on.contains(&t.id)))
        .map(|t| t.id.clone())
        .collect()
}

fn resolve_after(after: &[Vec<After>], tasks: &[Task], keys: &[(String, TaskKind)]) -> Vec<String> {
    for alternative in after {
        let mut ids: Vec<String> = Vec::new();
        for reference in alternative {
            let found: Vec<String> = match reference {
                After::Sinks => sinks(tasks),
                After::Kinds(kinds) => tasks.iter().filter(|t| kinds.contains(&t.kind)).map(|t| t.id.clone()).collect(),
                After::Template(name) => {
                    tasks.iter().zip(keys).filter(|(_, (k, _))| k == name).map(|(t, _)| t.id.clone()).collect()
                }
            };
            for id in found {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        if !ids.is_empty() {
            return ids;
        }
    }
    Vec::new()
}

/// Plans an objective from its analysis with a set of playbooks and a roster. The plan is not
/// yet validated.
pub fn plan_with_playbooks(
    objective: &str,
    a: &Analysis,
    playbooks: &Playbooks,
    roster: &Roster,
) -> (Plan, Explanation) {
    let vars = Vars::new(objective, a);
    let perf = performance_lines(a);
    let scale = scalability_lines(a);
    let mut tasks: Vec<Task> = Vec::new();
    let mut keys: Vec<(String, TaskKind)> = Vec::new();
    let mut explanation = Explanation::default();

    for phase in PHASES {
        for playbook in &playbooks.playbooks {
            let mut seen: Vec<&str> = Vec::new();
            for template in playbook.templates.iter().filter(|t| t.phase == phase) {
                if seen.contains(&template.key.as_str()) {
                    continue;
                }
                seen.push(&template.key);
                let variants: Vec<&Template> =
                    playbook.templates.iter().filter(|t| t.phase == phase && t.key == template.key).collect();
                let name = format!("{}.{}", playbook.name, template.key);
                let facts = Facts { text: objective, analysis: a, patterns: &playbooks.patterns, tasks: &keys };
                let (variant, t, because) = match choose_variant(&variants, &facts) {
                    Ok(chosen) => chosen,
                    Err(because) => {
                        explanation.skipped.push(Skipped { template: name, because });
                        continue;
                    }
                };
                let instances: Vec<Option<&Integration>> = match t.for_each {
                    None => vec![None],
                    Some(ForEach::Integration) => a
                        .integrations
                        .iter()
                        .filter(|i| !t.skip_categories.contains(&i.category))
                        .filter(|i| t.categories.is_empty() || t.categories.contains(&i.category))
                        .map(Some)
                        .collect(),
                };
                if instances.is_empty() {
                    explanation
                        .skipped
                        .push(Skipped { template: name, because: "no integration to repeat over".into() });
                    continue;
                }
                let mut because = because;
                if t.for_each.is_some() {
                    let names: Vec<&str> = instances.iter().flatten().map(|i| i.name.as_str()).collect();
                    because.push(format!("for each integration: {}", names.join(", ")));
                }
                let mut made = Vec::new();
                for integration in instances {
                    let deps = resolve_after(&t.after, &tasks, &keys);
                    let mut task = instantiate(t, &vars, integration, &perf, &scale, tasks.len() + 1, deps);
                    let Choice { name: specialist, reason } =
                        choose_specialist(&t.role, &t.specialist, &task, a, roster);
                    task.specialist = specialist;
                    task.assigned_because = Some(reason);
                    made.push(task.id.clone());
                    keys.push((name.clone(), task.kind));
                    tasks.push(task);
                }
                explanation.fired.push(Fired { template: name, variant, tasks: made, because });
            }
        }
    }

    let mut plan = Plan::new(objective);
    plan.planner = "rules".to_string();
    plan.tasks = tasks;
    (plan, explanation)
}

/// The first variant whose conditions hold: its number (1-based), itself and the evidence; or
/// why none did.
fn choose_variant<'t>(
    variants: &[&'t Template],
    facts: &Facts<'_>,
) -> Result<(usize, &'t Template, Vec<String>), String> {
    let mut reasons = Vec::new();
    for (n, v) in variants.iter().enumerate() {
        match holds(&v.when, &v.when_any, facts) {
            Ok(evidence) => return Ok((n + 1, *v, evidence)),
            Err(r) if variants.len() > 1 => reasons.push(format!("variant {}: {r}", n + 1)),
            Err(r) => reasons.push(r),
        }
    }
    Err(reasons.join("; "))
}

fn instantiate(
    t: &Template,
    vars: &Vars,
    i: Option<&Integration>,
    perf: &[String],
    scale: &[String],
    number: usize,
    deps: Vec<String>,
) -> Task {
    let mut task = Task::new(format!("backend-T{number:03}"), vars.fill(&t.title, i), t.specialist.clone());
    task.kind = t.kind;
    task.priority = t.priority;
    task.depends_on = deps;
    task.estimate_hours = t.hours.unwrap_or_else(|| default_hours(t.kind));
    task.objective = vars.fill(&t.objective, i);
    task.requirements.technical = fill_list(vars, &t.technical, i, perf, scale);
    task.requirements.security = fill_list(vars, &t.security, i, perf, scale);
    task.requirements.performance = fill_list(vars, &t.performance, i, perf, scale);
    task.requirements.scalability = fill_list(vars, &t.scalability, i, perf, scale);
    task.acceptance_criteria = fill_list(vars, &t.acceptance, i, perf, scale);
    task.expected_output = fill_list(vars, &t.output, i, perf, scale);
    task.success_criteria = if t.success.is_empty() {
        vec!["All acceptance criteria met".into(), "Quality gates passed".into(), "Tests passing".into()]
    } else {
        fill_list(vars, &t.success, i, perf, scale)
    };
    task
}
