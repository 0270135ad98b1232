//! Golden tests: the spec's worked example ("Add user authentication system with OAuth2 and
//! JWT") must plan into the spec's tasks A–H with the spec's assignments and dependencies, and
//! the whole plan is pinned in `tests/golden/auth.json` (regenerate with `UPDATE_GOLDEN=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_core::{ContextCategory, Plan, Priority, WorkflowKind, WorkflowStep};
use coord_plan::{PlanInput, RulePlanner, brief_with_stats, plan_objective};
use std::path::PathBuf;

const SPEC_EXAMPLE: &str = "Add user authentication system with OAuth2 and JWT";

fn plan_with(objective: &str, workflows: bool) -> Plan {
    let roster = coord_agents::builtin_roster();
    let input = PlanInput { objective, repo: None, stack: None, workflows };
    plan_objective(&input, &RulePlanner::default(), &roster).unwrap().into_plan()
}

fn plan(objective: &str) -> Plan {
    plan_with(objective, true)
}

#[test]
fn spec_example_has_tasks_a_to_h_with_the_spec_assignments() {
    // The specialists' work alone, as the spec's "Task Breakdown Example" lists it.
    let p = plan_with(SPEC_EXAMPLE, false);
    // (letter, title, specialist, dependencies as letters) as the spec's "Task Breakdown Example"
    // and "Execution Strategy" state them.
    let expected: [(&str, &str, &str, &[&str]); 8] = [
        ("A", "Design authentication API contracts", "api-architect", &[]),
        ("B", "Design database schema for users/sessions", "database-optimizer", &[]),
        ("C", "Implement authentication endpoints", "nodejs-expert", &["A", "B"]),
        ("D", "Implement OAuth2 provider integration", "nodejs-expert", &["A", "B"]),
        ("E", "Implement JWT middleware", "nodejs-expert", &["C"]),
        ("F", "Implement database user management", "database-optimizer", &["B"]),
        ("G", "Security audit of authentication", "backend-architect", &["D", "E", "F"]),
        ("H", "Performance testing", "backend-architect", &["G"]),
    ];
    assert_eq!(p.tasks.len(), 8);
    let letter_of = |id: &str| {
        let i = p.tasks.iter().position(|t| t.id == id).unwrap();
        expected[i].0
    };
    for (task, (letter, title, specialist, deps)) in p.tasks.iter().zip(expected) {
        assert_eq!(task.title, title, "task {letter}");
        assert_eq!(task.specialist, specialist, "task {letter}");
        let got: Vec<&str> = task.depends_on.iter().map(|d| letter_of(d)).collect();
        assert_eq!(got, deps, "dependencies of task {letter}");
    }
    assert_eq!(p.tasks[0].expected_output, vec!["OpenAPI spec for /auth endpoints"]);
    assert_eq!(p.tasks[2].expected_output[0], "/login, /logout, /refresh endpoints");
    assert_eq!(p.tasks[3].expected_output[0], "OAuth2 client, token exchange logic");
    assert_eq!(p.tasks[4].expected_output[0], "JWT verification, token validation");
    assert_eq!(p.tasks[5].expected_output[0], "User CRUD operations, session management");

    // Parallel Group 1 is A and B; Group 2 (after A & B) holds C and D.
    let groups: Vec<Vec<&str>> = p.groups.iter().map(|g| g.iter().map(|id| letter_of(id)).collect()).collect();
    assert_eq!(groups[0], vec!["A", "B"]);
    assert!(groups[1].contains(&"C") && groups[1].contains(&"D"));
    // G after implementation, H the final validation.
    assert_eq!(groups.last().unwrap(), &vec!["H"]);
    let cp: Vec<&str> = p.critical_path.iter().map(|id| letter_of(id)).collect();
    assert_eq!(cp, vec!["A", "C", "E", "G", "H"]);
    assert!(p.tasks.iter().filter(|t| p.critical_path.contains(&t.id)).all(|t| t.priority == Priority::High));

    let facets: Vec<&str> = p.analysis.facets.iter().map(|f| f.as_str()).collect();
    assert_eq!(facets, vec!["api", "database", "auth", "integrations"]);
    assert_eq!(p.analysis.stack.specialist, "nodejs-expert");
    assert!(p.notes.iter().any(|n| n.contains("default @nodejs-expert")));
}

