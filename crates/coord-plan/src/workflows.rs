//! The spec's two coordination procedures, added to a plan when the objective calls for them.
//!
//! - **Database Change Coordination**, when the plan designs a schema: the schema task
//!   (`@database-optimizer`) designs the migrations with their rollbacks; the coordinator tests
//!   them on a replica (every migration up, down and up on a scratch database, data-loss
//!   statements approved) and writes the deployment note; `@database-admin` coordinates the
//!   deployment with a rollout strategy chosen here from the kind of change and a monitoring
//!   plan with thresholds. Work built on the schema waits for the replica test.
//! - **API Contract Coordination**, when the plan designs an OpenAPI contract: the coordinator
//!   publishes it (versioned in the run, exported to `contracts/`, every change against the
//!   previous version classified), `frontend-coordinator` validates it with the diff attached,
//!   the implementation waits for that approval, and the coordinator runs the contract
//!   integration test against the implemented service before the security audit.
//!
//! The pass works on any planner's output (rules or a model): it only adds tasks and rewires
//! the dependencies of work that builds on a design.

use crate::analyse::re;
use crate::context_pool::performance_lines;
use coord_core::{
    Analysis, ApiStyle, COORDINATOR, Plan, Priority, Rollout, Task, TaskKind, Workflow, WorkflowKind, WorkflowStage,
    WorkflowStep,
};
use regex::Regex;
use std::sync::LazyLock;

/// Where the coordinator writes the deployment note (relative to the repository).
pub const DEPLOYMENT_NOTE: &str = "docs/deploy/migrations.md";
/// Where published contracts go (relative to the repository).
pub const CONTRACTS_DIR: &str = "contracts";

static CONTRACTING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(renam\w*|drop\w*|remov\w*|delet\w* (?:the )?(?:column|table|field)s?|split\w*|merg\w*|retyp\w*|change (?:the )?(?:type|column)|alter (?:the )?column|deprecat\w*|backfill\w*|normali[sz]\w*)\b",
    )
});
static BIG_SWITCH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(re-?partition\w*|partition\w*|shard\w*|upgrade (?:postgres\w*|mysql|the database)|engine|re-?platform\w*|cut-?over|zero[- ]downtime migration)\b",
    )
});

/// Adds the workflows the plan calls for. Returns the number of tasks added.
pub fn add_workflows(plan: &mut Plan, analysis: &Analysis) -> usize {
    let before = plan.tasks.len();
    let schema: Vec<String> = ids_of(plan, |t| t.kind == TaskKind::SchemaDesign && t.workflow.is_none());
    let api: Vec<String> = ids_of(plan, |t| t.kind == TaskKind::ApiDesign && t.workflow.is_none());
    let has_steps = |plan: &Plan, step: WorkflowStep| plan.tasks.iter().any(|t| t.workflow == Some(step));

    if !api.is_empty() && !has_steps(plan, WorkflowStep::ContractReview) {
        let openapi = analysis.stack.api_style == ApiStyle::Rest;
        api_contract(plan, analysis, &api, openapi);
    }
    if !schema.is_empty() && !has_steps(plan, WorkflowStep::MigrationReplay) {
        database_change(plan, analysis, &schema);
    }
    plan.tasks.len() - before
}

fn ids_of(plan: &Plan, keep: impl Fn(&Task) -> bool) -> Vec<String> {
    plan.tasks.iter().filter(|t| keep(t)).map(|t| t.id.clone()).collect()
}

/// The next free `backend-TNNN` id.
fn next_id(plan: &Plan) -> String {
    let mut n = plan.tasks.len() + 1;
    loop {
        let id = format!("backend-T{n:03}");
        if plan.task(&id).is_none() {
            return id;
        }
        n += 1;
    }
}

fn push(
    plan: &mut Plan,
    kind: TaskKind,
    step: WorkflowStep,
    title: &str,
    specialist: &str,
    deps: Vec<String>,
) -> String {
    let id = next_id(plan);
    let mut t = Task::new(id.clone(), title, specialist);
    t.kind = kind;
    t.workflow = Some(step);
    t.depends_on = deps;
    t.priority = Priority::High;
    t.estimate_hours = if step.is_automated() { 0.25 } else { 1.0 };
    t.success_criteria = vec!["All acceptance criteria met".into(), "The step's check passed".into()];
    plan.tasks.push(t);
    id
}

