//! What a task's dependencies delivered in this run — the files and summary of each done
//! dependency's accepted attempt — for the CONTEXT of its brief. The frontend's review of a
//! contract sees the published version and its classified changes this way; the deployment
//! sees the deployment note.

use coord_core::Task;
use coord_store::Store;

/// One line per done dependency with a recorded result: `id (title): summary; files: a, b`.
pub async fn delivered<'p, S: Store>(
    store: &S,
    run: &str,
    task: &Task,
    lookup: impl Fn(&str) -> Option<&'p Task>,
) -> Vec<String> {
    let mut out = Vec::new();
    for dep in &task.depends_on {
        let Ok(attempts) = store.attempts(run, dep).await else { continue };
        let Some(accepted) = attempts.iter().rev().find(|a| a.outcome.as_deref() == Some("succeeded")) else {
            continue;
        };
        let Some(detail) = accepted.detail.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        else {
            continue;
        };
        let summary = detail.get("summary").and_then(|s| s.as_str()).unwrap_or("").trim().to_string();
        let files: Vec<&str> = detail
            .get("artifacts")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .collect();
        if summary.is_empty() && files.is_empty() {
            continue;
        }
        let title = lookup(dep).map_or(String::new(), |t| format!(" ({})", t.title));
        let mut line = format!("{dep}{title}:");
        if !summary.is_empty() {
            line.push_str(&format!(" {}", summary.lines().next().unwrap_or("")));
        }
        if !files.is_empty() {
            let shown: Vec<&str> = files.iter().take(12).copied().collect();
            let more = if files.len() > 12 { format!(" and {} more", files.len() - 12) } else { String::new() };
            line.push_str(&format!("; files: {}{more}", shown.join(", ")));
        }
        out.push(line);
    }
    out
}
