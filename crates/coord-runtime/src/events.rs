//! Reading a run's whole event log, page by page, for the computations that fold over it
//! (metrics, spending, the workflows' record of what a run changed and approved).

use coord_store::{Event, Store, StoreError};

/// Events per page.
const PAGE: i64 = 2_000;

/// Calls `f` on every event of `run`, oldest first, a page in memory at a time (a long run's
/// log is never held whole).
pub async fn each_event<S: Store>(store: &S, run: &str, mut f: impl FnMut(&Event)) -> Result<(), StoreError> {
    let mut after = 0;
    loop {
        let page = store.events(run, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        page.iter().for_each(&mut f);
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    Ok(())
}

/// Every event of `run`, oldest first, in one vector (for the rare readers that need them
/// together; folds use [`each_event`]).
pub async fn run_events<S: Store>(store: &S, run: &str) -> Result<Vec<Event>, StoreError> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events(run, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() as i64 == PAGE;
        all.extend(page);
        if !full {
            break;
        }
    }
    Ok(all)
}