fn last(plan: &mut Plan) -> &mut Task {
    // `push` always runs right before `last`; an empty task list would be a bug in this file.
    #[allow(clippy::expect_used)]
    plan.tasks.last_mut().expect("a task was just added")
}

/// Every task other than `except` that depends on one of `from` depends on `to` instead.
fn rewire(plan: &mut Plan, from: &[String], to: &str, except: &[&str]) {
    for t in &mut plan.tasks {
        if t.id == to || except.contains(&t.id.as_str()) || !t.depends_on.iter().any(|d| from.contains(d)) {
            continue;
        }
        t.depends_on.retain(|d| !from.contains(d));
        if !t.depends_on.iter().any(|d| d == to) {
            t.depends_on.push(to.to_string());
        }
    }
}

/// Tasks nothing depends on.
fn sinks(plan: &Plan) -> Vec<String> {
    plan.tasks
        .iter()
        .filter(|t| !plan.tasks.iter().any(|o| o.depends_on.contains(&t.id)))
        .map(|t| t.id.clone())
        .collect()
}

fn api_contract(plan: &mut Plan, analysis: &Analysis, design: &[String], openapi: bool) {
    let mut stages = vec![WorkflowStage {
        step: "@api-architect designs contract (OpenAPI spec)".into(),
        task: design.first().cloned(),
        checked_by: "the api and documentation gates (OpenAPI lint) on the design task's files".into(),
    }];
    let mut review_deps = design.to_vec();
    let mut publish_id = None;
    if openapi {
        let publish = push(
            plan,
            TaskKind::ApiDesign,
            WorkflowStep::ContractPublish,
            "Publish the API contract",
            COORDINATOR,
            design.to_vec(),
        );
        let t = last(plan);
        t.objective = format!(
            "Store every OpenAPI document of the repository versioned in the run, export it to {CONTRACTS_DIR}/<name>/v<N>.json, and classify every change against the previous version as breaking or not"
        );
        t.requirements.technical = vec![
            "Every OpenAPI 3 document of the repository is published; an unchanged document makes no new version"
                .into(),
            "Each change against the previous version is classified as breaking or not".into(),
        ];
        t.acceptance_criteria = vec![
            "Each changed contract is exported as a new version with its classified diff".into(),
            "Breaking changes are approved by the tech lead (coord escalation resolve ID --decision approve) or withdrawn".into(),
        ];
        t.expected_output =
            vec![format!("{CONTRACTS_DIR}/<name>/v<N>.json"), format!("{CONTRACTS_DIR}/<name>/v<N>.changes.md")];
        stages.push(WorkflowStage {
            step: "Share spec with frontend-coordinator".into(),
            task: Some(publish.clone()),
            checked_by:
                "the coordinator: versioned export and contract diff (breaking changes escalate to the tech lead)"
                    .into(),
        });
        review_deps = vec![publish.clone()];
        publish_id = Some(publish);
    }
    let review = push(
        plan,
        TaskKind::ApiDesign,
        WorkflowStep::ContractReview,
        "Validate the API contract with the frontend",
        "frontend-coordinator",
        review_deps,
    );
    let endpoints: Vec<String> = analysis.endpoints.iter().map(|e| e.display()).collect();
    let t = last(plan);
    t.requirements.technical =
        vec!["Review the contract against every client flow: fields, types, errors, pagination, authentication".into()];
    t.objective = "Validate the shared contract from the consumer's side before it is implemented: approve it, or fail this task with category api_contract and say what must change".into();
    if !endpoints.is_empty() {
        t.requirements.technical.push(format!("The frontend's flows can be built on: {}", endpoints.join(", ")));
    }
    t.acceptance_criteria = vec![
        "Every screen and flow of the objective can be built on the contract".into(),
        "Each breaking change in the attached diff is accepted or rejected with its reason".into(),
    ];
    t.expected_output = vec!["Approval, or the list of changes the frontend needs".into()];
    stages.push(WorkflowStage {
        step: "Frontend team validates design".into(),
        task: Some(review.clone()),
        checked_by: "a person or the frontend-coordinator agent (manual or MCP), with the diff attached".into(),
    });
    // Everything that built on the design now builds on the approved contract.
    rewire(plan, design, &review, &[publish_id.as_deref().unwrap_or("")]);
    let implementers: Vec<String> = ids_of(plan, |t| {
        t.workflow.is_none()
            && matches!(
                t.kind,
                TaskKind::Implementation | TaskKind::Middleware | TaskKind::Integration | TaskKind::DataAccess
            )
    });
    stages.push(WorkflowStage {
        step: "Backend team implements".into(),
        task: implementers.first().cloned(),
        checked_by: "the code, security and performance gates on each implementation task".into(),
    });
    if openapi && !implementers.is_empty() {
        let test = push(
            plan,
            TaskKind::Integration,
            WorkflowStep::ContractTest,
            "Run the contract integration test",
            COORDINATOR,
            implementers.clone(),
        );
        let t = last(plan);
        t.objective = "Start the implemented service, send requests generated from the published contract to every operation, and check each answer's status and body against the contract".into();
        t.requirements.technical = vec![
            "The service command and base URL come from [workflows] in coord.toml (contract_test_start, contract_test_base_url)".into(),
        ];
        t.acceptance_criteria = vec![
            "Every operation answers with a documented status and a body matching its schema".into(),
            "api_endpoint_coverage is 100%".into(),
        ];
        t.expected_output = vec!["Contract test report and api_endpoint_coverage".into()];
        // The security audit reviews an implementation that keeps its contract.
        for audit in plan.tasks.iter_mut().filter(|t| t.kind == TaskKind::SecurityAudit) {
            audit.depends_on.push(test.clone());
        }
        stages.push(WorkflowStage {
            step: "Conduct integration test with frontend team".into(),
            task: Some(test),
            checked_by: "the coordinator: requests generated from the contract against the running service; api_endpoint_coverage".into(),
        });
    } else if !openapi {
        plan.notes.push("API contract workflow: the contract is a GraphQL schema; publishing, the contract diff and the contract test need OpenAPI, so only the frontend review is planned.".into());
    }
    plan.workflows.push(Workflow { kind: WorkflowKind::ApiContract, stages, rollout: None, monitoring: Vec::new() });
}

