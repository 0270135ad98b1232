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
    /// Analyse an objective and plan it into tasks, assignments and parallel groups.
    Plan(PlanArgs),
    /// Check a plan file (JSON or YAML, possibly edited by hand).
    Validate(ValidateArgs),
    /// Render one task of a plan as the spec's delegation brief, context filtered.
    Brief(BriefArgs),
    /// List or show the specialists of the roster.
    Agents(AgentsArgs),
    /// Print a JSON Schema.
    Schema(SchemaArgs),
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
    /// Output format; with --out, defaults to the file's extension.
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Write the plan to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `coord validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The plan file (.json, .yaml or .yml).
    pub plan: PathBuf,
    /// Where project agents live (`.coord/agents`, `.claude/agents`); default: current folder.
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
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
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: BriefFormat,
}

/// Arguments of `coord agents`.
#[derive(Debug, Args)]
pub struct AgentsArgs {
    /// list or show.
    #[command(subcommand)]
    pub command: AgentsCommand,
}

/// Output formats of listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table.
    Text,
    /// JSON.
    Json,
}

/// `coord agents` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// List every specialist: built-in and the project's.
    List {
        /// Project folder with `.coord/agents` or `.claude/agents`; default: current folder.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Show one specialist: description, capabilities, context policy and persona.
    Show {
        /// The specialist's name, e.g. nodejs-expert.
        name: String,
        /// Project folder; default: current folder.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
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
