//! Which paths a sandboxed program reads, which it never reads, and which no specialist may
//! change.

use std::path::{Path, PathBuf};

/// Credentials under the home folder that are never readable (the user can add more).
pub const DEFAULT_DENIED: &[&str] = &[
    "~/.ssh",
    "~/.aws",
    "~/.azure",
    "~/.gnupg",
    "~/.netrc",
    "~/.git-credentials",
    "~/.config/gh",
    "~/.config/gcloud",
    "~/.config/hub",
    "~/.docker/config.json",
    "~/.kube",
    "~/.npmrc",
    "~/.pypirc",
    "~/.cargo/credentials",
    "~/.cargo/credentials.toml",
    "~/.password-store",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/ssl/private",
];

/// Paths (relative to a workspace) no specialist may change: coord's configuration and
/// state, agent definitions and MCP configuration (they decide what agents may do), CI
/// (unless the task's kind is DevOps), and the worktree's own `.git`. A trailing `/` means
/// everything under the folder.
pub const PROTECTED: &[&str] = &[
    ".git",
    ".git/",
    "coord.toml",
    ".coord/",
    ".claude/",
    ".mcp.json",
    ".cursor/",
    ".codex/",
    ".gemini/",
    ".aider.conf.yml",
    ".github/workflows/",
    ".gitlab-ci.yml",
    ".circleci/",
    ".buildkite/",
    "Jenkinsfile",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
];

/// Whether a workspace-relative path is protected; CI files are not when `ci_allowed` (a
/// DevOps task).
pub fn is_protected(rel: &str, ci_allowed: bool) -> bool {
    let rel = rel.trim_start_matches("./");
    PROTECTED.iter().any(|p| {
        let ci = p.starts_with(".github")
            || p.starts_with(".gitlab")
            || p.starts_with(".circle")
            || p.starts_with(".buildkite")
            || *p == "Jenkinsfile"
            || p.starts_with("azure-")
            || p.starts_with("bitbucket-");
        if ci && ci_allowed {
            return false;
        }
        match p.strip_suffix('/') {
            Some(dir) => rel == dir || rel.starts_with(p),
            None => rel == *p,
        }
    })
}

/// The system folders a sandboxed program may read and run programs from.
pub fn readable_system() -> Vec<PathBuf> {
    [
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/etc",
        "/opt",
        "/proc",
        "/sys",
        "/dev",
        "/nix",
        "/snap",
        "/gnu",
        "/var/lib/dpkg",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|p| p.exists())
    .collect()
}

/// The folders a policy's program may read: the system's and `extra`, with `denied` cut out.
/// The system part is worked out once per process for each list of denied paths.
pub fn resolve_readable(extra: &[PathBuf], denied: &[PathBuf]) -> Vec<PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SYSTEM: OnceLock<Mutex<HashMap<Vec<PathBuf>, Vec<PathBuf>>>> = OnceLock::new();
    let cache = SYSTEM.get_or_init(Default::default);
    let mut out = {
        let mut map = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(denied.to_vec()).or_insert_with(|| cut_out(&readable_system(), denied)).clone()
    };
    out.extend(cut_out(extra, denied));
    out
}

/// `~/x` with the home folder.
pub fn expand(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}

/// `roots`, with every denied path cut out: a root that holds a denied path is replaced by its
/// entries (recursively around the denied path); a denied root disappears.
pub fn cut_out(roots: &[PathBuf], denied: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in roots {
        around(root, denied, &mut out, 0);
    }
    out
}

fn around(root: &Path, denied: &[PathBuf], out: &mut Vec<PathBuf>, depth: usize) {
    if denied.iter().any(|d| root.starts_with(d)) {
        return;
    }
    let inside: Vec<&PathBuf> = denied.iter().filter(|d| d.starts_with(root) && d.as_path() != root).collect();
    if inside.is_empty() || depth > 8 || !root.is_dir() {
        out.push(root.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        around(&entry.path(), denied, out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_paths_and_ci_for_devops_only() {
        for p in
            ["coord.toml", ".coord/coord.db", ".claude/agents/x.md", ".mcp.json", ".git", ".github/workflows/ci.yml"]
        {
            assert!(is_protected(p, false), "{p}");
        }
        assert!(!is_protected(".github/workflows/ci.yml", true));
        assert!(is_protected("coord.toml", true));
        for p in ["src/coord.toml.rs", "docs/.mcp.json.md", ".github/CODEOWNERS", "gitignore", "coordinator.toml"] {
            assert!(!is_protected(p, false), "{p}");
        }
    }

    #[test]
    fn a_denied_path_is_cut_out_of_its_folder() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let home = dir.path();
        for d in [".ssh", ".cargo/bin", ".cargo/registry", "code"] {
            std::fs::create_dir_all(home.join(d)).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(home.join(".cargo/credentials.toml"), "token").unwrap_or_else(|e| panic!("{e}"));
        let denied = vec![home.join(".ssh"), home.join(".cargo/credentials.toml")];
        let mut allowed = cut_out(&[home.to_path_buf()], &denied);
        allowed.sort();
        assert_eq!(allowed, vec![home.join(".cargo/bin"), home.join(".cargo/registry"), home.join("code")]);
        assert!(cut_out(&[home.join(".ssh")], &denied).is_empty());
        assert_eq!(cut_out(&[home.join("code")], &denied), vec![home.join("code")]);
    }
}
