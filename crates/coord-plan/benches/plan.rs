//! `cargo bench -p coord-plan --bench plan`: prints
//! - the median time to analyse and plan the spec's example objective (analysis, rule planner,
//!   context pool, DAG validation, layers and critical path), and
//! - the median time to validate, layer and find the critical path of a random DAG of 100,000
//!   tasks and 1,000,000 dependency edges.
//!
//! It prints figures and asserts nothing about time. Targets (issue #2): under 1 ms, under 300 ms.

use coord_core::{Plan, Task, dag};
use coord_plan::{PlanInput, RulePlanner, plan_objective};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// splitmix64: a tiny deterministic generator, so every run measures the same graph.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn random_dag(tasks: usize, edges: usize, seed: u64) -> Plan {
    let mut rng = Rng(seed);
    let mut plan = Plan::new("benchmark");
    let ids: Vec<String> = (0..tasks).map(|i| format!("t{i:06}")).collect();
    let mut made = 0;
    for i in 0..tasks {
        let mut t = Task::new(ids[i].clone(), "benchmark task", "nodejs-expert");
        t.estimate_hours = 1.0 + rng.below(8) as f64;
        // Spread the remaining edges over the remaining tasks; task i can have at most i.
        let left = tasks - i;
        let want = (edges - made).div_ceil(left).min(i);
        let mut chosen: Vec<usize> = Vec::with_capacity(want);
        while chosen.len() < want {
            let d = rng.below(i);
            if !chosen.contains(&d) {
                chosen.push(d);
            }
        }
        made += chosen.len();
        t.depends_on = chosen.into_iter().map(|d| ids[d].clone()).collect();
        plan.tasks.push(t);
    }
    // Shuffle so plan order is not a topological order.
    for i in (1..plan.tasks.len()).rev() {
        let j = rng.below(i + 1);
        plan.tasks.swap(i, j);
    }
    eprintln!("  generated {tasks} tasks and {made} edges");
    plan
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("plan: bench");
        return;
    }
    let roster = coord_agents::builtin_roster();
    let objective = "Add user authentication system with OAuth2 and JWT";
    let input = PlanInput { objective, repo: None, stack: None, workflows: true };
    // Warm up: compiles the analysis regexes once, as a long-running process would have.
    for _ in 0..50 {
        black_box(plan_objective(&input, &RulePlanner::default(), &roster).map(|p| p.plan().tasks.len()).unwrap_or(0));
    }
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let start = Instant::now();
        let plan = plan_objective(&input, &RulePlanner::default(), &roster);
        samples.push(start.elapsed());
        black_box(plan.map(|p| p.plan().tasks.len()).unwrap_or(0));
    }
    let m = median(samples);
    println!("analyse + plan the spec example: median {:.1} µs over 2000 runs (target < 1 ms)", m.as_secs_f64() * 1e6);

    println!("random DAG, 100,000 tasks / 1,000,000 edges:");
    let plan = random_dag(100_000, 1_000_000, 42);
    let mut samples = Vec::new();
    for _ in 0..7 {
        let copy = plan.clone();
        let start = Instant::now();
        let valid = dag::validate(copy, |_| true);
        let elapsed = start.elapsed();
        let (groups, path) = match &valid {
            Ok(v) => (v.plan().groups.len(), v.plan().critical_path.len()),
            Err(e) => {
                eprintln!("  the generated DAG is invalid: {e}");
                std::process::exit(1);
            }
        };
        samples.push(elapsed);
        black_box((groups, path));
        drop(valid);
    }
    let valid = dag::validate(plan, |_| true).ok();
    let (groups, path) = valid.as_ref().map_or((0, 0), |v| (v.plan().groups.len(), v.plan().critical_path.len()));
    let m = median(samples);
    println!(
        "  validate + layers + critical path: median {:.1} ms over 7 runs ({groups} parallel groups, critical path of {path} tasks; target < 300 ms)",
        m.as_secs_f64() * 1e3
    );
}
