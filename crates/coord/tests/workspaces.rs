//! Workspaces end to end with scripted command agents: every task on its own branch built on
//! exactly its dependencies' work, exact artifacts, integration in dependency order, conflicts
//! sent back with their hunks, refused results gated again, the user's checkout untouched, and
//! the folder fallback outside git.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use support::{Project, plan_json};

const OBJECTIVE: &str = "Add user authentication system with OAuth2 and JWT";

fn config(command: &str) -> String {
    format!(
        "[run]\nparallel = 4\nlease_secs = 5\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n\
         [specialists.\"*\"]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", {command:?}]\n"
    )
}

/// Each agent prints the task files it can see, then writes its own.
const SEE_AND_WRITE: &str =
    "ls out 2>/dev/null | tr '\\n' ' '; echo; mkdir -p out; echo \"work of $COORD_TASK_ID\" > out/$COORD_TASK_ID.txt";

/// The spec example's tasks with their transitive dependencies.
fn transitive(plan: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let deps: BTreeMap<String, Vec<String>> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let d = t["depends_on"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect();
            (t["id"].as_str().unwrap().to_string(), d)
        })
        .collect();
    let mut out = BTreeMap::new();
    for id in deps.keys() {
        let mut seen = BTreeSet::new();
        let mut stack = deps[id].clone();
        while let Some(d) = stack.pop() {
            if seen.insert(d.clone()) {
                stack.extend(deps[&d].clone());
            }
        }
        out.insert(id.clone(), seen);
    }
    out
}

#[test]
fn every_task_sees_exactly_its_dependencies_work_and_the_run_delivers_one_branch() {
    let p = Project::new();
    p.git_init();
    p.write("coord.toml", &config(SEE_AND_WRITE));
    let plan = p.ok(&["plan", OBJECTIVE, "--no-workflows", "--format", "json"]);
    p.write(".coord/plan.json", &plan);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let user_head = p.git(&["rev-parse", "HEAD"]);
    let out = p.ok(&["run", "--plan", ".coord/plan.json"]);
    assert!(out.contains(": done"), "{out}");
    let run = p.only_run();
    assert!(out.contains(&format!("result: branch coord/{run}")), "{out}");

    let status = p.status(&run);
    let expected = transitive(&plan);
    assert_eq!(expected.len(), 8);
    for (task, deps) in &expected {
        // Exactly its own file as artifacts.
        let artifacts = &status["artifacts"][task];
        assert_eq!(artifacts, &serde_json::json!([format!("out/{task}.txt")]), "{task}: {status}");
        // It saw the files of all its transitive dependencies and of no other task.
        let seen: BTreeSet<String> = p
            .stdout_of(&run, task, 1)
            .split_whitespace()
            .map(|f| f.trim_end_matches(".txt").to_string())
            .collect();
        assert_eq!(&seen, deps, "{task} saw {seen:?}");
    }
    // The integration branch holds all eight, each merged once, in dependency order.
    let branch = format!("coord/{run}");
    for task in expected.keys() {
        assert_eq!(p.show(&branch, &format!("out/{task}.txt")).unwrap(), format!("work of {task}\n"));
    }
    let merges = p.git(&["log", "--first-parent", "--format=%s", &branch]);
    let order: Vec<&str> = merges.lines().filter_map(|l| l.strip_prefix("coord: merge ")).collect();
    assert_eq!(order.len(), 8, "{merges}");
    let at = |t: &str| order.len() - order.iter().position(|l| l.starts_with(t)).unwrap();
    for (task, deps) in &expected {
        for d in deps {
            assert!(at(d) < at(task), "{d} must be merged before {task}: {merges}");
        }
    }
    assert_eq!(status["delivery"]["branch"], branch.as_str());
    assert_eq!(status["delivery"]["unmerged"], serde_json::json!([]));
    // The user's branch and working tree are untouched; coord's files are ignored.
    assert_eq!(p.git(&["rev-parse", "HEAD"]), user_head);
    assert_eq!(p.git(&["symbolic-ref", "--short", "HEAD"]).trim(), "main");
    assert!(!p.path().join("out").exists());
    assert_eq!(p.git(&["status", "--porcelain"]).trim(), "?? coord.toml");
    // Finished tasks' worktrees are gone; their branches stay.
    assert_eq!(p.git(&["worktree", "list"]).lines().count(), 1, "{}", p.git(&["worktree", "list"]));
    assert_eq!(p.git(&["branch", "--list", &format!("coord-task/{run}/*")]).lines().count(), 8);
}

