//! `cargo run -p coord-plan --example brief_tokens`: for the spec's example objective, the
//! tokens (cl100k_base) of each task's brief with and without context filtering, by specialist,
//! and the total saved. Every filtered brief keeps every item its specialist's policy allows
//! (`tests/golden.rs` asserts it).

use coord_plan::{PlanInput, RulePlanner, brief_with_stats, plan_objective};
use std::collections::BTreeMap;

fn main() {
    let roster = coord_agents::builtin_roster();
    let input = PlanInput {
        objective: "Add user authentication system with OAuth2 and JWT",
        repo: None,
        stack: None,
        workflows: true,
    };
    let valid = match plan_objective(&input, &RulePlanner::default(), &roster) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let plan = valid.plan();
    println!("| task | specialist | items kept | tokens filtered | tokens unfiltered | saved |");
    println!("|---|---|---|---|---|---|");
    let mut by_specialist: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut total_f, mut total_u) = (0, 0);
    for t in &plan.tasks {
        let (_, s) = brief_with_stats(plan, t, &roster, &[]);
        println!(
            "| {} | @{} | {}/{} | {} | {} | {:.0}% |",
            t.id, t.specialist, s.items_included, s.items_total, s.tokens, s.unfiltered_tokens, s.saved_percent
        );
        let e = by_specialist.entry(t.specialist.as_str()).or_default();
        e.0 += s.tokens;
        e.1 += s.unfiltered_tokens;
        total_f += s.tokens;
        total_u += s.unfiltered_tokens;
    }
    println!("\n| specialist | tokens filtered | tokens unfiltered | saved |");
    println!("|---|---|---|---|");
    for (who, (f, u)) in &by_specialist {
        println!("| @{who} | {f} | {u} | {:.0}% |", 100.0 * (*u - *f) as f64 / *u as f64);
    }
    println!(
        "\ntotal: {total_f} tokens filtered vs {total_u} unfiltered: {} tokens ({:.0}%) saved",
        total_u - total_f,
        100.0 * (total_u - total_f) as f64 / total_u as f64
    );
}
