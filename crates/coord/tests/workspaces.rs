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
    let out = p.ok_all(&["run", "--plan", ".coord/plan.json"]);
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
        let seen: BTreeSet<String> =
            p.stdout_of(&run, task, 1).split_whitespace().map(|f| f.trim_end_matches(".txt").to_string()).collect();
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
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
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
    // Split (`concat!`) so that no key sits whole in the repository.
    let agent = concat!(
        "mkdir -p src; echo 'const key = \"AKIA",
        "IOSFODNN7EXAMPLF\"; const secret = \"wJalrXUtnFEMI/K7MDENG/",
        "bPxRfiCYEXAMPLEKEX\";' > src/aws.js"
    );
    p.write("coord.toml", &config(agent));
    let out = p.run_waiting(&["run", "--plan", "plan.json"]);
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
    let agent =
        "echo start >> turns.log; sleep 0.2; echo $COORD_TASK_ID > own-$COORD_TASK_ID.txt; echo end >> turns.log";
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
fn outside_git_readers_run_together_and_cannot_write_the_project() {
    let p = Project::new();
    let marks = tempfile::tempdir().unwrap();
    let tasks: Vec<(String, &str, &[&str])> = (1..=4).map(|i| (format!("t{i}"), "nodejs-expert", &[][..])).collect();
    let tasks: Vec<(&str, &str, &[&str])> = tasks.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    p.write("plan.json", &plan_json(&tasks));
    // Marks go to a folder the section opens for writing; the project itself stays read-only.
    let agent = "echo start >> \"$MARKS/turns.log\"; sleep 0.5; echo end >> \"$MARKS/turns.log\"; \
                 if echo x > own-$COORD_TASK_ID.txt 2>/dev/null; then echo WROTE; else echo REFUSED; fi";
    let marks_dir = marks.path().display().to_string();
    p.write(
        "coord.toml",
        &format!(
            "[run]\nparallel = 4\n[specialists.\"*\"]\nexecutor = \"command\"\ncommand = [\"sh\", \"-c\", {agent:?}]\n\
             writes = false\nwrite = [{marks_dir:?}]\nenv = {{ MARKS = {marks_dir:?} }}\n"
        ),
    );
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    let status = p.status(&run);
    for i in 1..=4 {
        let t = format!("t{i}");
        assert_eq!(p.stdout_of(&run, &t, 1).trim(), "REFUSED", "{t} could write the project: {out}");
        assert!(!p.path().join(format!("own-{t}.txt")).exists());
        assert_eq!(status["artifacts"][&t], serde_json::json!([]), "{status}");
    }
    let turns = std::fs::read_to_string(marks.path().join("turns.log")).unwrap();
    assert_eq!(turns.lines().count(), 8, "{turns}");
    assert!(turns.starts_with("start\nstart\n"), "readers overlap instead of taking turns: {turns}");
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
    // Unconfined agents (`sandbox = "off"`; inside the sandbox `.git` is read-only and none of
    // this is possible): t1 commits its work itself and then checks out another branch; t2
    // moves the integration branch on attempt 1 (refused, put back), and behaves on attempt 2.
    let agent = "git config user.email a@b; git config user.name a; \
        if [ $COORD_TASK_ID = t1 ]; then echo t1 > t1.txt; git add t1.txt; git commit -qm mine; git checkout -q -b elsewhere; echo extra > extra.txt; \
        elif [ $COORD_ATTEMPT = 1 ]; then git branch -f coord/$COORD_RUN_ID HEAD~1; echo t2 > t2.txt; \
        else echo t2 > t2.txt; fi";
    p.write("coord.toml", &format!("{}sandbox = \"off\"\n", config(agent)));
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

/// 30 tasks: three chains of ten with cross links.
fn crash_plan() -> String {
    let mut tasks = Vec::new();
    for chain in 0..3 {
        for i in 0..10 {
            let id = format!("c{chain}-t{i}");
            let mut deps = Vec::new();
            if i > 0 {
                deps.push(format!("c{chain}-t{}", i - 1));
            }
            if chain > 0 && i > 2 {
                deps.push(format!("c{}-t{}", chain - 1, i - 2));
            }
            tasks.push(serde_json::json!({ "id": id, "title": id, "specialist": "nodejs-expert", "depends_on": deps }));
        }
    }
    serde_json::json!({ "objective": "workspace crash test", "tasks": tasks }).to_string()
}

#[test]
fn sigkill_across_worktree_creation_commit_and_merge_leaves_each_result_merged_exactly_once() {
    let p = Project::new();
    p.git_init();
    p.write(".coord/plan.json", &crash_plan());
    p.write(
        "coord.toml",
        "[run]\nparallel = 3\nlease_secs = 2\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n\
         [specialists.nodejs-expert]\nexecutor = \"command\"\n\
         command = [\"sh\", \"-c\", \"sleep 0.05; mkdir -p out; echo \\\"work of $COORD_TASK_ID\\\" > out/$COORD_TASK_ID.txt\"]\n",
    );
    // Random moments: while git creates worktrees, commits, and merges.
    let (run, kills) = support::kill_storm(&p, ".coord/plan.json", 0x5eed_9876, (40, 260), 24, |_| {});
    assert!(kills >= 20, "the coordinator was killed {kills} times before the run finished");
    assert_eq!(p.status(&run)["state"], "done");
    let branch = format!("coord/{run}");
    let merges = p.git(&["log", "--first-parent", "--format=%s", &branch]);
    for chain in 0..3 {
        for i in 0..10 {
            let task = format!("c{chain}-t{i}");
            assert_eq!(
                p.show(&branch, &format!("out/{task}.txt")).as_deref(),
                Some(format!("work of {task}\n").as_str())
            );
            let times = merges.lines().filter(|l| l.starts_with(&format!("coord: merge {task} "))).count();
            assert_eq!(times, 1, "{task} merged {times} times:\n{merges}");
        }
    }
    let log = p.ok(&["log", &run, "--json"]);
    eprintln!(
        "{kills} kills; {} interrupted attempts; {} results recovered after their merge; {} leftovers swept",
        log.matches("\"interrupted\"").count() + log.matches("lease expired").count(),
        log.matches("recovered: the result").count(),
        log.matches("interrupted attempt left").count()
    );
    // Only coord's merges on the integration branch, and nothing left behind in the user's tree.
    assert_eq!(merges.lines().count(), 31, "{merges}");
    assert_eq!(p.git(&["status", "--porcelain"]).trim(), "?? coord.toml");
}

#[test]
fn a_done_run_is_delivered_once_and_clean_removes_what_it_left() {
    let p = Project::new();
    p.git_init();
    p.write("plan.json", &plan_json(&[("t1", "nodejs-expert", &[]), ("t2", "nodejs-expert", &["t1"])]));
    p.write(
        "coord.toml",
        &format!(
            "{}[specialists.frontend-coordinator]\nexecutor = \"manual\"\n[deliver]\ncommand = [\"sh\", \"-c\", \"echo $COORD_BRANCH $COORD_COMMIT >> delivered.txt\"]\n",
            config("echo $COORD_TASK_ID > $COORD_TASK_ID.txt")
        ),
    );
    let out = p.ok_all(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    assert!(out.contains(&format!("delivered coord/{run}")), "{out}");
    let tip = p.git(&["rev-parse", &format!("coord/{run}")]);
    let delivered = std::fs::read_to_string(p.path().join("delivered.txt")).unwrap();
    assert_eq!(delivered, format!("coord/{run} {tip}"));

    // Not while it runs (a second run is left running: its task waits for a person).
    p.write("plan2.json", &plan_json(&[("m1", "frontend-coordinator", &[])]));
    p.run_waiting(&["run", "--plan", "plan2.json"]);
    let runs: serde_json::Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    let running = runs[0]["id"].as_str().unwrap().to_string();
    let refused = p.coord(&["clean", &running]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("still running"), "{refused:?}");

    let out = p.ok(&["clean", &run, "--keep-branch"]);
    assert!(out.contains("branch(es)"), "{out}");
    assert!(p.git(&["branch", "--list", &format!("coord-task/{run}/*")]).trim().is_empty());
    assert!(p.git(&["for-each-ref", &format!("refs/coord/{run}/")]).trim().is_empty());
    assert!(!p.path().join(".coord/runs").join(&run).exists());
    assert_eq!(p.git(&["rev-parse", &format!("coord/{run}")]), tip, "the result is kept");
    p.ok(&["clean", &run]);
    assert!(p.git(&["branch", "--list", &format!("coord/{run}")]).trim().is_empty());
}

#[test]
fn a_person_claims_a_task_works_in_its_worktree_and_completing_it_merges_the_work() {
    let p = Project::new();
    p.git_init();
    p.write("plan.json", &plan_json(&[("t1", "frontend-coordinator", &[]), ("t2", "frontend-coordinator", &["t1"])]));
    p.run_waiting(&["run", "--plan", "plan.json"]);
    let run = p.only_run();
    let out = p.ok(&["task", "claim", "t1", "--run", &run]);
    let dir =
        out.lines().find_map(|l| l.strip_prefix("work in ")).unwrap().split(" (branch").next().unwrap().to_string();
    std::fs::write(std::path::Path::new(&dir).join("page.md"), "by hand\n").unwrap();
    let done = p.ok(&["task", "complete", "t1", "--run", &run, "--note", "wrote the page"]);
    assert!(done.contains("t1: done"), "{done}");
    assert_eq!(p.show(&format!("coord/{run}"), "page.md").unwrap(), "by hand\n");
    // The dependent's worktree starts from that work.
    let out = p.ok(&["task", "claim", "t2", "--run", &run]);
    let dir =
        out.lines().find_map(|l| l.strip_prefix("work in ")).unwrap().split(" (branch").next().unwrap().to_string();
    assert_eq!(std::fs::read_to_string(std::path::Path::new(&dir).join("page.md")).unwrap(), "by hand\n");
    assert!(!p.path().join("page.md").exists(), "the user's checkout is untouched");
}
