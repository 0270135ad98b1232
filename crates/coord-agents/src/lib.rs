//! Agent definitions in the Claude Code format, and the roster built from them.
//!
//! An agent file is markdown with a YAML frontmatter block:
//!
//! ```markdown
//! ---
//! name: nodejs-expert
//! description: Node.js/Express/NestJS applications
//! model: sonnet
//! tools: Read, Write, Edit, Bash
//! color: green
//! capabilities: [nodejs, express, nestjs]
//! context:
//!   allow: [api-contracts, business-logic]
//!   deny: [frontend-html-css]
//! ---
//! You are ... (the persona)
//! ```
//!
//! `name`, `description`, `model`, `tools` and `color` are Claude Code's keys; `capabilities`
//! and `context` are ours. The built-in roster ([`builtin_roster`]) embeds one file per
//! specialist of the spec, the coordinator itself and the tech lead. A project adds or
//! overrides agents in `~/.claude/agents/`, then `.claude/agents/` and `.coord/agents/` (subfolders too; [`load_roster`]);
//! a malformed file is reported with its path and line, and the others still load.

mod builtin;
mod frontmatter;
mod roster;

pub use builtin::{BUILTIN_AGENTS, builtin_roster};
pub use frontmatter::{AgentError, parse_agent};
pub use roster::{Diagnostic, LoadedRoster, load_roster, load_roster_from};
