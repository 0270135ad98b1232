//! `coord run` end to end: manual runs on a fresh machine, command executors, every level of
//! the escalation protocol reached by a real failing command, cancellation, and metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Project, plan_json};

#[test]
fn a_fresh_machine_runs_the_spec_example_by_hand_to_the_end() {
    let p = Project::new();
    // The specialists' work alone: the workflow steps check real migrations and contracts,
    // which hand-completed tasks do not write (see tests/workflows.rs for those).
    // Every task waits for a person: the run exits 3 and says so.
    let out = p.run_waiting(&["run", "Add user authentication system with OAuth2 and JWT", "--no-workflows"]);
    assert!(out.contains("wait for a person"), "{out}");
    assert!(out.contains("waiting on 2 task(s) for a person"), "{out}");
    assert!(out.contains("next: coord task show backend-T001"), "{out}");
    let run = p.only_run();
    // Complete every task in dependency order, as a person would, following `ready` states.
    for _ in 0..8 {
        let ready: Vec<String> = p.states(&run).into_iter().filter(|(_, s)| s == "ready").map(|(t, _)| t).collect();
        assert!(!ready.is_empty(), "{:?}", p.states(&run));
        let out = p.ok(&["task", "complete", &ready[0], "--note", "done by hand"]);
        assert!(out.contains("done"), "{out}");
        if p.states(&run).iter().all(|(_, s)| s == "done") {
            break;
        }
    }
    assert!(p.states(&run).iter().all(|(_, s)| s == "done"), "{:?}", p.states(&run));
    assert_eq!(p.status(&run)["state"], "done");
    // The report measures the run as it was worked by hand: its wall time from the store and
    // its critical path from when each task became ready to when it was completed.
    let report = p.status(&run);
    assert!(report["run_wall_ms"].as_i64().unwrap() > 0, "{report}");
    assert!(report["critical_path_ms"].as_i64().unwrap() > 0, "{report}");
    assert!(report["critical_path_ms"].as_i64() <= report["run_wall_ms"].as_i64(), "{report}");
    let metrics = p.ok(&["metrics"]);
    assert!(metrics.contains("backend_tasks_completed_total 8"), "{metrics}");
    assert!(metrics.contains("backend_success_rate 1"), "{metrics}");
    let metrics: serde_json::Value = serde_json::from_str(&p.ok(&["metrics", "--json"])).unwrap();
    assert_eq!(metrics["backend_tasks_completed"], 8, "{metrics}");
    let shown: serde_json::Value =
        serde_json::from_str(&p.ok(&["task", "show", "backend-T001", "--run", &run, "--json"])).unwrap();
    assert_eq!(
        (&shown["task"]["state"], &shown["attempts"][0]["outcome"]),
        (&serde_json::json!("done"), &serde_json::json!("succeeded"))
    );
    assert!(shown["brief"].as_str().unwrap().contains("TASK ID: backend-T001"), "{shown}");
}

fn config(extra: &str) -> String {
    format!("[run]\nparallel = 4\nlease_secs = 5\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n{extra}\n")
}

#[test]
fn a_command_executor_runs_a_plan_and_sees_its_brief_and_environment() {
    let p = Project::new();
    p.write(
        "coord.toml",
        &config("[specialists.\"*\"]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"cat > seen-$COORD_TASK_ID.md; echo $COORD_IDEMPOTENCY_KEY > key-$COORD_TASK_ID\"]\n"),
    );
    let out = p.ok_all(&["run", "Add user authentication system with OAuth2 and JWT", "--no-workflows"]);
    assert!(out.contains(": done"), "{out}");
    let run = p.only_run();
    assert_eq!(p.status(&run)["state"], "done");
    let brief = std::fs::read_to_string(p.path().join("seen-backend-T003.md")).unwrap();
    assert!(brief.starts_with("DELEGATION TO: @nodejs-expert\nTASK ID: backend-T003"), "{brief}");
    assert!(brief.contains(&format!("IDEMPOTENCY KEY: {run}/backend-T003/1")));
    let key = std::fs::read_to_string(p.path().join("key-backend-T001")).unwrap();
    assert_eq!(key.trim(), format!("{run}/backend-T001/1"));
    // The event log has every transition.
    let log = p.ok(&["log", &run, "--json"]);
    assert_eq!(log.lines().filter(|l| l.contains("\"task_done\"")).count(), 8);
}

