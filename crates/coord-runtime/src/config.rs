//! `coord.toml`: which executor each specialist uses, run defaults, and the escalation policy.
//!
//! ```toml
//! [run]
//! parallel = 4
//! task_timeout_secs = 1800
//!
//! [specialists.nodejs-expert]
//! executor = "command"
//! command = ["my-agent", "--role", "{specialist}"]
//!
//! [escalation]
//! max_retries = 2
//! notify_command = ["notify-send", "coord escalation"]
//!
//! [escalation.levels]
//! security = 4
//! ```
//! With no file, every specialist is `manual`.

use crate::executor::FailureCategory;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Why `coord.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML or not our keys.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with its line.
        message: String,
    },
}

/// How a specialist's tasks are executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// A person or an agent host completes the task with `coord task`.
    #[default]
    Manual,
    /// A program runs it.
    Command,
    /// Bench only: returns at once.
    Noop,
    /// Bench only: sleeps for the task's estimate scaled by `sleep_ms_per_hour`.
    Sleep,
    /// An LLM works in an agent loop with workspace-confined tools (`[llm]` says which model).
    Llm,
    /// The coordinator's own steps: the automated checks of the coordination workflows
    /// (migration replay, contract publishing, contract test). The default of
    /// `backend-coordinator`; no other specialist can use it.
    Workflow,
    /// Claude Code (`claude -p --output-format stream-json`), see `executor::agent`.
    #[serde(rename = "claude-code")]
    ClaudeCode,
    /// OpenAI's Codex CLI (`codex exec --json`).
    Codex,
    /// Google's Gemini CLI (`gemini --output-format json`).
    Gemini,
    /// Aider (`aider --message-file`).
    Aider,
    /// OpenCode (`opencode run --format json`).
    #[serde(rename = "opencode")]
    OpenCode,
}

impl ExecutorKind {
    /// Whether attempts of this kind may write files, and so work in a workspace of their own
    /// (a worktree on the task's branch, or a turn in the project folder outside git).
    pub fn writes_files(self) -> bool {
        matches!(self, ExecutorKind::Command | ExecutorKind::Llm | ExecutorKind::Workflow) || self.agent_cli().is_some()
    }

    /// The coding-agent CLI of this kind, if it is one.
    pub fn agent_cli(self) -> Option<crate::executor::agent::AgentCli> {
        use crate::executor::agent::AgentCli;
        Some(match self {
            ExecutorKind::ClaudeCode => AgentCli::ClaudeCode,
            ExecutorKind::Codex => AgentCli::Codex,
            ExecutorKind::Gemini => AgentCli::Gemini,
            ExecutorKind::Aider => AgentCli::Aider,
            ExecutorKind::OpenCode => AgentCli::OpenCode,
            _ => return None,
        })
    }

    /// Whether its attempts spend on models, and record tokens and cost (`llm_usage`) that
    /// count against the run's budget.
    pub fn spends_tokens(self) -> bool {
        self == ExecutorKind::Llm || self.agent_cli().is_some()
    }
}

/// The old `isolation` key, accepted so older files still load; it has no effect: in a git
/// repository every task works in its own worktree on its own branch (`crate::workspace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IsolationKind {
    /// Was: in the repository itself.
    #[default]
    None,
    /// Was: in a git worktree per attempt.
    Worktree,
}

