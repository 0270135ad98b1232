//! DAG validation: precise errors for every kind of bad plan, and property tests showing that
//! every valid random DAG gets layers in which each task comes after all its dependencies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_core::{Plan, PlanError, Task, dag};
use proptest::prelude::*;
use std::collections::HashMap;

fn task(id: &str, deps: &[&str]) -> Task {
    let mut t = Task::new(id, format!("task {id}"), "nodejs-expert");
    t.depends_on = deps.iter().map(|d| d.to_string()).collect();
    t
}

fn plan(tasks: Vec<Task>) -> Plan {
    let mut p = Plan::new("objective");
    p.tasks = tasks;
    p
}

fn errors(p: Plan) -> Vec<PlanError> {
    dag::validate(p, |s| s == "nodejs-expert").unwrap_err().0
}

#[test]
fn duplicate_unknown_self_and_specialist_errors_are_precise() {
    let mut odd = task("c", &["a", "zzz"]);
    odd.specialist = "cobol-expert".into();
    let errs = errors(plan(vec![task("a", &[]), task("a", &[]), odd, task("d", &["d"])]));
    assert!(errs.contains(&PlanError::DuplicateId { id: "a".into(), first: 1, second: 2 }), "{errs:?}");
    assert!(errs.contains(&PlanError::UnknownDependency { task: "c".into(), dependency: "zzz".into() }));
    assert!(errs.contains(&PlanError::UnknownSpecialist { task: "c".into(), specialist: "cobol-expert".into() }));
    assert!(errs.contains(&PlanError::SelfDependency { task: "d".into() }));
}

#[test]
fn a_message_shows_twenty_problems_and_counts_the_rest() {
    let tasks: Vec<Task> = (0..500).map(|i| task(&format!("t{i}"), &["missing"])).collect();
    let err = dag::validate(plan(tasks), |s| s == "nodejs-expert").unwrap_err();
    assert_eq!(err.0.len(), 500, "every problem is kept");
    let text = err.to_string();
    assert_eq!(text.matches("`missing`").count(), 20, "{text}");
    assert!(text.contains("t0") && text.ends_with("; and 480 more problems"), "{text}");
}

#[test]
fn a_cycle_is_named_by_its_ids() {
    let errs = errors(plan(vec![task("a", &["c"]), task("b", &["a"]), task("c", &["b"]), task("d", &[])]));
    let [PlanError::Cycle { ids }] = errs.as_slice() else { panic!("{errs:?}") };
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["a", "b", "c"]);
    let text = errs[0].to_string();
    assert!(text.starts_with("dependency cycle: "), "{text}");
    assert!(text.contains(" → "), "{text}");
}

#[test]
fn blocks_are_derived_and_checked() {
    let valid = dag::validate(plan(vec![task("a", &[]), task("b", &["a"]), task("c", &["a", "b"])]), |_| true).unwrap();
    let p = valid.plan();
    assert_eq!(p.tasks[0].blocks, vec!["b", "c"]);
    assert_eq!(p.tasks[1].blocks, vec!["c"]);
    let mut wrong = task("a", &[]);
    wrong.blocks = vec!["c".into()];
    let errs = errors(plan(vec![wrong, task("b", &[]), task("c", &["b"])]));
    assert_eq!(errs, vec![PlanError::BlocksMismatch { task: "a".into(), blocked: "c".into() }]);
}

#[test]
fn bad_ids_estimates_context_and_empty_plans() {
    let mut t = task("has space", &[]);
    t.estimate_hours = -1.0;
    t.context = vec!["ctx-missing".into()];
    let errs = errors(plan(vec![t]));
    assert!(errs.iter().any(|e| matches!(e, PlanError::InvalidId { index: 1, .. })));
    assert!(errs.iter().any(|e| matches!(e, PlanError::BadEstimate { .. })));
    assert!(errs.iter().any(|e| matches!(e, PlanError::UnknownContext { .. })));
    assert_eq!(errors(plan(vec![])), vec![PlanError::Empty]);
    let mut no_objective = plan(vec![task("a", &[])]);
    no_objective.objective = "  ".into();
    assert_eq!(errors(no_objective), vec![PlanError::EmptyObjective]);
}

#[test]
fn critical_path_follows_estimates() {
    let mut long = task("long", &["a"]);
    long.estimate_hours = 10.0;
    let valid =
        dag::validate(plan(vec![task("a", &[]), long, task("short", &["a"]), task("end", &["long", "short"])]), |_| {
            true
        })
        .unwrap();
    assert_eq!(valid.plan().critical_path, vec!["a", "long", "end"]);
    assert_eq!(valid.plan().critical_path_hours, 12.0);
}

