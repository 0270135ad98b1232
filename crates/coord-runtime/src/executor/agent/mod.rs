//! Coding-agent CLIs as specialists (`executor = "claude-code" | "codex" | "gemini" | "aider" |
//! "opencode"`). Each CLI is a small module that knows its non-interactive command line (brief,
//! persona, model, tool permissions, session to resume, turn limit) and its machine-readable
//! output ([`AgentReport`]: final message, success, turns, tokens, cost, session). The
//! [`AgentExecutor`] runs the CLI through the command executor (same workspace, sandbox, clean
//! environment, process group and captured logs), reads the report back from its output, and
//! records it: `agent.json` (everything), `transcript.json` (the tokens and cost, which the
//! run's accounting, metrics and budgets read exactly as they read the built-in LLM loop's).
//!
//! A retry by the same specialist resumes the previous attempt's session when the CLI can
//! (Claude Code, Codex, OpenCode), with the feedback as the new prompt; a session that cannot
//! be resumed is started afresh within the same attempt.

mod aider;
mod claude;
mod codex;
mod gemini;
mod opencode;
mod report;

pub use report::{AgentReport, Usage};

use super::command::CommandExecutor;
use super::confine::Confinement;
use super::{Executor, FailureCategory, Job, Outcome};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The coding-agent CLIs coord drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentCli {
    /// Anthropic's Claude Code.
    ClaudeCode,
    /// OpenAI's Codex CLI.
    Codex,
    /// Google's Gemini CLI.
    Gemini,
    /// Aider.
    Aider,
    /// OpenCode.
    #[serde(rename = "opencode")]
    OpenCode,
}

/// What one call of a CLI is asked to do.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    /// The program (the CLI's usual name, or the configured path).
    pub program: &'a str,
    /// The persona (the agent file's body), for CLIs that take a system prompt.
    pub persona: &'a str,
    /// The model, when one is set (aliases already resolved for this CLI).
    pub model: Option<&'a str>,
    /// Read-only: no edits, no commands.
    pub read_only: bool,
    /// The agent file's tools, as listed (Claude Code's names).
    pub tools: &'a [String],
    /// The session to resume.
    pub resume: Option<&'a str>,
    /// Turn limit.
    pub max_turns: Option<u32>,
    /// Arguments appended (the specialist's `command[1..]`).
    pub extra: &'a [String],
    /// Dollars the CLI may spend, for CLIs that can stop themselves (the run's cap's remainder).
    pub max_budget_usd: Option<f64>,
}

/// Tools of Claude Code's vocabulary (the agent files') that change files or run programs.
const WRITING_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit", "Bash"];

/// Whether an agent file's `tools:` list makes its agent read-only: a list was given and none
/// of its tools writes files or runs commands (`tools: Read, Grep, Glob`). No list means all
/// tools, as in Claude Code.
pub fn is_read_only(tools: &[String]) -> bool {
    !tools.is_empty()
        && !tools.iter().any(|t| {
            let name = t.split('(').next().unwrap_or(t).trim();
            name == "*" || WRITING_TOOLS.contains(&name)
        })
}

impl AgentCli {
    /// Every CLI, in the order `coord init` prefers them.
    pub const ALL: [AgentCli; 5] =
        [AgentCli::ClaudeCode, AgentCli::Codex, AgentCli::Gemini, AgentCli::OpenCode, AgentCli::Aider];

    /// Where its program is on PATH, if it is installed.
    pub fn installed(self) -> Option<PathBuf> {
        which(self.program())
    }

