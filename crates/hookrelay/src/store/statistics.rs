//! Planner statistics for PostgreSQL's fast-growing tables. A table no `ANALYZE` has seen has
//! no column statistics, so the planner guesses: it took `status = 'pending'` to match 0.5 % of
//! the deliveries and read the due ones in a bitmap scan plus a sort (every due row, to return
//! a page of them) instead of walking the due index; and plans cached by a connection while a
//! table was nearly empty (a sequential scan of `events`) stayed in use long after it was not.
//! Autovacuum analyzes a table only after it has changed by a tenth, and at most once a
//! minute, and may be off. So the store analyzes the tables itself as its writes grow them:
//! after the first thousand deliveries, then each time it has written as many again (up to a
//! million between runs). `ANALYZE` samples a bounded number of rows, takes no lock that
//! writes wait on, and invalidates the cached plans that its new statistics may change.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sqlx::PgPool;
use tracing::{debug, warn};

/// Deliveries written before the first `ANALYZE`.
const FIRST: u64 = 1_000;
/// The most deliveries written between two runs.
const MOST_BETWEEN: u64 = 1_000_000;

/// Counts the deliveries this process writes and analyzes the tables when they have grown.
#[derive(Default)]
pub struct Statistics {
    written: AtomicU64,
    next: AtomicU64,
    running: Arc<AtomicBool>,
}

impl Statistics {
    pub fn new() -> Self {
        Self {
            next: AtomicU64::new(FIRST),
            ..Self::default()
        }
    }

    /// Notes `n` newly written deliveries; starts an `ANALYZE` in the background when their
    /// count has reached the next threshold and none is running.
    pub fn written(&self, n: u64, pool: &PgPool) {
        let Some(total) = self.start(n) else {
            return;
        };
        let running = self.running.clone();
        let pool = pool.clone();
        tokio::spawn(async move {
            match analyze(&pool).await {
                Ok(_) => debug!(deliveries_written = total, "analyzed the delivery tables"),
                Err(e) => warn!(error = %e, "analyzing the delivery tables failed"),
            }
            running.store(false, Ordering::Release);
        });
    }

    /// Counts `n` deliveries; the total written if that reaches the threshold and no run is
    /// under way, which then counts as started (and moves the threshold on).
    fn start(&self, n: u64) -> Option<u64> {
        let total = self.written.fetch_add(n, Ordering::Relaxed) + n;
        if total < self.next.load(Ordering::Relaxed) || self.running.swap(true, Ordering::AcqRel) {
            return None;
        }
        self.next
            .store(total + total.clamp(FIRST, MOST_BETWEEN), Ordering::Relaxed);
        Some(total)
    }
}

/// Analyzes only the columns the store's queries filter, join or sort on, from a small sample:
/// they need frequencies and ranges, not fine histograms, and a full default `ANALYZE` of the
/// three tables (with the events' payloads) took a tenth of the server's time in a
/// 100,000-delivery run.
async fn analyze(pool: &PgPool) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL default_statistics_target = 10")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "ANALYZE deliveries (id, webhook_id, status, next_attempt_at), events (id), \
         attempts (delivery_id)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_at_doubling_counts_one_at_a_time_then_every_million() {
        let s = Statistics::new();
        assert_eq!(s.start(999), None);
        assert_eq!(s.start(1), Some(1_000));
        assert_eq!(s.start(5_000), None, "one run at a time");
        s.running.store(false, Ordering::Release);
        assert_eq!(s.start(0), Some(6_000), "a threshold passed while running");
        s.running.store(false, Ordering::Release);
        assert_eq!(s.start(5_999), None, "next at twice what the last run saw");
        assert_eq!(s.start(1), Some(12_000));
        s.running.store(false, Ordering::Release);
        assert_eq!(s.start(5_000_000), Some(5_012_000));
        s.running.store(false, Ordering::Release);
        assert_eq!(s.start(999_999), None);
        assert_eq!(s.start(1), Some(6_012_000), "at most a million apart");
    }
}