#[test]
fn level_1_retries_with_the_failure_as_feedback() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    // Fails on the first attempt with a message, succeeds on the second.
    p.write(
        "coord.toml",
        &config("[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"cat > brief-$COORD_ATTEMPT.md; [ $COORD_ATTEMPT -ge 2 ] || { echo 'SyntaxError: unexpected token' >&2; exit 1; }\"]\n"),
    );
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    assert!(out.contains("level 1: retrying after: exit code 1"), "{out}");
    let second = std::fs::read_to_string(p.path().join("brief-2.md")).unwrap();
    assert!(second.contains("FEEDBACK FROM PREVIOUS ATTEMPTS:"), "{second}");
    assert!(second.contains("SyntaxError: unexpected token"), "{second}");
    let run = p.only_run();
    assert_eq!(p.status(&run)["tasks"][0]["attempts"], 2);
}

/// `@nodejs-expert` as a command that writes each brief it gets and, on its first attempt, asks to
/// escalate a performance problem (level 2: the peer is @backend-architect).
macro_rules! slow_on_first_try {
    () => {
        concat!(
            "[specialists.nodejs-expert]\nexecutor = \"command\"\n",
            "command = [\"sh\", \"-c\", \"cat > brief-$COORD_ATTEMPT.md; [ $COORD_ATTEMPT -ge 2 ] || echo '{\\\"coord\\\":\\\"escalate\\\",\\\"reason\\\":\\\"p95 is 900ms\\\",\\\"category\\\":\\\"performance\\\"}'\"]\n",
        )
    };
}

#[test]
fn level_2_consults_the_peer_the_category_calls_for() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write(
        "coord.toml",
        &config(concat!(
            slow_on_first_try!(),
            "[specialists.backend-architect]\nexecutor = \"command\"\n",
            "command = [\"sh\", \"-c\", \"cat > consult.md; echo 'Add a covering index and cache the session lookup'\"]\n",
        )),
    );
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    assert!(out.contains("level 2: peer consulted"), "{out}");
    let question = std::fs::read_to_string(p.path().join("consult.md")).unwrap();
    assert!(question.starts_with("CONSULTATION REQUEST FOR: @backend-architect"), "{question}");
    assert!(question.contains("p95 is 900ms"));
    let second = std::fs::read_to_string(p.path().join("brief-2.md")).unwrap();
    assert!(second.contains("consultation with @backend-architect: Add a covering index"), "{second}");
}

