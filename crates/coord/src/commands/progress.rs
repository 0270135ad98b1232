//! Progress of a run on the terminal: a bar per parallel group on a TTY, plain lines on stderr
//! otherwise (stdout keeps the report), JSON lines on stdout with `--json`.

use coord_core::Plan;
use coord_runtime::Progress;
use coord_runtime::scheduler::ProgressEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Prints events as plain lines or JSON lines, on stdout or stderr. Every event is printed, in order, but
/// not one write per event: lines gather in a buffer that a flusher thread writes at most every
/// [`FLUSH_EVERY`] (a 10,000-task run printed 20,000 lines with 20,000 system calls), and that
/// is written out when the sink is dropped. A write error (a closed pipe) loses the output, not
/// the run.
pub struct Lines {
    json: bool,
    buffer: Arc<Mutex<Vec<u8>>>,
    stderr: bool,
}

/// How long a printed line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

fn write_out(buffer: &mut Vec<u8>, stderr: bool) {
    if buffer.is_empty() {
        return;
    }
    fn put(mut sink: impl Write, bytes: &[u8]) {
        let _ = sink.write_all(bytes).and_then(|()| sink.flush());
    }
    if stderr {
        put(std::io::stderr().lock(), buffer);
    } else {
        put(std::io::stdout().lock(), buffer);
    }
    buffer.clear();
}

fn lock(buffer: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    // A panic while holding the lock cannot leave the buffer in a state worse than a partial line.
    buffer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Lines {
    /// A sink printing text lines, or JSON lines with `json`, on stdout (stderr with `stderr`).
    pub fn new(json: bool, stderr: bool) -> Lines {
        let buffer = Arc::new(Mutex::new(Vec::with_capacity(64 * 1024)));
        let weak = Arc::downgrade(&buffer);
        // The thread ends at its first tick after the sink is gone.
        let _ = std::thread::Builder::new().name("coord-progress".into()).spawn(move || {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                let Some(buffer) = weak.upgrade() else { return };
                write_out(&mut lock(&buffer), stderr);
            }
        });
        Lines { json, buffer, stderr }
    }

    /// Writes what is buffered now.
    pub fn flush(&self) {
        write_out(&mut lock(&self.buffer), self.stderr);
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.flush();
    }
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
        let line = if self.json {
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
            v.to_string()
        } else {
            text(event)
        };
        let mut buffer = lock(&self.buffer);
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
        // A burst larger than the buffer's usual size goes out at once.
        if buffer.len() >= 1 << 20 {
            write_out(&mut buffer, self.stderr);
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

/// Whether a run's progress is drawn as bars: on a terminal, without `--json`.
pub fn bars_wanted(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

/// Bars for the plan's groups.
pub fn bars(plan: &Plan) -> Box<dyn Progress> {
    Box::new(Bars::new(plan))
}

/// A run's progress as lines: JSON lines on stdout with `json` (the data a script reads), else
/// text on stderr, so stdout holds only the run's report when it is piped.
pub fn lines(json: bool) -> Box<dyn Progress> {
    Box::new(Lines::new(json, !json))
}
