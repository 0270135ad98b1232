//! Adopting the gate on a legacy repository: a baseline accepts today's findings (and keeps
//! accepting them when the code moves), a new finding still fails, inline suppression needs a
//! reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::baseline::Baseline;
use coord_gates::{GateConfig, run_gates};

const OLD: &str = "const q = `SELECT * FROM users WHERE id = ${req.params.id}`;\ndb.query(q);\n";

#[test]
fn a_baseline_accepts_known_findings_even_after_the_code_moves_and_a_new_one_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("app.js"), OLD).unwrap();
    let report = run_gates(root, &["security".into()], &GateConfig::default(), false).unwrap();
    assert_eq!(report.findings.len(), 1);
    assert!(!report.findings[0].fingerprint.is_empty());
    std::fs::write(root.join("coord-baseline.json"), serde_json::to_string(&Baseline::of(&report.findings)).unwrap())
        .unwrap();

    // The same code, moved down by blank lines and a new function, plus a new injection.
    let moved = format!(
        "function health() {{ return 'ok'; }}\n\n\n{OLD}\nfunction other(req) {{ return db.query('DELETE FROM t WHERE id = ' + req.body.id); }}\n"
    );
    std::fs::write(root.join("app.js"), moved).unwrap();
    let config = GateConfig { baseline: Some("coord-baseline.json".into()), ..GateConfig::default() };
    let report = run_gates(root, &["security".into()], &config, false).unwrap();
    assert_eq!(report.baselined, 1);
    let lines: Vec<usize> = report.findings.iter().map(|f| f.line).collect();
    assert_eq!(lines, vec![7], "only the new finding remains");
}

#[test]
fn a_broken_baseline_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.json"), "{\"findings\": 3}").unwrap();
    let config = GateConfig { baseline: Some("b.json".into()), ..GateConfig::default() };
    let err = run_gates(dir.path(), &["security".into()], &config, false).unwrap_err().to_string();
    assert!(err.contains("b.json") && err.contains("not a coord baseline"), "{err}");
}

#[test]
fn inline_suppression_needs_the_rule_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let text = "// coord:allow sql-injection/js-interpolation ids are integers checked by the router\ndb.query(`SELECT * FROM a WHERE id = ${req.params.id}`);\ndb.query(`SELECT * FROM b WHERE id = ${req.params.id}`); // coord:allow sql-injection\ndb.query(`SELECT * FROM c WHERE id = ${req.params.id}`); // coord:allow weak-crypto not this rule\n";
    std::fs::write(dir.path().join("app.js"), text).unwrap();
    let report = run_gates(dir.path(), &["security".into()], &GateConfig::default(), false).unwrap();
    let lines: Vec<usize> = report.findings.iter().map(|f| f.line).collect();
    assert_eq!(lines, vec![3, 4], "line 2 is allowed with a reason; 3 has no reason; 4 names another rule");
    assert_eq!(report.suppressed, 1);
    assert!(report.notes.iter().any(|n| n.message.contains("has no reason")), "{:?}", report.notes);
}
