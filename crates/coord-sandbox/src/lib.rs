//! The OS sandbox of every command coord starts for a specialist (a command executor's
//! program, an LLM's `run_command`). coord does not confine a child from inside a `fork` (that
//! needs `unsafe` code between fork and exec); it starts itself as a trampoline,
//! `coord __sandbox`, which confines itself and then starts the program:
//!
//! 1. stage 1 (a child of the coordinator): dies with the coordinator (`PR_SET_PDEATHSIG`),
//!    caps file sizes and process counts (`RLIMIT_FSIZE`, `RLIMIT_NPROC`), and enters new user,
//!    mount, PID and (network off) network namespaces; then starts stage 2;
//! 2. stage 2 (PID 1 of the new PID namespace): mounts a private `/proc`, hides `/run` when the
//!    network is off (local services' sockets), makes protected paths read-only, restricts
//!    itself with Landlock (reads of the system and named folders only, writes only in the
//!    workspace and the private temp and home folders the caller names, no TCP when the
//!    network is off), starts the program with exactly the given environment, and reaps. When stage 2
//!    ends, the kernel kills every process left in the namespace: a daemon that forked away,
//!    a `setsid` child, a fork bomb.
//!
//! Where namespaces are not available, stage 1 applies what it can (death with the parent,
//! limits, Landlock) and runs the program itself ([`Support`] says which). [`Policy`] is what
//! the caller decides; [`command`] builds the trampoline's command line; [`enter`] is the
//! trampoline (the binary calls it first thing in `main`).

mod enter;
mod paths;
mod policy;
mod support;

pub use enter::{TRAMPOLINE_ARG, enter};
pub use paths::{DEFAULT_DENIED, PROTECTED, cut_out, expand, is_protected, readable_system, resolve_readable};
pub use policy::{Network, Policy};
pub use support::{Support, support};

use std::path::PathBuf;
use std::sync::OnceLock;

/// Why a sandboxed command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// This machine cannot confine a program (no Landlock); the message says what to do.
    #[error("{0}")]
    Unsupported(String),
    /// The program that starts the sandbox (coord itself) is unknown.
    #[error("the sandbox launcher is unknown: run through the `coord` binary, or set COORD_SANDBOX_EXE to its path")]
    NoLauncher,
    /// The policy could not be written down.
    #[error("the sandbox policy cannot be encoded: {0}")]
    Encode(String),
}

static LAUNCHER: OnceLock<PathBuf> = OnceLock::new();

/// Names the binary that can act as the trampoline (the `coord` binary sets itself).
pub fn set_launcher(exe: PathBuf) {
    let _ = LAUNCHER.set(exe);
}

/// The trampoline binary: set by [`set_launcher`], else `COORD_SANDBOX_EXE`.
pub fn launcher() -> Option<PathBuf> {
    LAUNCHER.get().cloned().or_else(|| std::env::var_os("COORD_SANDBOX_EXE").map(PathBuf::from))
}

/// The command that runs `argv` under `policy`: the trampoline with the policy and the
/// program. The caller adds stdio, the process group and `kill_on_drop`; the program's
/// environment is the policy's, exactly (the trampoline's own is cleared here).
pub fn command(policy: &Policy, argv: &[String]) -> Result<tokio::process::Command, SandboxError> {
    let exe = launcher().ok_or(SandboxError::NoLauncher)?;
    let support = support();
    if !support.can_confine() {
        return Err(SandboxError::Unsupported(support.refusal()));
    }
    let mut policy = policy.clone();
    if !policy.resolved {
        policy.readable = paths::resolve_readable(&policy.readable, &policy.denied);
        policy.resolved = true;
    }
    let json = serde_json::to_string(&policy).map_err(|e| SandboxError::Encode(e.to_string()))?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg(TRAMPOLINE_ARG).arg("1").arg(json).arg("--").args(argv).env_clear();
    // The trampoline needs nothing from the environment; the program gets `policy.env`.
    Ok(cmd)
}
