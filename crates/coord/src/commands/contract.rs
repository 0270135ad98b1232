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
    let value = coord_gates::openapi::parse_document(&text, json)
        .map_err(|(e, line)| anyhow!("{}:{line}: {e}", path.display()))?;
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
        ContractCommand::Test { spec, base_url, header, start, wait_secs, json } => {
            let doc = load(&spec)?;
            let headers: Vec<(String, String)> = header
                .iter()
                .map(|h| {
                    h.split_once(':')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .ok_or_else(|| anyhow!("--header `{h}` is not `Name: value`"))
                })
                .collect::<Result<_>>()?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async {
                let wait = std::time::Duration::from_secs(wait_secs);
                let mut service =
                    coord_workflows::service::Service::start(start.as_deref(), Path::new("."), &base_url, wait)
                        .await
                        .map_err(|e| anyhow!("{e}"))?;
                let report =
                    coord_workflows::contract_test(&doc, &base_url, &headers, std::time::Duration::from_secs(10)).await;
                service.stop();
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    for o in &report.operations {
                        let status = o.status.map_or("-".to_string(), |s| s.to_string());
                        if o.problems.is_empty() {
                            println!("ok   {status:>3} {}", o.operation);
                        } else {
                            println!("FAIL {status:>3} {}", o.operation);
                            for p in &o.problems {
                                println!("         {p}");
                            }
                        }
                    }
                    println!(
                        "\napi_endpoint_coverage {:.2} ({} operations)",
                        report.api_endpoint_coverage,
                        report.operations.len()
                    );
                    if let Some(p95) = report.response_time_p95_ms {
                        println!("api_response_time_p95 {:.1} ms", p95);
                    }
                }
                Ok(if report.api_endpoint_coverage >= 1.0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
            })
        }
    }
}