/// `[specialists.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialistConfig {
    /// The executor kind.
    #[serde(default)]
    pub executor: ExecutorKind,
    /// The program and its arguments, for `command`; for an agent CLI, the program to run
    /// instead of the CLI's usual name (`["/opt/claude/bin/claude"]`) and arguments appended
    /// to the ones coord passes.
    #[serde(default)]
    pub command: Vec<String>,
    /// For an agent CLI: the model it uses, overriding the agent file's `model:` (`inherit`,
    /// or no model anywhere, leaves the CLI's own default).
    #[serde(default)]
    pub model: Option<String>,
    /// For an agent CLI: turns one attempt may take (the CLIs that support a limit).
    #[serde(default)]
    pub max_turns: Option<u32>,
    /// For `llm`: output tokens one model call may produce (default: `[llm]
    /// max_output_tokens`, else 16384).
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// Extra environment variables, for `command`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Per-task timeout, overriding `[run] task_timeout_secs`.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Obsolete (no effect): every task works in its own worktree in a git repository.
    #[serde(default)]
    pub isolation: IsolationKind,
    /// For the `sleep` bench executor: milliseconds per estimated hour.
    #[serde(default)]
    pub sleep_ms_per_hour: Option<u64>,
    /// For `llm`: model calls per attempt.
    #[serde(default)]
    pub max_steps: Option<u32>,
    /// For `llm`: tokens one attempt may use.
    #[serde(default)]
    pub token_budget: Option<u64>,
    /// For `llm`: dollars one attempt may spend.
    #[serde(default)]
    pub cost_budget: Option<f64>,
    /// For `llm`: programs the agent's `run_command` tool may start.
    #[serde(default)]
    pub allow_commands: Vec<String>,
    /// The OS sandbox of its commands: `strict` (the default) or `off`.
    #[serde(default)]
    pub sandbox: SandboxMode,
    /// Its commands' network: `off`, `local` (loopback only) or `on`. The default is `off`,
    /// and `on` for an agent CLI (it calls its provider's API).
    #[serde(default)]
    pub network: Option<coord_sandbox::Network>,
    /// Further folders its commands may read (`~/` is the home folder).
    #[serde(default)]
    pub read: Vec<String>,
    /// Further folders its commands may write.
    #[serde(default)]
    pub write: Vec<String>,
    /// Further paths its commands may never read (besides `~/.ssh`, `~/.aws`, ...).
    #[serde(default)]
    pub deny: Vec<String>,
    /// Variables of coord's own environment passed on to its commands (nothing else is,
    /// besides PATH, HOME, LANG, TERM, TMPDIR and COORD_*).
    #[serde(default)]
    pub env_pass: Vec<String>,
    /// Whether it may change CI files (`.github/workflows/`, `.gitlab-ci.yml`...): a DevOps
    /// specialist.
    #[serde(default)]
    pub allow_ci: bool,
    /// `false`: the specialist only reads the project (tests, linters, scanners). Its commands
    /// see the project folder read-only in the sandbox, and outside git its tasks run beside
    /// each other instead of taking turns (no file snapshots: they deliver no files). In git
    /// each task still gets its worktree (the code with its dependencies' results), read-only.
    /// Unset is `true` (see [`SpecialistConfig::writes`]).
    #[serde(default)]
    pub writes: Option<bool>,
    /// The largest file its commands may write, MiB (default 1024).
    #[serde(default)]
    pub max_file_mb: Option<u64>,
    /// Processes one of its commands may start at once (default 1024).
    #[serde(default)]
    pub max_processes: Option<u64>,
}

impl SpecialistConfig {
    /// Whether its attempts may change the project's files (`writes`, default `true`).
    pub fn writes(&self) -> bool {
        self.writes != Some(false)
    }
}

/// Whether a specialist's commands run in the OS sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// Confined (see `coord sandbox check`); refused where the machine cannot confine.
    #[default]
    Strict,
    /// Not confined: the command runs with coord's rights (its environment is still clean).
    Off,
}

/// `[run]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Tasks executed at once.
    #[serde(default = "default_parallel")]
    pub parallel: usize,
    /// Default per-task timeout.
    #[serde(default = "default_timeout")]
    pub task_timeout_secs: u64,
    /// Lease length; a heartbeat renews it every third of it.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
}

fn default_parallel() -> usize {
    4
}
fn default_timeout() -> u64 {
    1800
}
fn default_lease() -> u64 {
    30
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig { parallel: default_parallel(), task_timeout_secs: default_timeout(), lease_secs: default_lease() }
    }
}

