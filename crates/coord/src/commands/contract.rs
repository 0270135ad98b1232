//! `coord contract diff`: the classified changes between two OpenAPI documents.

use crate::cli::{ContractArgs, ContractCommand};
use crate::plan_file::read_text;
use anyhow::{Result, anyhow};
use coord_gates::contract::{Impact, diff};
use std::path::Path;
use std::process::ExitCode;

fn load(path: &Path) -> Result<serde_json::Value> {
    let text = read_text(path, "OpenAPI document")?;
    let json = path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let value: serde_json::Value = if json {
        serde_json::from_str(&text).map_err(|e| anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?
    } else {
        yaml_serde::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
    };
    if value.get("openapi").and_then(|v| v.as_str()).is_none_or(|v| !v.starts_with("3.")) {
        return Err(anyhow!("{} is not an OpenAPI 3 document (no `openapi: 3.x` field)", path.display()));
    }
    Ok(value)
}

/// `coord contract`.
pub fn contract(args: ContractArgs) -> Result<ExitCode> {
    match args.command {
        ContractCommand::Diff { old, new, json } => {
            let changes = diff(&load(&old)?, &load(&new)?);
            let breaking = changes.iter().filter(|c| c.impact == Impact::Breaking).count();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "breaking": breaking, "changes": changes }))?
                );
            } else {
                for c in &changes {
                    let tag = if c.impact == Impact::Breaking { "BREAKING" } else { "ok      " };
                    let detail = if c.detail.is_empty() { String::new() } else { format!(" — {}", c.detail) };
                    println!("{tag} {:<30} {}{detail}", c.code, c.location);
                }
                println!("\n{} changes, {breaking} breaking", changes.len());
            }
            Ok(if breaking > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}