/// The rollout a kind of change calls for, judged from the objective's words (the deployment
/// note judges it again from the statements once the migrations exist).
pub fn rollout_for(objective: &str) -> Rollout {
    if CONTRACTING.is_match(objective) {
        Rollout {
            strategy: "expand/contract".into(),
            reason: "the change alters or removes schema that running code reads: add the new shape first, move code and data to it, and remove the old shape in a later release".into(),
        }
    } else if BIG_SWITCH.is_match(objective) {
        Rollout {
            strategy: "blue-green".into(),
            reason: "the change moves data at scale or switches the database underneath: build the new environment beside the old one and switch traffic when it is verified".into(),
        }
    } else {
        Rollout {
            strategy: "canary".into(),
            reason: "the schema change is additive and backward compatible: release to a small share of traffic first and widen it while the thresholds hold".into(),
        }
    }
}

/// What to watch after the deployment, with thresholds.
pub fn monitoring_for(analysis: &Analysis) -> Vec<String> {
    let p95 = performance_lines(analysis)
        .into_iter()
        .find(|l| l.contains("p95") || l.to_ascii_lowercase().contains("latency"))
        .unwrap_or_else(|| "p95 response time < 200 ms".into());
    let pg = analysis.datastores.iter().any(|d| d.to_ascii_lowercase().contains("postgres"));
    let mut lines = vec![
        "Error rate (5xx) of the changed endpoints below 1% for 30 minutes after the deploy".to_string(),
        format!("Latency of the changed endpoints within the target: {p95}"),
    ];
    if pg {
        lines.push(
            "No query waiting on a lock for more than 1 s (pg_stat_activity where wait_event_type = 'Lock')".into(),
        );
        lines.push("No new statement above 100 ms mean time (pg_stat_statements, ordered by mean_exec_time)".into());
        lines.push("Replication lag below 10 s on every replica (pg_stat_replication.replay_lag)".into());
    } else {
        lines.push("No query waiting on a lock for more than 1 s".into());
        lines.push("No new statement above 100 ms mean time in the slow query log".into());
        lines.push("Replication lag below 10 s on every replica".into());
    }
    lines
}