#[test]
fn the_spec_example_runs_both_coordination_workflows() {
    let p = plan(SPEC_EXAMPLE);
    let bare = plan_with(SPEC_EXAMPLE, false);
    // Tasks A–H keep their ids, titles and specialists; the workflow steps follow them.
    for (t, b) in p.tasks.iter().zip(&bare.tasks) {
        assert_eq!((&t.id, &t.title, &t.specialist), (&b.id, &b.title, &b.specialist));
        assert_eq!(t.workflow, None);
    }
    let step =
        |s: WorkflowStep| p.tasks.iter().find(|t| t.workflow == Some(s)).unwrap_or_else(|| panic!("no {s} step"));
    let deps = |id: &str| {
        let mut d = p.task(id).unwrap().depends_on.clone();
        d.sort();
        d
    };
    let (publish, review, replay, test, deploy) = (
        step(WorkflowStep::ContractPublish),
        step(WorkflowStep::ContractReview),
        step(WorkflowStep::MigrationReplay),
        step(WorkflowStep::ContractTest),
        step(WorkflowStep::Deployment),
    );
    assert_eq!(
        (publish.specialist.as_str(), review.specialist.as_str()),
        ("backend-coordinator", "frontend-coordinator")
    );
    assert_eq!((replay.specialist.as_str(), test.specialist.as_str()), ("backend-coordinator", "backend-coordinator"));
    assert_eq!(deploy.specialist, "database-admin");
    // A → publish → review; B → replay; implementation waits for the approved contract and the
    // tested schema; the contract test follows implementation and precedes the security audit;
    // the deployment comes last.
    assert_eq!(publish.depends_on, vec!["backend-T001"]);
    assert_eq!(review.depends_on, vec![publish.id.clone()]);
    assert_eq!(replay.depends_on, vec!["backend-T002"]);
    assert_eq!(deps("backend-T003"), vec![review.id.clone(), replay.id.clone()]);
    assert_eq!(deps("backend-T004"), vec![review.id.clone(), replay.id.clone()]);
    assert_eq!(deps("backend-T006"), vec![replay.id.clone()]);
    assert_eq!(deps(&test.id), vec!["backend-T003", "backend-T004", "backend-T005", "backend-T006"]);
    assert!(deps("backend-T007").contains(&test.id));
    assert_eq!(deps(&deploy.id), vec!["backend-T008".to_string(), replay.id.clone()]);
    assert_eq!(p.groups.last().unwrap(), &vec![deploy.id.clone()]);

    // The plan names every step of both procedures and the task or check behind it.
    let kinds: Vec<WorkflowKind> = p.workflows.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, vec![WorkflowKind::ApiContract, WorkflowKind::DatabaseChange]);
    assert_eq!(p.workflows[0].stages.len(), 5);
    assert_eq!(p.workflows[1].stages.len(), 6);
    assert_eq!(p.workflows[1].rollout.as_ref().unwrap().strategy, "canary", "users and sessions are new tables");
    assert!(p.workflows[1].monitoring.iter().any(|m| m.contains("200 ms")));
    assert!(deploy.requirements.technical.iter().any(|r| r.starts_with("Rollout strategy: canary")));
}

#[test]
fn a_destructive_change_plans_expand_contract() {
    let p = plan("Rename the email column of the users table to login and drop the legacy password column");
    let db = p.workflows.iter().find(|w| w.kind == WorkflowKind::DatabaseChange).expect("a database workflow");
    assert_eq!(db.rollout.as_ref().unwrap().strategy, "expand/contract");
}

#[test]
fn every_task_carries_every_template_field() {
    let p = plan(SPEC_EXAMPLE);
    for t in &p.tasks {
        assert!(!t.objective.is_empty(), "{}", t.id);
        assert!(!t.requirements.is_empty(), "{}", t.id);
        assert!(!t.acceptance_criteria.is_empty(), "{}", t.id);
        assert!(!t.expected_output.is_empty(), "{}", t.id);
        assert!(!t.success_criteria.is_empty(), "{}", t.id);
        assert!(!t.context.is_empty(), "{}", t.id);
    }
    assert!(p.tasks[2].requirements.security.iter().any(|r| r.contains("Parameterized")));
    assert!(p.tasks[2].requirements.performance.iter().any(|r| r.contains("200 ms")));
}

