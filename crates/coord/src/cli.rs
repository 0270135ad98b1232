//! The command line as plain data: clap parses into these structs, `commands` decides what
//! they mean.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// backend-coordinator: turns a backend objective into a dependency graph of specialist tasks,
/// with briefs filtered to what each specialist needs.
#[derive(Debug, Parser)]
#[command(name = "coord", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set a repository up: a commented coord.toml using the agent CLI found on this machine
    /// (or manual specialists), .mcp.json for MCP hosts, and, if asked, editable agent files.
    Init(InitArgs),
    /// Analyse an objective and plan it into tasks, assignments and parallel groups.
    Plan(PlanArgs),
    /// Check a plan file (JSON or YAML, possibly edited by hand).
    Validate(ValidateArgs),
    /// Render one task of a plan as the spec's delegation brief, context filtered.
    Brief(BriefArgs),
    /// List or show the specialists of the roster.
    Agents(AgentsArgs),
    /// Print a shell completion script: `coord completions bash > ~/.local/share/bash-completion/completions/coord`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (`coord man | man -l -`), or write one page per command into a folder.
    Man {
        /// Write `coord.1` and `coord-<command>.1` pages here instead of printing `coord.1`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The rule planner's playbooks: list them, show one, or explain which fire for an
    /// objective and why.
    Playbooks(PlaybooksArgs),
    /// Print a JSON Schema.
    Schema(SchemaArgs),
    /// Plan (or load a plan) and execute it: a durable run in the store.
    Run(RunArgs),
    /// Continue a run: after a crash, a manual task, or an escalation decision.
    Resume(ResumeArgs),
    /// Show runs, or one run's tasks.
    Status(StatusArgs),
    /// Print a run's event log.
    Log(LogArgs),
    /// Cancel a run: running attempts are killed, nothing else starts.
    Cancel(RunRef),
    /// What this machine offers to confine specialists' commands (`coord sandbox check`).
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Remove a finished run's worktrees, task branches and attempt files (and its
    /// integration branch unless --keep-branch).
    Clean(CleanArgs),
    /// Work on tasks by hand (manual specialists, agent hosts).
    Task(TaskArgs),
    /// List and resolve escalations.
    Escalation(EscalationArgs),
    /// The spec's metrics, computed from the event log.
    Metrics(MetricsArgs),
    /// Run the quality gates over a repository (usable alone, and in CI).
    Gate(GateArgs),
    /// API contracts: `coord contract diff OLD NEW` classifies every change.
    Contract(ContractArgs),
    /// Database migrations: `coord migrate check` replays them up, down and up on a scratch
    /// database.
    Migrate(MigrateArgs),
    /// Serve every running run of the store: claim ready tasks, execute, gate and record, until
    /// SIGTERM or Ctrl-C. Run any number, on any machines sharing one PostgreSQL --db.
    Worker(WorkerArgs),
    /// List live workers and the leases they hold.
    Workers(WorkersArgs),
    /// Serve the HTTP API, the live dashboard and Prometheus metrics; runs started or resumed
    /// there are driven in the background.
    Serve(ServeArgs),
    /// Serve MCP over stdio, for agent hosts (Claude Code...) working as the specialists.
    Mcp(McpArgs),
}

