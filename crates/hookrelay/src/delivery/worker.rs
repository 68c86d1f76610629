//! The dispatcher: claims due deliveries in batches and hands them to `dispatch`, which runs each
//! attempt as its own task.
//!
//! Invariants: at most `max_in_flight` attempts run at once (a semaphore permit is taken before
//! a delivery is claimed, so memory is bounded by the in-flight limit, never by the queue);
//! no webhook has more than `per_webhook_concurrency` in flight (saturated webhooks are left out
//! of the claim); no transaction or pooled connection is held across an HTTP call.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use super::cache::{Endpoint, WebhookCache};
use super::dispatch::{Claimed, Shared, dispatch};
use super::handoff::Handoff;
use super::limits::Limits;
use super::rate::RateLimits;
use super::recorder;
use super::send::Sender;
use super::walk::Walk;
use crate::clock::now_ms;
use crate::ids::WebhookId;
use crate::measure::{HostBacklog, HostQueues, Metrics};
use crate::store::{self, AttemptRecord, Store};

/// The dispatcher's tunables, from `Config`.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Attempts in flight at once.
    pub max_in_flight: usize,
    /// Attempts in flight per webhook.
    pub per_webhook_concurrency: usize,
    /// Requests in flight per host.
    pub per_host_connections: usize,
    /// Most deliveries per claim.
    pub claim_batch: usize,
    /// How long a claim is leased.
    pub lease: Duration,
    /// Fallback poll interval.
    pub poll_interval: Duration,
    /// How long in-flight attempts get at shutdown.
    pub shutdown_grace: Duration,
    /// Failure clocks and who is told of disabled webhooks.
    pub recorder: recorder::RecorderSettings,
    /// How far retry waits are spread around the schedule's steps.
    pub retry_jitter: super::schedule::Jitter,
    /// Where attempts are counted.
    pub metrics: Arc<Metrics>,
}

/// How long the dispatcher waits before claiming again after a claim came back short while
/// webhooks were skipped. New deliveries to webhooks with room are handed over by the publish
/// itself, so this delays only deliveries that must be claimed.
const SATURATED_PAUSE: Duration = Duration::from_millis(10);

/// The delivery worker, built with the app and run by [`Worker::run`].
pub struct Worker {
    shared: Arc<Shared>,
    results: mpsc::Receiver<AttemptRecord>,
    settings: WorkerSettings,
}

impl Worker {
    /// Prepares the worker; nothing runs until [`Worker::run`].
    pub fn new(
        store: Arc<dyn Store>,
        sender: Sender,
        wake: Arc<Notify>,
        settings: WorkerSettings,
        shutdown: CancellationToken,
    ) -> Self {
        let (results, results_rx) = mpsc::channel(settings.max_in_flight.max(64));
        let shared = Arc::new(Shared {
            store,
            sender,
            rates: RateLimits::default(),
            limits: Limits::new(
                settings.per_webhook_concurrency,
                settings.per_host_connections,
            ),
            cache: WebhookCache::default(),
            permits: Arc::new(Semaphore::new(settings.max_in_flight)),
            tracker: TaskTracker::new(),
            lease: settings.lease,
            retry_jitter: settings.retry_jitter,
            running: AtomicBool::new(false),
            shutdown,
            wake,
            results,
            metrics: settings.metrics.clone(),
        });
        Self {
            shared,
            results: results_rx,
            settings,
        }
    }

    /// Where a scrape reads the backlog of the per-host queues.
    pub fn host_queues(&self) -> Arc<dyn HostQueues> {
        Arc::new(Backlog(self.shared.clone()))
    }

    /// Where publishes hand new deliveries over; inert unless the worker runs.
    pub fn handoff(&self) -> Handoff {
        Handoff::new(&self.shared)
    }

