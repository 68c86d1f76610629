//! The retention job: on a delivering node, purges what is older than `retention_days` through
//! [`Store::purge`], once at start and then every [`EVERY`], until the shutdown token is
//! cancelled. It never blocks publishes or deliveries: each batch is small and short, and
//! after each the job pauses at least as long as the batch took, so on SQLite the single
//! writer spends no more than about half its time purging, and less when publishes and
//! results keep it busy (a batch waiting for the writer takes longer, so the pause grows).
//!
//! One node purges at a time: on SQLite only the process holding the delivery lock runs this
//! job; on PostgreSQL each batch takes an advisory lock in its transaction, and a node that
//! finds it taken leaves the pass to the node holding it. A node that dies holds nothing, so
//! the next pass runs wherever the job is next due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::store::{PurgeCursor, Purged, Store};

/// How often a pass runs. Retention is counted in days, so an hour's lag is nothing; and a
/// pass over nothing to delete costs a few reads.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Rows a batch looks at: a transaction of this many deletions (and their attempts) holds the
/// SQLite writer for milliseconds.
const BATCH: u32 = 500;

/// The least pause between batches, so that writes queued behind a batch go first.
const MIN_PAUSE: Duration = Duration::from_millis(20);

const DAY_MS: i64 = 24 * 3_600_000;

/// Starts the job: it keeps what is younger than `retention_days` and stops with `shutdown`.
pub fn start(
    store: Arc<dyn Store>,
    retention_days: u32,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let before = crate::clock::now_ms() - i64::from(retention_days) * DAY_MS;
            pass(&*store, before, &shutdown).await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    })
}

/// One pass: batches until nothing old is left to look at, another node is purging, the
/// store fails (the next pass tries again) or shutdown.
async fn pass(store: &dyn Store, before_ms: i64, shutdown: &CancellationToken) {
    let mut cursor = PurgeCursor::default();
    let mut total = Purged::default();
    let started = Instant::now();
    while !shutdown.is_cancelled() {
        let batch_started = Instant::now();
        let purged = match store.purge(before_ms, BATCH, &mut cursor).await {
            Ok(purged) => purged,
            Err(e) => {
                warn!(error = %e, "purging old deliveries failed; the next pass tries again");
                break;
            }
        };
        total.deliveries += purged.deliveries;
        total.attempts += purged.attempts;
        total.events += purged.events;
        if purged.elsewhere {
            debug!("another node is purging old deliveries; this pass ends");
            break;
        }
        if !purged.more {
            break;
        }
        let pause = batch_started.elapsed().max(MIN_PAUSE);
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    if total.deliveries + total.events > 0 {
        info!(
            deliveries = total.deliveries,
            attempts = total.attempts,
            events = total.events,
            duration_ms = started.elapsed().as_millis() as u64,
            "purged what is older than the retention period"
        );
    }
}
