//! The coding-agent CLI adapters end to end: each adapter drives a fake of its CLI (a script in
//! `tests/fake-agents/` printing that CLI's documented output) through a whole run of the
//! spec's example, in the sandbox; tokens and cost recorded equal what the fake reported; bad
//! output, a missing CLI, a lost session and a read-only agent that writes are failed attempts
//! with their reasons.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use support::{Project, plan_json};

const EXAMPLE: &str = "Add user authentication system with OAuth2 and JWT";

fn fake(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fake-agents").join(name)
}

/// A git project whose every specialist is `executor` driving the fake `program`, with
/// FAKE_MODE and a folder where the fakes record their arguments.
fn project(executor: &str, program: &str, mode: &str, extra: &str) -> (Project, PathBuf) {
    let p = Project::new();
    p.git_init();
    let logs = p.path().join("fake-logs");
    std::fs::create_dir_all(&logs).unwrap();
    p.write(".gitignore", "fake-logs/\n");
    p.git(&["add", "."]);
    p.git(&["commit", "-qm", "ignore fake logs"]);
    p.write(
        "coord.toml",
        &format!(
            "[run]\nparallel = 4\nlease_secs = 5\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n{extra}\n\
             [specialists.\"*\"]\nexecutor = \"{executor}\"\ncommand = [{:?}]\nwrite = [{:?}]\n\
             env = {{ FAKE_MODE = \"{mode}\", FAKE_LOG_DIR = {:?} }}\n",
            fake(program).display().to_string(),
            logs.display().to_string(),
            logs.display().to_string(),
        ),
    );
    (p, logs)
}

/// The `llm_usage` events of a run.
fn usage_events(p: &Project, run: &str) -> Vec<serde_json::Value> {
    p.ok(&["log", run, "--json"])
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "llm_usage")
        .map(|e| e["data"].clone())
        .collect()
}

/// The sum of a metric's samples over its labels.
fn metric_sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

