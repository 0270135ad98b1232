//! Scores the rule planner on the labelled objectives in `crates/coord-plan/eval/objectives.toml`
//! (or a file given as the first argument): facet precision, recall and F1, and specialist
//! accuracy, with every miss listed. `cargo run -p coord-plan --example planning_eval`.

use coord_plan::eval::{OBJECTIVES, load_cases, score};
use std::process::ExitCode;

fn main() -> ExitCode {
    let text = match std::env::args().nth(1) {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => OBJECTIVES.to_string(),
    };
    let cases = match load_cases(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = score(&cases);
    for c in &report.cases {
        if let Some(e) = &c.error {
            println!("{:<34} ERROR {e}", c.id);
            continue;
        }
        let mut problems = Vec::new();
        if !c.missed_facets.is_empty() {
            problems.push(format!("missed facets {:?}", c.missed_facets));
        }
        if !c.extra_facets.is_empty() {
            problems.push(format!("extra facets {:?}", c.extra_facets));
        }
        problems.extend(c.specialist_failures.iter().cloned());
        if !problems.is_empty() {
            println!("{:<34} {}", c.id, problems.join("; "));
        }
    }
    let with_files = cases.iter().filter(|c| !c.files.is_empty()).count();
    let with_agents = cases.iter().filter(|c| !c.agents.is_empty()).count();
    println!();
    println!("cases: {} ({with_files} with repository files, {with_agents} with their own agents)", cases.len());
    println!(
        "facets: precision {:.4}  recall {:.4}  F1 {:.4}  ({} labels)",
        report.precision(),
        report.recall(),
        report.f1(),
        report.true_positives + report.false_negatives
    );
    println!(
        "specialists: {} of {} must/must-not checks hold: accuracy {:.4}",
        report.specialist_passed,
        report.specialist_checks,
        report.specialist_accuracy()
    );
    ExitCode::SUCCESS
}
