//! Watching a run that workers execute (`coord run --parallel 0`): this process runs nothing; it
//! follows the run's event log into the progress sink, expires leases of dead workers, and
//! returns the run's report once the run leaves `running` or nothing can move without a person
//! (only escalated, blocked or failed tasks remain). [`Halt::Stop`] ends the watch and leaves
//! the run to the workers; [`Halt::Cancel`] cancels the run. A store that stops answering (a
//! restarted server) is waited out for up to five minutes.

use crate::RunReport;
use crate::scheduler::{Halt, ProgressEvent, RuntimeError, halt_changed};
use crate::{Progress, Runtime, now_ms};
use coord_core::Plan;
use coord_store::{RunState, Store, StoreError, TaskState};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long the watch waits for a store that does not answer before it gives up.
const PATIENCE: Duration = Duration::from_secs(300);

/// Where one look at the run left it.
enum Look {
    Going,
    Over,
}

impl<S: Store + Clone + 'static> Runtime<S> {
    pub(crate) async fn watch(
        &self,
        run_id: &str,
        plan: Plan,
        mut halt: watch::Receiver<Halt>,
        progress: &dyn Progress,
    ) -> Result<RunReport, RuntimeError> {
        let started = Instant::now();
        let mut after = 0;
        let mut told_no_worker = false;
        let mut failing_since: Option<Instant> = None;
        loop {
            match self.look(run_id, &mut after, &mut told_no_worker, progress).await {
                Ok(Look::Over) => break,
                Ok(Look::Going) => failing_since = None,
                Err(e) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > PATIENCE {
                        return Err(e.into());
                    }
                }
            }
            let halted = *halt.borrow();
            match halted {
                Halt::Go => {}
                Halt::Stop => {
                    let mut report = self.report(run_id, &plan, started).await?;
                    report.stopped = true;
                    return Ok(report);
                }
                Halt::Cancel => {
                    self.store.cancel_run(run_id, now_ms()).await?;
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = halt_changed(&mut halt) => {}
            }
        }
        self.report(run_id, &plan, started).await
    }

    /// Reports new events, expires dead workers' leases, and says whether the run can still move.
    async fn look(
        &self,
        run_id: &str,
        after: &mut i64,
        told_no_worker: &mut bool,
        progress: &dyn Progress,
    ) -> Result<Look, StoreError> {
        let tasks = self.store.tasks(run_id).await?;
        let specialist: HashMap<&str, &str> =
            tasks.iter().map(|t| (t.task_id.as_str(), t.specialist.as_str())).collect();
        loop {
            let events = self.store.events(run_id, *after, 1000).await?;
            for e in &events {
                *after = e.seq;
                if let Some(event) = progress_of(e, &specialist) {
                    progress.on_event(&event);
                }
            }
            if events.len() < 1000 {
                break;
            }
        }
        let now = now_ms();
        self.store.expire_leases(now).await?;
        if self.store.run(run_id).await?.state != RunState::Running {
            return Ok(Look::Over);
        }
        let movable = tasks.iter().any(|t| {
            matches!(t.state, TaskState::Ready | TaskState::Retrying | TaskState::Running | TaskState::Gating)
        });
        if !movable {
            return Ok(Look::Over);
        }
        let live = self.store.workers().await?.iter().any(|w| now - w.seen_at < 10_000);
        if !live && !*told_no_worker {
            *told_no_worker = true;
            progress.on_event(&ProgressEvent::Escalated {
                task: "(run)".into(),
                reason: "no live worker: start `coord worker` with this --db (the run waits for one)".into(),
            });
        }
        Ok(Look::Going)
    }
}

/// The progress a logged event stands for.
fn progress_of(e: &coord_store::Event, specialist: &HashMap<&str, &str>) -> Option<ProgressEvent> {
    let task = e.task_id.clone()?;
    let text = |k: &str| e.data.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let assigned = specialist.get(task.as_str()).map_or_else(|| text("owner"), |s| s.to_string());
    Some(match e.kind.as_str() {
        "task_claimed" => ProgressEvent::Started {
            task,
            specialist: assigned,
            attempt: e.data.get("attempt").and_then(|a| a.as_i64()).unwrap_or(0),
        },
        "task_done" | "task_skipped" => ProgressEvent::Done { task },
        "task_retrying" => ProgressEvent::Retrying {
            task,
            level: e.data.get("level").and_then(|l| l.as_i64()).unwrap_or(1),
            what: format!("retrying after: {}", text("error").lines().next().unwrap_or_default()),
        },
        "task_escalated" => ProgressEvent::Escalated { task, reason: text("reason") },
        "task_failed" => ProgressEvent::Escalated { task, reason: text("error") },
        _ => return None,
    })
}