/// `[escalation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    /// Level 1 retries before consulting a peer.
    #[serde(default = "default_retries")]
    pub max_retries: i64,
    /// First backoff delay.
    #[serde(default = "default_backoff_base")]
    pub backoff_base_ms: u64,
    /// Longest backoff delay.
    #[serde(default = "default_backoff_max")]
    pub backoff_max_ms: u64,
    /// Random spread of each delay, as a fraction (0.2 = ±20%).
    #[serde(default = "default_jitter")]
    pub jitter: f64,
    /// The level each trigger jumps to (`security = 4`...). Defaults from the spec.
    #[serde(default)]
    pub levels: BTreeMap<String, i64>,
    /// A program run with the escalation as JSON on stdin when a task reaches level 4.
    #[serde(default)]
    pub notify_command: Vec<String>,
    /// A URL that receives each level-4 escalation as a JSON POST (Slack-compatible `text`).
    #[serde(default)]
    pub webhook: Option<String>,
    /// The name of an environment variable holding the webhook URL (keeps a secret URL out of
    /// the file); wins over `webhook`.
    #[serde(default)]
    pub webhook_url_env: Option<String>,
}

fn default_retries() -> i64 {
    2
}
fn default_backoff_base() -> u64 {
    1000
}
fn default_backoff_max() -> u64 {
    60_000
}
fn default_jitter() -> f64 {
    0.2
}

