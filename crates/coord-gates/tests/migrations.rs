//! The migrations checker on fixture repositories of each layout: every seeded defect (marked
//! `coord-expect:`) is found on its line, and the clean twins yield nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::Checker;
use coord_gates::expect::{expected, found};
use coord_gates::migrations::{MigrationsChecker, Tool, find_migrations};
use coord_gates::walk::{WalkLimits, read_tree};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrations").join(name)
}

#[test]
fn seeded_defects_of_every_layout_are_found_on_their_lines() {
    let checker = MigrationsChecker;
    let refs: Vec<&dyn Checker> = vec![&checker];
    for name in ["sqlx-bad", "flyway-bad", "alembic-bad", "knex-bad", "django-bad", "prisma"] {
        let want = expected(&fixture(name));
        assert!(!want.is_empty(), "{name} seeds defects");
        let got = found(&fixture(name), &refs);
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{name}: missing {missing:?}, unexpected {extra:?}");
    }
}

#[test]
fn clean_twins_are_clean() {
    let checker = MigrationsChecker;
    let refs: Vec<&dyn Checker> = vec![&checker];
    for name in ["sqlx-clean", "flyway-clean", "alembic-clean", "knex-clean", "django-clean"] {
        let got = found(&fixture(name), &refs);
        assert!(got.is_empty(), "{name}: {got:?}");
    }
}

#[test]
fn every_rule_has_a_seeded_true_positive() {
    let mut rules = std::collections::BTreeSet::new();
    for name in ["sqlx-bad", "flyway-bad", "alembic-bad", "knex-bad", "django-bad", "prisma"] {
        rules.extend(expected(&fixture(name)).into_iter().map(|k| k.0));
    }
    for rule in [
        "migrations/no-rollback",
        "migrations/destructive",
        "migrations/not-null-without-default",
        "migrations/fk-without-index",
    ] {
        assert!(rules.contains(rule), "{rule}");
    }
}

#[test]
fn discovery_reads_each_layout() {
    let tree = read_tree(&fixture("sqlx-clean"), &WalkLimits::default());
    let ms = find_migrations(&tree.files);
    assert_eq!(
        ms.iter().map(|m| (m.tool, m.version.as_str(), m.down.is_some())).collect::<Vec<_>>(),
        vec![(Tool::Sql, "20240101000000", true), (Tool::Sql, "20240201000000", true)]
    );
    let tree = read_tree(&fixture("alembic-bad"), &WalkLimits::default());
    let ms = find_migrations(&tree.files);
    assert_eq!(
        (ms[0].tool, ms[0].down.is_some()),
        (Tool::Alembic, false),
        "a downgrade that only passes is no rollback"
    );
    let tree = read_tree(&fixture("django-clean"), &WalkLimits::default());
    assert_eq!(find_migrations(&tree.files)[0].tool, Tool::Django);
}
