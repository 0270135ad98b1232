//! How a specialist's commands are confined, from its `[specialists.NAME]` section and the
//! attempt: the OS sandbox policy (`coord_sandbox::Policy`: the task's workspace writable, the
//! repository's git folder and toolchains readable, credentials never, protected paths
//! read-only, the network as configured) and the clean environment every command gets,
//! sandboxed or not: `PATH`, `HOME`, `LANG`, `TERM`, `TMPDIR`, the `COORD_*` variables, the
//! section's `env` and the variables `env_pass` names — nothing else of coord's environment
//! (where provider keys, cloud credentials and database URLs live).

use super::Job;
use crate::config::{SandboxMode, SpecialistConfig};
use coord_sandbox::{Network, Policy};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Toolchains under the home folder whose programs and libraries commands may use.
const TOOLCHAINS: &[&str] = &[
    ".cargo/bin",
    ".cargo/registry",
    ".cargo/git",
    ".rustup",
    ".local/bin",
    ".local/lib",
    ".nvm",
    ".volta",
    ".bun/bin",
    ".deno/bin",
    ".pyenv",
    ".sdkman",
    "go/bin",
    "go/pkg",
    ".m2/repository",
    ".gradle/caches",
    ".gradle/wrapper",
];

/// A specialist's confinement.
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    /// Sandboxed or not.
    pub mode: SandboxMode,
    /// Its network.
    pub network: Network,
    /// Extra readable paths (`~/` expanded).
    pub read: Vec<String>,
    /// Extra writable paths.
    pub write: Vec<String>,
    /// Extra denied paths.
    pub deny: Vec<String>,
    /// Variables of coord's environment passed on.
    pub env_pass: Vec<String>,
    /// Variables set for it (`env`).
    pub env: BTreeMap<String, String>,
    /// Whether it may change CI files.
    pub allow_ci: bool,
    /// Largest file it may write.
    pub max_file_bytes: u64,
    /// Processes a command may start at once.
    pub max_processes: u64,
    /// Keep the real `HOME` (an agent CLI finds its login and sessions there; only the folders
    /// in `read` and `write` of it are open in the sandbox). Otherwise a private one.
    pub real_home: bool,
    /// The workspace is read-only too (`writes = false`, or an agent whose tools only read).
    pub read_only_workspace: bool,
}

impl Confinement {
    /// The confinement a specialist's section asks for.
    pub fn of(c: &SpecialistConfig) -> Confinement {
        Confinement {
            mode: c.sandbox,
            network: c.network.unwrap_or(if c.executor.agent_cli().is_some() { Network::On } else { Network::Off }),
            read: c.read.clone(),
            write: c.write.clone(),
            deny: c.deny.clone(),
            env_pass: c.env_pass.clone(),
            env: c.env.clone(),
            allow_ci: c.allow_ci,
            max_file_bytes: c.max_file_mb.unwrap_or(1024).saturating_mul(1 << 20),
            max_processes: c.max_processes.unwrap_or(1024),
            real_home: false,
            read_only_workspace: !c.writes(),
        }
    }

    /// Whether commands run in the OS sandbox.
    pub fn sandboxed(&self) -> bool {
        self.mode == SandboxMode::Strict
    }

    /// The environment of a command of `job`: the fixed few, `COORD_*`, `env`, `env_pass`.
    pub fn environment(&self, job: &Job, extra: &[(&str, String)]) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let inherit = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_string());
        env.insert("PATH".into(), inherit("PATH", "/usr/local/bin:/usr/bin:/bin"));
        env.insert("LANG".into(), inherit("LANG", "C.UTF-8"));
        env.insert("TERM".into(), inherit("TERM", "dumb"));
        let (home, tmp) = self.private_dirs(job);
        env.insert("HOME".into(), home.display().to_string());
        env.insert("TMPDIR".into(), tmp.display().to_string());
        env.insert("COORD_TASK_ID".into(), job.task_id.clone());
        env.insert("COORD_SPECIALIST".into(), job.specialist.clone());
        env.insert("COORD_RUN_ID".into(), job.run_id.clone());
        env.insert("COORD_ATTEMPT".into(), job.attempt.to_string());
        env.insert("COORD_WORKSPACE".into(), job.workspace.display().to_string());
        env.insert("COORD_IDEMPOTENCY_KEY".into(), job.idempotency_key.clone());
        for (k, v) in extra {
            env.insert((*k).to_string(), v.clone());
        }
        for name in &self.env_pass {
            if let Ok(v) = std::env::var(name) {
                env.insert(name.clone(), v);
            }
        }
        for (k, v) in &self.env {
            env.insert(k.clone(), v.clone());
        }
        env.into_iter().collect()
    }

    /// Home and temp folders: private ones in the attempt's folder when confined (created
    /// here), the real ones when not.
    fn private_dirs(&self, job: &Job) -> (PathBuf, PathBuf) {
        if !self.sandboxed() {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
            return (home, std::env::temp_dir());
        }
        let (mut home, tmp) = (job.attempt_dir.join("home"), job.attempt_dir.join("tmp"));
        if self.real_home
            && let Some(real) = std::env::var_os("HOME")
        {
            home = PathBuf::from(real);
        } else {
            let _ = std::fs::create_dir_all(&home);
        }
        let _ = std::fs::create_dir_all(&tmp);
        (home, tmp)
    }

    /// The sandbox policy for a command of `job` with environment `env`.
    pub fn policy(&self, job: &Job, env: Vec<(String, String)>) -> Policy {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut p = Policy::strict(job.workspace.clone());
        p.network = self.network;
        p.max_file_bytes = self.max_file_bytes;
        p.max_processes = self.max_processes.max(1);
        p.env = env;
        p.readable.extend(job.readable.iter().cloned());
        p.readable.push(job.attempt_dir.join("brief.md"));
        if let Some(h) = &home {
            p.readable.extend(TOOLCHAINS.iter().map(|t| h.join(t)).filter(|t| t.exists()));
        }
        // Programs on PATH must run.
        if let Ok(path) = std::env::var("PATH") {
            p.readable.extend(std::env::split_paths(&path).filter(|d| d.is_absolute() && d.exists()));
        }
        p.readable.extend(self.read.iter().map(|r| coord_sandbox::expand(r, home.as_deref())));
        p.writable.extend(self.write.iter().map(|w| coord_sandbox::expand(w, home.as_deref())));
        let (h, t) = self.private_dirs(job);
        if !self.real_home {
            p.writable.push(h);
        }
        p.writable.push(t);
        p.denied = coord_sandbox::DEFAULT_DENIED
            .iter()
            .map(|d| coord_sandbox::expand(d, home.as_deref()))
            .chain(self.deny.iter().map(|d| coord_sandbox::expand(d, home.as_deref())))
            .collect();
        p.read_only = protected_in(&job.workspace, self.allow_ci);
        if self.read_only_workspace {
            p.read_only.push(job.workspace.clone());
        }
        p
    }
}

/// The protected paths that exist in a workspace (made read-only inside the sandbox).
fn protected_in(workspace: &Path, allow_ci: bool) -> Vec<PathBuf> {
    coord_sandbox::PROTECTED
        .iter()
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| coord_sandbox::is_protected(p, allow_ci))
        .map(|p| workspace.join(p))
        .filter(|p| p.exists())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}
