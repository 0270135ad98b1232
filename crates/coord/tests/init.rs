//! `coord init` as a new user meets it: in a Node.js repository, with an agent CLI on PATH
//! (the fake Claude Code of `tests/fake-agents`) it writes a coord.toml that drives it, and the
//! README's next command runs the spec's example to the end; without one, manual specialists.
//! Running it again changes nothing; a file the user changed is kept unless --force.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use support::Project;

fn path_with_fakes() -> String {
    let fakes = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fake-agents");
    format!("{}:{}", fakes.display(), std::env::var("PATH").unwrap_or_default())
}

fn coord_with_path(p: &Project, path: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(args)
        .current_dir(p.path())
        .env("PATH", path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn init_with_an_agent_cli_then_run_is_the_quickstart() {
    let p = Project::new();
    p.write("package.json", r#"{"name":"svc","dependencies":{"express":"^4.19.0"}}"#);
    p.git_init();
    let path = path_with_fakes();
    let (ok, out) = coord_with_path(&p, &path, &["init"]);
    assert!(ok, "{out}");
    assert!(out.contains("stack: node (Express) from package.json"), "{out}");
    assert!(out.contains("specialists: through claude-code"), "{out}");
    assert!(out.contains("coord.toml: written") && out.contains(".mcp.json: written"), "{out}");
    let toml = p.read("coord.toml");
    assert!(toml.contains("executor = \"claude-code\"") && toml.contains("sandbox = \"strict\""), "{toml}");
    let mcp: serde_json::Value = serde_json::from_str(&p.read(".mcp.json")).unwrap();
    assert_eq!(mcp["mcpServers"]["coord"]["args"][0], "mcp");
    // The next command it prints.
    p.git(&["add", "."]);
    p.git(&["commit", "-qm", "coord init"]);
    let (ok, out) =
        coord_with_path(&p, &path, &["run", "Add user authentication system with OAuth2 and JWT", "--no-workflows"]);
    assert!(ok, "{out}");
    let run = p.only_run();
    assert_eq!(p.status(&run)["state"], "done", "{out}");
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains("coord_llm_tokens_total{"), "{metrics}");

    // Again: nothing changes. A file the user edited is kept, unless --force.
    let (ok, out) = coord_with_path(&p, &path, &["init"]);
    assert!(ok && out.contains("coord.toml: unchanged") && out.contains(".mcp.json: unchanged"), "{out}");
    p.write("coord.toml", &format!("{toml}\n# mine\n"));
    let (_, out) = coord_with_path(&p, &path, &["init"]);
    assert!(out.contains("coord.toml: kept"), "{out}");
    assert!(p.read("coord.toml").ends_with("# mine\n"));
    let (_, out) = coord_with_path(&p, &path, &["init", "--force", "--agent", "codex", "--agent-files"]);
    assert!(out.contains("coord.toml: replaced"), "{out}");
    assert!(p.read("coord.toml").contains("executor = \"codex\""));
    // The exported agent files load back without a diagnostic.
    assert!(p.path().join(".coord/agents/nodejs-expert.md").exists());
    let (ok, out) = coord_with_path(&p, &path, &["agents", "list"]);
    assert!(ok, "{out}");
}

#[test]
fn init_without_an_agent_cli_sets_up_manual_specialists() {
    let p = Project::new();
    p.write("pyproject.toml", "[project]\nname = \"svc\"\ndependencies = [\"fastapi\"]\n");
    let (ok, out) = coord_with_path(&p, &std::env::var("PATH").unwrap(), &["init", "--agent", "manual", "--no-mcp"]);
    assert!(ok, "{out}");
    assert!(out.contains("specialists: manual"), "{out}");
    assert!(!p.path().join(".mcp.json").exists());
    let toml = p.read("coord.toml");
    assert!(!toml.lines().any(|l| l.starts_with("executor")), "{toml}");
    let (ok, out) = coord_with_path(&p, &std::env::var("PATH").unwrap(), &["init", "--agent", "cursor"]);
    assert!(!ok && out.contains("--agent `cursor` is not one coord drives"), "{out}");
}
