//! The planning evaluation as a regression floor: the rule planner is scored on the labelled
//! objectives of `eval/objectives.toml` (labels written before the planner was tuned; see
//! `coord_plan::eval`) and must not fall below the figures docs/planning.md reports.
//! `cargo run -p coord-plan --example planning_eval` prints every miss.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_plan::eval::{OBJECTIVES, load_cases, score};

#[test]
fn the_planner_keeps_its_scores_on_the_labelled_objectives() {
    let cases = load_cases(OBJECTIVES).unwrap();
    assert!(cases.len() >= 80, "at least 80 labelled objectives");
    assert!(cases.iter().filter(|c| !c.files.is_empty()).count() >= 10, "some decided by repository files");
    assert!(cases.iter().filter(|c| !c.agents.is_empty()).count() >= 5, "some with a project's own agents");
    let report = score(&cases);
    let errors: Vec<String> =
        report.cases.iter().filter_map(|c| c.error.as_ref().map(|e| format!("{}: {e}", c.id))).collect();
    assert!(errors.is_empty(), "cases that could not be planned: {errors:?}");
    assert!(report.f1() >= FACET_F1_FLOOR, "facet F1 {:.3} fell below {FACET_F1_FLOOR}", report.f1());
    assert!(
        report.specialist_accuracy() >= SPECIALIST_FLOOR,
        "specialist accuracy {:.3} fell below {SPECIALIST_FLOOR}",
        report.specialist_accuracy()
    );
}

/// The measured figures, rounded down.
const FACET_F1_FLOOR: f64 = 0.95;
const SPECIALIST_FLOOR: f64 = 0.99;

#[test]
fn a_bad_evaluation_file_is_refused_with_its_reason() {
    let twice =
        "[[case]]\nid = \"a\"\nobjective = \"x\"\nfacets = []\n[[case]]\nid = \"a\"\nobjective = \"y\"\nfacets = []\n";
    assert!(load_cases(twice).unwrap_err().contains("`a` is used twice"));
    let bad_facet = "[[case]]\nid = \"a\"\nobjective = \"x\"\nfacets = [\"apis\"]\n";
    assert!(load_cases(bad_facet).unwrap_err().contains("apis"));
}
