//! Specialists and the roster: who can be assigned work and what context each may see.

use crate::context::ContextPolicy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One specialist: an agent definition loaded from a Claude Code style markdown file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Specialist {
    /// The handle (`nodejs-expert`); the spec writes it `@nodejs-expert`.
    pub name: String,
    /// When to delegate to this specialist.
    pub description: String,
    /// Preferred model, if the file names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Tools the agent may use, as the file lists them.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Display colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Capability tags used for assignment (`rest`, `fastapi`, `migrations`...).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Planner roles the agent declares it takes (`security-audit`, `integration`...): the
    /// rule planner gives it the tasks of those roles before any built-in.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Which context categories reach this specialist.
    pub context: ContextPolicy,
    /// The persona: the markdown body of the agent file, used as a system prompt.
    pub persona: String,
    /// Where the definition came from: `builtin` or a file path.
    pub source: String,
}

/// The specialists available to a plan, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    specialists: BTreeMap<String, Specialist>,
}

impl Roster {
    /// An empty roster.
    pub fn new() -> Self {
        Roster::default()
    }

    /// Adds a specialist, replacing any with the same name; returns the replaced one.
    pub fn insert(&mut self, specialist: Specialist) -> Option<Specialist> {
        self.specialists.insert(specialist.name.clone(), specialist)
    }

    /// The specialist with this name.
    pub fn get(&self, name: &str) -> Option<&Specialist> {
        self.specialists.get(name)
    }

    /// Whether a specialist with this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.specialists.contains_key(name)
    }

    /// All specialists, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Specialist> {
        self.specialists.values()
    }

    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.specialists.keys().map(String::as_str)
    }

    /// Number of specialists.
    pub fn len(&self) -> usize {
        self.specialists.len()
    }

    /// Whether the roster is empty.
    pub fn is_empty(&self) -> bool {
        self.specialists.is_empty()
    }
}