impl Default for EscalationConfig {
    fn default() -> Self {
        EscalationConfig {
            max_retries: default_retries(),
            backoff_base_ms: default_backoff_base(),
            backoff_max_ms: default_backoff_max(),
            jitter: default_jitter(),
            levels: BTreeMap::new(),
            notify_command: Vec::new(),
            webhook: None,
            webhook_url_env: None,
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[run]`.
    #[serde(default)]
    pub run: RunConfig,
    /// `[specialists.NAME]`; `[specialists."*"]` applies to specialists without their own.
    #[serde(default)]
    pub specialists: BTreeMap<String, SpecialistConfig>,
    /// `[escalation]`.
    #[serde(default)]
    pub escalation: EscalationConfig,
    /// `[llm]`: the model LLM specialists (and later the LLM planner and judge) use.
    #[serde(default)]
    pub llm: Option<coord_llm::ProviderConfig>,
    /// `[budget]`: limits on LLM spending.
    #[serde(default)]
    pub budget: BudgetConfig,
    /// `[gates]`: the quality gates that check every task's artifacts.
    #[serde(default)]
    pub gates: coord_gates::GateConfig,
    /// `[workflows]`: the coordination workflows' automated steps.
    #[serde(default)]
    pub workflows: WorkflowsConfig,
    /// `[deliver]`: what runs once a run is done (push the branch, open a pull request).
    #[serde(default)]
    pub deliver: DeliverConfig,
    /// `[workspace]`: where task branches are shared between machines.
    #[serde(default)]
    pub workspace: WorkspaceConfig,
}

/// `[workspace]`: with workers on several machines (a PostgreSQL store), each in its own clone
/// of the repository, task branches and the integration branch go through a shared remote.
///
/// ```toml
/// [workspace]
/// remote = "origin"     # a remote name or URL every worker's clone can fetch from and push to
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// The shared remote; none: branches stay in this clone.
    #[serde(default)]
    pub remote: Option<String>,
}

/// `[deliver]`: a program run once when a run in a git repository is done, in the project,
/// with `COORD_BRANCH` (the integration branch), `COORD_RUN_ID`, `COORD_START` and
/// `COORD_COMMIT` in its environment.
///
/// ```toml
/// [deliver]
/// command = ["sh", "-c", "git push -u origin $COORD_BRANCH && gh pr create --head $COORD_BRANCH --fill"]
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverConfig {
    /// The program and its arguments; empty: nothing runs.
    #[serde(default)]
    pub command: Vec<String>,
}

/// `[workflows]`: where the coordination workflows write, and what the contract test starts.
///
/// ```toml
/// [workflows]
/// contracts_dir = "contracts"                  # published contract versions
/// deployment_note = "docs/deploy/migrations.md"
/// replica_url_env = "COORD_REPLICA_URL"        # postgres:// or mysql:// URL: replay in a throwaway schema/database
/// contract_test_start = "npm start"            # run by sh in the project; its process group is stopped after
/// contract_test_base_url = "http://127.0.0.1:3000"
/// contract_test_wait_secs = 30
/// contract_test_headers = ["Authorization: Bearer $TEST_TOKEN"]   # $NAME from the environment
/// query_stats_url_env = "DATABASE_URL"         # the service's PostgreSQL: query times from pg_stat_statements
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowsConfig {
    /// Folder (relative to the project) where published contracts go.
    #[serde(default = "default_contracts_dir")]
    pub contracts_dir: String,
    /// File (relative to the project) the deployment note is written to.
    #[serde(default = "default_deployment_note")]
    pub deployment_note: String,
    /// The environment variable holding the replica test's server URL (`postgres://`: a
    /// throwaway schema; `mysql://` or `mariadb://`: a throwaway database); default
    /// `COORD_REPLICA_URL`; with neither set the replay runs on a scratch SQLite database.
    #[serde(default)]
    pub replica_url_env: Option<String>,
    /// The environment variable holding the URL of the PostgreSQL database the service under
    /// test uses: its `pg_stat_statements` are read before and after the contract test, giving
    /// the database query times the test's requests caused (`database_query_performance`).
    #[serde(default)]
    pub query_stats_url_env: Option<String>,
    /// The shell command that starts the service for the contract test (none: it must already
    /// be running at the base URL).
    #[serde(default)]
    pub contract_test_start: Option<String>,
    /// Where the service answers.
    #[serde(default)]
    pub contract_test_base_url: Option<String>,
    /// How long to wait for the service to listen.
    #[serde(default = "default_wait_secs")]
    pub contract_test_wait_secs: u64,
    /// Headers for every request (`Name: value`; `$NAME` is taken from the environment, so
    /// credentials stay out of the file).
    #[serde(default)]
    pub contract_test_headers: Vec<String>,
}

fn default_contracts_dir() -> String {
    "contracts".into()
}

fn default_deployment_note() -> String {
    "docs/deploy/migrations.md".into()
}

fn default_wait_secs() -> u64 {
    30
}

impl Default for WorkflowsConfig {
    fn default() -> Self {
        WorkflowsConfig {
            contracts_dir: default_contracts_dir(),
            deployment_note: default_deployment_note(),
            replica_url_env: None,
            query_stats_url_env: None,
            contract_test_start: None,
            contract_test_base_url: None,
            contract_test_wait_secs: default_wait_secs(),
            contract_test_headers: Vec::new(),
        }
    }
}

/// Whether a configured path stays inside the project (relative, no `..`).
fn inside_project(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.is_relative()
        && p.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
}

/// `[budget]`: what LLM work may spend. Task limits apply to each attempt of an `llm`
/// specialist unless `[specialists.NAME]` sets its own; run limits stop new LLM work.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Tokens one attempt may use.
    #[serde(default)]
    pub task_tokens: Option<u64>,
    /// Dollars one attempt may spend.
    #[serde(default)]
    pub task_cost_usd: Option<f64>,
    /// Tokens the whole run may use.
    #[serde(default)]
    pub run_tokens: Option<u64>,
    /// Dollars the whole run may spend.
    #[serde(default)]
    pub run_cost_usd: Option<f64>,
}

impl Config {
    /// Parses TOML text; `path` is used in messages.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        for (name, s) in &config.specialists {
            if s.executor == ExecutorKind::Command && s.command.is_empty() {
                return Err(ConfigError::Parse {
                    path: path.to_string(),
                    message: format!("[specialists.{name}] has executor = \"command\" but no `command = [...]`"),
                });
            }
        }
        for key in config.escalation.levels.keys() {
            key.parse::<FailureCategory>().map_err(|m| ConfigError::Parse {
                path: path.to_string(),
                message: format!("[escalation.levels]: {m}"),
            })?;
        }
        for (key, value) in
            [("contracts_dir", &config.workflows.contracts_dir), ("deployment_note", &config.workflows.deployment_note)]
        {
            if !inside_project(value) {
                return Err(ConfigError::Parse {
                    path: path.to_string(),
                    message: format!("[workflows] {key} = \"{value}\" must be a relative path inside the project"),
                });
            }
        }
        for h in &config.workflows.contract_test_headers {
            if !h.contains(':') {
                return Err(ConfigError::Parse {
                    path: path.to_string(),
                    message: format!("[workflows] contract_test_headers: `{h}` is not `Name: value`"),
                });
            }
        }
        for (name, s) in &config.specialists {
            if s.executor == ExecutorKind::Workflow && name != coord_core::COORDINATOR {
                return Err(ConfigError::Parse {
                    path: path.to_string(),
                    message: format!(
                        "[specialists.{name}] executor = \"workflow\" is the coordinator's own (only {} may use it)",
                        coord_core::COORDINATOR
                    ),
                });
            }
        }
        if config.run.parallel == 0 {
            return Err(ConfigError::Parse {
                path: path.to_string(),
                message: "[run] parallel must be at least 1".into(),
            });
        }
        Ok(config)
    }

    /// Reads `coord.toml` at `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path: path.display().to_string(), source }),
        }
    }

    /// The configuration of one specialist: its own, else `"*"`, else manual. The coordinator
    /// runs its workflow steps itself unless its own section says otherwise (`"*"` is for
    /// specialists, not for it).
    pub fn specialist(&self, name: &str) -> SpecialistConfig {
        if name == coord_core::COORDINATOR {
            return self
                .specialists
                .get(name)
                .cloned()
                .unwrap_or(SpecialistConfig { executor: ExecutorKind::Workflow, ..SpecialistConfig::default() });
        }
        self.specialists.get(name).or_else(|| self.specialists.get("*")).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example_and_defaults() {
        let c = Config::parse(
            "[run]\nparallel = 8\n[specialists.nodejs-expert]\nexecutor = \"command\"\ncommand = [\"my-agent\", \"--role\", \"{specialist}\"]\n[escalation.levels]\nsecurity = 4\n",
            "coord.toml",
        )
        .unwrap();
        assert_eq!(c.run.parallel, 8);
        assert_eq!(c.specialist("nodejs-expert").executor, ExecutorKind::Command);
        assert_eq!(c.specialist("python-pro").executor, ExecutorKind::Manual);
        assert_eq!(c.escalation.max_retries, 2);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = Config::parse("[specialists.x]\nexecutor = \"command\"\n", "coord.toml").unwrap_err().to_string();
        assert!(e.contains("no `command"), "{e}");
        let e = Config::parse("[run]\nparalel = 3\n", "coord.toml").unwrap_err().to_string();
        assert!(e.contains("paralel") && e.contains("line 2"), "{e}");
        let e = Config::parse("[escalation.levels]\nsecurty = 4\n", "coord.toml").unwrap_err().to_string();
        assert!(e.contains("securty"), "{e}");
        let e = Config::parse("[workflows]\ncontracts_dir = \"../elsewhere\"\n", "coord.toml").unwrap_err().to_string();
        assert!(e.contains("contracts_dir") && e.contains("inside the project"), "{e}");
        let e = Config::parse("[specialists.nodejs-expert]\nexecutor = \"workflow\"\n", "coord.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("coordinator's own"), "{e}");
        let c =
            Config::parse("[specialists.\"*\"]\nexecutor = \"command\"\ncommand = [\"x\"]\n", "coord.toml").unwrap();
        assert_eq!(
            c.specialist(coord_core::COORDINATOR).executor,
            ExecutorKind::Workflow,
            "\"*\" is not for the coordinator"
        );
    }
}