    /// Its name in `coord.toml` (`executor = "..."`).
    pub fn name(self) -> &'static str {
        match self {
            AgentCli::ClaudeCode => "claude-code",
            AgentCli::Codex => "codex",
            AgentCli::Gemini => "gemini",
            AgentCli::Aider => "aider",
            AgentCli::OpenCode => "opencode",
        }
    }

    /// The program's usual name on PATH.
    pub fn program(self) -> &'static str {
        match self {
            AgentCli::ClaudeCode => "claude",
            AgentCli::Codex => "codex",
            AgentCli::Gemini => "gemini",
            AgentCli::Aider => "aider",
            AgentCli::OpenCode => "opencode",
        }
    }

    /// The versions its adapter was written against (its documented output at that version).
    pub fn written_against(self) -> &'static str {
        match self {
            AgentCli::ClaudeCode => claude::WRITTEN_AGAINST,
            AgentCli::Codex => codex::WRITTEN_AGAINST,
            AgentCli::Gemini => gemini::WRITTEN_AGAINST,
            AgentCli::Aider => aider::WRITTEN_AGAINST,
            AgentCli::OpenCode => opencode::WRITTEN_AGAINST,
        }
    }

    /// Environment variables it needs from coord's environment (provider keys, endpoints),
    /// passed on as `env_pass` would.
    pub fn key_variables(self) -> &'static [&'static str] {
        match self {
            AgentCli::ClaudeCode => claude::KEY_VARIABLES,
            AgentCli::Codex => codex::KEY_VARIABLES,
            AgentCli::Gemini => gemini::KEY_VARIABLES,
            AgentCli::Aider => aider::KEY_VARIABLES,
            AgentCli::OpenCode => opencode::KEY_VARIABLES,
        }
    }

    /// Paths under the home folder where it keeps its login, settings and sessions: writable
    /// in the sandbox.
    pub fn state_paths(self) -> &'static [&'static str] {
        match self {
            AgentCli::ClaudeCode => &["~/.claude", "~/.claude.json", "~/.config/claude"],
            AgentCli::Codex => &["~/.codex"],
            AgentCli::Gemini => &["~/.gemini"],
            AgentCli::Aider => &["~/.aider", "~/.aider.conf.yml", "~/.cache/aider"],
            AgentCli::OpenCode => &["~/.local/share/opencode", "~/.config/opencode", "~/.cache/opencode"],
        }
    }

    /// Whether a session can be resumed with new instructions.
    pub fn resumes(self) -> bool {
        matches!(self, AgentCli::ClaudeCode | AgentCli::Codex | AgentCli::OpenCode)
    }

    /// The model to pass, from the configured or agent-file model: `inherit` and Claude's
    /// aliases on a CLI that does not know them mean "the CLI's default".
    pub fn model(self, model: Option<&str>) -> Option<&str> {
        let m = model.map(str::trim).filter(|m| !m.is_empty() && *m != "inherit")?;
        let claude_alias = matches!(m, "sonnet" | "opus" | "haiku");
        match self {
            // Both take Claude's aliases themselves.
            AgentCli::ClaudeCode | AgentCli::Aider => Some(m),
            _ if claude_alias => None,
            _ => Some(m),
        }
    }

    /// The command line (placeholders `{brief_file}` and `{workspace}` are filled by the
    /// command executor). The brief also arrives on stdin.
    pub fn argv(self, inv: &Invocation) -> Vec<String> {
        let mut argv = match self {
            AgentCli::ClaudeCode => claude::argv(inv),
            AgentCli::Codex => codex::argv(inv),
            AgentCli::Gemini => gemini::argv(inv),
            AgentCli::Aider => aider::argv(inv),
            AgentCli::OpenCode => opencode::argv(inv),
        };
        argv.extend(inv.extra.iter().cloned());
        argv
    }

    /// Whether its prompt must carry the persona (it has no system-prompt option).
    fn persona_in_prompt(self) -> bool {
        !matches!(self, AgentCli::ClaudeCode)
    }

    /// Reads its output back.
    pub fn parse(self, stdout: &str, stderr: &str) -> AgentReport {
        match self {
            AgentCli::ClaudeCode => claude::parse(stdout),
            AgentCli::Codex => codex::parse(stdout),
            AgentCli::Gemini => gemini::parse(stdout),
            AgentCli::Aider => aider::parse(stdout, stderr),
            AgentCli::OpenCode => opencode::parse(stdout),
        }
    }
}

/// Runs a specialist through a coding-agent CLI.
#[derive(Debug, Clone)]
pub struct AgentExecutor {
    /// Which CLI.
    pub cli: AgentCli,
    /// The program (default: the CLI's usual name on PATH).
    pub program: String,
    /// Arguments appended to coord's.
    pub extra_args: Vec<String>,
    /// The persona (agent file body).
    pub persona: String,
    /// The model (configured, else the agent file's), before alias resolution.
    pub model: Option<String>,
    /// The agent file's tools.
    pub tools: Vec<String>,
    /// Turn limit.
    pub max_turns: Option<u32>,
    /// Its sandbox and environment (the CLI's key variables and state folders added).
    pub confinement: Confinement,
    /// The installed version, asked once.
    version: Arc<OnceCell<Option<String>>>,
}

