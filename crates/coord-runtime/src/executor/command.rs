//! The command executor: any program is a specialist. The brief goes to its stdin and to
//! `COORD_BRIEF_FILE`; the task is described in `COORD_*` environment variables; it runs in the
//! task's workspace (see [`crate::workspace`]: its worktree, or the project folder outside git)
//! in its own process group; stdout and stderr are captured to files (capped); exit code 0 is
//! success. What it changed is the workspace's business (the task's diff against its base). A
//! line `{"coord":"escalate","reason":"...","category":"..."}` on stdout asks for escalation. A
//! timeout, or dropping the future, kills the whole process group.

use super::confine::Confinement;
use super::{Executor, FailureCategory, Job, Outcome};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Runs a program per attempt.
#[derive(Debug, Clone)]
pub struct CommandExecutor {
    /// Program and arguments; `{specialist}`, `{task_id}`, `{run_id}`, `{attempt}`,
    /// `{brief_file}` and `{workspace}` are replaced.
    pub argv: Vec<String>,
    /// Its sandbox and environment.
    pub confinement: Confinement,
    /// Bytes of stdout and of stderr kept in the attempt's files.
    pub output_cap_bytes: u64,
}

impl CommandExecutor {
    /// An executor for `argv`, in place, keeping 8 MiB of each output stream.
    pub fn new(argv: Vec<String>) -> Self {
        CommandExecutor { argv, confinement: Confinement::default(), output_cap_bytes: 8 * 1024 * 1024 }
    }
}

/// This boot of this machine and this PID namespace: a process group recorded elsewhere
/// cannot be told apart from an unrelated one.
fn this_machine() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let ns = std::fs::read_link("/proc/self/ns/pid").map(|p| p.display().to_string()).unwrap_or_default();
    format!("{} {ns}", boot.trim())
}

/// Kills what earlier attempts of the job's task left running: the process groups they
/// recorded on this machine, when the group's leader is still coord's trampoline or the
/// configured program. Called before an attempt starts.
pub fn kill_leftovers(job: &Job) {
    let Some(task_dir) = job.attempt_dir.parent() else { return };
    let Ok(entries) = std::fs::read_dir(task_dir) else { return };
    for entry in entries.flatten() {
        let record = entry.path().join("process");
        let Ok(text) = std::fs::read_to_string(&record) else { continue };
        let mut lines = text.lines();
        let (Some(pgid), Some(machine)) = (lines.next().and_then(|p| p.trim().parse::<i32>().ok()), lines.next())
        else {
            continue;
        };
        if machine != this_machine() || pgid <= 1 {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pgid}/cmdline")).unwrap_or_default();
        let attempt = entry.path().display().to_string();
        let ours = String::from_utf8_lossy(&cmdline).contains(coord_sandbox::TRAMPOLINE_ARG)
            || String::from_utf8_lossy(&cmdline).contains(&attempt);
        if ours || cmdline.is_empty() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        let _ = std::fs::remove_file(&record);
    }
}

fn failed(error: impl Into<String>, retryable: bool) -> Outcome {
    Outcome::Failed { error: error.into(), category: FailureCategory::General, retryable }
}