#[test]
fn two_parallel_tasks_editing_the_same_lines_are_reconciled_through_a_conflict_escalation() {
    let p = Project::new();
    p.write("shared.txt", "line1\nline2\nline3\n");
    p.git_init();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[]), ("t2", "nodejs-expert", &[])]));
    // Each changes line 2; given a conflict, it keeps both sides and drops the markers.
    let agent = "if grep -q '^<<<<<<<' shared.txt; then grep -v '^<<<<<<<\\|^=======\\|^>>>>>>>' shared.txt > s.tmp && mv s.tmp shared.txt; \
                 else sleep 0.3; sed -i \"s/^line2$/line2 changed by $COORD_TASK_ID/\" shared.txt; fi";
    p.write("coord.toml", &config(agent));
    let out = p.ok(&["run", "--plan", "plan.json"]);
    assert!(out.contains("level 1: retrying after: merge conflict"), "{out}");
    let run = p.only_run();
    assert_eq!(p.status(&run)["state"], "done");
    // The task that merged second was sent back with the hunk, as git marked it.
    let second = if p.brief_of(&run, "t1", 2).is_empty() { "t2" } else { "t1" };
    let brief = p.brief_of(&run, second, 2);
    assert!(brief.contains("merge conflict") && brief.contains("shared.txt"), "{brief}");
    assert!(brief.contains(&format!("<<<<<<< coord/{run}")), "{brief}");
    assert!(brief.contains(&format!(">>>>>>> coord-task/{run}/{second}")), "{brief}");
    assert!(brief.contains("line2 changed by t1") && brief.contains("line2 changed by t2"), "{brief}");
    let merged = p.show(&format!("coord/{run}"), "shared.txt").unwrap();
    assert!(merged.contains("line2 changed by t1\n") && merged.contains("line2 changed by t2\n"), "{merged}");
    assert!(!merged.contains("<<<<<<<"), "{merged}");
    let log = p.ok(&["log", &run, "--json"]);
    assert!(log.contains("\"step\":\"conflict\""), "{log}");
}

#[test]
fn a_retry_that_repeats_a_refused_result_is_gated_again_and_escalated() {
    let p = Project::new();
    p.git_init();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    // Every attempt writes the same file with a live-looking key.
    let agent = "mkdir -p src; echo 'const key = \"AKIAIOSFODNN7EXAMPLF\"; const secret = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX\";' > src/aws.js";
    p.write("coord.toml", &config(agent));
    let out = p.ok(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert_eq!(p.states(&run), vec![("t1".to_string(), "escalated".to_string())], "{out}");
    let log = p.ok(&["log", &run, "--json"]);
    let gates: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["kind"] == "gate_result")
        .collect();
    // Every attempt's result went through the gates, and every time one of them refused it.
    let attempts = p.status(&run)["tasks"][0]["attempts"].as_u64().unwrap();
    assert!(attempts >= 4, "{out}");
    for a in 1..=attempts {
        let of: Vec<&serde_json::Value> = gates.iter().filter(|g| g["data"]["attempt"] == a).collect();
        assert!(!of.is_empty(), "attempt {a} was not gated: {gates:?}");
        assert!(of.iter().any(|g| g["data"]["passed"] == false), "attempt {a} passed: {of:?}");
    }
    assert!(!log.contains("\"task_done\""), "{log}");
    // Nothing refused reached the integration branch.
    assert_eq!(p.show(&format!("coord/{run}"), "src/aws.js"), None);
}