    /// Runs the dispatcher until shutdown, then lets in-flight attempts finish (bounded by the
    /// grace period) and writes their results.
    pub async fn run(self) {
        let Worker {
            shared,
            results,
            settings,
        } = self;
        let finished = CancellationToken::new();
        let recorder = tokio::spawn(recorder::run(
            shared.store.clone(),
            results,
            shared.wake.clone(),
            settings.recorder.clone(),
            finished.clone(),
        ));
        shared.running.store(true, Ordering::Release);
        let overdue = tokio::spawn(super::dispatch::start_overdue(shared.clone()));
        claim_loop(&shared, &settings).await;
        let _ = overdue.await;
        shared.running.store(false, Ordering::Release);

        let tracker = shared.tracker.clone();
        tracker.close();
        info!(
            in_flight = tracker.len(),
            "delivery worker stopping; waiting for in-flight attempts"
        );
        if tokio::time::timeout(settings.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            warn!(
                in_flight = tracker.len(),
                "in-flight attempts outlived the shutdown grace period; their leases will expire and they will be attempted again"
            );
        }
        give_back_queued(&shared).await;
        shared.store.claiming_stopped().await;
        drop(shared);
        // Every attempt has ended (or outlived the grace period, and its lease will bring it
        // back): the recorder writes what they sent and ends.
        finished.cancel();
        if tokio::time::timeout(Duration::from_secs(5), recorder)
            .await
            .is_err()
        {
            warn!("recording the last attempt results timed out");
        }
    }
}

/// Gives back the deliveries still queued for busy hosts at shutdown, due now: never started,
/// they would otherwise wait for their leases (on PostgreSQL; SQLite's leases end with the
/// process) before the restarted process or another node sends them.
/// The dispatcher's per-host queues, as a scrape reads them.
struct Backlog(Arc<Shared>);

impl HostQueues for Backlog {
    fn backlog(&self) -> HostBacklog {
        let (hosts, longest) = self.0.limits.backlog();
        HostBacklog { hosts, longest }
    }
}

async fn give_back_queued(shared: &Shared) {
    let queued: Vec<_> = shared
        .limits
        .drain()
        .into_iter()
        .map(|(delivery, _permit, _)| delivery.id)
        .collect();
    if queued.is_empty() {
        return;
    }
    info!(count = queued.len(), "giving back deliveries not started");
    if let Err(e) = shared.store.release(&queued, now_ms()).await {
        warn!(error = %e, "giving back queued deliveries failed; their leases will expire instead");
    }
}

/// Claims due deliveries, as many as there are free global slots (at most a batch), and
/// dispatches them, until shutdown.
async fn claim_loop(shared: &Arc<Shared>, settings: &WorkerSettings) {
    let store = &shared.store;
    let wake = &shared.wake;
    let shutdown = &shared.shutdown;
    let mut walk = Walk::default();
    loop {
        // Registered before looking for work, so a publish that lands meanwhile is not missed.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let first = tokio::select! {
            permit = shared.permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        // The slots are taken before claiming, so publishes handing deliveries over meanwhile
        // cannot leave claimed deliveries without one.
        let mut slots = vec![first];
        while slots.len() < settings.claim_batch {
            match shared.permits.clone().try_acquire_owned() {
                Ok(permit) => slots.push(permit),
                Err(_) => break,
            }
        }
        let wanted = slots.len();
        let now = now_ms();
        let lease_until = now + settings.lease.as_millis() as i64;
        // Each webhook's room is read once per claim and counted down as its deliveries are
        // chosen, so a claim takes no more of a webhook than can start (or queue) at once.
        let mut rooms: HashMap<String, usize> = HashMap::new();
        let mut passed_over = false;
        let (from, mut passed) =
            walk.next(std::time::Instant::now(), |w| shared.limits.room(w) > 0);
        let resumed = from.is_some();
        let mut choose = |webhook: &str, due: i64, id: &str| {
            let room = match rooms.get_mut(webhook) {
                Some(room) => room,
                None => rooms
                    .entry(webhook.to_owned())
                    .or_insert_with(|| shared.limits.room(webhook)),
            };
            if *room == 0 {
                passed_over = true;
                passed.note(webhook, due, id);
                return false;
            }
            *room -= 1;
            true
        };
        let claimed = match store
            .claim_due(now, wanted as u32, lease_until, from, &mut choose)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                error!(error = %e, "claiming deliveries failed; retrying shortly");
                drop(slots);
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    () = shutdown.cancelled() => break,
                }
            }
        };
        let got = claimed.len();
        slots.truncate(got);
        match resolve(shared, claimed, slots).await {
            Ok(ready) => dispatch(shared, ready).await,
            // Their leases expire and they are claimed again.
            Err(e) => error!(error = %e, "reading claimed deliveries' webhooks failed"),
        }
        // A full claim may have filled its webhooks or their host's queue: claiming again at
        // once would then read the whole scan window to take nothing. Claim again only while a
        // webhook this claim met has room; else wait, as below, for one to make room.
        if got == wanted && rooms.keys().any(|w| shared.limits.room(w) > 0) {
            continue;
        }
        let saturated = passed_over || got == wanted;
        // With webhooks passed over, due work may be waiting for their slots: a finishing
        // attempt that makes room wakes the loop, so don't spin on a due time that only they can
        // take. And pause a moment first: wake-ups from publishes would otherwise have the next
        // claim pass over the same backlog again and again while a full host works through its
        // queue.
        let sleep = if !saturated {
            let (sleep, overdue) = idle_sleep(store, settings.poll_interval).await;
            // Something is due that this claim, resuming mid-queue, did not reach: it landed
            // behind where the walk resumed (an event stamped before others but committed after
            // them, a lease that ran out). Go back to the oldest now, not at the next rescan.
            if overdue && resumed {
                walk.restart();
                continue;
            }
            sleep
        } else {
            tokio::select! {
                () = tokio::time::sleep(SATURATED_PAUSE) => {}
                () = shutdown.cancelled() => break,
            }
            // A webhook passed over as full may have finished attempts while the claim ran,
            // before its deliveries were admitted: then it is not full, and nothing will wake
            // the loop for the deliveries left behind. Go back for them now.
            if passed_over && walk.passed_over_has_room(|w| shared.limits.room(w) > 0) {
                continue;
            }
            settings.poll_interval
        };
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(sleep) => {}
            () = shutdown.cancelled() => break,
        }
    }
}

