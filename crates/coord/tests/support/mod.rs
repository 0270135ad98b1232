//! Shared helpers of the CLI integration tests: a project folder, running `coord`, and
//! reading the store back with `sqlite3`-free queries through `coord --json` outputs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary project folder.
pub struct Project {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

impl Project {
    /// An empty project.
    pub fn new() -> Project {
        Project { dir: tempfile::tempdir().unwrap() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the project.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs coord in the project.
    pub fn coord(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_coord"))
            .args(args)
            .current_dir(self.path())
            .env_remove("COORD_DB")
            .output()
            .unwrap()
    }

    /// Runs coord and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.coord(args);
        assert!(
            out.status.success(),
            "coord {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `coord status RUN --json` parsed.
    pub fn status(&self, run: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", run, "--json"])).unwrap()
    }

    /// The state of each task of a run.
    pub fn states(&self, run: &str) -> Vec<(String, String)> {
        self.status(run)["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["task_id"].as_str().unwrap().to_string(), t["state"].as_str().unwrap().to_string()))
            .collect()
    }

    /// The id of the only run.
    pub fn only_run(&self) -> String {
        let runs: serde_json::Value = serde_json::from_str(&self.ok(&["status", "--json"])).unwrap();
        let runs = runs.as_array().unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        runs[0]["id"].as_str().unwrap().to_string()
    }
}

/// A plan file of `n` independent tasks for one specialist, plus an optional chain.
pub fn plan_json(tasks: &[(&str, &str, &[&str])]) -> String {
    let tasks: Vec<serde_json::Value> = tasks
        .iter()
        .map(|(id, specialist, deps)| serde_json::json!({ "id": id, "title": format!("task {id}"), "specialist": specialist, "depends_on": deps }))
        .collect();
    serde_json::json!({ "objective": "integration test", "tasks": tasks }).to_string()
}
