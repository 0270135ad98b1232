//! The tools an agent host calls to work as the coordinator's specialists. Each answers with
//! JSON as `structuredContent` under its `outputSchema` ([`crate::schemas`]) and as text (the
//! brief is Markdown text); a failure the host can act on (an unknown task, a task in the wrong state) is a
//! tool error naming what is wrong, not a protocol error. Manual work goes through
//! `coord_runtime::manual`, the implementation `coord task` and `coord serve` use.

use crate::CoordMcp;
use crate::params::{
    Escalate, ListTasks, MetricsOf, NextReady, PlanObjective, Resolve, RunGates, SubmitResult, TaskRef,
};
use coord_runtime::manual;
use coord_runtime::{Failure, FailureCategory, PlannerChoice, Resolution, RunSource, now_ms, start_run};
use coord_store::{Decision, RunState, Store, TaskState};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{tool, tool_router};
use serde_json::json;

type ToolResult = Result<CallToolResult, String>;

/// A JSON answer: as `structuredContent` (checked by the host against the tool's
/// `outputSchema`, see [`crate::schemas`]) and as the same JSON in a text block.
fn answer(value: serde_json::Value) -> ToolResult {
    Ok(CallToolResult::structured(value))
}

fn check_task_id(task: &str) -> Result<(), String> {
    let ok = !task.is_empty()
        && task.len() <= 64
        && task.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(format!("task id `{}` is not valid (letters, digits, . _ -)", task.escape_debug())) }
}

