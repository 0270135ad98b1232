//! `coord mcp` with a real MCP client: Python's `mcp` package (PyPI; `.ci/run` installs it)
//! initialises, lists the tools and their schemas, plans the spec's example and drives the
//! whole plan to done through the tools (`tests/mcp/drive_plan.py`), then shows the
//! coordinator executing its own workflow step (publishing the contract) under MCP; the same
//! client pages through a 20,000-task run (`tests/mcp/large_plan.py`). And bad messages: a line
//! that is not JSON and JSON that is not JSON-RPC get error answers, and the session goes on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use support::Project;

/// Runs a client script of `tests/mcp/` (with the coord binary, the project and `args`) and
/// returns the JSON summary it prints last.
fn python_client(script: &str, p: &Project, args: &[&str]) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp").join(script);
    let out = Command::new("python3")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_coord"))
        .arg(p.path())
        .args(args)
        .env_remove("COORD_DB")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn a_python_mcp_client_drives_the_plan_to_done() {
    let check = Command::new("python3").args(["-c", "import mcp"]).output();
    assert!(
        matches!(&check, Ok(o) if o.status.success()),
        "python3 with the `mcp` package is required (pip install mcp; .ci/run installs it)"
    );
    let p = Project::new();
    let summary = python_client("drive_plan.py", &p, &[]);
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["server"], "coord");
    assert_eq!(summary["state"], "done", "{summary}");
    assert_eq!(summary["done"], 8);
    assert_eq!(summary["completed"], 8);
    assert_eq!(summary["escalated"], true);
    // The second run's publish step was run by the coordinator itself, in the background.
    assert_eq!(summary["published"]["publish_state"], "done", "{summary}");
    assert_eq!(summary["published"]["contract_files"], serde_json::json!(["v1.changes.md", "v1.json"]), "{summary}");
    // The store agrees: the work of the host is recorded, the escalation resolved.
    let run = summary["run"].as_str().unwrap();
    let status = p.status(run);
    assert_eq!(status["state"], "done");
    let escalations: serde_json::Value =
        serde_json::from_str(&p.ok(&["escalation", "list", "--all", "--json"])).unwrap();
    assert_eq!(escalations[0]["decision"], "retry", "{escalations}");
    let shown = p.ok(&["task", "show", "backend-T003", "--run", run]);
    assert!(shown.contains("person:pytest-host"), "{shown}");
}

#[test]
fn a_python_mcp_client_pages_through_a_20000_task_run() {
    let p = Project::new();
    let ids: Vec<String> = (0..20_000).map(|i| format!("t{i}")).collect();
    let tasks: Vec<(&str, &str, &[&str])> = ids.iter().map(|id| (id.as_str(), "nodejs-expert", &[][..])).collect();
    p.write("big.json", &support::plan_json(&tasks));
    // Every task waits for a person: the run is stored and the command ends waiting.
    p.run_waiting(&["run", "--plan", "big.json"]);
    let run = p.only_run();
    let summary = python_client("large_plan.py", &p, &[&run]);
    assert_eq!((summary["ok"].as_bool(), summary["tasks"].as_i64()), (Some(true), Some(20_000)), "{summary}");
    // Four pages of 5,000 tasks, each well under a megabyte; the plan itself comes whole.
    assert_eq!(summary["task_pages"], 4, "{summary}");
    assert!(summary["largest_page_bytes"].as_i64().unwrap() < 1_000_000, "{summary}");
    assert!(summary["resource_pages"].as_i64().unwrap() >= 40, "{summary}");
}

#[test]
fn bad_messages_get_errors_and_the_session_goes_on() {
    let p = Project::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["mcp", "--repo"])
        .arg(p.path())
        .env_remove("COORD_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut next = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    };
    writeln!(stdin, "this is not json").unwrap();
    let e = next();
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("not JSON"), "{e}");
    writeln!(stdin, r#"{{"hello": "world"}}"#).unwrap();
    let e = next();
    assert_eq!(e["error"]["code"], -32600, "{e}");
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    let init = next();
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["serverInfo"]["name"], "coord", "{init}");
    writeln!(stdin, r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#).unwrap();
    writeln!(stdin, "{{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": ").unwrap();
    let e = next();
    assert_eq!(e["error"]["code"], -32700, "{e}");
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"get_brief","arguments":{{"task":42}}}}}}"#
    )
    .unwrap();
    let e = next();
    assert_eq!(e["id"], 3);
    assert!(e.get("error").is_some() || e["result"]["isError"] == true, "wrong argument types are refused: {e}");
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":4,"method":"tools/list"}}"#).unwrap();
    let tools = next();
    assert_eq!(tools["id"], 4);
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 10, "{tools}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "coord mcp ends cleanly when the host closes stdin: {status:?}");
}
