//! Every seeded defect of the fixture backends (an Express app, a FastAPI app, a Spring
//! controller) is found where its `coord-expect:` marker says, and their clean twins yield
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::Checker;
use coord_gates::ast::{AstChecker, RuleSet};
use coord_gates::cors::CorsChecker;
use coord_gates::expect::{expected, found, score};
use coord_gates::logs::LogsChecker;
use coord_gates::nplusone::NPlusOneChecker;
use coord_gates::secrets::SecretsChecker;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn checkers() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(SecretsChecker::default()),
        Box::new(AstChecker { rules: RuleSet::builtin().unwrap() }),
        Box::new(LogsChecker),
        Box::new(CorsChecker),
        Box::new(NPlusOneChecker),
    ]
}

#[test]
fn seeded_defects_are_found_exactly() {
    let cs = checkers();
    let refs: Vec<&dyn Checker> = cs.iter().map(|c| c.as_ref()).collect();
    for app in ["express-bad", "fastapi-bad", "spring-bad"] {
        let want = expected(&fixture(app));
        assert!(want.len() >= 5, "{app} seeds defects");
        let got = found(&fixture(app), &refs);
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{app}: missing {missing:?}, unexpected {extra:?}");
        for (rule, s) in score(&want, &got) {
            assert_eq!((s.precision(), s.recall()), (1.0, 1.0), "{app} {rule}");
        }
    }
}

#[test]
fn clean_twins_are_clean() {
    let cs = checkers();
    let refs: Vec<&dyn Checker> = cs.iter().map(|c| c.as_ref()).collect();
    for app in ["express-clean", "fastapi-clean", "spring-clean"] {
        let got = found(&fixture(app), &refs);
        assert!(got.is_empty(), "{app}: {got:?}");
    }
}

#[test]
fn every_rule_of_the_static_checkers_has_a_seeded_true_positive() {
    let mut rules = std::collections::BTreeSet::new();
    for app in ["express-bad", "fastapi-bad", "spring-bad"] {
        rules.extend(expected(&fixture(app)).into_iter().map(|k| k.0));
    }
    for rule in [
        "secrets/aws-access-key",
        "secrets/high-entropy-assignment",
        "secrets/jwt-secret-in-config",
        "sql-injection/js-interpolation",
        "sql-injection/python-interpolation",
        "sql-injection/java-concatenation",
        "sensitive-logs/secret-in-log",
        "cors/wildcard-with-credentials",
        "n-plus-one/query-in-loop",
    ] {
        assert!(rules.contains(rule), "no fixture seeds {rule}");
    }
}