/// What `agent.json` records of an attempt.
#[derive(Debug, Serialize)]
struct AgentRecord<'a> {
    cli: AgentCli,
    specialist: &'a str,
    program: &'a str,
    version: Option<&'a str>,
    written_against: &'static str,
    argv: &'a [String],
    resumed: Option<&'a str>,
    #[serde(flatten)]
    report: &'a AgentReport,
}

impl AgentExecutor {
    /// An executor for `cli` from a specialist's settings (`command[0]` replaces the program,
    /// the rest is appended).
    pub fn new(
        cli: AgentCli,
        command: &[String],
        persona: String,
        model: Option<String>,
        tools: Vec<String>,
        max_turns: Option<u32>,
        mut confinement: Confinement,
    ) -> Self {
        let program = command.first().cloned().unwrap_or_else(|| cli.program().to_string());
        confinement.real_home = true;
        for v in cli.key_variables() {
            if !confinement.env_pass.iter().any(|p| p == v) {
                confinement.env_pass.push((*v).to_string());
            }
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        for p in cli.state_paths() {
            // Only what exists can be opened in the sandbox; a CLI that was never logged in
            // fails with its own message.
            if coord_sandbox::expand(p, home.as_deref()).exists() {
                confinement.write.push((*p).to_string());
            }
        }
        // The program's own folder (a CLI installed under the home folder, by npm or pipx).
        if let Some(dir) =
            which(&program).and_then(|p| std::fs::canonicalize(p).ok()).and_then(|p| p.parent().map(Path::to_path_buf))
        {
            let root = dir.parent().map(Path::to_path_buf).unwrap_or(dir);
            confinement.read.push(root.display().to_string());
        }
        AgentExecutor {
            cli,
            program,
            extra_args: command.iter().skip(1).cloned().collect(),
            persona,
            model,
            tools,
            max_turns,
            confinement,
            version: Arc::new(OnceCell::new()),
        }
    }

    /// Whether the agent may only read.
    pub fn read_only(&self) -> bool {
        is_read_only(&self.tools)
    }

    async fn version(&self) -> Option<String> {
        let program = self.program.clone();
        self.version
            .get_or_init(|| async move {
                let out = tokio::time::timeout(
                    std::time::Duration::from_secs(15),
                    tokio::process::Command::new(&program)
                        .arg("--version")
                        .stdin(std::process::Stdio::null())
                        .kill_on_drop(true)
                        .output(),
                )
                .await
                .ok()?
                .ok()?;
                let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
                text.lines().find(|l| !l.trim().is_empty()).map(|l| l.trim().chars().take(120).collect())
            })
            .await
            .clone()
    }

    /// The previous attempt's session, when it was this specialist's on this CLI.
    fn previous_session(&self, job: &Job) -> Option<String> {
        if !self.cli.resumes() || job.attempt <= 1 {
            return None;
        }
        let prev = job.attempt_dir.parent()?.join(format!("attempt-{}", job.attempt - 1)).join("agent.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(prev).ok()?).ok()?;
        (v.get("specialist")?.as_str()? == job.specialist && v.get("cli")?.as_str()? == self.cli.name())
            .then(|| v.get("session")?.as_str().map(str::to_string))
            .flatten()
    }

    async fn run_once(&self, job: &Job, resume: Option<&str>) -> (Outcome, AgentReport, Vec<String>) {
        let model = self.cli.model(self.model.as_deref());
        let inv = Invocation {
            program: &self.program,
            persona: &self.persona,
            model,
            read_only: self.read_only(),
            tools: &self.tools,
            resume,
            max_turns: self.max_turns,
            extra: &self.extra_args,
            max_budget_usd: job.run_cap.as_ref().and_then(|c| c.remaining_cost()),
        };
        let argv = self.cli.argv(&inv);
        let mut confinement = self.confinement.clone();
        confinement.read_only_workspace |= self.read_only();
        let runner = CommandExecutor { argv: argv.clone(), confinement, output_cap_bytes: 32 * 1024 * 1024 };
        let mut job = job.clone();
        if self.cli.persona_in_prompt() && resume.is_none() && !self.persona.trim().is_empty() {
            job.brief = format!("{}\n\n---\n\n{}", self.persona.trim(), job.brief);
        }
        let outcome = runner.execute(&job).await;
        let read = |name: &str| {
            std::fs::read(job.attempt_dir.join(name))
                .map(|b| String::from_utf8_lossy(&b).to_string())
                .unwrap_or_default()
        };
        let report = self.cli.parse(&read("stdout.log"), &read("stderr.log"));
        (outcome, report, argv)
    }
}

/// Finds a program on PATH (or checks a path).
fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}

/// The escalation request an agent wrote as a line of its final message.
fn escalation_in(message: &str) -> Option<(FailureCategory, String)> {
    message.lines().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l.trim().trim_matches('`')).ok()?;
        (v.get("coord")?.as_str()? == "escalate").then(|| {
            let category = v
                .get("category")
                .and_then(|c| c.as_str())
                .and_then(|c| c.parse().ok())
                .unwrap_or(FailureCategory::General);
            (category, v.get("reason").and_then(|r| r.as_str()).unwrap_or("no reason given").to_string())
        })
    })
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