#[tool_router(router = tool_router, vis = "pub(crate)")]
impl<S: Store + Clone + 'static> CoordMcp<S> {
    /// The run to work on: the one named, else the newest running run (that has `task`).
    async fn pick_run(&self, run: Option<String>, task: Option<&str>) -> Result<String, String> {
        let store = self.runtime.store();
        if let Some(run) = run {
            store.run(&run).await.map_err(|e| e.to_string())?;
            return Ok(run);
        }
        for r in store.runs().await.map_err(|e| e.to_string())? {
            if r.state != RunState::Running {
                continue;
            }
            match task {
                None => return Ok(r.id),
                Some(t) => {
                    let tasks = store.tasks(&r.id).await.map_err(|e| e.to_string())?;
                    if tasks.iter().any(|x| x.task_id == t) {
                        return Ok(r.id);
                    }
                }
            }
        }
        Err(match task {
            Some(t) => format!("no running run has a task `{t}`: give `run`, or start one with plan_objective"),
            None => "there is no running run: start one with plan_objective".into(),
        })
    }

    #[tool(
        output_schema = crate::schemas::plan_objective(),
        title = "Plan an objective and start a run",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        ),
        description = "Plan a backend objective into specialist tasks (dependency graph, parallel groups, critical path) and start a run of it. Returns the run id and its tasks; then use next_ready_tasks."
    )]
    async fn plan_objective(&self, Parameters(p): Parameters<PlanObjective>) -> ToolResult {
        if p.objective.trim().is_empty() {
            return Err("`objective` is empty".into());
        }
        let stack =
            p.stack.as_deref().map(str::parse::<coord_plan::StackFlag>).transpose().map_err(|e| e.to_string())?;
        let planner = match p.planner.as_deref() {
            None | Some("auto") => PlannerChoice::Auto,
            Some("rules") => PlannerChoice::Rules,
            Some("llm") => PlannerChoice::Llm,
            Some(other) => return Err(format!("planner `{other}`: use auto, rules or llm")),
        };
        let rt = &self.runtime;
        let source =
            RunSource::Objective { objective: p.objective, stack, planner, workflows: p.workflows.unwrap_or(true) };
        let started =
            start_run(rt.store(), rt.roster(), rt.config(), rt.workspace(), source).await.map_err(|e| e.to_string())?;
        self.driver.kick(&started.run_id).await;
        let plan = started.plan.plan();
        let tasks: Vec<_> = plan
            .tasks
            .iter()
            .map(|t| json!({ "task": t.id, "title": t.title, "specialist": t.specialist, "depends_on": t.depends_on, "estimate_hours": t.estimate_hours }))
            .collect();
        answer(json!({
            "run": started.run_id,
            "tasks": tasks,
            "groups": plan.groups,
            "critical_path": plan.critical_path,
            "warnings": started.warnings,
            "resources": { "plan": format!("coord://runs/{}/plan", started.run_id) },
        }))
    }

    #[tool(
        output_schema = crate::schemas::list_tasks(),
        title = "List a run's tasks",
        annotations(read_only_hint = true, open_world_hint = false),
        description = "List the tasks of a run with their state, specialist, attempts and escalation level, in plan order, a page at a time: `total` counts the matching tasks; while `next_cursor` is not null, call again with it as `cursor` for the rest."
    )]
    async fn list_tasks(&self, Parameters(p): Parameters<ListTasks>) -> ToolResult {
        let run = self.pick_run(p.run, None).await?;
        let state = p.state.as_deref().map(str::parse::<TaskState>).transpose()?;
        let limit = p.limit.unwrap_or(500).clamp(1, 5_000) as usize;
        let from = match p.cursor.as_deref() {
            None => 0,
            Some(c) => {
                c.parse::<usize>().map_err(|_| format!("cursor `{c}` is not one this server gave (use next_cursor)"))?
            }
        };
        let store = self.runtime.store();
        let matching: Vec<_> = store
            .tasks(&run)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|t| state.is_none_or(|s| t.state == s))
            .collect();
        let total = matching.len();
        let tasks: Vec<_> = matching
            .into_iter()
            .skip(from)
            .take(limit)
            .map(|t| json!({ "task": t.task_id, "state": t.state, "specialist": t.specialist, "attempts": t.attempts, "escalation_level": t.escalation_level, "automatic": self.automatic.contains(&t.specialist) }))
            .collect();
        let next = (from + tasks.len() < total).then(|| (from + tasks.len()).to_string());
        let escalations: Vec<_> = store
            .escalations(Some(&run), true)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|e| json!({ "id": e.id, "task": e.task_id, "level": e.level, "category": e.category, "reason": e.reason }))
            .collect();
        let record = store.run(&run).await.map_err(|e| e.to_string())?;
        answer(json!({
            "run": run, "state": record.state, "tasks": tasks, "open_escalations": escalations,
            "total": total, "next_cursor": next,
        }))
    }

    #[tool(
        output_schema = crate::schemas::next_ready_tasks(),
        title = "Next ready tasks",
        annotations(read_only_hint = true, open_world_hint = false),
        description = "The ready tasks that wait for a person or an agent host (no executor configured for their specialist), in plan order. Work on one: get_brief, claim_task, then submit_result or escalate. `automatic_pending` counts the tasks the coordinator is executing itself (workflow checks, configured executors): when nothing is ready but that is above zero, call again shortly."
    )]
    async fn next_ready_tasks(&self, Parameters(p): Parameters<NextReady>) -> ToolResult {
        let run = self.pick_run(p.run, None).await?;
        let store = self.runtime.store();
        let plan = manual::stored_plan(store, &run).await.map_err(|e| e.to_string())?;
        let want = p.specialist.as_deref().map(|s| s.trim_start_matches('@'));
        let all = store.tasks(&run).await.map_err(|e| e.to_string())?;
        let automatic_pending = all
            .iter()
            .filter(|t| {
                matches!(t.state, TaskState::Ready | TaskState::Running) && self.automatic.contains(&t.specialist)
            })
            .count();
        let ready: Vec<_> = all
            .into_iter()
            .filter(|t| t.state == TaskState::Ready && t.not_before <= now_ms())
            .filter(|t| !self.automatic.contains(&t.specialist))
            .filter(|t| want.is_none_or(|w| t.specialist == w))
            .take(p.limit.unwrap_or(10).clamp(1, 100) as usize)
            .map(|t| {
                let title = plan.task(&t.task_id).map(|x| x.title.clone()).unwrap_or_default();
                json!({ "task": t.task_id, "title": title, "specialist": t.specialist, "attempts": t.attempts,
                    "brief": format!("coord://runs/{run}/tasks/{}/brief", t.task_id) })
            })
            .collect();
        let record = store.run(&run).await.map_err(|e| e.to_string())?;
        answer(json!({ "run": run, "run_state": record.state, "ready": ready, "automatic_pending": automatic_pending }))
    }

    #[tool(
        title = "Get a task's brief",
        annotations(read_only_hint = true, open_world_hint = false),
        description = "The task's brief in the spec's delegation template: objective, requirements, acceptance criteria, dependencies, the context its specialist may see, and feedback from earlier attempts."
    )]
    async fn get_brief(&self, Parameters(p): Parameters<TaskRef>) -> ToolResult {
        check_task_id(&p.task)?;
        let run = self.pick_run(p.run, Some(&p.task)).await?;
        let brief = manual::brief(self.runtime.store(), self.runtime.roster(), &run, &p.task)
            .await
            .map_err(|e| e.to_string())?;
        // Markdown for the specialist, not data: text only, no output schema.
        Ok(CallToolResult::success(vec![ContentBlock::text(brief)]))
    }

    #[tool(
        output_schema = crate::schemas::claim_task(),
        title = "Claim a task",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        ),
        description = "Take a ready task: it is yours until you submit_result or escalate. In a git repository the answer names `workspace`, the task's own worktree on its branch (built on its dependencies' results): make the changes there; submit_result commits, gates and merges them."
    )]
    async fn claim_task(&self, Parameters(p): Parameters<TaskRef>) -> ToolResult {
        check_task_id(&p.task)?;
        let run = self.pick_run(p.run, Some(&p.task)).await?;
        let taken = self.runtime.claim_manual(&run, &p.task, &self.who).await.map_err(|e| e.to_string())?;
        let c = taken.claim;
        answer(json!({
            "run": run, "task": c.task_id, "attempt": c.attempt, "specialist": c.specialist,
            "workspace": taken.workspace, "branch": taken.branch,
        }))
    }

    #[tool(
        output_schema = crate::schemas::submit_result(),
        title = "Submit a task's result",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        ),
        description = "Submit a task's result. The named artifacts go through the task's quality gates; the answer says whether it was accepted, the gates' findings, and the next step of the escalation protocol (retry with feedback, peer consultation, reassignment, or escalation to the tech lead)."
    )]
    async fn submit_result(&self, Parameters(p): Parameters<SubmitResult>) -> ToolResult {
        check_task_id(&p.task)?;
        if let Some(bad) = p.artifacts.iter().find(|a| a.starts_with('/') || a.split('/').any(|x| x == "..")) {
            return Err(format!("artifact `{bad}` must be relative to the project, without `..`"));
        }
        let run = self.pick_run(p.run, Some(&p.task)).await?;
        let out = self
            .runtime
            .complete_manual(&run, &p.task, &self.who, &p.summary, &p.artifacts)
            .await
            .map_err(|e| e.to_string())?;
        self.driver.kick(&run).await;
        answer(serde_json::to_value(&out).map_err(|e| e.to_string())?)
    }

    #[tool(
        output_schema = crate::schemas::escalate(),
        title = "Escalate a task",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        ),
        description = "Ask for escalation: the task cannot be finished as briefed (performance unachievable, security concern, breaking change, architecture question...). The escalation protocol decides the next step and the answer says it."
    )]
    async fn escalate(&self, Parameters(p): Parameters<Escalate>) -> ToolResult {
        check_task_id(&p.task)?;
        let category = p.category.parse::<FailureCategory>()?;
        if p.reason.trim().is_empty() {
            return Err("`reason` is empty".into());
        }
        let run = self.pick_run(p.run, Some(&p.task)).await?;
        let failure = Failure { error: p.reason, category, retryable: true, park: false };
        let out = self.runtime.fail_manual(&run, &p.task, &self.who, failure).await.map_err(|e| e.to_string())?;
        self.driver.kick(&run).await;
        let open = self.runtime.store().escalations(Some(&run), true).await.map_err(|e| e.to_string())?;
        let escalation = open.iter().find(|e| e.task_id == out.task).map(|e| e.id);
        let mut value = serde_json::to_value(&out).map_err(|e| e.to_string())?;
        value["escalation_id"] = json!(escalation);
        answer(value)
    }

    #[tool(
        output_schema = crate::schemas::resolve_escalation(),
        title = "Decide an escalation",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false),
        description = "Decide an open escalation as the tech lead: retry, reassign:NAME, approve (accept the result as it is: a data-loss migration or a breaking contract change), skip or abort, with an optional note: advice that joins the task's next brief (the answer to a level-2 peer consultation), or why you approve."
    )]
    async fn resolve_escalation(&self, Parameters(p): Parameters<Resolve>) -> ToolResult {
        let r = Resolution::parse(&p.decision, p.note.as_deref(), self.runtime.roster()).map_err(|e| e.to_string())?;
        let e = self
            .runtime
            .store()
            .resolve_escalation(p.id, &r.decision, r.note(), now_ms())
            .await
            .map_err(|e| e.to_string())?;
        if r.decision == Decision::Abort {
            self.driver.cancel(&e.run_id);
        } else {
            self.driver.kick(&e.run_id).await;
        }
        answer(json!({
            "id": e.id, "run": e.run_id, "task": e.task_id, "decision": e.decision, "note": e.note, "state": e.state,
        }))
    }

    #[tool(
        output_schema = crate::schemas::run_gates(),
        title = "Run the quality gates",
        annotations(read_only_hint = true, open_world_hint = false),
        description = "Run the quality gates (secrets, SQL injection, CORS, OpenAPI lint, migrations, N+1, docs...) over the project now, without submitting: findings with file, line, rule and fix."
    )]
    async fn run_gates(&self, Parameters(p): Parameters<RunGates>) -> ToolResult {
        let root = self.runtime.workspace().to_path_buf();
        let config = self.runtime.config().gates.clone();
        let gates = if p.gates.is_empty() {
            ["api", "code", "security", "performance", "database", "documentation"].map(String::from).to_vec()
        } else {
            p.gates
        };
        let selected = gates.clone();
        let report = tokio::task::spawn_blocking(move || coord_gates::run_gates(&root, &selected, &config, false))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let findings: Vec<_> =
            report.findings.iter().filter(|f| p.files.is_empty() || p.files.contains(&f.file)).collect();
        let fail_on = self.runtime.config().gates.fail_on;
        let blocking = findings.iter().filter(|f| f.severity >= fail_on).count();
        answer(json!({ "gates": gates, "files_scanned": report.files, "findings": findings,
            "blocking": blocking, "passed": blocking == 0, "fail_on": fail_on.as_str() }))
    }

    #[tool(
        output_schema = crate::schemas::metrics(),
        title = "Metrics of a run",
        annotations(read_only_hint = true, open_world_hint = false),
        description = "The spec's metrics from the event log: backend_tasks_completed, backend_avg_completion_time, backend_success_rate, security_audit_pass_rate, api_endpoint_coverage and api_response_time_p95 (contract tests), test_coverage (coverage reports the gates read), attempts, escalations, queue depth, LLM tokens and cost."
    )]
    async fn metrics(&self, Parameters(p): Parameters<MetricsOf>) -> ToolResult {
        let store = self.runtime.store();
        let runs: Vec<String> = match p.run {
            Some(r) => {
                store.run(&r).await.map_err(|e| e.to_string())?;
                vec![r]
            }
            None => store.runs().await.map_err(|e| e.to_string())?.into_iter().map(|r| r.id).collect(),
        };
        let m = coord_runtime::metrics::compute(store, &runs).await.map_err(|e| e.to_string())?;
        answer(serde_json::to_value(&m).map_err(|e| e.to_string())?)
    }
}
