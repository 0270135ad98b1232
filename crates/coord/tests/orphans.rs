//! Processes die with their attempt: the coordinator is killed with SIGKILL thirty times in the
//! middle of a run of one-second agents; after each kill no agent process is left, and no task
//! ever ran twice at the same time (each execution logs its start and end in its workspace:
//! an execution that outlived its coordinator would end after its retry started).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Project, processes_with};

#[test]
fn sigkill_of_the_coordinator_leaves_no_agent_running_and_no_task_runs_twice_at_once() {
    let marker = format!("coordorphan{}", std::process::id());
    let p = Project::new();
    let tasks: Vec<serde_json::Value> = (0..40)
        .map(|i| {
            let deps: Vec<String> = if i >= 8 { vec![format!("t{}", i - 8)] } else { vec![] };
            serde_json::json!({ "id": format!("t{i}"), "title": "x", "specialist": "nodejs-expert", "depends_on": deps })
        })
        .collect();
    p.write(".coord/plan.json", &serde_json::json!({ "objective": "orphans", "tasks": tasks }).to_string());
    p.write(
        "coord.toml",
        &format!(
            "[run]\nparallel = 8\nlease_secs = 2\n[escalation]\nbackoff_base_ms = 10\nbackoff_max_ms = 50\n\
             [specialists.nodejs-expert]\nexecutor = \"command\"\n\
             command = [\"sh\", \"-c\", \"echo start $$ >> exec-$COORD_TASK_ID.log; sleep 1; echo end $$ >> exec-$COORD_TASK_ID.log\", \"{marker}\"]\n"
        ),
    );
    p.git_init();
    let (run, kills) = support::kill_storm(&p, ".coord/plan.json", 0x0dd_ba11, (300, 900), 30, |kills| {
        // The kernel takes the agents down with their coordinator.
        assert!(
            support::wait_for(2, || processes_with(&marker).is_empty()),
            "after kill {kills}, agents still run: {:?}",
            processes_with(&marker)
        );
    });
    assert!(kills >= 20, "killed {kills} times before the run finished");
    assert_eq!(p.status(&run)["state"], "done", "{}\n{}", p.status(&run), p.ok(&["log", &run]));
    assert!(processes_with(&marker).is_empty());
    // No execution of a task overlapped another: every `end` closes the latest `start`.
    for i in 0..40 {
        let log = p.show(&format!("coord/{run}"), &format!("exec-t{i}.log")).unwrap_or_default();
        let mut open: Option<&str> = None;
        for line in log.lines() {
            match line.split_once(' ') {
                Some(("start", pid)) => open = Some(pid),
                Some(("end", pid)) => {
                    assert_eq!(open, Some(pid), "t{i}: an execution ended after another started:\n{log}");
                    open = None;
                }
                _ => panic!("t{i}: unexpected line {line:?}"),
            }
        }
        assert!(open.is_none() && log.contains("end "), "t{i}: its last execution ended:\n{log}");
    }
}

#[test]
fn a_frozen_coordinators_agent_is_killed_before_its_task_runs_again() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let marker = format!("coordfrozen{}", std::process::id());
    let p = Project::new();
    p.write("plan.json", &support::plan_json(&[("t1", "nodejs-expert", &[])]));
    p.write(
        "coord.toml",
        &format!(
            "[run]\nlease_secs = 1\n[specialists.nodejs-expert]\nexecutor = \"command\"\n\
             command = [\"sh\", \"-c\", \"echo start $$ >> exec.log; sleep 4; echo end $$ >> exec.log\", \"{marker}\"]\n"
        ),
    );
    p.git_init();
    let mut frozen = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", "plan.json"])
        .current_dir(p.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(support::wait_for(20, || !processes_with(&marker).is_empty()), "the agent started");
    // Frozen: no heartbeats, its lease expires; the process still exists, so nobody presumes
    // it dead, and its agent goes on running.
    kill(Pid::from_raw(frozen.id() as i32), Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let run = p.only_run();
    p.ok(&["resume", &run]);
    let _ = frozen.kill();
    let _ = frozen.wait();
    assert_eq!(p.status(&run)["state"], "done");
    let log = p.show(&format!("coord-task/{run}/t1"), "exec.log").unwrap();
    let lines: Vec<&str> = log.lines().collect();
    // The first execution was killed when the task was taken over: it never wrote its end,
    // and the second ran alone.
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].starts_with("start") && lines[1].starts_with("start") && lines[2].starts_with("end"), "{log}");
    assert_eq!(lines[1].split(' ').nth(1), lines[2].split(' ').nth(1), "{log}");
    assert!(processes_with(&marker).is_empty());
}
