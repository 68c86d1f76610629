//! Writes attempt results in batches: whatever has arrived since the last write goes in one
//! transaction, so the write rate adapts to load without a timer. The same transaction keeps
//! the webhooks' failure clocks; the webhooks it disables are passed on to be announced.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::measure::Metrics;
use crate::store::{AttemptRecord, DeliveryStatus, Disabled, Error, FailurePolicy, Store};

/// Most records written in one transaction.
const MAX_BATCH: usize = 1024;

/// What the recorder does besides writing.
#[derive(Clone, Debug)]
pub struct RecorderSettings {
    /// When webhooks are disabled.
    pub failures: FailurePolicy,
    /// Where the webhooks it disabled go, to be announced (email); none: nobody is told.
    pub disabled: Option<mpsc::UnboundedSender<Disabled>>,
    /// Where the webhooks it disabled are counted.
    pub metrics: Arc<Metrics>,
}

/// Runs until every sender of `rx` is dropped, or until `finished` is cancelled and what was
/// sent before is written. The worker cancels `finished` once no attempt can still be running:
/// the channel's senders also live in handles that outlast the worker (the publishers'
/// handoff), so waiting for them to drop would wait for the whole app.
pub async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<AttemptRecord>,
    wake: Arc<Notify>,
    settings: RecorderSettings,
    finished: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // Biased: records already sent are taken before `finished` is looked at, so none is
        // left behind when it is.
        let received = tokio::select! {
            biased;
            n = rx.recv_many(&mut batch, MAX_BATCH) => n,
            () = finished.cancelled() => 0,
        };
        if received == 0 {
            break;
        }
        let mut backoff = Duration::from_millis(50);
        let mut announced = false;
        // A failed write is retried: the deliveries stay leased meanwhile, and if the process
        // dies first, the lease expires and they are attempted again (at-least-once).
        for retry in 0..8 {
            match store.record_attempts(&batch, &settings.failures).await {
                Ok(disabled) => {
                    announced = !disabled.is_empty();
                    for d in disabled {
                        settings.metrics.webhook_disabled(d.reason);
                        warn!(
                            webhook.id = %d.webhook_id,
                            tenant.id = %d.tenant_id,
                            reason = d.reason.as_str(),
                            "webhook disabled: its deliveries are held until it is enabled again"
                        );
                        if let Some(tx) = &settings.disabled {
                            // The receiver lives as long as the app; if it is gone, so is
                            // anyone to tell.
                            let _ = tx.send(d);
                        }
                    }
                    break;
                }
                // The attempts' ids are new, so only a failed try that committed all the same
                // (its connection lost before the answer came) can make them exist already:
                // the batch is written, in full (one transaction); trying on cannot help.
                Err(Error::Conflict) if retry > 0 => {
                    info!(
                        records = batch.len(),
                        "attempts recorded by an earlier try whose answer was lost"
                    );
                    break;
                }
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
        // So is one that disabled a webhook: its `webhook.disabled` event is due now. So is
        // one that finished an ordered delivery: the next of its queue is due now.
        if announced
            || batch
                .iter()
                .any(|r| r.status == DeliveryStatus::Pending || r.ordering_key.is_some())
        {
            wake.notify_one();
        }
        batch.clear();
    }
}
