//! Writes attempt results in batches: whatever has arrived since the last write goes in one
//! transaction, so the write rate adapts to load without a timer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tracing::warn;

use crate::store::{AttemptRecord, DeliveryStatus, Store};

/// Most records written in one transaction.
const MAX_BATCH: usize = 1024;

/// Runs until every sender of `rx` is dropped and the last batch is written.
pub async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<AttemptRecord>, wake: Arc<Notify>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut backoff = Duration::from_millis(50);
        // A failed write is retried: the deliveries stay leased meanwhile, and if the process
        // dies first, the lease expires and they are attempted again (at-least-once).
        for _ in 0..8 {
            match store.record_attempts(&batch).await {
                Ok(()) => break,
                Err(e) => {
                    warn!(error = %e, records = batch.len(), "recording attempts failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        // A retry was scheduled: the dispatcher may need to sleep less than it planned. Only
        // then: a wake-up costs a claim, and a saturated host would make that claim come back
        // empty after filtering out its webhooks.
        if batch.iter().any(|r| r.status == DeliveryStatus::Pending) {
            wake.notify_one();
        }
        batch.clear();
    }
}
