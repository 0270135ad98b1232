//! Shell completions and the man page, checked by the tools that read them: `bash -n` parses the
//! bash script, `groff -man -ww` renders the page with every warning on and must say nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use support::Project;

#[test]
fn completion_scripts_parse_and_know_every_command() {
    let p = Project::new();
    let bash = p.ok(&["completions", "bash"]);
    for word in ["plan", "run", "playbooks", "escalation", "--format", "completions"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let file = p.write("coord.bash", &bash);
    let out = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(out.status.success(), "bash -n: {}", String::from_utf8_lossy(&out.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = p.ok(&["completions", shell]);
        assert!(script.contains("playbooks"), "{shell} completion lacks the playbooks command");
    }
    let out = p.coord(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcsh"));
}

#[test]
fn the_man_page_renders_without_warnings() {
    let p = Project::new();
    let page = p.ok(&["man"]);
    assert!(page.contains(".TH coord 1"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains("playbooks"), "the page lists the commands");
    let file = p.write("coord.1", &page);
    let out = Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .arg(&file)
        .output()
        .expect("groff (the man page renderer) is installed");
    assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", String::from_utf8_lossy(&out.stderr));

    let dir = p.path().join("man");
    p.ok(&["man", "--out", dir.to_str().unwrap()]);
    for name in ["coord.1", "coord-run.1", "coord-playbooks.1", "coord-plan.1"] {
        let page = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(page.contains(".TH"), "{name}");
    }
}