/// Kills the process group when dropped, unless disarmed: a cancelled attempt leaves no
/// processes behind.
struct GroupGuard {
    pgid: Option<i32>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies a stream to a file line by line, each line redacted (`crate::redact`) and cut at
/// 64 KiB, up to `cap` bytes, then drains the rest; on stdout, watches for the escalation
/// line. Returns the escalation request seen, if any.
async fn capture<R: AsyncRead + Unpin>(
    stream: R,
    path: PathBuf,
    cap: u64,
    watch: bool,
) -> Option<(FailureCategory, String)> {
    const MAX_LINE: usize = 64 * 1024;
    let mut reader = BufReader::new(stream);
    let mut file = tokio::fs::File::create(&path).await.ok();
    let mut written = 0u64;
    let mut truncated = false;
    let mut request = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        // Read one line, keeping at most MAX_LINE bytes of it in memory.
        let mut total = 0usize;
        while let Ok(buf) = reader.fill_buf().await {
            if buf.is_empty() {
                break;
            }
            let (take, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if line.len() < MAX_LINE {
                let room = MAX_LINE - line.len();
                line.extend_from_slice(&buf[..take.min(room)]);
            }
            total += take;
            reader.consume(take);
            if done {
                break;
            }
        }
        if total == 0 {
            break;
        }
        if let Some(f) = file.as_mut() {
            let mut text = crate::redact::redact(&String::from_utf8_lossy(&line));
            if total > line.len() {
                text.push_str(&format!("[coord: line cut after {MAX_LINE} bytes]\n"));
            }
            if written < cap {
                let bytes = text.as_bytes();
                let keep = (cap - written).min(bytes.len() as u64) as usize;
                let _ = f.write_all(&bytes[..keep]).await;
                written += keep as u64;
                truncated |= keep < bytes.len();
            } else {
                truncated = true;
            }
        }
        if watch
            && line.first() == Some(&b'{')
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(line.trim_ascii())
            && v.get("coord").and_then(|c| c.as_str()) == Some("escalate")
        {
            let reason = v.get("reason").and_then(|r| r.as_str()).unwrap_or("no reason given").to_string();
            let category = v
                .get("category")
                .and_then(|c| c.as_str())
                .and_then(|c| c.parse::<FailureCategory>().ok())
                .unwrap_or(FailureCategory::General);
            request = Some((category, reason));
        }
    }
    if let Some(f) = file.as_mut() {
        if truncated {
            let _ = f.write_all(format!("\n[coord: output truncated after {cap} bytes]\n").as_bytes()).await;
        }
        let _ = f.flush().await;
    }
    request
}

/// The last lines of a captured stream, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).to_string()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(20);
    let mut out = lines[start..].join("\n");
    if out.len() > 2048 {
        let mut cut = out.len() - 2048;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    out
}

/// What a failed command said last: its stderr's last lines, else its stdout's, else that it
/// said nothing (an empty reason reads like a bug in coord).
fn last_words(stderr: &Path, stdout: &Path) -> String {
    let err = tail(stderr);
    if !err.trim().is_empty() {
        return err;
    }
    let out = tail(stdout);
    if !out.trim().is_empty() {
        return format!("(nothing on stderr; its last output)\n{out}");
    }
    "(it printed nothing on stderr or stdout)".to_string()
}

/// The program a bare name (`true`, `npm`) finds on `path`, else the name unchanged (spawning
/// then fails with the usual "not found"). Found here rather than by the standard library:
/// a command whose environment sets `PATH` and names a bare program makes it fork the whole
/// coordinator (copying its page tables, ~2 ms for a 100 MB process) where an absolute path
/// lets it use `posix_spawn`, which does not copy.
fn on_path(program: &str, path: Option<&str>) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') || program.is_empty() {
        return PathBuf::from(program);
    }
    for dir in std::env::split_paths(path.unwrap_or("/usr/local/bin:/usr/bin:/bin")) {
        if !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(program);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
            && meta.permissions().mode() & 0o111 != 0
        {
            return candidate;
        }
    }
    PathBuf::from(program)
}

fn signal_name(sig: i32) -> String {
    Signal::try_from(sig).map(|s| s.as_str().to_string()).unwrap_or_else(|_| "signal".to_string())
}