/// Pairs claimed rows with their webhooks: from the cache when it holds the version the claim
/// read, else loaded (all misses in one query) and cached. A row whose webhook is gone (deleted
/// meanwhile, and its deliveries with it) is dropped with its slot; one whose webhook was
/// disabled as it was claimed is parked until the webhook is enabled.
async fn resolve(
    shared: &Shared,
    rows: Vec<store::Claimed>,
    slots: Vec<OwnedSemaphorePermit>,
) -> crate::store::Result<Vec<(Claimed, Arc<str>, OwnedSemaphorePermit)>> {
    let mut endpoints: Vec<Option<Endpoint>> = rows
        .iter()
        .map(|r| {
            shared
                .cache
                .get(r.webhook.id.as_str(), r.webhook.updated_at)
        })
        .collect();
    let mut missing: Vec<WebhookId> = rows
        .iter()
        .zip(&endpoints)
        .filter(|(_, e)| e.is_none())
        .map(|(r, _)| r.webhook.id.clone())
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        missing.dedup();
        let loaded: HashMap<WebhookId, Endpoint> = shared
            .store
            .webhooks_by_id(&missing)
            .await?
            .into_iter()
            .map(|w| {
                let endpoint = shared.cache.intern(w);
                (endpoint.target.id.clone(), endpoint)
            })
            .collect();
        for (row, endpoint) in rows.iter().zip(&mut endpoints) {
            if endpoint.is_none() {
                *endpoint = loaded.get(row.webhook.id.as_str()).cloned();
            }
        }
    }
    let mut parked = Vec::new();
    let ready = rows
        .into_iter()
        .zip(endpoints)
        .zip(slots)
        .filter_map(|((row, endpoint), permit)| {
            let endpoint = endpoint?;
            if !endpoint.target.active {
                parked.push(row.id);
                return None;
            }
            Some((row.with_webhook(endpoint.target), endpoint.host, permit))
        })
        .collect();
    if !parked.is_empty() {
        debug!(count = parked.len(), "deliveries of disabled webhooks held");
        shared.store.park(&parked).await?;
    }
    Ok(ready)
}

/// How long to sleep when there is no due work: until the next retry is due, at most the poll.
/// Also answers whether something is due already.
async fn idle_sleep(store: &Arc<dyn Store>, poll: Duration) -> (Duration, bool) {
    match store.next_due_at().await {
        Ok(Some(at)) => {
            let wait = at - now_ms();
            // Leased deliveries look due-in-the-future too; never busy-loop on them.
            let sleep = Duration::from_millis(wait.max(5) as u64).min(poll);
            (sleep, wait <= 0)
        }
        Ok(None) => (poll, false),
        Err(e) => {
            warn!(error = %e, "reading the next due time failed");
            (poll, false)
        }
    }
}
