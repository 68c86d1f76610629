//! Starting deliveries. [`dispatch`] takes deliveries a claim (`worker`) or a publish
//! (`handoff`) hands it and, per delivery, starts an attempt task, queues it behind its busy
//! host, or gives it back when its webhook is full. [`Shared`] is the state both feeders and
//! every attempt task hold. It sits below both feeders and imports neither, so dependencies
//! between the delivery files go one way.
//!
//! Invariant: every delivery handed in holds a global slot (a semaphore permit) until its
//! attempt ends or it is given back, so the `max_in_flight` bound holds whichever way it came.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, debug_span, info, warn};

use super::cache::WebhookCache;
use super::limits::{Admit, Limits};
use super::rate::{RateLimits, Slot};
use super::send::{Message, Sender};
use super::target::Target;
use super::{http1, schedule};
use crate::clock::now_ms;
use crate::ids::AttemptId;
use crate::measure::Metrics;
use crate::store::{Attempt, AttemptRecord, DeliveryStatus, Store};

/// A claimed (or handed-over) delivery with its webhook prepared for sending, shared by every
/// delivery to it in flight.
pub type Claimed = crate::store::Claimed<Arc<Target>>;

/// A delivery waiting in its host's queue, with the global slot it holds and when it was
/// claimed (or taken).
type Queued = (Claimed, OwnedSemaphorePermit, std::time::Instant);

/// What the dispatcher, every attempt task and the publish hand-off share (svix's
/// `WorkerContext`). Built by `Worker::new`.
pub(super) struct Shared {
    pub(super) store: Arc<dyn Store>,
    pub(super) sender: Sender,
    pub(super) rates: RateLimits,
    pub(super) limits: Limits<Queued>,
    pub(super) cache: WebhookCache,
    /// The global in-flight limit: a permit per delivery claimed, taken or in flight.
    pub(super) permits: Arc<Semaphore>,
    pub(super) tracker: TaskTracker,
    pub(super) lease: Duration,
    /// How far retry waits are spread around the schedule's steps.
    pub(super) retry_jitter: schedule::Jitter,
    /// Set while the dispatcher runs: publishes hand deliveries over only then.
    pub(super) running: AtomicBool,
    pub(super) shutdown: CancellationToken,
    pub(super) wake: Arc<Notify>,
    pub(super) results: mpsc::Sender<AttemptRecord>,
    pub(super) metrics: Arc<Metrics>,
}

impl Shared {
    pub(super) fn shutdown_requested(&self) -> bool {
        self.shutdown.is_cancelled()
    }
}

/// Starts a task per delivery that may go now, queues those whose host is busy, and gives back
/// those whose webhook is full.
pub(super) async fn dispatch(
    shared: &Arc<Shared>,
    ready: Vec<(Claimed, Arc<str>, OwnedSemaphorePermit)>,
) {
    let mut deferred = Vec::new();
    for (delivery, host, permit) in ready {
        let webhook = delivery.webhook.id.clone();
        let claimed_at = std::time::Instant::now();
        match shared
            .limits
            .admit(&webhook, &host, (delivery, permit, claimed_at))
        {
            Admit::Now((delivery, permit, _)) => {
                shared
                    .tracker
                    .spawn(run_host_slot(shared.clone(), delivery, host, permit));
            }
            Admit::Queued => {}
            Admit::Refused((delivery, _permit, _)) => deferred.push(delivery.id),
        }
    }
    if !deferred.is_empty() {
        debug!(
            count = deferred.len(),
            "webhooks at their concurrency limit; deliveries given back"
        );
        if let Err(e) = shared.store.release(&deferred, now_ms()).await {
            warn!(error = %e, "giving back deliveries failed; their lease will expire instead");
        }
    }
}

/// Starts a slot for each delivery that has waited too long behind its host's busy slots
/// ([`super::limits::QUEUE_WAIT`]), every half of that, until shutdown.
pub(super) async fn start_overdue(shared: Arc<Shared>) {
    let mut ticks = tokio::time::interval(super::limits::QUEUE_WAIT / 2);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        for (host, (delivery, permit, _)) in shared.limits.overdue() {
            (shared.tracker).spawn(run_host_slot(shared.clone(), delivery, host, permit));
        }
    }
}

