//! `coord gate` as CI runs it: exit code 0 when clean, 1 on findings at or above --fail-on, 2
//! when the gate cannot run; a legacy repository adopts it with a baseline in two commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn coord(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coord")).args(args).current_dir(cwd).output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

const INJECTABLE: &str = "app.get('/u', (req, res) => db.query(`SELECT * FROM users WHERE id = ${req.query.id}`));\n";

#[test]
fn exit_codes_are_0_clean_1_findings_2_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("app.js"), "app.get('/u', (req, res) => db.query('SELECT 1'));\n").unwrap();
    let clean = coord(&["gate", "--gate", "security"], root);
    assert_eq!(code(&clean), 0, "{}", String::from_utf8_lossy(&clean.stdout));

    std::fs::write(root.join("app.js"), INJECTABLE).unwrap();
    let found = coord(&["gate", "--gate", "security"], root);
    assert_eq!(code(&found), 1);
    assert!(String::from_utf8_lossy(&found.stdout).contains("sql-injection/js-interpolation"));
    // A critical finding fails at --fail-on critical too; a medium one passes --fail-on high.
    assert_eq!(code(&coord(&["gate", "--gate", "security", "--fail-on", "critical"], root)), 1);
    std::fs::write(root.join("app.js"), "const h = crypto.createHash('md5').update(x).digest('hex');\n").unwrap();
    assert_eq!(code(&coord(&["gate", "--gate", "security", "--fail-on", "high"], root)), 0, "a medium finding");

    for args in [
        vec!["gate", "--gate", "speed"],
        vec!["gate", "--fail-on", "urgent"],
        vec!["gate", "--repo", "/no/such/folder"],
        vec!["gate", "--baseline", "missing.json"],
    ] {
        let out = coord(&args, root);
        assert_eq!(code(&out), 2, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("coord: error:"), "{args:?}");
    }
    std::fs::write(root.join("coord.toml"), "[gates]\nrules = [\"my-rules\"]\n").unwrap();
    std::fs::create_dir_all(root.join("my-rules")).unwrap();
    std::fs::write(root.join("my-rules/bad.yml"), "id: x\n").unwrap();
    let out = coord(&["gate", "--gate", "security"], root);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yml"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_legacy_repository_adopts_the_gate_with_a_baseline_in_two_commands() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("app.js"), INJECTABLE).unwrap();
    // 1. Accept what is there today.
    let out = coord(&["gate", "--write-baseline", "coord-baseline.json"], root);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    // 2. CI gates on new findings only.
    let out = coord(&["gate", "--baseline", "coord-baseline.json", "--format", "sarif"], root);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        sarif["runs"][0]["results"].as_array().unwrap().iter().all(|r| r["ruleId"] != "sql-injection/js-interpolation")
    );

    std::fs::write(root.join("app.js"), format!("// moved\n\n{INJECTABLE}app.get('/d', (req, res) => db.query('DELETE FROM t WHERE id = ' + req.body.id));\n")).unwrap();
    let out = coord(&["gate", "--gate", "security", "--baseline", "coord-baseline.json"], root);
    assert_eq!(code(&out), 1, "the new injection fails, the moved old one stays accepted");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("app.js:4") && !text.contains("app.js:3 "), "{text}");
    assert!(text.contains("1 finding(s) accepted by the baseline"), "{text}");
}
