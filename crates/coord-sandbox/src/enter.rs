//! The trampoline: `coord __sandbox 1 <policy> -- <program> <args...>`. See the crate's
//! documentation for the two stages. Every failure to set a layer up is one line on stderr
//! (`coord sandbox: ...`) and exit code 126, never a program running with less confinement
//! than its policy asked for, except where the machine lacks namespaces (then stage 1 says
//! once which layers apply and runs the program under the rest).

use crate::Policy;
use std::ffi::OsString;

/// The first argument that makes the binary a trampoline.
pub const TRAMPOLINE_ARG: &str = "__sandbox";

/// Exit code of a sandbox that could not be set up.
const SETUP_FAILED: i32 = 126;

/// When the process was started as the trampoline, runs it and exits; otherwise returns at
/// once. Call it first thing in `main`.
pub fn enter() {
    let mut args = std::env::args_os();
    let _exe = args.next();
    if args.next().as_deref() != Some(std::ffi::OsStr::new(TRAMPOLINE_ARG)) {
        return;
    }
    let code = match parse(args.collect()).and_then(|(stage, policy, argv)| run(stage, &policy, &argv)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("coord sandbox: {e}");
            SETUP_FAILED
        }
    };
    std::process::exit(code);
}

fn parse(args: Vec<OsString>) -> Result<(u8, Policy, Vec<OsString>), String> {
    let mut it = args.into_iter();
    let stage = match it.next().and_then(|s| s.into_string().ok()).as_deref() {
        Some("1") => 1,
        Some("2") => 2,
        other => return Err(format!("unknown stage {other:?}")),
    };
    let json = it.next().and_then(|s| s.into_string().ok()).ok_or("the policy is missing")?;
    let policy: Policy = serde_json::from_str(&json).map_err(|e| format!("the policy is unreadable: {e}"))?;
    if it.next().as_deref() != Some(std::ffi::OsStr::new("--")) {
        return Err("expected `--` before the program".into());
    }
    let argv: Vec<OsString> = it.collect();
    if argv.is_empty() {
        return Err("no program to run".into());
    }
    Ok((stage, policy, argv))
}

#[cfg(not(target_os = "linux"))]
fn run(_stage: u8, _policy: &Policy, _argv: &[OsString]) -> Result<i32, String> {
    Err("the sandbox needs Linux with Landlock".into())
}

