//! The field's own tools: their real reports (recorded from semgrep 1.187 with community rules
//! and bandit 1.9 on `fixtures/peers/app.py`; the SARIF's rule list trimmed to the rules that
//! fired) become coord findings; a finding coord also has is kept once; a missing tool is a
//! note, a required one an error. When bandit is installed, it also runs for real.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::peers::{dedupe, from_bandit, from_sarif, installed};
use coord_gates::{GateConfig, run_gates};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/peers").join(name)
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

#[test]
fn semgrep_sarif_and_bandit_json_become_findings_with_lines_and_cwes() {
    let sg = from_sarif("semgrep", &json("semgrep.sarif"));
    assert!(sg.iter().all(|f| f.file == "app.py" && f.rule.starts_with("peer/semgrep/")), "{sg:?}");
    let lines: std::collections::BTreeSet<usize> = sg.iter().map(|f| f.line).collect();
    assert_eq!(lines, [10, 15].into_iter().collect());
    assert!(sg.iter().any(|f| f.line == 15 && f.cwe.as_deref() == Some("CWE-95")), "{sg:?}");

    let b = from_bandit(&json("bandit.json"));
    let got: Vec<(usize, &str, Option<&str>)> = b.iter().map(|f| (f.line, f.rule.as_str(), f.cwe.as_deref())).collect();
    assert!(got.contains(&(10, "peer/bandit/B602", Some("CWE-78"))), "{got:?}");
    assert!(b.iter().all(|f| f.file == "app.py"));
}

#[test]
fn a_tool_finding_coord_also_has_is_kept_once() {
    let mut findings = from_bandit(&json("bandit.json"));
    let mut own = findings.iter().find(|f| f.line == 10).unwrap().clone();
    own.rule = "command-injection/python-shell".into();
    findings.push(own);
    dedupe(&mut findings);
    let at10: Vec<&str> = findings.iter().filter(|f| f.line == 10).map(|f| f.rule.as_str()).collect();
    assert_eq!(at10, vec!["command-injection/python-shell"]);
}

#[test]
fn a_missing_tool_is_a_note_and_a_required_missing_tool_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), "print(1)\n").unwrap();
    let absent = "coord-no-such-tool";
    assert!(!installed(absent));
    let config = GateConfig { tools: Some(vec!["gitleaks".into()]), ..GateConfig::default() };
    if !installed("gitleaks") {
        let report = run_gates(dir.path(), &["security".into()], &config, false).unwrap();
        assert!(report.notes.iter().any(|n| n.message.contains("gitleaks is not installed")), "{:?}", report.notes);
        let required = GateConfig { require_tools: vec!["gitleaks".into()], ..config };
        let err = run_gates(dir.path(), &["security".into()], &required, false).unwrap_err().to_string();
        assert!(err.contains("gitleaks is required"), "{err}");
    } else {
        println!("gitleaks is installed: the missing-tool half of this test does not apply here");
    }
    let unknown = GateConfig { require_tools: vec!["sonar".into()], ..GateConfig::default() };
    assert!(run_gates(dir.path(), &[], &unknown, false).unwrap_err().to_string().contains("unknown tool `sonar`"));
}

#[test]
fn bandit_runs_for_real_when_installed() {
    if !installed("bandit") {
        println!("skipped: bandit is not installed (pip install bandit)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("app.py"), dir.path().join("app.py")).unwrap();
    let config = GateConfig { tools: Some(vec!["bandit".into()]), ..GateConfig::default() };
    let report = run_gates(dir.path(), &["security".into()], &config, false).unwrap();
    assert!(report.findings.iter().any(|f| f.rule == "peer/bandit/B307" && f.line == 15), "{:?}", report.findings);
}