/// Arguments of `coord init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository (default: the current folder).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The agent CLI every specialist works through: claude-code, codex, gemini, opencode, aider,
    /// or manual (default: the first of them installed, else manual).
    #[arg(long, value_name = "CLI")]
    pub agent: Option<String>,
    /// Also write the roster as editable agent files into .coord/agents/.
    #[arg(long)]
    pub agent_files: bool,
    /// Do not write .mcp.json.
    #[arg(long)]
    pub no_mcp: bool,
    /// Replace files that exist and differ.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `coord worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Tasks executed at once by this worker (default: [run] parallel of coord.toml, else 4).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// The longest an idle worker waits between looks at the queue when no notification wakes
    /// it, in milliseconds.
    #[arg(long, value_name = "MS", default_value = "2000")]
    pub poll_ms: u64,
    /// On SIGTERM or Ctrl-C, how long running attempts may take to finish before they are killed
    /// and their tasks released, in seconds.
    #[arg(long, value_name = "SECS", default_value = "30")]
    pub grace_secs: u64,
    /// Tasks claimed beyond the free slots, queued here until a slot frees: bigger batches for
    /// many short tasks, at the cost of claim-to-start latency (queued tasks are held by this
    /// worker, their leases renewed, while other workers may be idle: keep it 0 for long tasks).
    #[arg(long, value_name = "N", default_value = "0")]
    pub prefetch: usize,
    /// Print events as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Print only troubles and the final summary, not every task.
    #[arg(long)]
    pub quiet: bool,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen. Anything but a loopback address needs a bearer token (--token-env).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub addr: std::net::SocketAddr,
    /// The environment variable holding the bearer token API requests must carry (at least 16
    /// characters). Unset or empty: no token.
    #[arg(long, value_name = "VAR", default_value = "COORD_SERVER_TOKEN")]
    pub token_env: String,
    /// Largest request body, bytes.
    #[arg(long, value_name = "BYTES", default_value = "1048576")]
    pub max_body: usize,
    /// Mutating requests per second allowed on average (POST...).
    #[arg(long, value_name = "N", default_value = "50")]
    pub rate_limit: u32,
    /// Mutating requests allowed at once.
    #[arg(long, value_name = "N", default_value = "100")]
    pub rate_burst: u32,
    /// An origin allowed to call the API from a browser (repeatable); none by default.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,
    /// A host name the server answers to besides its address and localhost (repeatable): the
    /// name of a reverse proxy, say. Other Host headers are refused (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Tasks executed at once by the background drives (default: [run] parallel).
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord workers`.
#[derive(Debug, Args)]
pub struct WorkersArgs {
    /// Also list workers not seen for a while (stopped or dead).
    #[arg(long)]
    pub all: bool,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// The name the host's work is recorded under (lease owner `person:NAME`).
    #[arg(long = "as", value_name = "NAME", default_value = "mcp-host")]
    pub who: String,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MigrateCommand,
}

/// `coord migrate` subcommands.
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Replay every SQL migration up, down and up again on a scratch SQLite database and compare
    /// schema snapshots; migrations without a down step and data-loss statements without an
    /// approval comment (`-- coord:approve-data-loss <who>: <why>`) are findings too; exits 1 on
    /// a finding.
    Check {
        /// The repository (default: the current folder).
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// Only migrations changed since this git revision need approvals for data loss (e.g.
        /// origin/main in CI); without it, every migration does.
        #[arg(long, value_name = "REV")]
        since: Option<String>,
        /// Replay on this PostgreSQL or MySQL/MariaDB server instead of SQLite (for projects on
        /// one): a throwaway schema of postgres://user@host/db, or a throwaway database of
        /// mysql://user@host/db (or mariadb://). Default: COORD_REPLICA_URL (the variable runs
        /// use), else the older COORD_REPLAY_PG. `--postgres` is the older name.
        #[arg(long, alias = "postgres", value_name = "URL", env = "COORD_REPLICA_URL", hide_env_values = true)]
        replica: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// The deployment note for the newest migrations: order, each statement's lock and rewrite
    /// risk, the rollout strategy, and what to watch after deploying.
    Plan {
        /// The repository (default: the current folder).
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// How many of the newest migrations are being deployed.
        #[arg(long, default_value = "1")]
        pending: usize,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `coord contract`.
#[derive(Debug, Args)]
pub struct ContractArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ContractCommand,
}

/// `coord contract` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Every change between two OpenAPI documents, breaking or not; exits 1 when one breaks
    /// clients.
    Diff {
        /// The old document (YAML or JSON).
        old: PathBuf,
        /// The new document.
        new: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Send requests generated from the spec to every operation of a running service and check
    /// the answers against it; exits 1 unless every operation conforms.
    Test {
        /// The OpenAPI document.
        #[arg(long, value_name = "FILE")]
        spec: PathBuf,
        /// Where the service listens, e.g. http://127.0.0.1:8080.
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// A header for every request, `Name: value` (repeatable), e.g. credentials.
        #[arg(long, value_name = "HEADER")]
        header: Vec<String>,
        /// Start the service with this shell command first, and stop it after.
        #[arg(long, value_name = "COMMAND")]
        start: Option<String>,
        /// Seconds to wait for the started service to listen.
        #[arg(long, default_value = "30")]
        wait_secs: u64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// Output formats of `coord gate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormat {
    /// Findings and a summary for people.
    Text,
    /// The report as JSON.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
}

