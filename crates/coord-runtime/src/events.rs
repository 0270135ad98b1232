//! Reading a run's whole event log, page by page, for the computations that fold over it
//! (metrics, spending, the workflows' record of what a run changed and approved).

use coord_store::{Event, Store, StoreError};

/// Events per page.
const PAGE: i64 = 10_000;

/// Every event of `run`, oldest first.
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
