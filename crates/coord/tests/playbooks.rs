//! Playbooks from the command line: a project's playbook in `.coord/playbooks/` adds a task to
//! its plans, `coord playbooks explain` says what fired and why, a project's own agent that
//! declares a role takes that role's tasks, and a broken playbook is one clear error naming
//! the file and line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::Project;

const AUDIT_LOG: &str = r#"
name = "audit-log"
description = "Our rule: every change to money or permissions is written to the audit log."
order = 70

[patterns]
sensitive = '\b(payments?|refunds?|permissions?|roles?)\b'

[[task]]
key = "write"
phase = "build"
when = ["word:sensitive"]
kind = "implementation"
role = "implementation"
specialist = "$implementer"
after = [["kind:schema-design"]]
title = "Write audit-log entries for {subject}"
objective = "Record who changed what and when for: {objective}"
technical = ["Append-only audit_log table; one row per change with actor, action, before and after"]
acceptance = ["Every changing endpoint writes exactly one entry", "All tests passing"]
output = ["Audit-log writer and its tests"]
"#;

#[test]
fn a_project_playbook_adds_a_task_and_explain_says_why() {
    let p = Project::new();
    let objective = "Add refunds to the orders API of our FastAPI service";
    // Without the coordination workflows, whose steps sit between a schema and its users.
    let before: serde_json::Value =
        serde_json::from_str(&p.ok(&["plan", objective, "--format", "json", "--no-workflows"])).unwrap();
    assert!(
        !before["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["title"].as_str().unwrap().starts_with("Write audit-log"))
    );

    p.write(".coord/playbooks/audit-log.toml", AUDIT_LOG);
    let plan: serde_json::Value =
        serde_json::from_str(&p.ok(&["plan", objective, "--format", "json", "--no-workflows"])).unwrap();
    let tasks = plan["tasks"].as_array().unwrap();
    let audit =
        tasks.iter().find(|t| t["title"] == "Write audit-log entries for refunds").expect("the playbook's task");
    assert_eq!(audit["specialist"], "python-pro", "the stack's implementer");
    let schema = tasks.iter().find(|t| t["kind"] == "schema-design").expect("refunds are stored: a schema task");
    assert!(audit["depends_on"].as_array().unwrap().contains(&schema["id"]), "{audit}");
    assert_eq!(tasks.len(), before["tasks"].as_array().unwrap().len() + 1);

    let explained = p.ok(&["playbooks", "explain", objective]);
    assert!(explained.contains("audit-log.write -> "), "{explained}");
    assert!(explained.contains("word:sensitive: \"refunds\""), "{explained}");
    assert!(explained.contains("payments, subscriptions and invoices are stored"), "the inference: {explained}");
    let list = p.ok(&["playbooks", "list"]);
    assert!(list.contains("audit-log") && list.contains(".coord/playbooks/audit-log.toml"), "{list}");
    let shown = p.ok(&["playbooks", "show", "audit-log"]);
    assert!(shown.contains("Our rule: every change"), "{shown}");
}

#[test]
fn a_project_agent_that_declares_a_role_takes_its_tasks() {
    let p = Project::new();
    p.write(
        ".claude/agents/security-auditor.md",
        "---\nname: security-auditor\ndescription: Our application security reviewer\nroles: [security-audit]\n---\nYou review code for vulnerabilities.\n",
    );
    let plan: serde_json::Value = serde_json::from_str(&p.ok(&[
        "plan",
        "Add user authentication system with OAuth2 and JWT",
        "--format",
        "json",
    ]))
    .unwrap();
    let audit = plan["tasks"].as_array().unwrap().iter().find(|t| t["kind"] == "security-audit").unwrap();
    assert_eq!(audit["specialist"], "security-auditor");
    assert!(audit["assigned_because"].as_str().unwrap().contains("declares the role `security-audit`"), "{audit}");
    let text = p.ok(&["plan", "Add user authentication system with OAuth2 and JWT"]);
    assert!(text.contains("Assign to: @security-auditor (declares the role"), "{text}");
}

#[test]
fn a_broken_playbook_is_one_error_naming_file_and_line() {
    let p = Project::new();
    p.write(
        ".coord/playbooks/bad.toml",
        "name = \"bad\"\ndescription = \"d\"\n\n[[task]]\nkey = \"k\"\nphase = \"later\"\n",
    );
    for args in [&["plan", "Add an orders API"][..], &["playbooks", "list"][..]] {
        let out = p.coord(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("bad.toml") && stderr.contains("line 6") && stderr.contains("later"), "{stderr}");
    }
}
