//! The feedback a task gets when its result conflicts with the integration branch: which files,
//! and each conflicting hunk as git marked it (the integrated side first, the task's second),
//! with a few lines of context, capped so a brief stays readable.

use super::git::{MergeTree, Repo};

const CONTEXT: usize = 2;
const MAX_FILES: usize = 10;
const MAX_CHARS: usize = 6000;

/// The text of the feedback for a conflicted merge of a task's result into `branch`.
pub(super) async fn feedback(repo: &Repo, branch: &str, merge: &MergeTree) -> String {
    let mut out = format!(
        "merge conflict: your result conflicts with work already merged into {branch} in {} file(s): {}.\n\
         Your workspace now starts from {branch} with your changes applied and git's conflict markers where both sides \
         changed the same lines. Resolve every marked hunk so that both changes survive, and remove the markers.\n",
        merge.conflicts.len(),
        merge.conflicts.join(", ")
    );
    for path in merge.conflicts.iter().take(MAX_FILES) {
        if out.len() > MAX_CHARS {
            out.push_str("\n(more conflicts in the files above)\n");
            break;
        }
        match repo.show(&merge.tree, path).await {
            Some(text) if text.contains('\0') || !text.contains("<<<<<<<") => {
                out.push_str(&format!(
                    "\n--- {path}: both sides changed it and it cannot be merged line by line (binary, or deleted on one side); \
                     your workspace holds the integrated version: make it contain both changes\n"
                ));
            }
            Some(text) => {
                out.push_str(&format!("\n--- {path}\n"));
                out.push_str(&hunks(&text));
            }
            None => out.push_str(&format!("\n--- {path}: deleted on one side and changed on the other\n")),
        }
    }
    for m in merge.messages.iter().filter(|m| m.starts_with("CONFLICT")).take(MAX_FILES) {
        if !out.contains(m.as_str()) {
            out.push_str(&format!("{m}\n"));
        }
    }
    if out.len() > MAX_CHARS + 2000 {
        let mut cut = MAX_CHARS + 2000;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n(cut)\n");
    }
    out
}

/// Places (`file:line`) in `files` under `dir` that still hold a conflict marker: a result with
/// an unresolved conflict is not accepted.
pub fn unresolved_markers(dir: &std::path::Path, files: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(dir.join(f)) else { continue };
        if bytes.contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut open = None;
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("<<<<<<< ") || line == "<<<<<<<" {
                open = Some(n + 1);
            } else if (line.starts_with(">>>>>>> ") || line == ">>>>>>>")
                && let Some(start) = open.take()
            {
                out.push(format!("{f}:{start}"));
            }
        }
    }
    out
}

/// The marked regions of a file with `CONTEXT` lines around each.
fn hunks(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = vec![false; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with("<<<<<<<") {
            let start = i.saturating_sub(CONTEXT);
            let mut end = i;
            while end < lines.len() && !lines[end].starts_with(">>>>>>>") {
                end += 1;
            }
            let stop = (end + CONTEXT).min(lines.len().saturating_sub(1));
            for k in keep.iter_mut().take(stop + 1).skip(start) {
                *k = true;
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    let mut out = String::new();
    let mut gap = false;
    for (n, line) in lines.iter().enumerate() {
        if keep[n] {
            if gap && !out.is_empty() {
                out.push_str("...\n");
            }
            gap = false;
            out.push_str(&format!("{:>5} | {line}\n", n + 1));
        } else {
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hunks_keep_the_markers_and_their_context_only() {
        let text = "a\nb\nc\nd\n<<<<<<< coord/run\nONE\n=======\nTWO\n>>>>>>> coord-task/run/t\ne\nf\ng\nh\n";
        let h = super::hunks(text);
        assert!(h.contains("<<<<<<< coord/run") && h.contains("ONE") && h.contains("TWO") && h.contains(">>>>>>>"));
        assert!(h.contains("    3 | c") && h.contains("   11 | f"), "{h}");
        assert!(!h.contains("| a") && !h.contains("| h"), "{h}");
    }
}
