//! `coord agents list|show`.

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

/// `coord agents`.
pub fn agents(args: AgentsArgs) -> Result<ExitCode> {
    match args.command {
        AgentsCommand::List { repo, format } => {
            let loaded = roster_with_warnings(repo.as_deref());
            match format {
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
        AgentsCommand::Show { name, repo, format } => {
            let loaded = roster_with_warnings(repo.as_deref());
            let name = name.trim_start_matches('@');
            let s = loaded.roster.get(name).ok_or_else(|| {
                anyhow!("no specialist `{name}` (known: {})", loaded.roster.names().collect::<Vec<_>>().join(", "))
            })?;
            match format {
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