#[test]
fn a_person_answers_a_level_2_consultation_with_a_note_that_joins_the_next_brief() {
    // The peer the failure calls for (@backend-architect) is a person: the task parks at level 2
    // until they answer through a decision with a note.
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write("coord.toml", &config(slow_on_first_try!()));
    p.coord(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    let list: serde_json::Value = serde_json::from_str(&p.ok(&["escalation", "list", "--json"])).unwrap();
    assert_eq!((list[0]["level"].as_i64(), list[0]["note"].as_str()), (Some(2), None), "{list}");
    let id = list[0]["id"].as_i64().unwrap().to_string();
    // A note from a file; a blank decision is refused, naming what is allowed.
    p.write("advice.md", "Add a covering index on sessions(user_id) and cache the lookup.\n");
    let bad = p.coord(&["escalation", "resolve", &id, "--decision", "retyr", "--note-file", "advice.md"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown decision `retyr`"), "{bad:?}");
    let out = p.ok(&["escalation", "resolve", &id, "--decision", "retry", "--note-file", "advice.md"]);
    assert!(out.contains("retry, with your note"), "{out}");
    p.ok(&["resume", &run]);
    assert_eq!(p.states(&run), vec![("t1".into(), "done".into())]);
    let second = std::fs::read_to_string(p.path().join("brief-2.md")).unwrap();
    assert!(second.contains("consultation answer: retry: consult @backend-architect: p95 is 900ms"), "{second}");
    assert!(second.contains("Add a covering index on sessions(user_id) and cache the lookup."), "{second}");
    let all: serde_json::Value = serde_json::from_str(&p.ok(&["escalation", "list", "--all", "--json"])).unwrap();
    assert_eq!(all[0]["note"], "Add a covering index on sessions(user_id) and cache the lookup.");
}

#[test]
fn level_3_reassigns_to_the_next_best_specialist_with_the_history() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[]), ("t2", "nodejs-expert", &["t1"])]));
    p.write(
        "coord.toml",
        &config(concat!(
            "[specialists.nodejs-expert]\nexecutor = \"command\"\n",
            "command = [\"sh\", \"-c\", \"[ $COORD_TASK_ID = t2 ] || { echo 'cannot build: missing native toolchain' >&2; exit 2; }\"]\n",
            "[specialists.backend-architect]\nexecutor = \"command\"\n",
            "command = [\"sh\", \"-c\", \"cat > reassigned.md\"]\n",
        )),
    );
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    assert!(out.contains("reassigned to @backend-architect"), "{out}");
    let brief = std::fs::read_to_string(p.path().join("reassigned.md")).unwrap();
    assert!(brief.starts_with("DELEGATION TO: @backend-architect"), "{brief}");
    assert!(brief.contains("coordinator review: reassigned from @nodejs-expert to @backend-architect"), "{brief}");
    assert!(brief.contains("attempt 1 by @nodejs-expert: failed"), "{brief}");
    let run = p.only_run();
    let status = p.status(&run);
    assert_eq!(status["state"], "done");
    assert_eq!(status["tasks"][0]["specialist"], "backend-architect");
    // 1 try + 2 level-1 retries + 1 consultation retry + the reassigned attempt.
    assert_eq!(status["tasks"][0]["attempts"], 5);
}

#[test]
fn level_4_parks_the_task_notifies_and_a_decision_continues_the_run() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[]), ("t2", "nodejs-expert", &["t1"])]));
    let notified = p.path().join("notified.json");
    p.write(
        "coord.toml",
        &format!(
            "{}notify_command = [\"sh\", \"-c\", \"cat > {}\"]\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"[ $COORD_TASK_ID = t2 ] || echo '{{\\\"coord\\\":\\\"escalate\\\",\\\"reason\\\":\\\"tokens stored in plain text\\\",\\\"category\\\":\\\"security\\\"}}'\"]\n",
            config(""),
            notified.display()
        ),
    );
    let out = p.coord(&["run", "--plan", "plan.json"]);
    // Progress is on stderr; stdout keeps the report.
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stderr.contains("escalated to @tech-lead-orchestrator"), "{stderr}");
    assert!(!stdout.contains("escalated to @tech-lead-orchestrator") && stdout.contains("escalated"), "{stdout}");
    let run = p.only_run();
    assert_eq!(p.states(&run), vec![("t1".into(), "escalated".into()), ("t2".into(), "blocked".into())]);
    let notice: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&notified).unwrap()).unwrap();
    assert_eq!(
        (notice["to"].as_str(), notice["category"].as_str(), notice["level"].as_i64()),
        (Some("tech-lead-orchestrator"), Some("security"), Some(4))
    );
    let list: serde_json::Value = serde_json::from_str(&p.ok(&["escalation", "list", "--json"])).unwrap();
    let id = list[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(list[0]["reason"], "tokens stored in plain text");
    // Failing the parked task by hand is refused, saying what it waits for.
    let refused = p.coord(&["task", "fail", "t1", "--run", &run, "--note", "again"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("task `t1` is escalated; it cannot be failed by hand now: it waits for a decision"),
        "{said}"
    );
    p.ok(&["escalation", "resolve", &id, "--decision", "skip"]);
    p.ok(&["resume", &run]);
    assert_eq!(p.states(&run), vec![("t1".into(), "done".into()), ("t2".into(), "done".into())]);
    let err = p.coord(&["escalation", "resolve", &id, "--decision", "retry"]);
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("already resolved"));
}