impl Executor for CommandExecutor {
    fn kind(&self) -> &'static str {
        "command"
    }

    async fn execute(&self, job: &Job) -> Outcome {
        if self.argv.is_empty() {
            return failed("no command configured for this specialist (set `command = [...]` in coord.toml)", false);
        }
        if let Err(e) = tokio::fs::create_dir_all(&job.attempt_dir).await {
            return failed(format!("cannot create {}: {e}", job.attempt_dir.display()), true);
        }
        kill_leftovers(job);
        let brief_file = job.attempt_dir.join("brief.md");
        if let Err(e) = tokio::fs::write(&brief_file, &job.brief).await {
            return failed(format!("cannot write {}: {e}", brief_file.display()), true);
        }
        let brief_file = std::fs::canonicalize(&brief_file).unwrap_or(brief_file);

        let workdir = job.workspace.clone();

        let fill = |s: &str| {
            s.replace("{specialist}", &job.specialist)
                .replace("{task_id}", &job.task_id)
                .replace("{run_id}", &job.run_id)
                .replace("{attempt}", &job.attempt.to_string())
                .replace("{brief_file}", &brief_file.display().to_string())
                .replace("{workspace}", &workdir.display().to_string())
        };
        let argv: Vec<String> = self.argv.iter().map(|a| fill(a)).collect();
        let env = self.confinement.environment(job, &[("COORD_BRIEF_FILE", brief_file.display().to_string())]);
        let mut cmd = if self.confinement.sandboxed() {
            match coord_sandbox::command(&self.confinement.policy(job, env), &argv) {
                Ok(cmd) => cmd,
                Err(e) => return failed(e.to_string(), false),
            }
        } else {
            let program = on_path(&argv[0], env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str()));
            let mut cmd = Command::new(program);
            cmd.args(&argv[1..]).env_clear().envs(env);
            cmd
        };
        cmd.current_dir(&workdir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return failed(
                    format!("cannot start `{}`: {e} (check the specialist's `command` in coord.toml)", argv[0]),
                    false,
                );
            }
        };
        let mut guard = GroupGuard { pgid: child.id().map(|id| id as i32) };
        // Where its process group is, for whoever takes the task over if this coordinator
        // freezes: a frozen coordinator's agents would otherwise run beside their retry.
        let record = job.attempt_dir.join("process");
        if let Some(pgid) = guard.pgid {
            let _ = std::fs::write(&record, format!("{pgid}\n{}\n", this_machine()));
        }

        let stdin = child.stdin.take();
        let brief = job.brief.clone();
        let feed = tokio::spawn(async move {
            if let Some(mut stdin) = stdin {
                // A program that never reads its stdin is fine: a broken pipe is ignored.
                let _ = stdin.write_all(brief.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
        });
        let stdout_path = job.attempt_dir.join("stdout.log");
        let stderr_path = job.attempt_dir.join("stderr.log");
        let out_task =
            child.stdout.take().map(|s| tokio::spawn(capture(s, stdout_path.clone(), self.output_cap_bytes, true)));
        let err_task =
            child.stderr.take().map(|s| tokio::spawn(capture(s, stderr_path.clone(), self.output_cap_bytes, false)));

        let status = match tokio::time::timeout(job.timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                guard.kill();
                return failed(format!("lost track of the command: {e}"), true);
            }
            Err(_) => {
                guard.kill();
                let _ = child.wait().await;
                return failed(format!("timed out after {}s; process group killed", job.timeout.as_secs()), true);
            }
        };
        // The leader exited: stop anything it left running in its group, so the output pipes
        // close and no stray process outlives the attempt.
        guard.kill();
        let _ = std::fs::remove_file(&record);
        feed.abort();
        let escalation = match out_task {
            Some(t) => t.await.ok().flatten(),
            None => None,
        };
        if let Some(t) = err_task {
            let _ = t.await;
        }

        if !workdir.exists() {
            return failed(
                format!("the workspace {} no longer exists after the command ran", workdir.display()),
                false,
            );
        }
        if let Some((category, reason)) = escalation {
            return Outcome::EscalationRequested { category, reason };
        }
        if let Some(sig) = status.signal() {
            return failed(format!("killed by signal {} ({sig})\n{}", signal_name(sig), tail(&stderr_path)), true);
        }
        let code = status.code().unwrap_or(-1);
        if code != 0 {
            return failed(format!("exit code {code}: {}", last_words(&stderr_path, &stdout_path)), true);
        }

        Outcome::Succeeded { artifacts: Vec::new(), summary: "exit 0".to_string() }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::on_path;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    #[test]
    fn a_bare_name_is_found_on_the_given_path_only_as_an_executable_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for d in [&a, &b] {
            std::fs::create_dir(d).unwrap();
        }
        // Not executable in `a`, executable in `b`: `b`'s is the one.
        std::fs::write(a.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::write(b.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(a.join("sub")).unwrap();
        let path = format!("relative:{}:{}", a.display(), b.display());
        assert_eq!(on_path("tool", Some(&path)), b.join("tool"));
        // A folder of that name is not a program; what is not found stays as written.
        assert_eq!(on_path("sub", Some(&path)), PathBuf::from("sub"));
        assert_eq!(on_path("missing", Some(&path)), PathBuf::from("missing"));
        assert_eq!(on_path("./x/tool", Some(&path)), PathBuf::from("./x/tool"));
    }
}
