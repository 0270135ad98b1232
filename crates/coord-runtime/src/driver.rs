//! Background driving: `coord serve` and `coord mcp` execute the automatic tasks of the runs
//! they start, resume or complete work in (the coordinator's workflow checks among them) with the
//! same [`Runtime`] the CLI uses. One drive per run at a time; a kick while a drive is under way
//! makes it go round once more (a manual completion may have made automatic tasks ready after the
//! drive decided it only waited for people).

use crate::{Halt, Runtime};
use coord_store::{Store, TaskState};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// One run being driven.
struct Active {
    /// Set to [`Halt::Cancel`] when the run is cancelled: its attempts are killed.
    halt: watch::Sender<Halt>,
    /// Set by a kick during the drive: drive again when this one ends.
    again: bool,
}

/// Drives runs in the background.
pub struct Driver<S: Store + Clone + 'static> {
    runtime: Arc<Runtime<S>>,
    active: Arc<Mutex<HashMap<String, Active>>>,
    /// The specialists the runtime executes (read once: it may build a client).
    automatic: Arc<HashSet<String>>,
}

impl<S: Store + Clone + 'static> Clone for Driver<S> {
    fn clone(&self) -> Self {
        Driver { runtime: self.runtime.clone(), active: self.active.clone(), automatic: self.automatic.clone() }
    }
}

impl<S: Store + Clone + 'static> Driver<S> {
    /// A driver over `runtime`.
    pub fn new(runtime: Arc<Runtime<S>>) -> Self {
        let automatic = Arc::new(runtime.automatic_specialists().into_iter().collect());
        Driver { runtime, active: Arc::new(Mutex::new(HashMap::new())), automatic }
    }

    /// Whether a drive of `run` is under way.
    pub fn is_driving(&self, run: &str) -> bool {
        self.active.lock().unwrap_or_else(PoisonError::into_inner).contains_key(run)
    }

    /// Makes sure `run` is being driven: starts a drive, or asks the current one to go round
    /// again. Does nothing when no unfinished task of the run belongs to a specialist the
    /// runtime executes (nothing to drive; a run all of whose work is manual is never driven).
    pub async fn kick(&self, run: &str) {
        if self.again(run) {
            return;
        }
        match self.runtime.store().tasks(run).await {
            Ok(tasks) => self.kick_with(run, &tasks),
            Err(e) => eprintln!("coord: cannot read the tasks of run {run} to drive it: {e}"),
        }
    }

    /// [`Driver::kick`] with the run's tasks already read.
    pub fn kick_with(&self, run: &str, tasks: &[coord_store::TaskRecord]) {
        let unfinished_automatic = tasks.iter().any(|t| {
            matches!(
                t.state,
                TaskState::Pending | TaskState::Ready | TaskState::Running | TaskState::Gating | TaskState::Retrying
            ) && self.automatic.contains(&t.specialist)
        });
        if !unfinished_automatic {
            return;
        }
        let rx = {
            let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(a) = active.get_mut(run) {
                a.again = true;
                return;
            }
            let (tx, rx) = watch::channel(Halt::Go);
            active.insert(run.to_string(), Active { halt: tx, again: false });
            rx
        };
        let this = self.clone();
        let run = run.to_string();
        tokio::spawn(async move { this.drive_loop(run, rx).await });
    }

    /// Asks a drive under way to go round again; false when there is none.
    fn again(&self, run: &str) -> bool {
        match self.active.lock().unwrap_or_else(PoisonError::into_inner).get_mut(run) {
            Some(a) => {
                a.again = true;
                true
            }
            None => false,
        }
    }

    /// Cancels the drive of `run`, if any (the run is being cancelled or aborted): its running
    /// attempts are killed and the run is cancelled.
    pub fn cancel(&self, run: &str) {
        if let Some(a) = self.active.lock().unwrap_or_else(PoisonError::into_inner).get(run) {
            let _ = a.halt.send(Halt::Cancel);
        }
    }

    async fn drive_loop(self, run: String, rx: watch::Receiver<Halt>) {
        loop {
            if let Err(e) = self.runtime.drive(&run, rx.clone(), &()).await {
                eprintln!("coord: driving run {run} stopped: {e}");
            }
            let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
            let go_again = match active.get_mut(&run) {
                Some(a) if a.again && *rx.borrow() == Halt::Go => {
                    a.again = false;
                    true
                }
                _ => false,
            };
            if !go_again {
                active.remove(&run);
                return;
            }
        }
    }
}