#[test]
fn broken_commands_end_as_task_failures_never_as_coordinator_failures() {
    let p = Project::new();
    p.write(
        "plan.json",
        &plan_json(&[("missing", "nodejs-expert", &[]), ("hang", "python-pro", &[]), ("ok", "java-expert", &[])]),
    );
    p.write(
        "coord.toml",
        &config(concat!(
            "[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"/no/such/program\"]\n",
            "[specialists.backend-architect]\nexecutor = \"command\"\ncommand = [\"/no/such/program/either\"]\n",
            "[specialists.python-pro]\nexecutor = \"command\"\ncommand = [\"sleep\", \"300\"]\ntimeout_secs = 1\n",
            "[specialists.java-expert]\nexecutor = \"command\"\ncommand = [\"true\"]\n",
            "[escalation.levels]\ngeneral = 4\n",
        )),
    );
    let out = p.coord(&["run", "--plan", "plan.json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let run = p.only_run();
    let states = p.states(&run);
    assert_eq!(states[2], ("ok".into(), "done".into()), "{stdout}");
    assert_eq!(states[0].1, "escalated", "{stdout}");
    assert_eq!(states[1].1, "escalated", "{stdout}");
    let list = p.ok(&["escalation", "list"]);
    assert!(list.contains("cannot start") || list.contains("/no/such/program"), "{list}");
    assert!(list.contains("timed out"), "{list}");
}

#[test]
fn cancel_from_another_process_stops_the_run_and_kills_its_commands() {
    let marker = format!("coordcancel{}", std::process::id());
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("slow", "nodejs-expert", &[]), ("after", "nodejs-expert", &["slow"])]));
    p.write(
        "coord.toml",
        &config(&format!(
            "[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", \"echo started > started; sleep 300\", \"{marker}\"]\n"
        )),
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json", "--json"])
        .current_dir(p.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(support::wait_for(20, || !support::processes_with(&marker).is_empty()), "the command started");
    let run = p.only_run();
    p.ok(&["cancel", &run]);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "a cancelled run exits 1");
    assert_eq!(p.states(&run), vec![("slow".into(), "cancelled".into()), ("after".into(), "cancelled".into())]);
    assert!(
        support::wait_for(5, || support::processes_with(&marker).is_empty()),
        "the command was killed: {:?}",
        support::processes_with(&marker)
    );
}

