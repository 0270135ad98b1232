//! The tools an LLM specialist works with, confined to its workspace: `read_file`,
//! `write_file`, `edit_file` (exact replace), `list_files`, `search` (regex) and `run_command`
//! (allow-listed programs, timeout, output cap). A path that leaves the workspace — absolute,
//! with `..`, or through a symlink that points out — is refused, and so is a write to a
//! protected path (coord's configuration, agent and MCP files, CI files, `.git`) or past the
//! size cap. `run_command` starts its program in the OS sandbox (`coord_sandbox`) when the
//! limits carry a policy, always with the clean environment they give.

use crate::types::ToolSpec;
use regex::Regex;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Limits of the tools.
#[derive(Debug, Clone)]
pub struct ToolLimits {
    /// Programs `run_command` may start (by name, the first argument).
    pub allow_commands: Vec<String>,
    /// Timeout of one command.
    pub command_timeout: Duration,
    /// Bytes of command output or file content returned to the model.
    pub output_cap: usize,
    /// The largest file `write_file` or `edit_file` may leave.
    pub max_write_bytes: usize,
    /// The OS sandbox of `run_command` (its workspace is replaced by the tools' root).
    pub sandbox: Option<coord_sandbox::Policy>,
    /// The environment of `run_command`, exactly (with a sandbox, the policy's is used).
    pub env: Vec<(String, String)>,
    /// Whether CI files may be written (a DevOps specialist).
    pub allow_ci: bool,
    /// What every tool result goes through before the model sees it.
    pub redact: Redact,
    /// Only the reading tools (an agent file whose `tools:` list none that writes or runs):
    /// `write_file`, `edit_file` and `run_command` are neither offered nor carried out.
    pub read_only: bool,
}

/// The tools that change files or run programs.
pub const WRITING_TOOLS: &[&str] = &["write_file", "edit_file", "run_command"];

/// A function that replaces secrets in a text.
type RedactFn = dyn Fn(&str) -> String + Send + Sync;

/// A redaction of tool results (secrets replaced); none by default.
#[derive(Clone, Default)]
pub struct Redact(Option<std::sync::Arc<RedactFn>>);

impl Redact {
    /// Results go through `f`.
    pub fn with(f: impl Fn(&str) -> String + Send + Sync + 'static) -> Redact {
        Redact(Some(std::sync::Arc::new(f)))
    }

    /// `text` redacted.
    pub fn apply(&self, text: String) -> String {
        match &self.0 {
            Some(f) => f(&text),
            None => text,
        }
    }
}

impl std::fmt::Debug for Redact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Redact(on)" } else { "Redact(off)" })
    }
}

impl Default for ToolLimits {
    fn default() -> Self {
        ToolLimits {
            allow_commands: Vec::new(),
            command_timeout: Duration::from_secs(120),
            output_cap: 32 * 1024,
            max_write_bytes: 16 * 1024 * 1024,
            sandbox: None,
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()))],
            allow_ci: false,
            redact: Redact::default(),
            read_only: false,
        }
    }
}

/// The tools offered under `limits`: all of them, or the reading ones for a read-only agent.
pub fn specs_for(limits: &ToolLimits) -> Vec<ToolSpec> {
    specs().into_iter().filter(|s| !(limits.read_only && WRITING_TOOLS.contains(&s.name.as_str()))).collect()
}

/// The tools' JSON schemas, as offered to the model.
pub fn specs() -> Vec<ToolSpec> {
    let obj = |props: serde_json::Value, required: &[&str]| serde_json::json!({ "type": "object", "properties": props, "required": required });
    vec![
        ToolSpec {
            name: "read_file".into(),
            description: "Read a UTF-8 file of the workspace.".into(),
            input_schema: obj(serde_json::json!({ "path": { "type": "string" } }), &["path"]),
        },
        ToolSpec {
            name: "write_file".into(),
            description: "Create or overwrite a file of the workspace.".into(),
            input_schema: obj(
                serde_json::json!({ "path": { "type": "string" }, "content": { "type": "string" } }),
                &["path", "content"],
            ),
        },
        ToolSpec {
            name: "edit_file".into(),
            description: "Replace exactly one occurrence of `old` with `new` in a file.".into(),
            input_schema: obj(
                serde_json::json!({ "path": { "type": "string" }, "old": { "type": "string" }, "new": { "type": "string" } }),
                &["path", "old", "new"],
            ),
        },
        ToolSpec {
            name: "list_files".into(),
            description: "List files under a folder of the workspace (default: its root).".into(),
            input_schema: obj(serde_json::json!({ "path": { "type": "string" } }), &[]),
        },
        ToolSpec {
            name: "search".into(),
            description: "Search the workspace's files for a regular expression; returns path:line: text.".into(),
            input_schema: obj(
                serde_json::json!({ "pattern": { "type": "string" }, "path": { "type": "string" } }),
                &["pattern"],
            ),
        },
        ToolSpec {
            name: "run_command".into(),
            description: "Run an allowed program in the workspace (argv list, no shell).".into(),
            input_schema: obj(
                serde_json::json!({ "argv": { "type": "array", "items": { "type": "string" } } }),
                &["argv"],
            ),
        },
    ]
}