/// Arguments of `coord gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The repository to check (default: the current folder).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Gates to run (repeatable): api, code, security, performance, database, testing,
    /// documentation. Default: all.
    #[arg(long = "gate", value_name = "NAME")]
    pub gates: Vec<String>,
    /// Output format: text, json or sarif.
    #[arg(long, value_enum, default_value = "text")]
    pub format: GateFormat,
    /// Short for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Exit 1 when a finding is at or above this severity: low, medium, high or critical
    /// (default: [gates] fail_on, else high). Exit codes: 0 passed, 1 findings, 2 error.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Accept the findings listed in this baseline file (written by --write-baseline); only
    /// new findings count. Matched by fingerprint, so moved code stays accepted.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Write every current finding to this baseline file and exit 0: the first step of
    /// adopting the gate on an existing repository.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Also run the project's test command (implied by --gate testing).
    #[arg(long)]
    pub run_tests: bool,
    /// Print the checklist: every item, how it is decided, and by which checker.
    #[arg(long)]
    pub list: bool,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The configuration file (default: coord.toml in the repository).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Where the store and the project are.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The store: an SQLite file, or a PostgreSQL URL (postgres://user@host:5432/db; a schema
    /// with ?options=-c%20search_path%3Dname) for many workers. Default: COORD_DATABASE_URL,
    /// else .coord/coord.db in the project folder.
    #[arg(long, value_name = "PATH|URL", env = "COORD_DB", global = true)]
    pub db: Option<String>,
    /// The project (target repository): working directory of commands, home of coord.toml and
    /// agent files (default: the current folder).
    #[arg(long, value_name = "DIR", global = true)]
    pub repo: Option<PathBuf>,
    /// The configuration file (default: coord.toml in the project folder).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

/// Arguments of `coord run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The objective to plan and run (or use --plan).
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    pub objective: Option<String>,
    /// Run this plan file (JSON or YAML) instead of planning.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Force the stack when planning.
    #[arg(long, value_name = "STACK")]
    pub stack: Option<String>,
    /// Who plans (see `coord plan --planner`).
    #[arg(long, value_enum, default_value = "auto")]
    pub planner: PlannerKind,
    /// With --planner llm: let the rule-based planner plan when the model cannot (otherwise
    /// no run starts, exit 3).
    #[arg(long, value_enum, value_name = "PLANNER")]
    pub fallback: Option<FallbackKind>,
    /// Plan without the coordination workflows (see `coord plan --no-workflows`).
    #[arg(long, conflicts_with = "plan")]
    pub no_workflows: bool,
    /// Tasks executed at once (default: [run] parallel of coord.toml, else 4); 0 executes
    /// nothing here and watches workers (`coord worker`) do the run.
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,
    /// Print events as JSON lines instead of progress bars.
    #[arg(long)]
    pub json: bool,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run id (default: the newest run).
    pub run: Option<String>,
    /// Tasks executed at once; 0 watches workers do it.
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,
    /// Print events as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// A run named on the command line.
#[derive(Debug, Args)]
pub struct RunRef {
    /// The run id.
    pub run: String,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `coord sandbox`.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Print the confinement this machine supports (Landlock ABI, namespaces) and what a
    /// specialist's command gets; exit 1 when it cannot confine anything.
    Check {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `coord clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The run id.
    pub run: String,
    /// Keep the integration branch `coord/RUN` (the run's result).
    #[arg(long)]
    pub keep_branch: bool,
    /// Clean a run that is still running (its coordinator or workers may still use them).
    #[arg(long)]
    pub force: bool,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A run id; without it, every run.
    pub run: Option<String>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The run id (default: the newest run).
    pub run: Option<String>,
    /// Keep printing new events until the run ends.
    #[arg(long)]
    pub follow: bool,
    /// JSON lines.
    #[arg(long)]
    pub json: bool,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `coord task`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TaskCommand,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `coord task` subcommands. TASK is a task id; `--run` picks the run (default: the newest
/// running run that has the task).
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Tasks of a run, with state, specialist and attempts.
    List {
        /// The run (default: the newest).
        #[arg(long)]
        run: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One task: its brief, attempts and feedback.
    Show {
        /// Task id.
        task: String,
        /// The run.
        #[arg(long)]
        run: Option<String>,
        /// JSON output: the task, its brief, attempts, feedback and escalations.
        #[arg(long)]
        json: bool,
    },
    /// Take a ready task: it is yours until you complete or fail it.
    Claim {
        /// Task id.
        task: String,
        /// The run.
        #[arg(long)]
        run: Option<String>,
        /// Who takes it (default: $USER).
        #[arg(long = "as", value_name = "NAME")]
        who: Option<String>,
    },
    /// Mark a task done (claims it first if needed).
    Complete {
        /// Task id.
        task: String,
        /// The run.
        #[arg(long)]
        run: Option<String>,
        /// What was done.
        #[arg(long)]
        note: Option<String>,
        /// A file produced (repeatable).
        #[arg(long, value_name = "PATH")]
        artifact: Vec<String>,
    },
    /// Report a task failed; the escalation protocol decides what follows.
    Fail {
        /// Task id.
        task: String,
        /// The run.
        #[arg(long)]
        run: Option<String>,
        /// What went wrong.
        #[arg(long)]
        note: String,
        /// performance, database, api_contract, architecture, security, breaking_change,
        /// cross_service or timeline.
        #[arg(long)]
        category: Option<String>,
    },
}

/// Arguments of `coord escalation`.
#[derive(Debug, Args)]
pub struct EscalationArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EscalationCommand,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `coord escalation` subcommands.
#[derive(Debug, Subcommand)]
pub enum EscalationCommand {
    /// Open escalations (all with --all).
    List {
        /// Only this run.
        #[arg(long)]
        run: Option<String>,
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Decide: retry, reassign:NAME, approve, skip or abort.
    Resolve {
        /// The escalation id.
        id: i64,
        /// retry | reassign:NAME | approve (accept the result: data-loss migrations, breaking
        /// contract changes) | skip | abort
        #[arg(long)]
        decision: String,
        /// What you decided and why: advice for the next attempt (it joins the task's next
        /// brief; the answer to a level-2 consultation), or why you approve. Kept on the
        /// escalation and in the run's log.
        #[arg(long, value_name = "TEXT", conflicts_with = "note_file")]
        note: Option<String>,
        /// The note read from a file (`-` reads standard input).
        #[arg(long, value_name = "PATH")]
        note_file: Option<std::path::PathBuf>,
    },
}

/// Output formats of `coord metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsFormat {
    /// Prometheus text exposition format.
    Prometheus,
    /// JSON.
    Json,
}

/// Arguments of `coord metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// One run; without it, all runs.
    pub run: Option<String>,
    /// JSON with the spec's metric names (default: the Prometheus text format).
    #[arg(long)]
    pub json: bool,
    /// The older spelling of --json (`--format prometheus|json`).
    #[arg(long, value_enum, hide = true, conflicts_with = "json")]
    pub format: Option<MetricsFormat>,
    /// The store and project.
    #[command(flatten)]
    pub store: StoreArgs,
}

impl MetricsArgs {
    /// The format asked for.
    pub fn format(&self) -> MetricsFormat {
        if self.json { MetricsFormat::Json } else { self.format.unwrap_or(MetricsFormat::Prometheus) }
    }
}

/// Output formats of `coord plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Human-readable, like the spec's examples.
    Text,
    /// The plan as JSON (see `coord schema plan`).
    Json,
    /// The plan as YAML.
    Yaml,
}

/// Arguments of `coord plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The objective, e.g. "Add user authentication system with OAuth2 and JWT"; `-` reads stdin.
    #[arg(required_unless_present = "objective_file")]
    pub objective: Option<String>,
    /// Read the objective from a file instead.
    #[arg(long, value_name = "FILE", conflicts_with = "objective")]
    pub objective_file: Option<PathBuf>,
    /// The target repository: its files decide the stack and add context.
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Force the stack: node, python, java or graphql.
    #[arg(long, value_name = "STACK")]
    pub stack: Option<String>,
    /// Who plans: the rule-based planner (offline), or the model of coord.toml's [llm]
    /// (validated, repaired, and replaced by the rules when it fails). `auto`: the model when one
    /// is configured with its key.
    #[arg(long, value_enum, default_value = "auto")]
    pub planner: PlannerKind,
    /// With --planner llm: accept the rule-based plan when the model cannot plan (otherwise
    /// the fallback plan is printed with a warning and coord exits 3).
    #[arg(long, value_enum, value_name = "PLANNER")]
    pub fallback: Option<FallbackKind>,
    /// Output format; with --out, defaults to the file's extension.
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Write the plan to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Leave out the coordination workflows (migration replay and deployment, contract
    /// publishing, frontend review and contract test) and plan only the specialists' work.
    #[arg(long)]
    pub no_workflows: bool,
}

/// What may plan when the model cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FallbackKind {
    /// The rule-based planner.
    Rules,
}

