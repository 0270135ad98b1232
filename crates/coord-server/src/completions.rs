//! Group commit of manual completions. A completion with nothing to check (no artifacts, not a
//! workflow step) is only store writes; requests that arrive together are recorded by one
//! [`Store::complete_by_hand`] call — one SQLite transaction — and their answers share one read
//! of each run's tasks, which also tells the driver whether there is automatic work to start.
//! One task does the writing, so these requests never contend for the database's write lock.

use crate::error::{ApiResult, AppError};
use coord_runtime::driver::Driver;
use coord_runtime::manual::{MANUAL_LEASE_MS, Outcome, done_by_hand};
use coord_runtime::{Runtime, RuntimeError, now_ms};
use coord_store::{HandDone, Store, TaskRecord};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Largest batch recorded in one transaction.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Outcome, RuntimeError>>;

/// The queue of completions waiting for the writer task (started on first use).
pub struct Completions<S: Store + Clone + 'static> {
    runtime: Arc<Runtime<S>>,
    driver: Driver<S>,
    queue: OnceLock<mpsc::UnboundedSender<(HandDone, Reply)>>,
}

impl<S: Store + Clone + 'static> Completions<S> {
    /// Completions recorded in `runtime`'s store; runs they leave with automatic work are kicked.
    pub fn new(runtime: Arc<Runtime<S>>, driver: Driver<S>) -> Self {
        Completions { runtime, driver, queue: OnceLock::new() }
    }

    /// Records one completion with the others waiting; answers as `Runtime::complete_manual`.
    pub async fn complete(&self, item: HandDone) -> ApiResult<Outcome> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(writer(self.runtime.clone(), self.driver.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((item, _))) = queue.send((item, reply)) {
            // The writer task is gone (the runtime is shutting down): record this one alone.
            return one(&self.runtime, &self.driver, item).await;
        }
        // Dropped without an answer only if the answering task died; whether the batch was
        // recorded is then unknown, so it is not tried again (the task's state tells).
        match answer.await {
            Ok(result) => Ok(result?),
            Err(_) => {
                Err(AppError::internal("the completion's answer was lost: read the task to see if it was recorded"))
            }
        }
    }
}

/// A completion recorded on its own.
async fn one<S: Store + Clone + 'static>(
    runtime: &Runtime<S>,
    driver: &Driver<S>,
    item: HandDone,
) -> ApiResult<Outcome> {
    let (tx, mut rx) = oneshot::channel();
    record(runtime, driver, vec![(item, tx)]).await;
    match rx.try_recv() {
        Ok(result) => Ok(result?),
        // `record` answers every waiter before it returns.
        Err(_) => Err(AppError::internal("the completion got no answer")),
    }
}

async fn writer<S: Store + Clone + 'static>(
    runtime: Arc<Runtime<S>>,
    driver: Driver<S>,
    mut rx: mpsc::UnboundedReceiver<(HandDone, Reply)>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // The answers are read while the next batch is written.
        let (runtime, driver) = (runtime.clone(), driver.clone());
        let recorded = record_only(&runtime, batch).await;
        tokio::spawn(async move { answer(&runtime, &driver, recorded).await });
    }
}

/// A batch recorded: each waiter with its item's result.
type Recorded = Vec<(Reply, Result<coord_store::Claim, RuntimeError>)>;

/// Records a batch and answers each waiter.
async fn record<S: Store + Clone + 'static>(runtime: &Runtime<S>, driver: &Driver<S>, batch: Vec<(HandDone, Reply)>) {
    let recorded = record_only(runtime, batch).await;
    answer(runtime, driver, recorded).await;
}

/// Records a batch. When its transaction fails as a whole, each item is tried alone, so every
/// waiter gets the error of its own item.
async fn record_only<S: Store + Clone + 'static>(runtime: &Runtime<S>, batch: Vec<(HandDone, Reply)>) -> Recorded {
    let store = runtime.store();
    let items: Vec<HandDone> = batch.iter().map(|(i, _)| i.clone()).collect();
    match store.complete_by_hand(&items, MANUAL_LEASE_MS, now_ms()).await {
        Ok(results) => batch.into_iter().zip(results).map(|((_, reply), r)| (reply, r.map_err(Into::into))).collect(),
        Err(e) if items.len() == 1 => {
            batch.into_iter().next().map(|(_, reply)| (reply, Err(e.into()))).into_iter().collect()
        }
        Err(_) => {
            let mut out = Vec::with_capacity(batch.len());
            for (item, reply) in batch {
                let result = match store.complete_by_hand(std::slice::from_ref(&item), MANUAL_LEASE_MS, now_ms()).await
                {
                    Ok(mut r) => r.pop().unwrap_or_else(|| Err(coord_store::StoreError::Corrupt("no result".into()))),
                    Err(e) => Err(e),
                };
                out.push((reply, result.map_err(Into::into)));
            }
            out
        }
    }
}

/// Answers each waiter of a recorded batch, reading each run once.
async fn answer<S: Store + Clone + 'static>(runtime: &Runtime<S>, driver: &Driver<S>, recorded: Recorded) {
    let mut runs: HashMap<String, (Vec<TaskRecord>, coord_store::RunState)> = HashMap::new();
    for (reply, result) in recorded {
        let answer = match result {
            Ok(claim) => answer_for(runtime.store(), driver, &claim.run_id, &mut runs)
                .await
                .map(|(tasks, state)| done_by_hand(&claim, tasks, *state)),
            Err(e) => Err(e),
        };
        // A waiter that gave up (client gone) is no error.
        let _ = reply.send(answer);
    }
}

/// The run's tasks and state after the batch, read once per run (and the driver kicked then).
async fn answer_for<'a, S: Store + Clone + 'static>(
    store: &S,
    driver: &Driver<S>,
    run: &str,
    runs: &'a mut HashMap<String, (Vec<TaskRecord>, coord_store::RunState)>,
) -> Result<&'a (Vec<TaskRecord>, coord_store::RunState), RuntimeError> {
    if !runs.contains_key(run) {
        let tasks = store.tasks(run).await?;
        let state = store.run(run).await?.state;
        driver.kick_with(run, &tasks);
        runs.insert(run.to_string(), (tasks, state));
    }
    // Inserted just above when it was missing.
    runs.get(run).ok_or_else(|| coord_store::StoreError::UnknownRun(run.to_string()).into())
}