#[cfg(target_os = "linux")]
fn run(stage: u8, policy: &Policy, argv: &[OsString]) -> Result<i32, String> {
    match stage {
        1 => linux::stage1(policy, argv),
        _ => linux::stage2(policy, argv),
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{Policy, TRAMPOLINE_ARG};
    use crate::policy::Network;
    use landlock::{
        ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetStatus, Scope,
    };
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    use nix::sys::prctl;
    use nix::sys::resource::{Resource, setrlimit};
    use nix::sys::signal::Signal;
    use nix::sys::wait::{WaitStatus, waitpid};
    use nix::unistd::{Pid, getegid, geteuid, getppid};
    use std::ffi::OsString;
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};

    const ABI_WANTED: ABI = ABI::V7;

    /// Dies with the coordinator, takes its limits and namespaces, starts stage 2 (or, without
    /// namespaces, confines itself and becomes the program).
    pub(super) fn stage1(policy: &Policy, argv: &[OsString]) -> Result<i32, String> {
        prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| format!("cannot tie the sandbox to coord: {e}"))?;
        if getppid().as_raw() as u32 != policy.parent {
            return Err("the coordinator that started this command is gone".into());
        }
        setrlimit(Resource::RLIMIT_FSIZE, policy.max_file_bytes, policy.max_file_bytes)
            .map_err(|e| format!("cannot limit file sizes: {e}"))?;
        // Counted per user over the whole machine; effective inside the user namespace below
        // (even for root, who is exempt outside it).
        let tasks = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| {
                l.split_whitespace().nth(3).and_then(|f| f.split('/').nth(1)).and_then(|n| n.parse::<u64>().ok())
            })
            .unwrap_or(4096);
        let nproc = tasks + policy.max_processes;
        setrlimit(Resource::RLIMIT_NPROC, nproc, nproc).map_err(|e| format!("cannot limit processes: {e}"))?;
        if !crate::support().namespaces {
            eprintln!("coord sandbox: {}", crate::support().summary());
            return become_program(policy, argv);
        }
        enter_namespaces(policy)?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find coord's own binary: {e}"))?;
        let json = serde_json::to_string(policy).map_err(|e| e.to_string())?;
        let mut child = std::process::Command::new(exe)
            .arg(TRAMPOLINE_ARG)
            .arg("2")
            .arg(json)
            .arg("--")
            .args(argv)
            .env_clear()
            .spawn()
            .map_err(|e| format!("cannot start the sandbox's second stage: {e}"))?;
        let status = child.wait().map_err(|e| format!("lost the sandbox's second stage: {e}"))?;
        Ok(status.code().unwrap_or(super::SETUP_FAILED))
    }

    fn enter_namespaces(policy: &Policy) -> Result<(), String> {
        let (uid, gid) = (geteuid(), getegid());
        unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("cannot create a user namespace: {e}"))?;
        let write =
            |file: &str, text: String| std::fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"));
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
        write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
        let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWIPC;
        if policy.network != Network::On {
            flags |= CloneFlags::CLONE_NEWNET;
        }
        unshare(flags).map_err(|e| format!("cannot create mount, PID and network namespaces: {e}"))
    }

    /// PID 1 of the namespace: private mounts, Landlock, the program, reaping.
    pub(super) fn stage2(policy: &Policy, argv: &[OsString]) -> Result<i32, String> {
        prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| format!("cannot tie the sandbox to coord: {e}"))?;
        mounts(policy)?;
        if policy.network == Network::Local {
            // Loopback up, nothing else: local servers for tests, no way out.
            let _ = std::process::Command::new("ip").args(["link", "set", "lo", "up"]).env_clear().status();
        }
        confine(policy)?;
        let mut cmd = program(policy, argv);
        let child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", argv[0].to_string_lossy()))?;
        let pid = Pid::from_raw(child.id() as i32);
        // As PID 1, every orphan of the namespace is ours to reap; the program's end is ours.
        loop {
            match waitpid(None, None) {
                Ok(WaitStatus::Exited(p, code)) if p == pid => return Ok(code),
                Ok(WaitStatus::Signaled(p, sig, _)) if p == pid => {
                    eprintln!("coord sandbox: the program was killed by {}", sig.as_str());
                    return Ok(128 + sig as i32);
                }
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(format!("lost the program: {e}")),
            }
        }
    }

    fn mounts(policy: &Policy) -> Result<(), String> {
        let none: Option<&str> = None;
        mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
            .map_err(|e| format!("cannot make the mounts private: {e}"))?;
        // A /proc of this PID namespace (best effort: a /proc with parts masked, as in some
        // containers, cannot be mounted again; Landlock still keeps other processes out).
        let _ = mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            none,
        );
        if policy.network != Network::On {
            // Local services' sockets (databases, docker) live under /run.
            for dir in ["/run", "/var/run"] {
                let real = std::fs::symlink_metadata(dir).map(|m| m.is_dir()).unwrap_or(false);
                if real {
                    let _ = mount(
                        Some("tmpfs"),
                        dir,
                        Some("tmpfs"),
                        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                        Some("size=1m"),
                    );
                }
            }
        }
        for p in &policy.read_only {
            if !p.exists() {
                continue;
            }
            mount(Some(p.as_path()), p.as_path(), none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
                .map_err(|e| format!("cannot protect {}: {e}", p.display()))?;
            mount(
                none,
                p.as_path(),
                none,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC,
                none,
            )
            .map_err(|e| format!("cannot make {} read-only: {e}", p.display()))?;
        }
        Ok(())
    }

    /// Landlock: the system and named folders readable (credentials cut out), the workspace
    /// and private folders writable, no TCP unless the network is on, no signals or abstract
    /// sockets outside the sandbox.
    fn confine(policy: &Policy) -> Result<(), String> {
        let abi = ABI_WANTED;
        let err = |e: landlock::RulesetError| format!("cannot set up Landlock: {e}");
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessFs::from_all(abi))
            .map_err(err)?
            .scope(Scope::from_all(abi))
            .map_err(err)?;
        if policy.network != Network::On {
            ruleset = ruleset.handle_access(AccessNet::from_all(abi)).map_err(err)?;
        }
        let mut created = ruleset.create().map_err(err)?;
        let readable = if policy.resolved {
            policy.readable.clone()
        } else {
            crate::paths::resolve_readable(&policy.readable, &policy.denied)
        };
        for path in readable {
            created = add(created, &path, AccessFs::from_read(abi))?;
        }
        let mut writable = vec![policy.workspace.clone()];
        writable.extend(policy.writable.iter().cloned());
        for dev in ["/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts", "/dev/shm"] {
            writable.push(PathBuf::from(dev));
        }
        for path in &writable {
            created = add(created, path, AccessFs::from_all(abi))?;
        }
        let status = created.restrict_self().map_err(err)?;
        if status.ruleset == RulesetStatus::NotEnforced {
            return Err("Landlock is not enforced on this kernel".into());
        }
        Ok(())
    }

    fn add(
        created: landlock::RulesetCreated,
        path: &Path,
        access: landlock::BitFlags<AccessFs>,
    ) -> Result<landlock::RulesetCreated, String> {
        let Ok(meta) = std::fs::metadata(path) else { return Ok(created) };
        let access = if meta.is_dir() { access } else { access & AccessFs::from_file(ABI_WANTED) };
        let Ok(fd) = PathFd::new(path) else { return Ok(created) };
        created.add_rule(PathBeneath::new(fd, access)).map_err(|e| format!("cannot allow {}: {e}", path.display()))
    }

    fn program(policy: &Policy, argv: &[OsString]) -> std::process::Command {
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).env_clear().current_dir(&policy.workspace);
        for (k, v) in &policy.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Without namespaces: Landlock on this process, then the program in its place (death
    /// with the coordinator carries over the exec).
    fn become_program(policy: &Policy, argv: &[OsString]) -> Result<i32, String> {
        confine(policy)?;
        let e = program(policy, argv).exec();
        Err(format!("cannot start {}: {e}", argv[0].to_string_lossy()))
    }
}