/// The planners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlannerKind {
    /// The model when coord.toml configures one and its key is set; the rules otherwise.
    Auto,
    /// Rule-based, offline, deterministic.
    Rules,
    /// The configured model.
    Llm,
}

/// Arguments of `coord validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The plan file (.json, .yaml or .yml).
    pub plan: PathBuf,
    /// Where project agents live (`.coord/agents`, `.claude/agents`); default: current folder.
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// JSON output: `{"valid": true, tasks, groups, critical_path...}` or `{"valid": false, "errors": [...]}`.
    #[arg(long)]
    pub json: bool,
}

/// Output formats of `coord brief`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BriefFormat {
    /// The brief itself (markdown); context statistics on stderr.
    Markdown,
    /// The brief, the filtered items and the token counts as JSON.
    Json,
}

/// Arguments of `coord brief`.
#[derive(Debug, Args)]
pub struct BriefArgs {
    /// The plan file.
    pub plan: PathBuf,
    /// The task id, e.g. backend-T003.
    pub task: String,
    /// Where project agents live; default: current folder.
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The brief, the filtered items and the token counts as JSON.
    #[arg(long)]
    pub json: bool,
    /// The older spelling of --json (`--format markdown|json`).
    #[arg(long, value_enum, hide = true, conflicts_with = "json")]
    pub format: Option<BriefFormat>,
}

