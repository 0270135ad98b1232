//! What a task's dependencies delivered in this run — the files and summary of each done
//! dependency's accepted attempt — for the CONTEXT of its brief. The frontend's review of a
//! contract sees the published version and its classified changes this way; the deployment
//! sees the deployment note.

use coord_core::Task;
use coord_store::Store;

/// Lines of a dependency's summary after its first, at most.
const MAX_DETAIL_LINES: usize = 40;

/// One entry per done dependency with a recorded result: `id (title): summary; files: a, b`,
/// followed by the rest of a multi-line summary, indented.
pub async fn delivered<'p, S: Store>(
    store: &S,
    run: &str,
    task: &Task,
    lookup: impl Fn(&str) -> Option<&'p Task>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut approvals: Option<Vec<coord_store::Event>> = None;
    for dep in &task.depends_on {
        let Ok(attempts) = store.attempts(run, dep).await else { continue };
        let accepted = attempts
            .iter()
            .rev()
            .find(|a| a.outcome.as_deref() == Some("succeeded"))
            .and_then(|a| a.detail.as_deref())
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok());
        // A result accepted by the tech lead's approval: what the approval was asked for.
        let detail = match accepted {
            Some(d) => d,
            None => {
                if approvals.is_none() {
                    let events = crate::events::run_events(store, run).await.unwrap_or_default();
                    approvals = Some(events.into_iter().filter(|e| e.kind == "approval_requested").collect());
                }
                let asked =
                    approvals.as_deref().unwrap_or_default().iter().rev().find(|e| e.task_id.as_deref() == Some(dep));
                match asked {
                    Some(e) => e.data.clone(),
                    None => continue,
                }
            }
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
        let mut lines = summary.lines();
        let mut line = format!("{dep}{title}:");
        if let Some(first) = lines.next() {
            line.push_str(&format!(" {first}"));
        }
        if !files.is_empty() {
            let shown: Vec<&str> = files.iter().take(12).copied().collect();
            let more = if files.len() > 12 { format!(" and {} more", files.len() - 12) } else { String::new() };
            line.push_str(&format!("; files: {}{more}", shown.join(", ")));
        }
        // The rest of the summary (a contract's classified changes) as indented lines.
        let rest: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
        for l in rest.iter().take(MAX_DETAIL_LINES) {
            line.push_str(&format!("\n  {}", l.trim_end()));
        }
        if rest.len() > MAX_DETAIL_LINES {
            line.push_str(&format!("\n  ({} more lines in the files above)", rest.len() - MAX_DETAIL_LINES));
        }
        out.push(line);
    }
    out
}
