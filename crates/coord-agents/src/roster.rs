//! Loading a project's roster: the built-in agents, then `.claude/agents/*.md`, then
//! `.coord/agents/*.md`, later files overriding earlier ones by name.

use crate::builtin::builtin_roster;
use crate::frontmatter::parse_agent;
use coord_core::{ContextPolicy, Roster};
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with one agent file; the file was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// A roster and the files that could not be loaded into it.
#[derive(Debug, Clone)]
pub struct LoadedRoster {
    /// Every specialist that loaded.
    pub roster: Roster,
    /// Files that were skipped, and why.
    pub diagnostics: Vec<Diagnostic>,
}

/// Where a UTF-8 decoding error is, as a line number.
fn utf8_line(bytes: &[u8], err: &std::str::Utf8Error) -> usize {
    bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The `.md` files under `dir` and its subfolders (as Claude Code loads them), sorted; a folder
/// that cannot be read is a diagnostic. Symlinked folders are not followed.
fn agent_files(dir: &Path, depth: usize, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            diagnostics.push(Diagnostic {
                path: dir.to_path_buf(),
                line: None,
                message: format!("cannot read folder: {e}"),
            });
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type().ok();
        if kind.is_some_and(|k| k.is_dir()) && depth < 8 {
            files.extend(agent_files(&path, depth + 1, diagnostics));
        } else if path.extension().is_some_and(|x| x == "md") && kind.is_some_and(|k| !k.is_dir()) {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Loads the built-in roster and merges into it the user's agents (`~/.claude/agents/`, as
/// Claude Code loads them) and the project's (`.claude/agents/`, then `.coord/agents/`), each
/// folder with its subfolders; later ones override earlier ones by name.
///
/// A file without a `context` policy inherits the policy of the built-in agent it overrides,
/// or sees every category when it is a new agent.
pub fn load_roster(project: Option<&Path>) -> LoadedRoster {
    let user = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".claude/agents"));
    load_roster_from(project, user.as_deref())
}

/// [`load_roster`] with the user's agent folder given (`None`: no user agents).
pub fn load_roster_from(project: Option<&Path>, user_agents: Option<&Path>) -> LoadedRoster {
    let builtin = builtin_roster();
    let mut roster = builtin.clone();
    let mut diagnostics = Vec::new();
    let Some(project) = project else {
        return LoadedRoster { roster, diagnostics };
    };
    let mut folders: Vec<PathBuf> = user_agents.map(Path::to_path_buf).into_iter().collect();
    folders.extend([".claude/agents", ".coord/agents"].iter().map(|f| project.join(f)));
    for dir in folders {
        let files = agent_files(&dir, 0, &mut diagnostics);
        for path in files {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    diagnostics.push(Diagnostic { path, line: None, message: format!("cannot read: {e}") });
                    continue;
                }
            };
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) => t,
                Err(e) => {
                    let line = utf8_line(&bytes, &e);
                    diagnostics.push(Diagnostic {
                        path,
                        line: Some(line),
                        message: format!("not valid UTF-8 (byte {})", e.valid_up_to()),
                    });
                    continue;
                }
            };
            match parse_agent(text, &path.display().to_string()) {
                Ok((mut specialist, has_policy)) => {
                    if !has_policy {
                        specialist.context = builtin
                            .get(&specialist.name)
                            .map(|b| b.context.clone())
                            .unwrap_or_else(ContextPolicy::everything);
                    }
                    roster.insert(specialist);
                }
                Err(e) => diagnostics.push(Diagnostic { path, line: Some(e.line), message: e.message }),
            }
        }
    }
    LoadedRoster { roster, diagnostics }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coord_core::ContextCategory;

    fn write(dir: &Path, rel: &str, content: &[u8]) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    #[test]
    fn project_files_add_and_override_and_bad_ones_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            ".claude/agents/rust-expert.md",
            b"---\nname: rust-expert\ndescription: Rust services\n---\nYou write Rust.\n",
        );
        write(
            root,
            ".claude/agents/nodejs-expert.md",
            b"---\nname: nodejs-expert\ndescription: from claude\n---\nClaude persona.\n",
        );
        write(
            root,
            ".coord/agents/nodejs-expert.md",
            b"---\nname: nodejs-expert\ndescription: Our Node person\n---\nOur persona.\n",
        );
        write(
            root,
            ".coord/agents/broken.md",
            b"---\nname: broken\ndescription: x\ncontext:\n  allow: [nope]\n---\nbody\n",
        );
        write(root, ".coord/agents/latin1.md", b"---\nname: l\ndescription: caf\xe9\n---\nbody\n");
        write(
            root,
            ".claude/agents/reviewers/sec-reviewer.md",
            b"---\nname: sec-reviewer\ndescription: Reviews\ntools: Read, Grep\n---\nYou review.\n",
        );
        let user = tempfile::tempdir().unwrap();
        write(user.path(), "go-expert.md", b"---\nname: go-expert\ndescription: Go (user level)\n---\nYou write Go.\n");
        write(user.path(), "rust-expert.md", b"---\nname: rust-expert\ndescription: user level\n---\nUser.\n");
        let loaded = load_roster_from(Some(root), Some(user.path()));
        assert!(loaded.roster.contains("go-expert"), "user-level agents load");
        assert_eq!(loaded.roster.get("rust-expert").unwrap().description, "Rust services", "the project's win");
        assert!(loaded.roster.contains("sec-reviewer"), "subfolders load");
        let node = loaded.roster.get("nodejs-expert").unwrap();
        assert_eq!(node.description, "Our Node person", ".coord wins over .claude");
        assert!(!node.context.allows(ContextCategory::FrontendHtmlCss), "override inherits the built-in policy");
        let rust = loaded.roster.get("rust-expert").unwrap();
        assert!(rust.context.allow_all, "a new agent without policy sees everything");
        assert_eq!(loaded.diagnostics.len(), 2, "{:?}", loaded.diagnostics);
        let broken = loaded.diagnostics.iter().find(|d| d.path.ends_with("broken.md")).unwrap();
        assert_eq!(broken.line, Some(5));
        assert!(broken.to_string().contains("broken.md:5: "), "{broken}");
        let latin = loaded.diagnostics.iter().find(|d| d.path.ends_with("latin1.md")).unwrap();
        assert_eq!(latin.line, Some(3));
        assert!(loaded.roster.contains("api-architect"), "the rest still load");
    }
}
