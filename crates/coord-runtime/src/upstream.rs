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
/// `known` answers the accepted detail of a dependency without a read when the caller has it
/// (the results this process recorded).
pub async fn delivered<'p, S: Store>(
    store: &S,
    run: &str,
    task: &Task,
    lookup: impl Fn(&str) -> Option<&'p Task>,
    known: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut approvals: Option<Vec<coord_store::Event>> = None;
    for dep in &task.depends_on {
        if let Some(detail) = known(dep) {
            if let Some(line) =
                serde_json::from_str::<serde_json::Value>(&detail).ok().and_then(|d| entry(dep, &d, &lookup))
            {
                out.push(line);
            }
            continue;
        }
        let Ok(attempts) = store.attempts(run, dep).await else { continue };
        let succeeded = attempts.iter().rev().find(|a| a.outcome.as_deref() == Some("succeeded"));
        // A result accepted by the tech lead's approval (no attempt succeeded): what the
        // approval was asked for. Only then is the run's event log read.
        let detail = match succeeded {
            Some(a) => match a.detail.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()) {
                Some(d) => d,
                None => continue,
            },
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
        if let Some(line) = entry(dep, &detail, &lookup) {
            out.push(line);
        }
    }
    out
}

/// The CONTEXT line of one dependency's accepted result; None when it delivered nothing to say.
fn entry<'p>(dep: &str, detail: &serde_json::Value, lookup: &impl Fn(&str) -> Option<&'p Task>) -> Option<String> {
    let summary = detail.get("summary").and_then(|s| s.as_str()).unwrap_or("").trim().to_string();
    let files: Vec<&str> =
        detail.get("artifacts").and_then(|a| a.as_array()).into_iter().flatten().filter_map(|f| f.as_str()).collect();
    if summary.is_empty() && files.is_empty() {
        return None;
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
    Some(line)
}