/// A random DAG: task i may depend only on tasks with a smaller index, then the tasks are
/// shuffled so plan order is not topological order.
fn random_dag() -> impl Strategy<Value = Plan> {
    (1usize..60)
        .prop_flat_map(|n| {
            let deps = proptest::collection::vec(proptest::collection::vec(any::<proptest::sample::Index>(), 0..5), n);
            let hours = proptest::collection::vec(1u32..20, n);
            (
                Just(n),
                deps,
                hours,
                Just(()).prop_perturb(move |_, mut rng| {
                    let mut order: Vec<usize> = (0..n).collect();
                    for i in (1..n).rev() {
                        let j = (rng.next_u32() as usize) % (i + 1);
                        order.swap(i, j);
                    }
                    order
                }),
            )
        })
        .prop_map(|(n, deps, hours, order)| {
            let mut tasks: Vec<Task> = (0..n)
                .map(|i| {
                    let ds: Vec<String> =
                        if i == 0 { vec![] } else { deps[i].iter().map(|ix| format!("t{}", ix.index(i))).collect() };
                    let mut t = Task::new(format!("t{i}"), "x", "nodejs-expert");
                    t.depends_on = ds;
                    t.estimate_hours = f64::from(hours[i]);
                    t
                })
                .collect();
            let shuffled: Vec<Task> = order.iter().map(|&i| tasks[i].clone()).collect();
            tasks = shuffled;
            plan(tasks)
        })
}

fn longest(p: &Plan, id: &str, memo: &mut HashMap<String, f64>) -> f64 {
    if let Some(v) = memo.get(id) {
        return *v;
    }
    let t = p.task(id).unwrap();
    let best = t.depends_on.iter().map(|d| longest(p, d, memo)).fold(0.0, f64::max);
    let v = best + t.estimate_hours;
    memo.insert(id.to_string(), v);
    v
}

proptest! {
    #[test]
    fn every_task_comes_after_all_its_dependencies(p in random_dag()) {
        let n = p.tasks.len();
        let valid = dag::validate(p, |_| true).unwrap();
        let p = valid.plan();
        let mut group_of = HashMap::new();
        for (g, ids) in p.groups.iter().enumerate() {
            prop_assert!(!ids.is_empty(), "no empty group");
            for id in ids {
                prop_assert!(group_of.insert(id.clone(), g).is_none(), "each task in exactly one group");
            }
        }
        prop_assert_eq!(group_of.len(), n);
        for t in &p.tasks {
            for d in &t.depends_on {
                prop_assert!(group_of[d] < group_of[&t.id], "{} after {}", t.id, d);
            }
            // Layers are tight: a task not in the first group has a dependency in the group before.
            if group_of[&t.id] > 0 {
                prop_assert!(t.depends_on.iter().any(|d| group_of[d] + 1 == group_of[&t.id]));
            }
        }
        // The critical path is a chain of dependencies whose length is the longest in the DAG.
        for pair in p.critical_path.windows(2) {
            prop_assert!(p.task(&pair[1]).unwrap().depends_on.contains(&pair[0]));
        }
        let mut memo = HashMap::new();
        let best = p.tasks.iter().map(|t| longest(p, &t.id, &mut memo)).fold(0.0, f64::max);
        let sum: f64 = p.critical_path.iter().map(|id| p.task(id).unwrap().estimate_hours).sum();
        prop_assert_eq!(sum, best);
        prop_assert_eq!(p.critical_path_hours, best);
        prop_assert!(p.task(&p.critical_path[0]).unwrap().depends_on.is_empty());
    }

    #[test]
    fn any_added_back_edge_is_reported_as_a_real_cycle(p in random_dag(), pick in any::<proptest::sample::Index>()) {
        // Find a dependency edge u -> v (u depends on v) and add v -> u: a cycle.
        let edges: Vec<(String, String)> = p.tasks.iter().flat_map(|t| t.depends_on.iter().map(move |d| (t.id.clone(), d.clone()))).collect();
        prop_assume!(!edges.is_empty());
        let (u, v) = edges[pick.index(edges.len())].clone();
        let mut p = p;
        let vi = p.tasks.iter().position(|t| t.id == v).unwrap();
        p.tasks[vi].depends_on.push(u);
        let errs = dag::validate(p.clone(), |_| true).unwrap_err().0;
        let cycle = errs.iter().find_map(|e| match e { PlanError::Cycle { ids } => Some(ids.clone()), _ => None });
        let ids = cycle.expect("a cycle error");
        prop_assert!(ids.len() >= 2);
        for (i, id) in ids.iter().enumerate() {
            let next = &ids[(i + 1) % ids.len()];
            prop_assert!(p.task(id).unwrap().depends_on.contains(next), "{} depends on {}", id, next);
        }
    }
}
