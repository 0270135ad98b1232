//! The report of a run as the store has it: tasks by state, who is waited on, the run's wall
//! time and its critical path as worked, spend and delivery.

use crate::scheduler::Runtime;
use crate::{RuntimeError, now_ms};
use coord_core::Plan;
use coord_store::{RunState, Store, TaskState};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// What a drive of a run reached.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunReport {
    /// The run.
    pub run_id: String,
    /// The run's state at the end of the drive.
    pub state: String,
    /// Tasks by state.
    pub tasks: HashMap<String, usize>,
    /// Attempts started in total.
    pub attempts: i64,
    /// Wall time of this drive (this process), milliseconds.
    pub wall_ms: u64,
    /// Wall time of the run: from its creation to its end, or to now while it is not finished,
    /// over every drive and every person who worked on it, milliseconds.
    pub run_wall_ms: i64,
    /// The plan's critical path as it was worked, milliseconds: the summed durations of its
    /// tasks' successful attempts; a task a person completed without claiming it first
    /// (`coord task complete` at once) counts from when it became ready.
    pub critical_path_ms: i64,
    /// Tasks that wait for a person: `(task, specialist)`.
    pub waiting_for_people: Vec<(String, String)>,
    /// Open escalations of the run.
    pub open_escalations: usize,
    /// LLM tokens and cost of the whole run so far.
    pub llm: crate::metrics::Spend,
    /// Where the run's result is (its integration branch), in a git repository.
    pub delivery: Option<crate::workspace::Delivery>,
    /// What the `[deliver]` command did at the end of this drive, if it ran.
    pub delivered: Option<String>,
    /// The drive was stopped ([`Halt::Stop`]) before the run reached an end it could reach.
    pub stopped: bool,
    /// Attempts the stop interrupted: their tasks are `ready` again for `coord resume`.
    pub interrupted: usize,
}

impl<S: Store + Clone + 'static> Runtime<S> {
    /// A report of the run as the store has it now; `started` is when this drive began.
    pub async fn report(&self, run_id: &str, plan: &Plan, started: Instant) -> Result<RunReport, RuntimeError> {
        let run = self.store.run(run_id).await?;
        let tasks = self.store.tasks(run_id).await?;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for t in &tasks {
            *counts.entry(t.state.to_string()).or_default() += 1;
        }
        let automatic = self.automatic_specialists();
        let waiting: Vec<(String, String)> = tasks
            .iter()
            .filter(|t| {
                matches!(t.state, TaskState::Ready | TaskState::Retrying | TaskState::Running)
                    && !automatic.contains(&t.specialist)
            })
            .map(|t| (t.task_id.clone(), t.specialist.clone()))
            .collect();
        let end = if run.state == RunState::Running { now_ms() } else { run.updated_at };
        Ok(RunReport {
            run_id: run_id.to_string(),
            state: run.state.as_str().to_string(),
            tasks: counts,
            attempts: tasks.iter().map(|t| t.attempts).sum(),
            wall_ms: started.elapsed().as_millis() as u64,
            run_wall_ms: (end - run.created_at).max(0),
            critical_path_ms: self.critical_path_ms(run_id, plan, run.created_at).await?,
            waiting_for_people: waiting,
            open_escalations: self.store.escalations(Some(run_id), true).await?.len(),
            llm: crate::metrics::run_spend(&self.store, run_id).await?,
            delivery: self.workspaces.delivery(&self.store, run_id).await.ok().flatten(),
            delivered: None,
            stopped: false,
            interrupted: 0,
        })
    }

    /// The critical path as worked (see [`RunReport::critical_path_ms`]); `created_at` is the
    /// run's creation, when its first tasks became ready.
    async fn critical_path_ms(&self, run_id: &str, plan: &Plan, created_at: i64) -> Result<i64, RuntimeError> {
        let mut total = 0;
        // Tasks done at the moment they were claimed: (task, when), measured from `task_ready`.
        let mut at_once: HashMap<String, i64> = HashMap::new();
        for id in &plan.critical_path {
            for a in self.store.attempts(run_id, id).await? {
                if a.outcome.as_deref() != Some("succeeded") {
                    continue;
                }
                let finished = a.finished_at.unwrap_or(a.started_at);
                if finished == a.started_at {
                    at_once.insert(id.clone(), finished);
                } else {
                    total += finished - a.started_at;
                }
            }
        }
        if at_once.is_empty() {
            return Ok(total);
        }
        // The last time each became ready before it was done (a retried task is ready again).
        let wanted: HashSet<&String> = at_once.keys().collect();
        let mut ready: HashMap<String, i64> = HashMap::new();
        let mut after = 0;
        loop {
            let events = self.store.events(run_id, after, 5_000).await?;
            let Some(last) = events.last() else { break };
            after = last.seq;
            for e in &events {
                if e.kind == "task_ready"
                    && let Some(task) = e.task_id.as_ref().filter(|t| wanted.contains(t))
                    && e.at <= at_once[task]
                {
                    ready.insert(task.clone(), e.at);
                }
            }
        }
        for (task, done) in &at_once {
            // A first task is ready from the run's creation on, without an event.
            let from = ready.get(task).copied().unwrap_or(created_at);
            total += (done - from).max(0);
        }
        Ok(total)
    }
}
