//! `coord init`: sets a repository up for coord. Detects the stack (its manifests) and the
//! coding-agent CLIs installed on this machine, and writes a commented `coord.toml` whose
//! specialists run through the first CLI found (or wait for people when there is none), with
//! the sandbox's defaults spelled out; `.mcp.json`, so Claude Code and other MCP hosts can
//! work as specialists; and, when asked, the roster as editable agent files in
//! `.coord/agents/`. Never overwrites a file that differs without `--force`; running it twice
//! changes nothing.

use crate::cli::InitArgs;
use anyhow::{Context, Result, anyhow};
use coord_runtime::executor::agent::AgentCli;
use std::path::Path;
use std::process::ExitCode;

/// What happened to one file.
enum Wrote {
    Created,
    Replaced,
    Unchanged,
    Kept,
}

fn write_file(path: &Path, text: &str, force: bool) -> Result<Wrote> {
    let existing = std::fs::read_to_string(path).ok();
    let state = match existing {
        Some(old) if old == text => return Ok(Wrote::Unchanged),
        Some(_) if !force => return Ok(Wrote::Kept),
        Some(_) => Wrote::Replaced,
        None => Wrote::Created,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(state)
}

/// The CLIs found on PATH, with where.
type Found = Vec<(AgentCli, String)>;

/// The first installed CLI, or the one asked for.
fn choose(asked: Option<&str>) -> Result<(Option<AgentCli>, Found)> {
    let found: Vec<(AgentCli, String)> =
        AgentCli::ALL.iter().filter_map(|c| c.installed().map(|p| (*c, p.display().to_string()))).collect();
    let chosen = match asked {
        None => found.first().map(|(c, _)| *c),
        Some("manual") => None,
        Some(name) => Some(*AgentCli::ALL.iter().find(|c| c.name() == name).ok_or_else(|| {
            anyhow!(
                "--agent `{name}` is not one coord drives (use claude-code, codex, gemini, opencode, aider or manual)"
            )
        })?),
    };
    Ok((chosen, found))
}

/// The commented configuration.
fn config_text(cli: Option<AgentCli>, stack: &str) -> String {
    let mut t = String::new();
    t.push_str("# coord.toml, written by `coord init`. Every key: docs/configuration.md.\n");
    t.push_str(&format!("# Stack found here: {stack}.\n\n"));
    t.push_str("[run]\n# Tasks executed at once.\nparallel = 4\n# How long one attempt may take, seconds.\ntask_timeout_secs = 3600\n\n");
    t.push_str("[budget]\n# A hard cap on the run's model spending (agent CLIs and LLM specialists alike).\n# run_cost_usd = 5.0\n# run_tokens = 2000000\n\n");
    match cli {
        Some(cli) => {
            t.push_str(&format!(
                "# Every specialist works through {} ({}), each task on its own branch.\n",
                cli.name(),
                cli.written_against()
            ));
            t.push_str("[specialists.\"*\"]\n");
            t.push_str(&format!("executor = \"{}\"\n", cli.name()));
            t.push_str(
                "# The model (default: the agent file's `model:`, else the CLI's own default).\n# model = \"...\"\n",
            );
            if matches!(cli, AgentCli::ClaudeCode) {
                t.push_str("# Turns one attempt may take.\n# max_turns = 40\n");
            }
            t.push_str(concat!(
                "# The OS sandbox (see `coord sandbox check`): the task's worktree is writable, the\n",
                "# CLI's own login and session folders too; ~/.ssh, ~/.aws and the like never readable.\n",
                "sandbox = \"strict\"\n",
                "# The CLI calls its provider's API: network on (\"local\" or \"off\" for a local model).\n",
                "network = \"on\"\n",
            ));
            t.push_str(&format!(
                "# Variables passed on from your environment besides the CLI's own keys ({}).\n# env_pass = []\n\n",
                cli.key_variables().join(", ")
            ));
            t.push_str("# A person can still take any task: coord task claim / complete.\n");
        }
        None => {
            t.push_str(concat!(
                "# No coding-agent CLI was found (claude, codex, gemini, opencode, aider): every task\n",
                "# waits for a person or an MCP host (coord task next / claim / complete). To drive an\n",
                "# agent, install one and run `coord init --force`, or set for example:\n",
                "# [specialists.\"*\"]\n# executor = \"claude-code\"\n\n",
            ));
        }
    }
    t.push_str(concat!(
        "# Quality gates on every task's result; findings at or above this severity fail it.\n",
        "[gates]\n",
        "fail_on = \"high\"\n",
    ));
    t
}

/// `.mcp.json` for MCP hosts (Claude Code reads it from the project folder).
fn mcp_text() -> String {
    let doc = serde_json::json!({
        "mcpServers": {
            "coord": { "command": "coord", "args": ["mcp"] }
        }
    });
    // Invariant: a literal JSON value always serialises.
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// `coord init`.
pub fn init(args: InitArgs) -> Result<ExitCode> {
    let root = match &args.repo {
        Some(r) => r.clone(),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    if !root.is_dir() {
        return Err(anyhow!("{} is not a folder", root.display()));
    }
    let facts = coord_plan::RepoFacts::scan(&root).with_context(|| format!("cannot scan {}", root.display()))?;
    let stack = facts
        .stacks
        .iter()
        .min_by_key(|s| s.depth)
        .map(|s| {
            let fw = s.framework.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
            format!("{}{fw} from {}, specialist @{}", s.language.as_str(), s.manifest, s.language.specialist())
        })
        .unwrap_or_else(|| "none (no package.json, pyproject.toml, pom.xml... at the top)".into());
    let (cli, found) = choose(args.agent.as_deref())?;
    let mut report = Vec::new();
    let config = config_text(cli, &stack);
    // What coord writes must load: a mistake here would meet the user at their first run.
    coord_runtime::Config::parse(&config, "coord.toml").map_err(|e| anyhow!("coord init wrote a bad file: {e}"))?;
    report.push(("coord.toml", write_file(&root.join("coord.toml"), &config, args.force)?));
    if !args.no_mcp {
        report.push((".mcp.json", write_file(&root.join(".mcp.json"), &mcp_text(), args.force)?));
    }
    let mut agent_files = 0;
    if args.agent_files {
        let roster = coord_agents::load_roster(Some(&root)).roster;
        for name in roster.names() {
            let Some(s) = roster.get(name) else { continue };
            let path = root.join(".coord/agents").join(format!("{name}.md"));
            if matches!(write_file(&path, &super::agents::agent_file(s), args.force)?, Wrote::Created | Wrote::Replaced)
            {
                agent_files += 1;
            }
        }
    }

    println!("stack: {stack}");
    if found.is_empty() {
        println!("agent CLIs: none found on PATH");
    } else {
        for (c, path) in &found {
            println!("agent CLI: {} at {path}", c.name());
        }
    }
    let kept_config = matches!(report.first(), Some((_, Wrote::Kept)));
    let through = cli.map(|c| format!("through {}", c.name())).unwrap_or_else(|| "manual".into());
    if kept_config {
        println!("specialists: as your coord.toml says (with --force: {through})");
    } else {
        println!("specialists: {through}");
    }
    for (file, state) in &report {
        let what = match state {
            Wrote::Created => "written".to_string(),
            Wrote::Replaced => "replaced (--force)".to_string(),
            Wrote::Unchanged => "unchanged".to_string(),
            Wrote::Kept => "kept: it exists and differs (--force to replace it)".to_string(),
        };
        println!("{file}: {what}");
    }
    if args.agent_files {
        println!(".coord/agents/: {agent_files} agent file(s) written");
    }
    match cli.filter(|_| !kept_config) {
        Some(_) => println!("next: coord run \"Add user authentication with OAuth2 and JWT\""),
        None => println!("next: coord run \"...\" then coord task next (or connect an MCP host: .mcp.json)"),
    }
    Ok(ExitCode::SUCCESS)
}