#[test]
fn outside_git_writers_take_turns_and_each_gets_exactly_its_files() {
    let p = Project::new();
    let tasks: Vec<(String, &str, &[&str])> = (1..=4).map(|i| (format!("t{i}"), "nodejs-expert", &[][..])).collect();
    let tasks: Vec<(&str, &str, &[&str])> = tasks.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    p.write("plan.json", &plan_json(&tasks));
    // Each records when it ran; overlapping turns would interleave the marks.
    let agent = "echo start >> turns.log; sleep 0.2; echo $COORD_TASK_ID > own-$COORD_TASK_ID.txt; echo end >> turns.log";
    p.write("coord.toml", &config(agent));
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    assert_eq!(out.matches("not in a git repository").count(), 1, "said once at the start: {out}");
    let run = p.only_run();
    let status = p.status(&run);
    for i in 1..=4 {
        let t = format!("t{i}");
        assert_eq!(status["artifacts"][&t], serde_json::json!([format!("own-{t}.txt"), "turns.log"]), "{status}");
    }
    let turns = std::fs::read_to_string(p.path().join("turns.log")).unwrap();
    assert_eq!(turns, "start\nend\n".repeat(4), "never two writers at once");
}

#[test]
fn a_start_that_is_dirty_detached_or_has_no_commit_is_noted_and_the_run_still_works() {
    // No commit at all: the run starts from an empty tree.
    let p = Project::new();
    p.git(&["init", "-q", "-b", "main"]);
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write("coord.toml", &config("echo one > one.txt"));
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    assert!(out.contains("no commit yet"), "{out}");
    let run = p.only_run();
    assert_eq!(p.show(&format!("coord/{run}"), "one.txt").unwrap(), "one\n");

    // A dirty tree on a detached HEAD: the run starts from HEAD without the changes.
    let p = Project::new();
    p.git_init();
    p.write("notes.txt", "mine\n");
    p.git(&["add", "notes.txt"]);
    p.git(&["commit", "-qm", "notes"]);
    p.git(&["checkout", "-q", "--detach", "HEAD"]);
    p.write("notes.txt", "uncommitted edit\n");
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write("coord.toml", &config("cat notes.txt > seen.txt"));
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    assert!(out.contains("uncommitted change"), "{out}");
    assert!(out.contains("HEAD is detached"), "{out}");
    let run = p.only_run();
    assert_eq!(p.show(&format!("coord/{run}"), "seen.txt").unwrap(), "mine\n");
    assert_eq!(std::fs::read_to_string(p.path().join("notes.txt")).unwrap(), "uncommitted edit\n");
}

#[test]
fn agents_that_leave_their_branch_are_put_back_and_lose_no_work() {
    let p = Project::new();
    p.git_init();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[]), ("t2", "nodejs-expert", &["t1"])]));
    // t1 commits its work itself and then checks out another branch; t2 moves the
    // integration branch on attempt 1 (refused, put back), and behaves on attempt 2.
    let agent = "git config user.email a@b; git config user.name a; \
        if [ $COORD_TASK_ID = t1 ]; then echo t1 > t1.txt; git add t1.txt; git commit -qm mine; git checkout -q -b elsewhere; echo extra > extra.txt; \
        elif [ $COORD_ATTEMPT = 1 ]; then git branch -f coord/$COORD_RUN_ID HEAD~1; echo t2 > t2.txt; \
        else echo t2 > t2.txt; fi";
    p.write("coord.toml", &config(agent));
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert_eq!(p.status(&run)["state"], "done", "{out}");
    assert!(out.contains("moved the integration branch"), "{out}");
    let branch = format!("coord/{run}");
    assert_eq!(p.show(&branch, "t1.txt").unwrap(), "t1\n");
    assert_eq!(p.show(&branch, "extra.txt").unwrap(), "extra\n");
    assert_eq!(p.show(&branch, "t2.txt").unwrap(), "t2\n");
    // t1's own commit is kept on its branch under coord's.
    let t1_log = p.git(&["log", "--format=%s", &format!("coord-task/{run}/t1")]);
    assert!(t1_log.contains("mine"), "{t1_log}");
}