/// A workspace the tools are confined to.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    limits: ToolLimits,
    changed: Vec<String>,
}

/// The result of one tool call: the text for the model, and whether it is an error.
pub type ToolOutput = (String, bool);

fn err(msg: impl Into<String>) -> ToolOutput {
    (msg.into(), true)
}

/// Reads a stream to its end, keeping at most `cap` bytes: the program never blocks on a full
/// pipe, and a flood never fills memory.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(stream: Option<R>, cap: usize) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut kept = Vec::new();
    let Some(mut s) = stream else { return kept };
    let mut buf = [0u8; 8192];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

fn cap(mut s: String, limit: usize) -> String {
    if s.len() > limit {
        let mut cut = limit;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let total = s.len();
        s.truncate(cut);
        s.push_str(&format!("\n[truncated: {total} bytes in all]"));
    }
    s
}

impl Workspace {
    /// Tools over `root` (which must exist).
    pub fn new(root: &Path, limits: ToolLimits) -> std::io::Result<Workspace> {
        Ok(Workspace { root: std::fs::canonicalize(root)?, limits, changed: Vec::new() })
    }

    /// Files written or edited so far (relative paths).
    pub fn changed(&self) -> &[String] {
        &self.changed
    }

    /// Resolves a workspace-relative path, refusing every way out.
    pub fn resolve(&self, raw: &str) -> Result<PathBuf, String> {
        let rel = Path::new(raw.trim());
        if raw.trim().is_empty() {
            return Ok(self.root.clone());
        }
        if raw.contains('\0') {
            return Err("the path contains a NUL byte".into());
        }
        let mut clean = PathBuf::new();
        for c in rel.components() {
            match c {
                Component::Normal(p) => clean.push(p),
                Component::CurDir => {}
                Component::ParentDir => return Err(format!("`{raw}` leaves the workspace (`..` is not allowed)")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!("`{raw}` is absolute; use a path inside the workspace"));
                }
            }
        }
        let full = self.root.join(&clean);
        // The nearest existing ancestor, with symlinks resolved, must be inside the root.
        let mut probe = full.clone();
        loop {
            if let Ok(real) = std::fs::canonicalize(&probe) {
                if !real.starts_with(&self.root) {
                    return Err(format!("`{raw}` resolves outside the workspace (through a symlink)"));
                }
                break;
            }
            if std::fs::symlink_metadata(&probe).is_ok() {
                return Err(format!("`{raw}` goes through a broken or looping symlink"));
            }
            if !probe.pop() {
                return Err(format!("`{raw}` is not inside the workspace"));
            }
        }
        Ok(full)
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.root).unwrap_or(p).to_string_lossy().into_owned()
    }

    /// Refuses a write to a protected path or past the size cap.
    fn writable(&self, p: &Path, raw: &str, len: usize) -> Result<(), String> {
        if coord_sandbox::is_protected(&self.rel(p), self.limits.allow_ci) {
            return Err(format!(
                "`{raw}` is protected (coord's configuration, agent or MCP files, CI files or .git): no specialist may change it"
            ));
        }
        if len > self.limits.max_write_bytes {
            return Err(format!("{len} bytes is more than the {} a file may have here", self.limits.max_write_bytes));
        }
        Ok(())
    }

    fn mark(&mut self, p: &Path) {
        let r = self.rel(p);
        if !self.changed.contains(&r) {
            self.changed.push(r);
        }
    }

    /// Runs one tool call; its result is redacted before the model sees it.
    pub async fn call(&mut self, name: &str, input: &serde_json::Value) -> ToolOutput {
        let (text, is_error) = self.call_raw(name, input).await;
        (self.limits.redact.apply(text), is_error)
    }

    async fn call_raw(&mut self, name: &str, input: &serde_json::Value) -> ToolOutput {
        if self.limits.read_only && WRITING_TOOLS.contains(&name) {
            return err(format!(
                "`{name}` is not available: this agent is read-only (its agent file lists only reading tools)"
            ));
        }
        let s = |k: &str| input.get(k).and_then(|v| v.as_str());
        match name {
            "read_file" => {
                let Some(path) = s("path") else { return err("read_file needs `path`") };
                match self.resolve(path) {
                    Err(e) => err(e),
                    Ok(p) => match std::fs::read(&p) {
                        Ok(bytes) => (cap(String::from_utf8_lossy(&bytes).into_owned(), self.limits.output_cap), false),
                        Err(e) => err(format!("cannot read `{path}`: {e}")),
                    },
                }
            }
            "write_file" => {
                let (Some(path), Some(content)) = (s("path"), s("content")) else {
                    return err("write_file needs `path` and `content`");
                };
                match self.resolve(path) {
                    Err(e) => err(e),
                    Ok(p) => {
                        if let Err(e) = self.writable(&p, path, content.len()) {
                            return err(e);
                        }
                        if let Some(parent) = p.parent()
                            && let Err(e) = std::fs::create_dir_all(parent)
                        {
                            return err(format!("cannot create the folder of `{path}`: {e}"));
                        }
                        // Re-check after creating folders: a race could have placed a symlink.
                        if let Err(e) = self.resolve(path) {
                            return err(e);
                        }
                        match std::fs::write(&p, content) {
                            Ok(()) => {
                                self.mark(&p);
                                (format!("wrote {} bytes to {path}", content.len()), false)
                            }
                            Err(e) => err(format!("cannot write `{path}`: {e}")),
                        }
                    }
                }
            }
            "edit_file" => {
                let (Some(path), Some(old), Some(new)) = (s("path"), s("old"), s("new")) else {
                    return err("edit_file needs `path`, `old` and `new`");
                };
                let p = match self.resolve(path) {
                    Ok(p) => p,
                    Err(e) => return err(e),
                };
                let text = match std::fs::read_to_string(&p) {
                    Ok(t) => t,
                    Err(e) => return err(format!("cannot read `{path}`: {e}")),
                };
                let edited_len = text.len() - old.len().min(text.len()) + new.len();
                if let Err(e) = self.writable(&p, path, edited_len) {
                    return err(e);
                }
                match text.matches(old).count() {
                    0 => err(format!("`old` does not occur in {path}")),
                    1 => match std::fs::write(&p, text.replacen(old, new, 1)) {
                        Ok(()) => {
                            self.mark(&p);
                            (format!("edited {path}"), false)
                        }
                        Err(e) => err(format!("cannot write `{path}`: {e}")),
                    },
                    n => err(format!("`old` occurs {n} times in {path}; include more context so it is unique")),
                }
            }
            "list_files" => {
                let base = match self.resolve(s("path").unwrap_or("")) {
                    Ok(p) => p,
                    Err(e) => return err(e),
                };
                let mut out = Vec::new();
                let mut stack = vec![base];
                while let Some(d) = stack.pop() {
                    let Ok(entries) = std::fs::read_dir(&d) else { continue };
                    for e in entries.filter_map(Result::ok) {
                        let Ok(t) = e.file_type() else { continue };
                        let name = e.file_name();
                        if t.is_dir() && !matches!(name.to_str(), Some(".git" | "node_modules" | "target" | ".coord")) {
                            stack.push(e.path());
                        } else if t.is_file() {
                            out.push(self.rel(&e.path()));
                        }
                    }
                    if out.len() > 2000 {
                        break;
                    }
                }
                out.sort();
                (cap(out.join("\n"), self.limits.output_cap), false)
            }
            "search" => {
                let Some(pattern) = s("pattern") else { return err("search needs `pattern`") };
                let re = match Regex::new(pattern) {
                    Ok(r) => r,
                    Err(e) => return err(format!("invalid regular expression: {e}")),
                };
                let base = match self.resolve(s("path").unwrap_or("")) {
                    Ok(p) => p,
                    Err(e) => return err(e),
                };
                let mut hits = Vec::new();
                let mut stack = vec![base];
                while let Some(d) = stack.pop() {
                    let paths: Vec<PathBuf> = if d.is_file() {
                        vec![d.clone()]
                    } else {
                        std::fs::read_dir(&d)
                            .map(|es| es.filter_map(Result::ok).map(|e| e.path()).collect())
                            .unwrap_or_default()
                    };
                    for p in paths {
                        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
                        if meta.is_dir() && p != d {
                            if !matches!(
                                p.file_name().and_then(|n| n.to_str()),
                                Some(".git" | "node_modules" | "target" | ".coord")
                            ) {
                                stack.push(p);
                            }
                        } else if meta.is_file() && meta.len() < 2 * 1024 * 1024 {
                            let Ok(text) = std::fs::read_to_string(&p) else { continue };
                            for (i, line) in text.lines().enumerate() {
                                if re.is_match(line) {
                                    hits.push(format!("{}:{}: {}", self.rel(&p), i + 1, line.trim()));
                                }
                            }
                        }
                    }
                    if hits.len() > 500 {
                        break;
                    }
                }
                (
                    cap(if hits.is_empty() { "no matches".into() } else { hits.join("\n") }, self.limits.output_cap),
                    false,
                )
            }
            "run_command" => {
                let argv: Vec<String> = input
                    .get("argv")
                    .and_then(|a| a.as_array())
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                let Some(program) = argv.first() else { return err("run_command needs `argv` (a non-empty list)") };
                if program.contains('/') || !self.limits.allow_commands.iter().any(|a| a == program) {
                    return err(format!(
                        "`{program}` is not an allowed command (allowed: {})",
                        self.limits.allow_commands.join(", ")
                    ));
                }
                self.run(&argv).await
            }
            other => err(format!("unknown tool `{other}`")),
        }
    }

    async fn run(&mut self, argv: &[String]) -> ToolOutput {
        let mut cmd = match &self.limits.sandbox {
            Some(policy) => {
                let mut policy = policy.clone();
                policy.workspace = self.root.clone();
                match coord_sandbox::command(&policy, argv) {
                    Ok(cmd) => cmd,
                    Err(e) => return err(format!("cannot start `{}`: {e}", argv[0])),
                }
            }
            None => {
                let mut cmd = tokio::process::Command::new(&argv[0]);
                cmd.args(&argv[1..]).env_clear().envs(self.limits.env.iter().map(|(k, v)| (k, v)));
                cmd
            }
        };
        let child = cmd
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => return err(format!("cannot start `{}`: {e}", argv[0])),
        };
        let pgid = child.id().map(|i| i as i32);
        let cap_bytes = self.limits.output_cap;
        let out_task = tokio::spawn(read_capped(child.stdout.take(), cap_bytes));
        let err_task = tokio::spawn(read_capped(child.stderr.take(), cap_bytes));
        let kill = |pgid: Option<i32>| {
            if let Some(pgid) = pgid {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
            }
        };
        let status = match tokio::time::timeout(self.limits.command_timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                kill(pgid);
                return err(format!("`{}` failed: {e}", argv[0]));
            }
            Err(_) => {
                kill(pgid);
                let _ = child.wait().await;
                out_task.abort();
                err_task.abort();
                return err(format!(
                    "`{}` timed out after {}s and was killed",
                    argv[0],
                    self.limits.command_timeout.as_secs()
                ));
            }
        };
        kill(pgid); // anything the program left running in its group
        let stdout = out_task.await.unwrap_or_default();
        let stderr = err_task.await.unwrap_or_default();
        let mut text = String::from_utf8_lossy(&stdout).into_owned();
        let stderr = String::from_utf8_lossy(&stderr);
        if !stderr.trim().is_empty() {
            text.push_str("\n[stderr]\n");
            text.push_str(&stderr);
        }
        let code = status.code().map_or("killed by a signal".to_string(), |c| format!("exit code {c}"));
        (cap(format!("{code}\n{text}"), self.limits.output_cap), !status.success())
    }
}
