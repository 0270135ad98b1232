//! Roster-aware assignment: which specialist takes a task. A project's own agents (loaded from
//! `.claude/agents` or `.coord/agents`) are matched first, by the roles their frontmatter
//! declares, then by how well their name and description fit the role's words
//! (`playbooks/roles.toml`); otherwise the playbook's built-in default takes the task, with
//! `$implementer` meaning the stack's implementer. Every choice carries its reason.

use coord_core::{Analysis, Roster, Specialist, Task};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const ROLES_TOML: &str = include_str!("../../playbooks/roles.toml");

#[derive(Deserialize)]
struct RolesFile {
    roles: BTreeMap<String, Vec<String>>,
}

/// Role name → the words that show a description fits it. Parsed once; a test parses the file,
/// so an empty table here would only follow a defect caught before release.
static ROLES: LazyLock<BTreeMap<String, Vec<String>>> =
    LazyLock::new(|| toml::from_str::<RolesFile>(ROLES_TOML).map(|f| f.roles).unwrap_or_default());

/// The known roles, for validating playbooks.
pub fn known_roles() -> Vec<&'static str> {
    ROLES.keys().map(|k| k.as_str()).collect()
}

/// The chosen specialist and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The specialist's name.
    pub name: String,
    /// Why it was chosen.
    pub reason: String,
}

/// Whether `word` occurs in `text` at a word start (and, for short words, as a whole word).
fn has_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find(word) {
        let start = from + pos;
        let end = start + word.len();
        let starts = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let ends = word.len() > 4 || end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if starts && ends {
            return true;
        }
        from = end;
    }
    false
}

/// How well an agent fits a role: the role's words (and the task's integration) found in its
/// name and description.
fn fit(agent: &Specialist, role: &str, task_words: &[String]) -> (usize, Vec<String>) {
    let text = format!("{} {}", agent.name.replace('-', " "), agent.description).to_lowercase();
    let mut hits: Vec<String> = Vec::new();
    for w in ROLES.get(role).into_iter().flatten().chain(task_words.iter()) {
        if has_word(&text, w) && !hits.contains(w) {
            hits.push(w.clone());
        }
    }
    (hits.len(), hits)
}

/// Chooses the specialist of a task needing `role`, whose playbook default is `default`.
pub fn choose_specialist(role: &str, default: &str, task: &Task, a: &Analysis, roster: &Roster) -> Choice {
    let own: Vec<&Specialist> = roster.iter().filter(|s| !s.source.starts_with("builtin")).collect();
    if let Some(s) = own.iter().find(|s| s.roles.iter().any(|r| r == role)) {
        return Choice { name: s.name.clone(), reason: format!("declares the role `{role}` ({})", s.source) };
    }
    // Words of this very task that an agent's description may name: its integration.
    let task_words: Vec<String> =
        a.integrations.iter().filter(|i| task.title.contains(&i.name)).map(|i| i.name.to_lowercase()).collect();
    let best = own
        .iter()
        .filter(|s| s.roles.is_empty())
        .map(|s| (fit(s, role, &task_words), *s))
        .filter(|((score, hits), _)| *score >= 2 && hits.iter().any(|h| !task_words.contains(h)))
        .max_by(|((a, _), x), ((b, _), y)| a.cmp(b).then_with(|| y.name.cmp(&x.name)));
    if let Some(((_, hits), s)) = best {
        return Choice {
            name: s.name.clone(),
            reason: format!("its description fits `{role}` ({}; {})", hits.join(", "), s.source),
        };
    }
    if default == "$implementer" {
        let evidence = a.stack.evidence.first().cloned().unwrap_or_else(|| "no stack named: the spec's default".into());
        return Choice {
            name: a.stack.specialist.clone(),
            reason: format!("implements {} ({evidence})", a.stack.language.as_str()),
        };
    }
    Choice { name: default.to_string(), reason: format!("the built-in specialist for `{role}`") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_file_parses() {
        let parsed: RolesFile = toml::from_str(ROLES_TOML).unwrap_or_else(|e| panic!("roles.toml: {e}"));
        assert!(parsed.roles.len() >= 10);
        assert_eq!(known_roles().len(), parsed.roles.len());
    }

    #[test]
    fn words_match_at_word_starts() {
        assert!(has_word("runs k6 load tests", "k6"));
        assert!(has_word("vulnerabilities", "vulnerab"));
        assert!(!has_word("interest rates", "rest"));
        assert!(!has_word("restore backups", "rest"));
        assert!(has_word("a rest api", "rest"));
    }
}