fn agent_record(p: &Project, run: &str, task: &str, attempt: u32) -> serde_json::Value {
    let path = p.path().join(format!(".coord/runs/{run}/{task}/attempt-{attempt}/agent.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// (executor, fake, mode, input, cached, output tokens, cost, session prefix)
type Case = (&'static str, &'static str, &'static str, u64, u64, u64, f64, &'static str);

#[test]
fn each_adapter_runs_the_spec_example_and_records_exactly_the_usage_its_cli_reported() {
    let cases: [Case; 5] = [
        ("claude-code", "claude", "noise", 120, 300, 50, 0.0125, "9b1c-"),
        ("codex", "codex", "noise", 200, 800, 60, 0.0, "0199a213-"),
        ("gemini", "gemini", "noise", 500, 1500, 100, 0.0, ""),
        ("aider", "aider", "ok", 1500, 1000, 150, 0.02, ""),
        ("opencode", "opencode", "noise", 120, 200, 27, 0.01, "ses_"),
    ];
    for (executor, program, mode, input, cached, output, cost, session) in cases {
        let (p, logs) = project(executor, program, mode, "");
        let out = p.ok(&["run", EXAMPLE, "--no-workflows"]);
        let run = p.only_run();
        assert_eq!(p.status(&run)["state"], "done", "{executor}: {out}");
        // Every task's work is on the run's branch.
        let files = p.git(&["ls-tree", "-r", "--name-only", &format!("coord/{run}")]);
        assert_eq!(files.lines().filter(|f| f.starts_with("src/backend-T")).count(), 8, "{executor}: {files}");
        // Tokens and cost: per task exactly what the CLI reported; per specialist and per run
        // their sums.
        let usage = usage_events(&p, &run);
        assert_eq!(usage.len(), 8, "{executor}: {usage:?}");
        for u in &usage {
            assert_eq!(u["input_tokens"], input, "{executor}: {u}");
            assert_eq!(u["cached_input_tokens"], cached, "{executor}: {u}");
            assert_eq!(u["output_tokens"], output, "{executor}: {u}");
            assert!((u["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-9, "{executor}: {u}");
        }
        let metrics = p.ok(&["metrics", &run]);
        let tokens = metric_sum(&metrics, "coord_llm_tokens_total");
        assert_eq!(tokens as u64, 8 * (input + cached + output), "{executor}: {metrics}");
        assert!((metric_sum(&metrics, "coord_llm_cost_usd_total") - 8.0 * cost).abs() < 1e-6, "{executor}: {metrics}");
        // What the adapter passed and read back.
        let rec = agent_record(&p, &run, "backend-T001", 1);
        assert_eq!(rec["cli"], executor);
        assert!(rec["version"].as_str().is_some_and(|v| !v.is_empty()), "{rec}");
        assert!(rec["written_against"].as_str().is_some(), "{rec}");
        if !session.is_empty() {
            assert!(rec["session"].as_str().unwrap().starts_with(session), "{rec}");
        }
        if mode == "noise" {
            assert!(rec["non_json_lines"].as_u64().unwrap() > 0, "{executor}: the noise was seen: {rec}");
        }
        let argv = std::fs::read_to_string(logs.join(format!("{program}-backend-T001-1.argv"))).unwrap();
        match executor {
            "claude-code" => {
                for flag in ["-p", "--output-format", "stream-json", "--verbose", "--append-system-prompt"] {
                    assert!(argv.lines().any(|l| l == flag), "{argv}");
                }
            }
            "codex" => assert!(argv.starts_with("exec\n--experimental-json\n"), "{argv}"),
            "gemini" => assert!(argv.contains("--output-format\njson"), "{argv}"),
            "aider" => assert!(argv.contains("--message-file\n") && argv.contains("--no-auto-commits"), "{argv}"),
            _ => assert!(argv.starts_with("run\n--format\njson"), "{argv}"),
        }
    }
}

#[test]
fn a_retry_resumes_the_agents_session_and_a_lost_session_starts_afresh() {
    for (executor, program, flag) in
        [("claude-code", "claude", "--resume"), ("codex", "codex", "resume"), ("opencode", "opencode", "--session")]
    {
        let (p, logs) = project(executor, program, "fail-first", "[budget]\nrun_cost_usd = 5.0\n");
        p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
        let out = p.ok_all(&["run", "--plan", "plan.json"]);
        assert!(out.contains("level 1: retrying after:"), "{executor}: {out}");
        if executor == "claude-code" {
            // Claude Code stops itself at the run's remaining budget: $5 less the first attempt.
            let first = std::fs::read_to_string(logs.join("claude-t1-1.argv")).unwrap();
            assert!(first.contains("--max-budget-usd\n5.0000\n"), "{first}");
            let second = std::fs::read_to_string(logs.join("claude-t1-2.argv")).unwrap();
            assert!(second.contains("--max-budget-usd\n4.9875\n"), "{second}");
        }
        let run = p.only_run();
        assert_eq!(p.status(&run)["state"], "done", "{executor}: {out}");
        let first = agent_record(&p, &run, "t1", 1);
        let session = first["session"].as_str().unwrap().to_string();
        let argv = std::fs::read_to_string(logs.join(format!("{program}-t1-2.argv"))).unwrap();
        let args: Vec<&str> = argv.lines().collect();
        let at = args.iter().position(|a| *a == flag).unwrap_or_else(|| panic!("{executor}: {argv}"));
        assert_eq!(args[at + 1], session, "{executor}: {argv}");
        assert_eq!(agent_record(&p, &run, "t1", 2)["resumed"], session.as_str());
        // Both attempts' tokens count, the failed one's too.
        assert_eq!(usage_events(&p, &run).len(), 2, "{executor}");
    }
    // The session cannot be resumed: the attempt starts a new one and still succeeds.
    let (p, _) = project("claude-code", "claude", "fail-first", "");
    let toml = p
        .read("coord.toml")
        .replace("FAKE_MODE = \"fail-first\"", "FAKE_MODE = \"fail-first\", FAKE_RESUME = \"lost\"");
    p.write("coord.toml", &toml);
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert_eq!(p.status(&run)["state"], "done", "{out}");
    let second = agent_record(&p, &run, "t1", 2);
    assert!(second["resumed"].is_null(), "{second}");
    assert!(second["notes"].to_string().contains("could not be resumed"), "{second}");
}

#[test]
fn bad_output_and_a_missing_cli_are_failed_attempts_with_their_reasons() {
    let cases = [
        ("claude-code", "claude", "cut", "claude-code exited 0 without its final event"),
        ("claude-code", "claude", "crash", "claude-code exited without its final event (exit code 1"),
        ("claude-code", "claude", "rate-limit", "rate_limit_error"),
        ("codex", "codex", "cut", "codex exited 0 without its final event"),
        ("codex", "codex", "rate-limit", "429 Too Many Requests"),
        ("gemini", "gemini", "cut", "gemini exited 0 without its final event"),
        ("gemini", "gemini", "rate-limit", "ApiError: [API Error: You exceeded your current quota"),
        ("aider", "aider", "rate-limit", "litellm.RateLimitError"),
        ("opencode", "opencode", "cut", "opencode exited 0 without its final event"),
        ("opencode", "opencode", "crash", "TypeError: undefined is not an object"),
    ];
    for (executor, program, mode, reason) in cases {
        let (p, _) = project(executor, program, mode, "[escalation.levels]\ngeneral = 4\n");
        p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
        let out = p.coord(&["run", "--plan", "plan.json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        let run = p.only_run();
        assert_eq!(p.states(&run)[0].1, "escalated", "{executor} {mode}");
        let list = p.ok(&["escalation", "list"]);
        assert!(list.contains(reason), "{executor} {mode}: {list}");
        // What was streamed before the cut still counts (Claude Code reports usage per
        // message and OpenCode per step; Codex only at the end of a turn, Gemini at the end).
        if mode == "cut" && matches!(executor, "claude-code" | "opencode") {
            let usage = usage_events(&p, &run);
            assert!(usage[0]["input_tokens"].as_u64().unwrap() > 0, "{executor}: {usage:?}");
        }
    }
    let p = Project::new();
    p.write(
        "coord.toml",
        "[escalation.levels]\ngeneral = 4\n[specialists.\"*\"]\nexecutor = \"claude-code\"\ncommand = [\"/no/such/claude\"]\n",
    );
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    let _ = p.coord(&["run", "--plan", "plan.json"]);
    let list = p.ok(&["escalation", "list"]);
    assert!(list.contains("`/no/such/claude` is not installed or not on PATH"), "{list}");
}

#[test]
fn a_read_only_agent_gets_no_writing_tools_and_cannot_change_files() {
    let agent = "---\nname: code-reviewer\ndescription: Reviews code\ntools: Read, Grep, Glob\nmodel: haiku\n---\nYou review code and never change it.\n";
    // In the sandbox the workspace is read-only: the write fails, nothing changes.
    let (p, logs) = project("claude-code", "claude", "read-only", "");
    let toml =
        p.read("coord.toml").replace("FAKE_MODE = \"read-only\"", "FAKE_MODE = \"read-only\", FAKE_WRITE = \"anyway\"");
    p.write("coord.toml", &toml);
    p.write(".claude/agents/code-reviewer.md", agent);
    p.git(&["add", "."]);
    p.git(&["commit", "-qm", "reviewer"]);
    p.write("plan.json", &plan_json(&[("t1", "code-reviewer", &[])]));
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert_eq!(p.status(&run)["state"], "done", "{out}");
    let argv = std::fs::read_to_string(logs.join("claude-t1-1.argv")).unwrap();
    assert!(argv.contains("--allowedTools\nRead,Grep,Glob\n"), "{argv}");
    assert!(argv.contains("--disallowedTools\nBash,Edit,MultiEdit,Write,NotebookEdit"), "{argv}");
    assert!(argv.contains("--model\nhaiku\n"), "the agent file's model: {argv}");
    assert!(p.show(&format!("coord/{run}"), "src/t1.js").is_none(), "a read-only agent wrote");
    // Without the sandbox the write happens, and coord refuses the attempt.
    let toml = p.read("coord.toml").replace("[specialists.\"*\"]\n", "[specialists.\"*\"]\nsandbox = \"off\"\n");
    p.write("coord.toml", &format!("{toml}[escalation.levels]\nsecurity = 4\n"));
    let out = p.coord(&["run", "--plan", "plan.json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let list = p.ok(&["escalation", "list"]);
    assert!(
        list.contains("is read-only (its agent file's tools: Read, Grep, Glob) but changed src/t1.js"),
        "{stdout}\n{list}"
    );
}