impl BriefArgs {
    /// The format asked for.
    pub fn format(&self) -> BriefFormat {
        if self.json { BriefFormat::Json } else { self.format.unwrap_or(BriefFormat::Markdown) }
    }
}

/// Arguments of `coord agents`.
#[derive(Debug, Args)]
pub struct AgentsArgs {
    /// list or show.
    #[command(subcommand)]
    pub command: AgentsCommand,
}

/// Arguments of `coord playbooks`.
#[derive(Debug, Args)]
pub struct PlaybooksArgs {
    /// list, show or explain.
    #[command(subcommand)]
    pub command: PlaybooksCommand,
}

/// `coord playbooks` subcommands.
#[derive(Debug, Subcommand)]
pub enum PlaybooksCommand {
    /// List the playbooks in planning order: built-in, the project's, and those turned off.
    List {
        /// Project folder with `.coord/playbooks`; default: current folder.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// JSON output (`--json`).
        #[command(flatten)]
        out: JsonOutput,
    },
    /// Print one playbook's file, e.g. `coord playbooks show api-contract`.
    Show {
        /// The playbook's name.
        name: String,
        /// Project folder; default: current folder.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// Plan an objective and say which playbook templates fired and why, which did not and
    /// why not, what was inferred, and why each specialist was chosen.
    Explain {
        /// The objective.
        objective: String,
        /// Project folder: its files decide the stack; its playbooks and agents are used.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// Force the stack: node, python, java or graphql.
        #[arg(long)]
        stack: Option<String>,
        /// JSON output (`--json`).
        #[command(flatten)]
        out: JsonOutput,
    },
}

/// Output formats of listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table.
    Text,
    /// JSON.
    Json,
}

/// `--json`, the one JSON flag of the commands that read; the older `--format text|json` is
/// still accepted (hidden) so scripts written against it keep working.
#[derive(Debug, Clone, Copy, Args)]
pub struct JsonOutput {
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// The older spelling of --json.
    #[arg(long = "format", value_enum, hide = true, conflicts_with = "json")]
    pub legacy_format: Option<ListFormat>,
}

impl JsonOutput {
    /// The format asked for.
    pub fn format(self) -> ListFormat {
        if self.json || self.legacy_format == Some(ListFormat::Json) { ListFormat::Json } else { ListFormat::Text }
    }
}

/// `coord agents` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Write the roster as Claude Code agent files (`coord agents export .claude/agents`):
    /// name, description, tools, model, persona, and coord's capabilities and context keys.
    Export {
        /// The folder to write into.
        dir: PathBuf,
        /// Project folder whose agent files override the built-in ones; default: current folder.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// Replace files that exist and differ.
        #[arg(long)]
        force: bool,
    },
    /// List every specialist: built-in and the project's.
    List {
        /// Project folder with `.coord/agents` or `.claude/agents`; default: current folder.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// JSON output (`--json`).
        #[command(flatten)]
        out: JsonOutput,
    },
    /// Show one specialist: description, capabilities, context policy and persona.
    Show {
        /// The specialist's name, e.g. nodejs-expert.
        name: String,
        /// Project folder; default: current folder.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// JSON output (`--json`).
        #[command(flatten)]
        out: JsonOutput,
    },
}

/// Arguments of `coord schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum)]
    pub which: SchemaKind,
}

/// The schemas `coord schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// The plan file format.
    Plan,
}
