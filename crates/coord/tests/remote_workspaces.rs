//! Workers on several machines: each `coord worker` runs in its own clone of the repository,
//! sharing a PostgreSQL store and a remote (a local bare repository here). Task branches and
//! the integration branch go through the remote, so a task a worker on one clone runs starts
//! from the results its dependencies got on the other, and the remote ends with the run's
//! whole result on `coord/<run>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coord_store::{PgStore, Store};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::process::Command;
use support::{Project, Worker, block_on, pg_schema, wait_for};

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn two_clones_share_a_run_through_a_remote() {
    let schema = pg_schema("remote");
    let url = schema.url();
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let origin = remote.path().display().to_string();

    // The first machine's clone makes the repository's first commit, with the configuration.
    let a = Project::new();
    a.write(
        "coord.toml",
        "[workspace]\nremote = \"origin\"\n[specialists.\"*\"]\nexecutor = \"command\"\n\
         command = [\"sh\", \"-c\", \"ls out 2>/dev/null | tr '\\\\n' ' '; echo; sleep 0.3; mkdir -p out; echo \\\"work of $COORD_TASK_ID\\\" > out/$COORD_TASK_ID.txt\"]\n",
    );
    a.git_init();
    a.git(&["remote", "add", "origin", &origin]);
    a.git(&["push", "-q", "origin", "main"]);
    // The second machine's clone.
    let b = Project::new();
    git(b.path(), &["clone", "-q", &origin, "."]);

    let plan =
        a.ok(&["plan", "Add user authentication system with OAuth2 and JWT", "--no-workflows", "--format", "json"]);
    a.write(".coord/plan.json", &plan);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let mut workers =
        [Worker::start(&a, &url, &["--concurrency", "1"]), Worker::start(&b, &url, &["--concurrency", "1"])];
    let mut watcher = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["run", "--plan", ".coord/plan.json", "--parallel", "0", "--json", "--db", &url])
        .current_dir(a.path())
        .env_remove("COORD_DB")
        .env_remove("COORD_DATABASE_URL")
        .stdout(std::fs::File::create(a.path().join(".coord/run.out")).unwrap())
        .stderr(std::fs::File::create(a.path().join(".coord/run.err")).unwrap())
        .spawn()
        .unwrap();
    assert!(
        wait_for(120, || watcher.try_wait().unwrap().is_some()),
        "the run finishes: {}\n{}",
        workers[0].log(),
        workers[1].log()
    );
    let store = block_on(async { PgStore::connect(&url).await.unwrap() });
    let run = block_on(store.runs()).unwrap()[0].id.clone();
    assert_eq!(
        block_on(store.run(&run)).unwrap().state,
        coord_store::RunState::Done,
        "{:?}\n{}\n{}\n{}",
        block_on(store.tasks(&run)).unwrap().iter().map(|t| (t.task_id.clone(), t.state)).collect::<Vec<_>>(),
        std::fs::read_to_string(a.path().join(".coord/run.out")).unwrap_or_default(),
        workers[0].log(),
        workers[1].log()
    );

    // Both machines worked on it.
    let mut owners = HashSet::new();
    for t in block_on(store.tasks(&run)).unwrap() {
        for at in block_on(store.attempts(&run, &t.task_id)).unwrap() {
            if at.outcome.as_deref() == Some("succeeded") {
                owners.insert(at.owner);
            }
        }
    }
    assert_eq!(owners.len(), 2, "tasks ran on both clones: {owners:?}");

    // Each task saw exactly its transitive dependencies' files, whichever clone ran them.
    let deps: BTreeMap<String, Vec<String>> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let d = t["depends_on"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect();
            (t["id"].as_str().unwrap().to_string(), d)
        })
        .collect();
    for (task, direct) in &deps {
        let mut want = BTreeSet::new();
        let mut stack = direct.clone();
        while let Some(d) = stack.pop() {
            if want.insert(d.clone()) {
                stack.extend(deps[&d].clone());
            }
        }
        let seen_by = |p: &Project| p.stdout_of(&run, task, 1);
        let seen = if seen_by(&a).is_empty() { seen_by(&b) } else { seen_by(&a) };
        let seen: BTreeSet<String> = seen.split_whitespace().map(|f| f.trim_end_matches(".txt").to_string()).collect();
        assert_eq!(seen, want, "{task}");
    }
    // The remote holds the whole result on the run's branch.
    let branch = format!("coord/{run}");
    git(b.path(), &["fetch", "-q", "origin", &format!("{branch}:{branch}")]);
    for task in deps.keys() {
        let text = git(b.path(), &["show", &format!("{branch}:out/{task}.txt")]);
        assert_eq!(text, format!("work of {task}\n"));
    }
    for w in &mut workers {
        assert!(w.stop(20), "{}", w.log());
    }
}
