//! Briefs: a task rendered in the spec's "Task Delegation Template", carrying only the context
//! items the assigned specialist's policy allows.

use crate::context::{ContextCategory, ContextItem, ContextPolicy};
use crate::plan::{Plan, Task};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A context item left out of a brief, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExcludedItem {
    /// The item's id.
    pub id: String,
    /// Its category.
    pub category: ContextCategory,
    /// Why it was left out.
    pub reason: String,
}

/// What a specialist receives for one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Brief {
    /// The task.
    pub task_id: String,
    /// The specialist it is delegated to.
    pub specialist: String,
    /// The delegation template, filled in (markdown).
    pub markdown: String,
    /// Ids of the context items included.
    pub included: Vec<String>,
    /// Context items the policy kept out.
    pub excluded: Vec<ExcludedItem>,
}

fn list(out: &mut String, items: &[String], empty: &str) {
    if items.is_empty() {
        let _ = writeln!(out, "- {empty}");
    }
    for item in items {
        let _ = writeln!(out, "- {item}");
    }
}

fn checklist(out: &mut String, items: &[String]) {
    for item in items {
        let _ = writeln!(out, "- [ ] {item}");
    }
}

fn task_refs<'p>(lookup: &impl Fn(&str) -> Option<&'p Task>, ids: &[String]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    ids.iter()
        .map(|id| match lookup(id) {
            Some(t) => format!("{id} ({})", t.title),
            None => id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn context_entry(out: &mut String, item: &ContextItem) {
    let _ = writeln!(out, "- {}: {}", item.category.label(), item.title);
    for line in item.body.lines() {
        if line.trim().is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "  {line}");
        }
    }
}

/// Renders `task` of `plan` as a brief for a specialist with `policy`.
///
/// `feedback` is appended under FEEDBACK FROM PREVIOUS ATTEMPTS when not empty (retries and
/// peer consultations put what went wrong there). Context ids that the plan does not have are
/// skipped; validation reports them before any brief is made.
pub fn render_brief(plan: &Plan, task: &Task, policy: &ContextPolicy, feedback: &[String]) -> Brief {
    render_brief_with(plan, task, policy, feedback, |id| plan.task(id))
}

/// [`render_brief`] with a task lookup, for callers that index a large plan (the scheduler):
/// `Plan::task` is a linear search.
pub fn render_brief_with<'p>(
    plan: &'p Plan,
    task: &Task,
    policy: &ContextPolicy,
    feedback: &[String],
    lookup: impl Fn(&str) -> Option<&'p Task>,
) -> Brief {
    render_brief_delivered(plan, task, policy, feedback, &[], lookup)
}

/// [`render_brief_with`] for a task of a run: `delivered` are what its dependencies actually
/// delivered (`backend-T009 (Publish the API contract): contracts/auth-api/v2.json ...`), listed
/// under CONTEXT after what the plan expected of them.
pub fn render_brief_delivered<'p>(
    plan: &'p Plan,
    task: &Task,
    policy: &ContextPolicy,
    feedback: &[String],
    delivered: &[String],
    lookup: impl Fn(&str) -> Option<&'p Task>,
) -> Brief {
    let mut included: Vec<&ContextItem> = Vec::new();
    let mut excluded = Vec::new();
    for id in &task.context {
        let Some(item) = plan.context_item(id) else { continue };
        if policy.allows(item.category) {
            included.push(item);
        } else {
            excluded.push(ExcludedItem {
                id: item.id.clone(),
                category: item.category,
                reason: policy.reason(item.category).to_string(),
            });
        }
    }

    let mut md = String::with_capacity(2048);
    let _ = writeln!(md, "DELEGATION TO: @{}", task.specialist);
    let _ = writeln!(md, "TASK ID: {}", task.id);
    let _ = writeln!(md, "PRIORITY: {}", task.priority);
    md.push('\n');
    md.push_str("OBJECTIVE:\n");
    let objective = if task.objective.trim().is_empty() { &task.title } else { &task.objective };
    let _ = writeln!(md, "{objective}");
    md.push('\n');

    md.push_str("REQUIREMENTS:\n");
    let r = &task.requirements;
    if r.is_empty() {
        md.push_str("- none beyond the objective\n");
    }
    for t in &r.technical {
        let _ = writeln!(md, "- {t}");
    }
    for (label, items) in [("Security", &r.security), ("Performance", &r.performance), ("Scalability", &r.scalability)]
    {
        for t in items {
            let _ = writeln!(md, "- {label}: {t}");
        }
    }
    md.push('\n');

    md.push_str("ACCEPTANCE CRITERIA:\n");
    checklist(&mut md, &task.acceptance_criteria);
    if task.acceptance_criteria.is_empty() {
        md.push_str("- [ ] Implementation meets spec\n");
    }
    md.push('\n');

    md.push_str("DEPENDENCIES:\n");
    let _ = writeln!(md, "- Depends on: {}", task_refs(&lookup, &task.depends_on));
    let _ = writeln!(md, "- Blocks: {}", task_refs(&lookup, &task.blocks));
    md.push('\n');

    md.push_str("CONTEXT:\n");
    if included.is_empty() {
        md.push_str("- none for this specialist\n");
    }
    for item in &included {
        context_entry(&mut md, item);
    }
    let upstream: Vec<&Task> = task.depends_on.iter().filter_map(|id| lookup(id)).collect();
    for dep in upstream {
        if !dep.expected_output.is_empty() {
            let _ = writeln!(md, "- Output of {} ({}): {}", dep.id, dep.title, dep.expected_output.join("; "));
        }
    }
    for line in delivered {
        let _ = writeln!(md, "- Delivered by {line}");
    }
    md.push('\n');

    md.push_str("EXPECTED OUTPUT:\n");
    list(&mut md, &task.expected_output, "as the objective says");
    md.push('\n');

    md.push_str("SUCCESS CRITERIA:\n");
    list(&mut md, &task.success_criteria, "all acceptance criteria met");

    if !feedback.is_empty() {
        md.push('\n');
        md.push_str("FEEDBACK FROM PREVIOUS ATTEMPTS:\n");
        list(&mut md, feedback, "");
    }

    Brief {
        task_id: task.id.clone(),
        specialist: task.specialist.clone(),
        markdown: md,
        included: included.iter().map(|i| i.id.clone()).collect(),
        excluded,
    }
}
