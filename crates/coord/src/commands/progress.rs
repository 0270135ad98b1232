//! Progress of a run on the terminal: a bar per parallel group on a TTY, plain lines
//! otherwise, JSON lines with `--json`.

use coord_core::Plan;
use coord_runtime::Progress;
use coord_runtime::scheduler::ProgressEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;

/// Prints events as plain lines or JSON lines.
pub struct Lines {
    /// JSON lines instead of text.
    pub json: bool,
}

fn text(event: &ProgressEvent) -> String {
    match event {
        ProgressEvent::Started { task, specialist, attempt } => {
            format!("{task}: started by @{specialist} (attempt {attempt})")
        }
        ProgressEvent::Done { task } => format!("{task}: done"),
        ProgressEvent::Retrying { task, level, what } => format!("{task}: level {level}: {what}"),
        ProgressEvent::Escalated { task, reason } => format!("{task}: escalated to @tech-lead-orchestrator ({reason})"),
    }
}

impl Progress for Lines {
    fn on_event(&self, event: &ProgressEvent) {
        if self.json {
            let v = match event {
                ProgressEvent::Started { task, specialist, attempt } => {
                    serde_json::json!({ "event": "started", "task": task, "specialist": specialist, "attempt": attempt })
                }
                ProgressEvent::Done { task } => serde_json::json!({ "event": "done", "task": task }),
                ProgressEvent::Retrying { task, level, what } => {
                    serde_json::json!({ "event": "retrying", "task": task, "level": level, "what": what })
                }
                ProgressEvent::Escalated { task, reason } => {
                    serde_json::json!({ "event": "escalated", "task": task, "reason": reason })
                }
            };
            println!("{v}");
        } else {
            println!("{}", text(event));
        }
    }
}

/// One bar per parallel group.
pub struct Bars {
    group_of: HashMap<String, usize>,
    bars: Vec<ProgressBar>,
    multi: MultiProgress,
}

impl Bars {
    /// Bars for the plan's groups, on stderr.
    pub fn new(plan: &Plan) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let mut group_of = HashMap::new();
        let mut bars = Vec::new();
        for (i, group) in plan.groups.iter().enumerate() {
            let bar = multi.add(ProgressBar::new(group.len() as u64));
            bar.set_style(style.clone());
            bar.set_prefix(format!("group {}", i + 1));
            for id in group {
                group_of.insert(id.clone(), i);
            }
            bars.push(bar);
        }
        Bars { group_of, bars, multi }
    }
}

impl Progress for Bars {
    fn on_event(&self, event: &ProgressEvent) {
        let task = match event {
            ProgressEvent::Started { task, .. }
            | ProgressEvent::Done { task }
            | ProgressEvent::Retrying { task, .. }
            | ProgressEvent::Escalated { task, .. } => task,
        };
        let Some(bar) = self.group_of.get(task).and_then(|g| self.bars.get(*g)) else { return };
        match event {
            ProgressEvent::Done { .. } => bar.inc(1),
            ProgressEvent::Started { .. } => bar.set_message(text(event)),
            _ => {
                let _ = self.multi.println(text(event));
            }
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        for b in &self.bars {
            b.abandon();
        }
    }
}

/// The sink for a run: bars on a terminal, lines otherwise.
pub fn for_run(plan: &Plan, json: bool) -> Box<dyn Progress> {
    if !json && std::io::stderr().is_terminal() { Box::new(Bars::new(plan)) } else { Box::new(Lines { json }) }
}