#[test]
fn the_spec_example_plan_is_pinned() {
    let p = plan(SPEC_EXAMPLE);
    let json = serde_json::to_string_pretty(&p).unwrap() + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/auth.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    let golden = std::fs::read_to_string(&path).expect("tests/golden/auth.json (run with UPDATE_GOLDEN=1 to create)");
    assert_eq!(json, golden, "the plan changed; review the diff and rerun with UPDATE_GOLDEN=1 if intended");
}

#[test]
fn planning_is_deterministic() {
    let a = serde_json::to_string(&plan("Build a FastAPI orders service with Stripe payments and p95 under 150 ms"))
        .unwrap();
    let b = serde_json::to_string(&plan("Build a FastAPI orders service with Stripe payments and p95 under 150 ms"))
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn briefs_keep_only_what_the_policy_allows_and_save_tokens() {
    let p = plan(SPEC_EXAMPLE);
    let roster = coord_agents::builtin_roster();
    let mut saved_somewhere = false;
    for t in &p.tasks {
        let (brief, stats) = brief_with_stats(&p, t, &roster, &[]);
        let policy = &roster.get(&t.specialist).unwrap().context;
        for id in &brief.included {
            let item = p.context_item(id).unwrap();
            assert!(policy.allows(item.category), "{} got {} ({})", t.specialist, id, item.category);
            assert!(brief.markdown.contains(&format!("- {}: {}\n", item.category.label(), item.title)));
        }
        for ex in &brief.excluded {
            assert!(!policy.allows(ex.category));
            let item = p.context_item(&ex.id).unwrap();
            let entry = format!("- {}: {}\n", item.category.label(), item.title);
            assert!(!brief.markdown.contains(&entry), "{} leaked into {}'s brief", ex.id, t.id);
        }
        // Every allowed item of the pool is kept.
        let allowed = p.context.iter().filter(|c| policy.allows(c.category)).count();
        assert_eq!(brief.included.len(), allowed, "{}", t.id);
        assert!(stats.tokens <= stats.unfiltered_tokens);
        saved_somewhere |= stats.tokens < stats.unfiltered_tokens;
        assert!(
            brief.markdown.starts_with(&format!("DELEGATION TO: @{}\nTASK ID: {}\nPRIORITY: ", t.specialist, t.id))
        );
    }
    assert!(saved_somewhere);
    // The API architect never sees database implementation details.
    let (brief, _) = brief_with_stats(&p, &p.tasks[0], &roster, &[]);
    assert!(brief.excluded.iter().any(|e| e.category == ContextCategory::DatabaseImplementation));
}

#[test]
fn other_objectives_get_plans_a_lead_would_accept() {
    let ops = plan("Set up nightly backups and a read replica for our PostgreSQL database");
    assert!(
        ops.tasks.iter().all(|t| t.specialist == "database-admin"),
        "{:?}",
        ops.tasks.iter().map(|t| &t.specialist).collect::<Vec<_>>()
    );
    let gql = plan("Design a GraphQL API for the product catalog");
    assert_eq!(gql.tasks[0].specialist, "graphql-architect");
    let py = plan(
        "Build a FastAPI orders service: POST /v1/orders with p95 under 150 ms, Stripe payments and 10 million orders",
    );
    let by =
        |title: &str| py.tasks.iter().find(|t| t.title.contains(title)).unwrap_or_else(|| panic!("no task {title}"));
    assert_eq!(by("Design database schema").specialist, "database-optimizer");
    assert_eq!(by("Design API contracts").specialist, "api-architect");
    assert_eq!(by("Stripe").specialist, "python-pro");
    assert_eq!(by("endpoints").specialist, "python-pro");
    let last = py.tasks.last().unwrap();
    assert_eq!(
        (last.title.as_str(), last.specialist.as_str()),
        ("Coordinate deployment of the database migrations", "database-admin")
    );
    assert!(py.tasks.iter().any(|t| t.title == "Performance testing"));
    assert!(py.tasks.iter().any(|t| t.title.starts_with("Security audit")));
}
