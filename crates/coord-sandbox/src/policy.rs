//! What a sandboxed program may do, as the caller decides it for one command.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The network a sandboxed program has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// None at all: no interfaces, no TCP, local services' sockets under `/run` hidden.
    #[default]
    Off,
    /// Loopback only (a local server for its tests), nothing beyond.
    Local,
    /// The machine's network.
    On,
}

/// The confinement of one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Where the program runs and may write: the task's workspace.
    pub workspace: PathBuf,
    /// Further folders it may write (created by the caller): its private temp folder and home.
    #[serde(default)]
    pub writable: Vec<PathBuf>,
    /// Folders and files it may read and run programs from, besides the system's
    /// ([`crate::readable_system`]): the repository's git folder, toolchains, what the user
    /// added.
    #[serde(default)]
    pub readable: Vec<PathBuf>,
    /// Paths never readable, even inside a readable folder (credentials). Landlock allows by
    /// folder; a readable folder holding one of these is opened up entry by entry around it.
    #[serde(default)]
    pub denied: Vec<PathBuf>,
    /// Paths inside the workspace made read-only when a mount namespace is available (coord's
    /// configuration, agent files, CI files, the worktree's `.git`). Changes to them are also
    /// refused after the attempt, sandbox or not.
    #[serde(default)]
    pub read_only: Vec<PathBuf>,
    /// What network the program has.
    #[serde(default)]
    pub network: Network,
    /// The largest file it may write, bytes (`RLIMIT_FSIZE`).
    pub max_file_bytes: u64,
    /// Processes it may have at once, beyond those its user already runs.
    pub max_processes: u64,
    /// Its environment, exactly.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// The coordinator's process id: the sandbox ends when it does.
    pub parent: u32,
    /// Whether `readable` is final: the system folders added and `denied` cut out already
    /// (done once per process by [`crate::command`], so each command does not redo it).
    #[serde(default)]
    pub resolved: bool,
}

impl Policy {
    /// A strict policy for `workspace`: nothing else writable, no network, 1 GiB files, 1024
    /// processes.
    pub fn strict(workspace: PathBuf) -> Policy {
        Policy {
            workspace,
            writable: Vec::new(),
            readable: Vec::new(),
            denied: Vec::new(),
            read_only: Vec::new(),
            network: Network::Off,
            max_file_bytes: 1 << 30,
            max_processes: 1024,
            env: Vec::new(),
            parent: std::process::id(),
            resolved: false,
        }
    }
}