#[test]
fn bad_run_input_gets_one_clear_error() {
    let p = Project::new();
    p.write("coord.toml", "[run]\nparalel = 2\n");
    let out = p.coord(&["run", "Add login"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("coord.toml") && stderr.contains("paralel"), "{stderr}");
    let p = Project::new();
    p.write("junk.db", "not a database at all, just some text that is long enough");
    let out = p.coord(&["status", "--db", "junk.db"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("junk.db is not a coord database"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = p.coord(&["resume", "run-nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run `run-nope`"));
}

#[test]
fn a_failed_quality_gate_drives_escalation_with_the_findings_as_feedback() {
    let p = Project::new();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git").args(args).current_dir(p.path()).output().unwrap().status.success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "t@example.com"]);
    git(&["config", "user.name", "t"]);
    p.write("README.md", "# svc\n");
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    // Attempt 1 writes an injectable query; attempt 2, told by the gate, writes a parameterized one.
    // Each leaves the coverage report of its tests (50%, then 90% of lines).
    let script = concat!(
        "cat > brief-$COORD_ATTEMPT.md; mkdir -p src coverage; ",
        "if [ $COORD_ATTEMPT -eq 1 ]; then ",
        "echo 'db.query(`SELECT * FROM users WHERE id = ${req.params.id}`);' > src/users.js; ",
        "printf 'SF:src/users.js\\nLF:10\\nLH:5\\nend_of_record\\n' > coverage/lcov.info; ",
        "else echo 'db.query(\"SELECT * FROM users WHERE id = $1\", [req.params.id]);' > src/users.js; ",
        "printf 'SF:src/users.js\\nLF:10\\nLH:9\\nend_of_record\\n' > coverage/lcov.info; fi"
    );
    p.write(
        "coord.toml",
        &format!(
            "{}[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}]\n",
            config("")
        ),
    );
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    assert!(out.contains("level 1: retrying after: quality gate failed"), "{out}");
    let run = p.only_run();
    let second = p.brief_of(&run, "t1", 2);
    assert!(second.contains("sql-injection/js-interpolation"), "{second}");
    assert!(second.contains("src/users.js:1"), "{second}");
    assert_eq!(p.status(&run)["state"], "done");
    let log = p.ok(&["log", &run, "--json"]);
    let gates: Vec<&str> = log.lines().filter(|l| l.contains("\"gate_result\"")).collect();
    assert_eq!(gates.len(), 6, "code, security and performance gates, twice: {gates:?}");
    let metrics = p.ok(&["metrics", &run]);
    assert!(metrics.contains(&format!("security_audit_pass_rate{{run=\"{run}\"}} 0.5")), "{metrics}");
    assert!(
        metrics.contains(&format!("backend_success_rate{{run=\"{run}\"}} 0")),
        "the first pass failed its gate: {metrics}"
    );
    // The coverage each attempt's report stated is logged; the metric is the latest.
    let measured: Vec<&str> = log.lines().filter(|l| l.contains("\"test_coverage\"")).collect();
    assert_eq!(measured.len(), 2, "{measured:?}");
    assert!(measured[0].contains("\"value\":50.0") && measured[1].contains("\"value\":90.0"), "{measured:?}");
    assert!(metrics.contains(&format!("test_coverage{{run=\"{run}\"}} 0.9")), "{metrics}");
}

#[test]
fn a_silent_failure_says_so_and_log_and_resume_default_to_the_newest_run() {
    let p = Project::new();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write(
        "coord.toml",
        &config("[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"false\"]\nsandbox = \"off\"\n[escalation.levels]\ngeneral = 4\n"),
    );
    let _ = p.coord(&["run", "--plan", "plan.json"]);
    let list = p.ok(&["escalation", "list"]);
    assert!(list.contains("exit code 1: (it printed nothing on stderr or stdout)"), "{list}");
    // `coord log` without a run: the newest; times are UTC dates, and RFC 3339 in JSON.
    let log = p.ok(&["log"]);
    let first = log.lines().next().unwrap_or_default();
    assert!(first.contains("run_created") && first.contains("Z "), "{log}");
    let json = p.ok(&["log", "--json"]);
    let e: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    let time = e["time"].as_str().unwrap();
    assert!(time.len() == 24 && time.as_bytes()[10] == b'T' && time.ends_with('Z'), "{time}");
    // `coord resume` without a run: the newest, which is escalated and waits for a person.
    let out = p.coord(&["resume"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn reading_commands_create_no_database() {
    let p = Project::new();
    let missing = p.path().join("no/such/dir/x.db");
    let out = p.ok(&["status", "--db", missing.to_str().unwrap()]);
    assert!(out.contains("no runs yet"), "{out}");
    assert!(!p.path().join("no").exists(), "status created folders");
    let out = p.coord(&["log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runs yet"));
    assert!(!p.path().join(".coord/coord.db").exists(), "log created the database");
}