fn database_change(plan: &mut Plan, analysis: &Analysis, schema: &[String]) {
    let replay = push(
        plan,
        TaskKind::DatabaseOperations,
        WorkflowStep::MigrationReplay,
        "Test migrations on a replica database",
        COORDINATOR,
        schema.to_vec(),
    );
    let t = last(plan);
    t.objective = format!(
        "Replay every migration up, down and up again on a scratch database (SQLite, or a throwaway PostgreSQL schema when one is configured), compare schema snapshots, require an approval for data-loss statements, and write the deployment note to {DEPLOYMENT_NOTE}"
    );
    t.requirements.technical = vec![
        "A scratch SQLite database, or a throwaway schema of the PostgreSQL database named by [workflows] replica_url_env".into(),
        "Schema snapshots compare tables, columns, types, defaults, NOT NULL, keys, indexes and foreign keys".into(),
    ];
    t.acceptance_criteria = vec![
        "Every migration applies; after its down the schema equals the one before; its up repeats".into(),
        "Every data-loss statement has a recorded approval".into(),
        format!("Deployment note written to {DEPLOYMENT_NOTE}"),
    ];
    t.expected_output = vec!["Replay report".into(), DEPLOYMENT_NOTE.into()];
    rewire(plan, schema, &replay, &[]);

    let rollout = rollout_for(&plan.objective);
    let monitoring = monitoring_for(analysis);
    let mut deps = sinks(plan);
    if !deps.contains(&replay) {
        deps.push(replay.clone());
    }
    let deploy = push(
        plan,
        TaskKind::DatabaseOperations,
        WorkflowStep::Deployment,
        "Coordinate deployment of the database migrations",
        "database-admin",
        deps,
    );
    let t = last(plan);
    t.objective = format!(
        "Deploy the tested migrations following the deployment note ({DEPLOYMENT_NOTE}): order, lock risk and duration of each statement, the rollout strategy, and the monitoring after deploy"
    );
    t.requirements.technical = vec![
        format!("Rollout strategy: {} ({})", rollout.strategy, rollout.reason),
        "A backup is taken and its restore verified before the first destructive statement".into(),
        "Statements with lock risk run in a low-traffic window, with lock_timeout and statement_timeout set".into(),
    ];
    t.requirements.performance = monitoring.iter().map(|m| format!("Monitor after deploy: {m}")).collect();
    t.acceptance_criteria = vec![
        "Deployment procedure documented".into(),
        "Backup/recovery plan documented".into(),
        "Monitoring thresholds held after the deploy".into(),
    ];
    t.expected_output =
        vec!["Deployment record (when, what, rollout steps)".into(), "Monitoring dashboard and alerts".into()];
    plan.workflows.push(Workflow {
        kind: WorkflowKind::DatabaseChange,
        stages: vec![
            WorkflowStage {
                step: "Assign @database-optimizer to design migration".into(),
                task: schema.first().cloned(),
                checked_by: "the database gate (migration rules) on the schema task's files".into(),
            },
            WorkflowStage {
                step: "Create migration script with rollback".into(),
                task: schema.first().cloned(),
                checked_by: "migrations/no-rollback on the schema task; the replay runs every down".into(),
            },
            WorkflowStage {
                step: "Test on replica database".into(),
                task: Some(replay.clone()),
                checked_by:
                    "the coordinator: up/down/up replay with schema snapshots; data-loss statements need an approval"
                        .into(),
            },
            WorkflowStage {
                step: "Coordinate with @database-admin for deployment".into(),
                task: Some(deploy.clone()),
                checked_by: format!("@database-admin, with the generated deployment note ({DEPLOYMENT_NOTE})"),
            },
            WorkflowStage {
                step: "Plan rollout strategy".into(),
                task: Some(deploy.clone()),
                checked_by: format!("chosen from the kind of change: {}", rollout.strategy),
            },
            WorkflowStage {
                step: "Monitor after deployment".into(),
                task: Some(deploy),
                checked_by: "the thresholds in the plan and the deployment note".into(),
            },
        ],
        rollout: Some(rollout),
        monitoring,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_follows_the_kind_of_change() {
        assert_eq!(rollout_for("Rename the email column of users to login").strategy, "expand/contract");
        assert_eq!(rollout_for("Drop the legacy orders table").strategy, "expand/contract");
        assert_eq!(rollout_for("Partition the events table by month").strategy, "blue-green");
        assert_eq!(rollout_for("Add a table for saved searches").strategy, "canary");
    }
}
