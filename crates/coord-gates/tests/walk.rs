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
    assert!(note("big.js", "scanned in chunks"), "{:?}", report.notes);
    assert!(note("latin1.py", "UTF-8"), "{:?}", report.notes);
    let rules: Vec<(&str, &str)> = report.findings.iter().map(|f| (f.file.as_str(), f.rule.as_str())).collect();
    assert!(rules.contains(&("src/app.js", "sql-injection/js-interpolation")), "{rules:?}");
    assert!(
        rules.contains(&("latin1.py", "secrets/high-entropy-assignment")),
        "a non-UTF-8 file is still scanned: {rules:?}"
    );
    assert_eq!(
        report.files, 3,
        "the png is skipped, the oversized file is scanned in chunks, the loop is not followed"
    );
}

#[test]
fn an_oversized_file_is_scanned_in_chunks_with_its_real_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "// filler line of a generated file\n".repeat(100_000);
    // Split so that no key-shaped string sits whole in the repository.
    text.push_str(&format!("const key = \"{}{}\";\n", "AKIA", "Z7Q4W2E8R6T1Y3U5"));
    std::fs::write(dir.path().join("gen.js"), &text).unwrap();
    let config = GateConfig { max_file_bytes: 1024 * 1024, ..GateConfig::default() };
    let report = run_gates(dir.path(), &["code".into()], &config, false).unwrap();
    let hit = report.findings.iter().find(|f| f.rule == "secrets/aws-access-key").expect("found past the limit");
    assert_eq!((hit.file.as_str(), hit.line), ("gen.js", 100_001));
}

#[test]
fn gitignored_files_are_not_scanned() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "generated/\n*.local.js\n").unwrap();
    std::fs::create_dir_all(dir.path().join("generated")).unwrap();
    let bad = "db.query(`SELECT * FROM t WHERE id = ${req.params.id}`);\n";
    std::fs::write(dir.path().join("generated/app.js"), bad).unwrap();
    std::fs::write(dir.path().join("dev.local.js"), bad).unwrap();
    std::fs::write(dir.path().join("app.js"), bad).unwrap();
    let report = run_gates(dir.path(), &["security".into()], &GateConfig::default(), false).unwrap();
    let files: Vec<&str> = report.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, vec!["app.js"]);
}

#[test]
fn a_repository_inside_an_ignored_folder_is_scanned_by_its_own_ignore_files() {
    // coord's worktrees live under `.coord/`, whose `.gitignore` says `*`: that must not hide
    // the worktree's files from its own gates (a worktree's top holds a `.git` file).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "*\n").unwrap();
    let top = dir.path().join("worktrees/run-t1");
    std::fs::create_dir_all(&top).unwrap();
    std::fs::write(top.join(".git"), "gitdir: /elsewhere\n").unwrap();
    std::fs::write(top.join(".gitignore"), "dist/\n").unwrap();
    std::fs::create_dir_all(top.join("dist")).unwrap();
    let bad = "db.query(`SELECT * FROM t WHERE id = ${req.params.id}`);\n";
    std::fs::write(top.join("app.js"), bad).unwrap();
    std::fs::write(top.join("dist/app.js"), bad).unwrap();
    let report = run_gates(&top, &["security".into()], &GateConfig::default(), false).unwrap();
    let files: Vec<&str> = report.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, vec!["app.js"]);
    // A plain subfolder of the ignored tree is still ignored, as git would.
    let sub = dir.path().join("plain");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("app.js"), bad).unwrap();
    let report = run_gates(&sub, &["security".into()], &GateConfig::default(), false).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn unknown_gates_and_missing_roots_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = run_gates(dir.path(), &["speed".into()], &GateConfig::default(), false).unwrap_err();
    assert!(err.to_string().contains("unknown gate `speed`"));
    let err = run_gates(&dir.path().join("nope"), &[], &GateConfig::default(), false).unwrap_err();
    assert!(err.to_string().contains("cannot scan"));
}
