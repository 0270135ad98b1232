//! `coord agents list|show|export`, and the agent-file form of a specialist (Claude Code's
//! markdown with YAML frontmatter, plus coord's `capabilities` and `context` keys).

use super::roster_with_warnings;
use crate::cli::{AgentsArgs, AgentsCommand, ListFormat};
use anyhow::{Result, anyhow};
use coord_core::{ContextCategory, Specialist};
use std::process::ExitCode;

fn policy_text(s: &Specialist) -> String {
    let p = &s.context;
    let mut parts = Vec::new();
    if p.allow_all {
        parts.push("allow: everything".to_string());
    } else {
        parts.push(format!("allow: {}", p.allow.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")));
    }
    if !p.deny.is_empty() {
        parts.push(format!("deny: {}", p.deny.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")));
    }
    parts.join("; ")
}

/// A YAML scalar, quoted when it must be.
fn yaml_str(s: &str) -> String {
    // Invariant: a string always serialises to JSON, and JSON strings are YAML.
    serde_json::to_string(s).unwrap_or_default()
}

/// A specialist as an agent file that Claude Code loads (`.claude/agents/NAME.md`) and coord
/// loads back the same (`capabilities` and `context` are coord's own keys; Claude Code
/// ignores them).
pub fn agent_file(s: &Specialist) -> String {
    let mut t = format!("---\nname: {}\ndescription: {}\n", s.name, yaml_str(&s.description));
    if !s.tools.is_empty() {
        t.push_str(&format!("tools: {}\n", s.tools.join(", ")));
    }
    if let Some(m) = &s.model {
        t.push_str(&format!("model: {m}\n"));
    }
    if let Some(c) = &s.color {
        t.push_str(&format!("color: {c}\n"));
    }
    if !s.capabilities.is_empty() {
        t.push_str(&format!("capabilities: [{}]\n", s.capabilities.join(", ")));
    }
    if !s.roles.is_empty() {
        t.push_str(&format!("roles: [{}]\n", s.roles.join(", ")));
    }
    let names = |cs: &[ContextCategory]| cs.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
    t.push_str("context:\n");
    if s.context.allow_all {
        t.push_str("  allow: [\"*\"]\n");
    } else {
        t.push_str(&format!("  allow: [{}]\n", names(&s.context.allow)));
    }
    if !s.context.deny.is_empty() {
        t.push_str(&format!("  deny: [{}]\n", names(&s.context.deny)));
    }
    t.push_str("---\n");
    t.push_str(s.persona.trim_end());
    t.push('\n');
    t
}

/// `coord agents`.
pub fn agents(args: AgentsArgs) -> Result<ExitCode> {
    match args.command {
        AgentsCommand::List { repo, out } => {
            let loaded = roster_with_warnings(repo.as_deref());
            match out.format() {
                ListFormat::Json => {
                    let all: Vec<&Specialist> = loaded.roster.iter().collect();
                    println!("{}", serde_json::to_string_pretty(&all)?);
                }
                ListFormat::Text => {
                    let width = loaded.roster.names().map(str::len).max().unwrap_or(10);
                    for s in loaded.roster.iter() {
                        let origin = if s.source.starts_with("builtin:") { "built-in" } else { s.source.as_str() };
                        println!("@{:<width$}  {:<8}  {}", s.name, origin, s.description, width = width);
                    }
                }
            }
            Ok(if loaded.diagnostics.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        AgentsCommand::Export { dir, repo, force } => {
            let loaded = roster_with_warnings(repo.as_deref());
            std::fs::create_dir_all(&dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
            let (mut written, mut kept) = (0, Vec::new());
            for s in loaded.roster.iter() {
                let path = dir.join(format!("{}.md", s.name));
                let text = agent_file(s);
                if path.exists() && !force && std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                    kept.push(s.name.clone());
                    continue;
                }
                std::fs::write(&path, text).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
                written += 1;
            }
            println!("{written} agent file(s) in {}", dir.display());
            if !kept.is_empty() {
                println!("kept (they exist and differ; --force to replace): {}", kept.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentsCommand::Show { name, repo, out } => {
            let loaded = roster_with_warnings(repo.as_deref());
            let name = name.trim_start_matches('@');
            let s = loaded.roster.get(name).ok_or_else(|| {
                anyhow!("no specialist `{name}` (known: {})", loaded.roster.names().collect::<Vec<_>>().join(", "))
            })?;
            match out.format() {
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(s)?),
                ListFormat::Text => {
                    println!("@{}", s.name);
                    println!("description:  {}", s.description);
                    println!("source:       {}", s.source);
                    if let Some(m) = &s.model {
                        println!("model:        {m}");
                    }
                    if !s.tools.is_empty() {
                        println!("tools:        {}", s.tools.join(", "));
                    }
                    if !s.capabilities.is_empty() {
                        println!("capabilities: {}", s.capabilities.join(", "));
                    }
                    if !s.roles.is_empty() {
                        println!("roles:        {}", s.roles.join(", "));
                    }
                    println!("context:      {}", policy_text(s));
                    let hidden: Vec<&str> =
                        ContextCategory::ALL.iter().filter(|c| !s.context.allows(**c)).map(|c| c.as_str()).collect();
                    if !hidden.is_empty() {
                        println!("never sees:   {}", hidden.join(", "));
                    }
                    println!("\n{}", s.persona);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
