//! `coord gate`: the quality gates over any repository, as text, JSON or SARIF. Exit codes: 0
//! passed, 1 findings at or above `--fail-on`, 2 the gate could not run (bad flag, broken
//! configuration, rule or baseline, unreadable root). `--write-baseline` and `--baseline` adopt
//! it on a legacy repository.

use crate::cli::{GateArgs, GateFormat};
use crate::plan_file::write_atomically;
use anyhow::{Context, Result, anyhow};
use coord_gates::checklist::{GATES, ITEMS};
use coord_gates::sarif::to_sarif;
use coord_gates::{Severity, run_gates};
use coord_runtime::Config;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

fn checklist_table() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<28} {:<10} {:<14} CHECKLIST ITEM (the spec's words)", "ITEM", "DECIDED BY", "CHECKERS");
    for gate in GATES {
        for i in ITEMS.iter().filter(|i| i.gate == gate) {
            let checkers = if i.checkers.is_empty() { "-".to_string() } else { i.checkers.join(", ") };
            let _ = writeln!(out, "{:<28} {:<10} {:<14} {}", i.id, i.decider.as_str(), checkers, i.text);
        }
    }
    let _ = writeln!(
        out,
        "\nllm-judge items wait for a person's attestation while no model is configured; manual items always do."
    );
    out
}

/// The checklist as JSON: every item with its gate, the spec's words, who decides it and the
/// checkers that do.
fn checklist_json() -> serde_json::Value {
    let items: Vec<serde_json::Value> = ITEMS
        .iter()
        .map(|i| {
            serde_json::json!({
                "id": i.id, "gate": i.gate, "text": i.text, "decided_by": i.decider.as_str(), "checkers": i.checkers,
            })
        })
        .collect();
    serde_json::json!({ "gates": GATES, "items": items })
}

/// `coord gate`: any error is exit code 2 (findings are 1).
pub fn gate(args: GateArgs) -> Result<ExitCode> {
    match run(args) {
        Ok(code) => Ok(code),
        Err(err) => {
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            eprintln!("coord: error: {}", chain.join(": "));
            Ok(ExitCode::from(2))
        }
    }
}

fn run(args: GateArgs) -> Result<ExitCode> {
    let format = if args.json { GateFormat::Json } else { args.format };
    if args.list {
        match format {
            GateFormat::Text => print!("{}", checklist_table()),
            GateFormat::Json => println!("{}", serde_json::to_string_pretty(&checklist_json())?),
            GateFormat::Sarif => {
                return Err(anyhow::anyhow!(
                    "--list prints the checklist as text or json, not sarif (SARIF is for findings)"
                ));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let root = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let config_path = args.config.clone().unwrap_or_else(|| root.join("coord.toml"));
    let mut config = Config::load(&config_path)?.gates;
    if let Some(b) = &args.baseline {
        // Relative to where the command runs, like every other path flag.
        config.baseline = Some(std::path::absolute(b).with_context(|| format!("baseline {}", b.display()))?);
    }
    if args.write_baseline.is_some() {
        config.baseline = None;
    }
    let fail_on = match &args.fail_on {
        Some(s) => s.parse::<Severity>().map_err(|e| anyhow!(e))?,
        None => config.fail_on,
    };
    let run_tests = args.run_tests || args.gates.iter().any(|g| g == "testing");
    let report = run_gates(&root, &args.gates, &config, run_tests)?;
    if let Some(path) = &args.write_baseline {
        let baseline = coord_gates::baseline::Baseline::of(&report.findings);
        write_atomically(path, &(serde_json::to_string_pretty(&baseline)? + "\n"))
            .with_context(|| format!("cannot write the baseline to {}", path.display()))?;
        eprintln!(
            "coord: wrote {} finding(s) to the baseline {}; from now on run `coord gate --baseline {}`",
            report.findings.len(),
            path.display(),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rendered = match format {
        GateFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        GateFormat::Sarif => serde_json::to_string_pretty(&to_sarif(&report))? + "\n",
        GateFormat::Text => {
            let mut out = String::new();
            for f in &report.findings {
                let place = if f.line > 0 {
                    format!("{}:{}", f.file, f.line)
                } else if f.file.is_empty() {
                    "(repository)".into()
                } else {
                    f.file.clone()
                };
                let _ = writeln!(
                    out,
                    "{:<8} {place}  {}\n         {}\n         fix: {}  [{}]",
                    f.severity.as_str().to_uppercase(),
                    f.rule,
                    f.message.replace('\n', "\n         "),
                    f.fix,
                    f.item
                );
            }
            if !report.notes.is_empty() {
                let _ = writeln!(out, "\nnotes:");
                for n in report.notes.iter().take(50) {
                    let _ = writeln!(
                        out,
                        "  {}{}",
                        if n.file.is_empty() { String::new() } else { format!("{}: ", n.file) },
                        n.message
                    );
                }
                if report.notes.len() > 50 {
                    let _ = writeln!(out, "  ... and {} more", report.notes.len() - 50);
                }
            }
            if report.suppressed + report.baselined > 0 {
                let _ = writeln!(
                    out,
                    "\n{} finding(s) accepted by the baseline, {} suppressed inline (coord:allow)",
                    report.baselined, report.suppressed
                );
            }
            let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
            let _ = writeln!(
                out,
                "\n{} files ({:.1} MB) in {} ms; gates: {}; checkers: {}\n{} critical, {} high, {} medium, {} low — {} (--fail-on {})",
                report.files,
                report.bytes as f64 / 1e6,
                report.millis,
                report.gates.join(", "),
                report.checkers.join(", "),
                count(Severity::Critical),
                count(Severity::High),
                count(Severity::Medium),
                count(Severity::Low),
                if report.passes(fail_on) { "PASSED" } else { "FAILED" },
                fail_on
            );
            out
        }
    };
    match &args.out {
        Some(path) => write_atomically(path, &rendered)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => print!("{rendered}"),
    }
    Ok(if report.passes(fail_on) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
