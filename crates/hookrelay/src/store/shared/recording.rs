//! The attempt recorder's write: a batch of results, with what they set off (webhooks disabled,
//! the next delivery of a fifo queue made due).

use super::{failures, ordering};
use crate::store::backend::{Backend, Conn};
use crate::store::{AttemptRecord, Disabled, FailurePolicy, Result};

/// Writes attempt results, in one transaction when a failure clock may disable a webhook or
/// when the batch finishes the head of a fifo queue, whose next delivery then becomes due
/// (`ordering.rs`: the queues are locked before any row is written).
pub(super) async fn record<B: Backend>(
    db: &B,
    records: &[AttemptRecord],
    policy: &FailurePolicy,
) -> Result<Vec<Disabled>> {
    let summaries = failures::summarize(records);
    let clocks = failures::clocks(&summaries);
    let queues = ordering::finished_queues(records);
    let failing = failures::any_failing(&summaries);
    if failing || !queues.is_empty() {
        let mut tx = db.begin().await?;
        B::lock_queues(&mut tx, &queues).await?;
        db.write_attempts(Conn::Tx(&mut tx), records, &clocks)
            .await?;
        let now = crate::clock::now_ms();
        if ordering::advance(db, &mut tx, &queues, now).await? {
            B::notify_work(&mut tx).await?;
        }
        let disabled = if failing {
            failures::disable(db, &mut tx, summaries, policy, now).await?
        } else {
            Vec::new()
        };
        B::commit(tx).await?;
        Ok(disabled)
    } else {
        // Every attempt succeeded: nothing to disable, one write.
        db.write_attempts(Conn::Write, records, &clocks).await?;
        Ok(Vec::new())
    }
}
