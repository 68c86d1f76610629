//! Rendering `/metrics`. What the hot path counts is rendered as is; what it does not (the
//! queue's depth in the database, this node's per-host queues) is sampled when a scrape comes,
//! at most once per refresh interval: many or frequent scrapers then cost one database read
//! and one look at the dispatcher's queues per interval, and a node nobody scrapes pays
//! nothing. Concurrent scrapes wait for the one sampling and then render its values.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::Metrics;
use crate::store::Store;

/// How long a scrape waits for the queue-depth read: a scrape during a database outage
/// renders the last values instead of hanging until the pool gives up.
const QUEUE_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// How often buffered histogram samples are folded in when nobody scrapes, so that they do
/// not pile up in memory.
const UPKEEP: Duration = Duration::from_secs(5);

/// The backlog of the dispatcher's per-host queues: deliveries claimed for a host whose
/// connections are all busy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostBacklog {
    /// Hosts with at least one delivery waiting.
    pub hosts: usize,
    /// The most deliveries waiting for one host.
    pub longest: usize,
}

/// Where a scrape reads the per-host backlog; implemented by the delivery worker (`delivery/`
/// sits above this module).
pub trait HostQueues: Send + Sync {
    /// The backlog now.
    fn backlog(&self) -> HostBacklog;
}

/// Renders an app's metrics, sampling the queue gauges first when they are stale.
pub struct Exporter {
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
    hosts: Arc<dyn HostQueues>,
    refresh: Duration,
    /// When the gauges were last sampled; held while sampling.
    sampled_at: Mutex<Option<Instant>>,
}

impl Exporter {
    /// Renders `metrics`, sampling `store` and `hosts` at most once per `refresh`.
    pub fn new(
        metrics: Arc<Metrics>,
        store: Arc<dyn Store>,
        hosts: Arc<dyn HostQueues>,
        refresh: Duration,
    ) -> Self {
        Self {
            metrics,
            store,
            hosts,
            refresh,
            sampled_at: Mutex::new(None),
        }
    }

    /// The Prometheus text of every metric.
    pub async fn render(&self) -> String {
        self.sample().await;
        self.metrics.handle.render()
    }

    async fn sample(&self) {
        let mut sampled_at = self.sampled_at.lock().await;
        if sampled_at.is_some_and(|at| at.elapsed() < self.refresh) {
            return;
        }
        *sampled_at = Some(Instant::now());
        let m = &self.metrics;
        let backlog = self.hosts.backlog();
        m.hosts_backlogged.set(backlog.hosts as f64);
        m.host_queue_longest.set(backlog.longest as f64);
        let now = crate::clock::now_ms();
        match tokio::time::timeout(QUEUE_READ_TIMEOUT, self.store.queue_depth(now)).await {
            Ok(Ok(depth)) => {
                m.queue_due.set(depth.due as f64);
                m.queue_scheduled.set(depth.scheduled as f64);
                let oldest = depth
                    .oldest_due
                    .map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
                m.queue_oldest_due.set(oldest);
            }
            // The gauges keep their last values; `/readyz` is where an outage shows.
            Ok(Err(e)) => debug!(error = %e, "reading the queue depth for metrics failed"),
            Err(_) => debug!("reading the queue depth for metrics timed out"),
        }
    }

    /// Folds buffered histogram samples in every few seconds until `shutdown`. Without it a
    /// node nobody scrapes would keep every sample.
    pub fn start_upkeep(&self, shutdown: CancellationToken) {
        let handle = self.metrics.handle.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(UPKEEP);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticks.tick() => handle.run_upkeep(),
                }
            }
        });
    }
}