/// Makes attempts to one host: this delivery, then each queued one its slot is handed to.
async fn run_host_slot(
    shared: Arc<Shared>,
    mut delivery: Claimed,
    host: Arc<str>,
    mut permit: OwnedSemaphorePermit,
) {
    // The slot's own connection, while it has deliveries to this host.
    let mut conn = shared.sender.checkout(&host).await;
    loop {
        // Debug level: an enabled span per delivery costs formatting on the hot path. It gives
        // debug lines from below (the sender) their delivery; this module's own lines name
        // their ids themselves, so they keep them at info and warn.
        let span = debug_span!(
            "delivery",
            event.id = %delivery.event_id,
            delivery.id = %delivery.id,
            webhook.id = %delivery.webhook.id,
            tenant.id = %delivery.webhook.tenant_id,
            attempt = delivery.attempts + 1,
        );
        let took = attempt(&shared, &delivery, &mut conn)
            .instrument(span)
            .await;
        let finished = shared.limits.finish(&delivery.webhook.id, &host, took);
        if finished.was_full {
            shared.wake.notify_one();
        }
        drop(permit);
        let mut next = finished.next;
        loop {
            match next {
                // At shutdown, queued deliveries are not started: the worker gives them back
                // once its slots have stopped (see `Worker::run`).
                Some(queued) if shared.shutdown.is_cancelled() => {
                    shared.limits.put_back(&host, queued);
                    return;
                }
                // One that waited past half its lease might be claimed again elsewhere while
                // it is sent: leave it to that lease instead.
                Some((stale, stale_permit, claimed_at))
                    if claimed_at.elapsed() > shared.lease / 2 =>
                {
                    drop(stale_permit);
                    let finished = shared.limits.finish(&stale.webhook.id, &host, None);
                    next = finished.next;
                }
                Some((queued, queued_permit, _)) => {
                    (delivery, permit) = (queued, queued_permit);
                    break;
                }
                None => {
                    shared.sender.checkin(&host, conn);
                    return;
                }
            }
        }
    }
}

/// One attempt: send, work out the next state, hand the result to the recorder. Answers how
/// long the send took, or `None` when a rate limit deferred it without an attempt.
async fn attempt(
    shared: &Shared,
    delivery: &Claimed,
    conn: &mut Option<http1::Conn>,
) -> Option<Duration> {
    let webhook = &delivery.webhook;
    if let Some(rate) = webhook.rate_limit_per_second {
        match shared
            .rates
            .reserve(&webhook.id, rate, std::time::Instant::now())
        {
            Slot::After(wait) if wait.is_zero() => {}
            Slot::After(wait) => tokio::time::sleep(wait).await,
            Slot::Defer(wait) => {
                let due = now_ms() + wait.as_millis() as i64;
                if let Err(e) = shared
                    .store
                    .release(std::slice::from_ref(&delivery.id), due)
                    .await
                {
                    warn!(
                        event.id = %delivery.event_id,
                        delivery.id = %delivery.id,
                        webhook.id = %webhook.id,
                        tenant.id = %webhook.tenant_id,
                        error = %e,
                        "deferring a rate-limited delivery failed; its lease will expire instead"
                    );
                }
                return None;
            }
        }
    }
    let metrics = &shared.metrics;
    let in_flight = metrics.in_flight();
    let outcome = shared
        .sender
        .attempt_in(
            conn,
            webhook,
            Message {
                id: delivery.event_id.as_str(),
                event_type: &delivery.event_type,
                created_at: delivery.event_created_at,
                data: &delivery.data,
            },
        )
        .await;
    drop(in_flight);
    let result = &outcome.result;
    let took = Duration::from_millis(result.latency_ms.max(0) as u64);
    metrics.attempt(outcome.class(), took);
    let number = delivery.attempts + 1;
    let (status, next_attempt_at) = schedule::after_attempt(
        number,
        outcome.verdict(),
        webhook.retry_schedule.delays(),
        shared.retry_jitter,
        result.started_at + result.latency_ms,
    );
    match status {
        DeliveryStatus::Succeeded => metrics.delivery_finished(true),
        DeliveryStatus::Failed => metrics.delivery_finished(false),
        DeliveryStatus::Pending => {}
    }
    // A success is debug: an info line per delivery would cost the hot path (a disabled line
    // costs one level check). A failure is rarer and someone may look for it at info.
    if status == DeliveryStatus::Succeeded {
        debug!(
            event.id = %delivery.event_id,
            delivery.id = %delivery.id,
            webhook.id = %webhook.id,
            tenant.id = %webhook.tenant_id,
            attempt = number,
            status_code = result.status_code,
            latency_ms = result.latency_ms,
            "attempt succeeded"
        );
    } else {
        let failed = status == DeliveryStatus::Failed;
        macro_rules! failure {
            ($level:ident, $message:literal) => {
                $level!(
                    event.id = %delivery.event_id,
                    delivery.id = %delivery.id,
                    webhook.id = %webhook.id,
                    tenant.id = %webhook.tenant_id,
                    attempt = number,
                    status_code = result.status_code,
                    latency_ms = result.latency_ms,
                    error = result.error.as_deref(),
                    next_attempt_at = next_attempt_at,
                    $message
                )
            };
        }
        if failed {
            failure!(warn, "attempt failed; the delivery has failed for good");
        } else {
            failure!(info, "attempt failed; the delivery will be retried");
        }
    }
    let record = AttemptRecord {
        delivery_id: delivery.id.clone(),
        webhook_id: webhook.id.clone(),
        attempt: Attempt {
            id: AttemptId::generate(),
            attempt: number,
            result: outcome.result,
        },
        gone: outcome.gone,
        status,
        next_attempt_at,
        ordering_key: delivery.ordering_key.clone(),
    };
    if shared.results.send(record).await.is_err() {
        warn!(
            event.id = %delivery.event_id,
            delivery.id = %delivery.id,
            webhook.id = %webhook.id,
            tenant.id = %webhook.tenant_id,
            "attempt result dropped: the recorder has stopped"
        );
    }
    Some(took)
}
