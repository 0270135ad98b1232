//! Bad input never stops a scan: binary, oversized and non-UTF-8 files become notes, a symlink
//! loop is not followed, and the rest of the tree is still checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::{GateConfig, run_gates};

#[test]
fn binary_huge_latin1_and_symlink_loops_are_notes_and_the_scan_completes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src/deep")).unwrap();
    std::fs::write(root.join("logo.png"), [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0x00]).unwrap();
    std::fs::write(root.join("big.js"), "x".repeat(3 * 1024 * 1024)).unwrap();
    std::fs::write(root.join("latin1.py"), b"# caf\xe9\nDB_PASSWORD = \"k9#Lq2!vZ8@xR4\"\n").unwrap();
    std::os::unix::fs::symlink(root, root.join("src/deep/loop")).unwrap();
    std::fs::write(root.join("src/app.js"), "db.query(`SELECT * FROM t WHERE id = ${req.params.id}`);\n").unwrap();
    let report = run_gates(root, &["security".into(), "code".into()], &GateConfig::default(), false).unwrap();
    let note = |file: &str, words: &str| report.notes.iter().any(|n| n.file == file && n.message.contains(words));
    assert!(note("logo.png", "binary"), "{:?}", report.notes);
    assert!(note("big.js", "over the"), "{:?}", report.notes);
    assert!(note("latin1.py", "UTF-8"), "{:?}", report.notes);
    let rules: Vec<(&str, &str)> = report.findings.iter().map(|f| (f.file.as_str(), f.rule.as_str())).collect();
    assert!(rules.contains(&("src/app.js", "sql-injection/js-interpolation")), "{rules:?}");
    assert!(
        rules.contains(&("latin1.py", "secrets/high-entropy-assignment")),
        "a non-UTF-8 file is still scanned: {rules:?}"
    );
    assert_eq!(report.files, 2, "png and the oversized file are skipped, the loop is not followed");
}

#[test]
fn unknown_gates_and_missing_roots_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = run_gates(dir.path(), &["speed".into()], &GateConfig::default(), false).unwrap_err();
    assert!(err.to_string().contains("unknown gate `speed`"));
    let err = run_gates(&dir.path().join("nope"), &[], &GateConfig::default(), false).unwrap_err();
    assert!(err.to_string().contains("cannot scan"));
}
