//! The planning evaluation: objectives labelled by hand with the facets and the specialists a
//! senior backend lead would expect (`must`) and those that would be wrong (`must_not`), some
//! with repository files that decide the stack and some with a project's own agents. The
//! scorer plans each objective (the specialists' work, without the coordination workflows,
//! whose steps the spec fixes) and prints facet precision, recall and F1 (micro-averaged over
//! every label) and specialist accuracy (the share of must/must-not checks that hold).
//!
//! Run it with `cargo run -p coord-plan --example planning_eval`.

use crate::{PlanInput, RepoFacts, RulePlanner, plan_objective};
use coord_core::Facet;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The labelled set shipped with the crate.
pub const OBJECTIVES: &str = include_str!("../eval/objectives.toml");

/// One labelled objective.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A unique id.
    pub id: String,
    /// The objective.
    pub objective: String,
    /// The facets a lead expects, exactly.
    pub facets: Vec<Facet>,
    /// Specialists the plan must use.
    #[serde(default)]
    pub must: Vec<String>,
    /// Specialists the plan must not use.
    #[serde(default)]
    pub must_not: Vec<String>,
    /// Repository files (path → contents) scanned as `--repo`.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The project's own agent files (file name → contents), added to the roster.
    #[serde(default)]
    pub agents: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

/// Parses a labelled set, refusing duplicate ids.
pub fn load_cases(text: &str) -> Result<Vec<Case>, String> {
    let file: CaseFile = toml::from_str(text).map_err(|e| format!("the evaluation set: {e}"))?;
    let mut seen = std::collections::BTreeSet::new();
    for c in &file.case {
        if !seen.insert(c.id.clone()) {
            return Err(format!("the evaluation set: case id `{}` is used twice", c.id));
        }
    }
    Ok(file.case)
}

/// What the scorer found for one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// Facets found that were not expected.
    pub extra_facets: Vec<Facet>,
    /// Facets expected and not found.
    pub missed_facets: Vec<Facet>,
    /// Failed specialist checks ("missing X" / "wrongly X").
    pub specialist_failures: Vec<String>,
    /// Specialist checks made.
    pub specialist_checks: usize,
    /// Why planning failed, if it did.
    pub error: Option<String>,
}

/// Totals over a set.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per case.
    pub cases: Vec<CaseResult>,
    /// Facets found and expected.
    pub true_positives: usize,
    /// Found, not expected.
    pub false_positives: usize,
    /// Expected, not found.
    pub false_negatives: usize,
    /// Specialist checks made.
    pub specialist_checks: usize,
    /// Specialist checks that held.
    pub specialist_passed: usize,
}

impl Report {
    /// Facet precision.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }
    /// Facet recall.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }
    /// Facet F1.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
    /// Share of specialist checks that held.
    pub fn specialist_accuracy(&self) -> f64 {
        ratio(self.specialist_passed, self.specialist_checks)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Plans every case with the built-in playbooks and scores it. Repository files are written to
/// a fresh folder under the system's temporary folder, removed afterwards.
pub fn score(cases: &[Case]) -> Report {
    let planner = RulePlanner::default();
    let mut report = Report::default();
    for (n, case) in cases.iter().enumerate() {
        let result = score_case(case, n, &planner);
        report.specialist_checks += result.specialist_checks;
        report.specialist_passed += result.specialist_checks - result.specialist_failures.len();
        let expected = case.facets.len();
        let missed = result.missed_facets.len();
        report.true_positives += expected - missed;
        report.false_negatives += missed;
        report.false_positives += result.extra_facets.len();
        report.cases.push(result);
    }
    report
}

fn score_case(case: &Case, n: usize, planner: &RulePlanner) -> CaseResult {
    let mut result = CaseResult {
        id: case.id.clone(),
        extra_facets: Vec::new(),
        missed_facets: case.facets.clone(),
        specialist_failures: case.must.iter().map(|m| format!("missing {m}")).collect(),
        specialist_checks: case.must.len() + case.must_not.len(),
        error: None,
    };
    let mut roster = coord_agents::builtin_roster();
    for (file, text) in &case.agents {
        match coord_agents::parse_agent(text, &format!(".claude/agents/{file}")) {
            Ok((specialist, _)) => {
                roster.insert(specialist);
            }
            Err(e) => {
                result.error = Some(format!("agent {file}: {e}"));
                return result;
            }
        }
    }
    let repo_dir = (!case.files.is_empty())
        .then(|| std::env::temp_dir().join(format!("coord-plan-eval-{}-{n}", std::process::id())));
    let repo = match &repo_dir {
        Some(dir) => match write_files(dir, &case.files).and_then(|_| RepoFacts::scan(dir)) {
            Ok(facts) => Some(facts),
            Err(e) => {
                result.error = Some(format!("repository files: {e}"));
                return result;
            }
        },
        None => None,
    };
    let input = PlanInput { objective: &case.objective, repo: repo.as_ref(), stack: None, workflows: false };
    let planned = plan_objective(&input, planner, &roster);
    if let Some(dir) = repo_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let plan = match planned {
        Ok(valid) => valid.into_plan(),
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    let found = &plan.analysis.facets;
    result.missed_facets = case.facets.iter().filter(|f| !found.contains(f)).copied().collect();
    result.extra_facets = found.iter().filter(|f| !case.facets.contains(f)).copied().collect();
    let used = |name: &str| plan.tasks.iter().any(|t| t.specialist == name);
    result.specialist_failures = case
        .must
        .iter()
        .filter(|m| !used(m))
        .map(|m| format!("missing {m}"))
        .chain(case.must_not.iter().filter(|m| used(m)).map(|m| format!("wrongly {m}")))
        .collect();
    result
}

fn write_files(dir: &Path, files: &BTreeMap<String, String>) -> std::io::Result<()> {
    for (path, text) in files {
        if path.split(['/', '\\']).any(|part| part == ".." || part.is_empty()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("bad path `{path}`")));
        }
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(full, text)?;
    }
    Ok(())
}
