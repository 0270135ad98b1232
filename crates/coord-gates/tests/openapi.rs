//! The OpenAPI lint on fixture documents: every seeded defect (marked `coord-expect:`) is found
//! on its line, the clean document yields nothing, a malformed file is a finding while the rest
//! is still linted, a `$ref` cycle terminates, and Swagger 2.0 gets a note.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::Checker;
use coord_gates::expect::{expected, found};
use coord_gates::openapi::OpenApiChecker;
use coord_gates::walk::{WalkLimits, read_tree};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi").join(name)
}

#[test]
fn seeded_defects_are_found_on_their_lines_and_the_clean_twin_is_clean() {
    let refs: Vec<&dyn Checker> = vec![&OpenApiChecker];
    let want = expected(&fixture("bad"));
    let got = found(&fixture("bad"), &refs);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, unexpected {extra:?}");
    assert!(found(&fixture("clean"), &refs).is_empty(), "{:?}", found(&fixture("clean"), &refs));
    for rule in [
        "openapi/method-path-shape",
        "openapi/verbs-in-path",
        "openapi/missing-success-response",
        "openapi/missing-error-response",
        "openapi/missing-auth-responses",
        "openapi/inconsistent-error-schema",
        "openapi/collection-without-pagination",
        "openapi/no-versioning",
        "openapi/no-security-scheme",
        "openapi/rate-limit-not-documented",
        "openapi/unparsable",
    ] {
        assert!(want.iter().any(|k| k.0 == rule), "no fixture seeds {rule}");
    }
}

#[test]
fn swagger_2_gets_a_note() {
    let tree = read_tree(&fixture("bad"), &WalkLimits::default());
    let ws = coord_gates::Workspace { root: &fixture("bad"), files: &tree.files };
    let out = OpenApiChecker.check(&ws);
    assert!(
        out.notes.iter().any(|n| n.file == "swagger2.json" && n.message.contains("Swagger 2.0")),
        "{:?}",
        out.notes
    );
}