/// The files a read-only agent changed in its workspace (a git worktree), if any.
fn changed_files(workspace: &Path) -> Vec<String> {
    let Ok(out) = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(workspace)
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.get(3..)).map(str::to_string).collect()
}

impl Executor for AgentExecutor {
    fn kind(&self) -> &'static str {
        self.cli.name()
    }

    async fn execute(&self, job: &Job) -> Outcome {
        let name = self.cli.name();
        if which(&self.program).is_none() {
            return Outcome::Failed {
                error: format!(
                    "{name}: `{}` is not installed or not on PATH (install it, or set `command = [\"/path/to/{}\"]` in the specialist's section of coord.toml)",
                    self.program,
                    self.cli.program()
                ),
                category: FailureCategory::General,
                retryable: false,
            };
        }
        if let Err(e) = tokio::fs::create_dir_all(&job.attempt_dir).await {
            return Outcome::Failed {
                error: format!("cannot create {}: {e}", job.attempt_dir.display()),
                category: FailureCategory::General,
                retryable: true,
            };
        }
        // A CLI runs on its own: the run's cap is checked before it starts, and what it
        // reports is counted against it after.
        if let Some(why) = job.run_cap.as_ref().and_then(|c| c.refusal()) {
            return Outcome::EscalationRequested { category: FailureCategory::Timeline, reason: why };
        }
        let version = self.version().await;
        let before = if self.read_only() { changed_files(&job.workspace) } else { Vec::new() };
        let previous = self.previous_session(job);
        let (mut outcome, mut report, mut argv) = self.run_once(job, previous.as_deref()).await;
        let mut resumed = previous.as_deref();
        if previous.is_some() && report.turns == 0 && !report.success {
            // The session could not be resumed (expired, another machine): start afresh; the
            // brief carries the feedback. The failed try's tokens still count.
            let lost = report.usage;
            let lost_cost = report.cost_usd;
            let _ =
                std::fs::rename(job.attempt_dir.join("stdout.log"), job.attempt_dir.join("stdout.resume-failed.log"));
            let _ =
                std::fs::rename(job.attempt_dir.join("stderr.log"), job.attempt_dir.join("stderr.resume-failed.log"));
            (outcome, report, argv) = self.run_once(job, None).await;
            report.usage.add(&lost);
            report.cost_usd = match (report.cost_usd, lost_cost) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            report.notes.push("the previous session could not be resumed; started a new one".into());
            resumed = None;
        }
        if report.model.is_none() {
            report.model = self.cli.model(self.model.as_deref()).map(str::to_string);
        }
        let record = AgentRecord {
            cli: self.cli,
            specialist: &job.specialist,
            program: &self.program,
            version: version.as_deref(),
            written_against: self.cli.written_against(),
            argv: &argv,
            resumed,
            report: &report,
        };
        let text = crate::redact::redact(&serde_json::to_string_pretty(&record).unwrap_or_default());
        let _ = tokio::fs::write(job.attempt_dir.join("agent.json"), text).await;
        let transcript = serde_json::json!({
            "model": report.model.clone().unwrap_or_else(|| format!("{name} default")),
            "steps": report.turns,
            "usage": {
                "input_tokens": report.usage.input_tokens,
                "cached_input_tokens": report.usage.cached_input_tokens,
                "output_tokens": report.usage.output_tokens,
            },
            "cost_usd": report.cost_usd.unwrap_or(0.0),
            "cost_reported": report.cost_usd.is_some(),
            "stop": if report.success { "final" } else { "error" },
        });
        let _ = tokio::fs::write(job.attempt_dir.join("transcript.json"), transcript.to_string()).await;
        if let Some(cap) = &job.run_cap {
            cap.add(report.usage.total(), report.cost_usd.unwrap_or(0.0));
        }
        let spent = report.spent();
        if self.read_only() {
            let after = changed_files(&job.workspace);
            let new: Vec<&String> = after.iter().filter(|f| !before.contains(f)).collect();
            if !new.is_empty() {
                return Outcome::Failed {
                    error: format!(
                        "{name}: @{} is read-only (its agent file's tools: {}) but changed {}",
                        job.specialist,
                        self.tools.join(", "),
                        new.iter().take(10).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    category: FailureCategory::Security,
                    retryable: false,
                };
            }
        }
        match outcome {
            Outcome::Succeeded { .. } => {}
            Outcome::Failed { ref mut error, .. } => {
                // The command executor's reason (exit code, signal, timeout) with the CLI's own.
                if let Some(e) = &report.error {
                    *error = format!("{name}: {e} ({error}); {spent}");
                } else if !report.finished {
                    *error = format!("{name} exited without its final event ({error}); {spent}");
                }
                return outcome;
            }
            Outcome::EscalationRequested { .. } => return outcome,
        }
        if let Some((category, reason)) = escalation_in(&report.message) {
            return Outcome::EscalationRequested { category, reason };
        }
        if !report.finished {
            let stray = if report.non_json_lines > 0 {
                format!("; {} line(s) of its output were not its events", report.non_json_lines)
            } else {
                String::new()
            };
            return Outcome::Failed {
                error: format!(
                    "{name} exited 0 without its final event (its output was cut, or this version prints another format: the adapter was written against {}{stray}; version found: {}); {spent}",
                    self.cli.written_against(),
                    version.as_deref().unwrap_or("unknown"),
                ),
                category: FailureCategory::General,
                retryable: true,
            };
        }
        if !report.success {
            return Outcome::Failed {
                error: format!(
                    "{name}: {}; {spent}",
                    report.error.clone().unwrap_or_else(|| "the agent reported an error".into())
                ),
                category: FailureCategory::General,
                retryable: true,
            };
        }
        Outcome::Succeeded { artifacts: Vec::new(), summary: format!("{}; {spent}", first_line(&report.message, 200)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_is_a_tool_list_without_writing_tools() {
        let t = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_read_only(&t(&["Read", "Grep", "Glob"])));
        assert!(!is_read_only(&t(&["Read", "Edit"])));
        assert!(!is_read_only(&t(&["Read", "Bash(npm test:*)"])));
        assert!(!is_read_only(&[]), "no list means every tool");
    }

    #[test]
    fn models_resolve_per_cli() {
        assert_eq!(AgentCli::ClaudeCode.model(Some("sonnet")), Some("sonnet"));
        assert_eq!(AgentCli::Codex.model(Some("sonnet")), None);
        assert_eq!(AgentCli::Codex.model(Some("gpt-5-codex")), Some("gpt-5-codex"));
        assert_eq!(AgentCli::Gemini.model(Some("inherit")), None);
        assert_eq!(AgentCli::Aider.model(Some("opus")), Some("opus"));
    }

    #[test]
    fn an_escalation_line_in_the_final_message_is_found() {
        let m = "I cannot do this.\n{\"coord\":\"escalate\",\"category\":\"database\",\"reason\":\"schema unclear\"}";
        assert_eq!(escalation_in(m), Some((FailureCategory::Database, "schema unclear".into())));
        assert_eq!(escalation_in("all done"), None);
    }
}
