//! The publish hand-off: a publish that finds the dispatcher with free slots writes its new
//! deliveries already leased to this node and, once committed, hands them straight to the
//! dispatcher. Those deliveries are never claimed: no claim query reads them back, no lease is
//! written twice, no webhook row is decoded per delivery. Whatever the hand-off does not take
//! (no free slot, a webhook or host at its limit, a webhook not in the cache) is written due
//! and claimed as before, so the hand-off only ever saves work.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::sync::OwnedSemaphorePermit;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::cache::Endpoint;
use super::dispatch::{Claimed, Shared, dispatch};
use crate::clock::now_ms;
use crate::ids::WebhookId;
use crate::store::{Intake, NewEvent, Taken};

/// Hands new deliveries to this node's dispatcher. Holds the dispatcher weakly: once it has
/// stopped, nothing is taken.
#[derive(Clone, Default)]
pub struct Handoff {
    shared: Weak<Shared>,
}

impl Handoff {
    pub(super) fn new(shared: &Arc<Shared>) -> Self {
        Self {
            shared: Arc::downgrade(shared),
        }
    }

    /// An intake for one publish transaction.
    pub fn intake(&self) -> Taking {
        let shared = self
            .shared
            .upgrade()
            .filter(|s| s.running.load(Ordering::Acquire) && !s.shutdown_requested());
        let lease_until = shared
            .as_ref()
            .map_or(0, |s| now_ms() + s.lease.as_millis() as i64);
        let in_flight = shared.as_ref().map(|s| s.tracker.token());
        Taking {
            shared,
            in_flight,
            lease_until,
            taken: Vec::new(),
            per_webhook: HashMap::new(),
            per_host: HashMap::new(),
            full: 0,
        }
    }

    /// Starts the deliveries `taking` took, once the publish of `events` has committed.
    pub async fn dispatch(&self, taking: Taking, events: &[NewEvent], taken: Vec<Taken>) {
        let Some(shared) = taking.shared else {
            return;
        };
        debug_assert_eq!(taken.len(), taking.taken.len());
        let ready = taken
            .into_iter()
            .zip(taking.taken)
            .filter_map(|(t, (endpoint, permit))| {
                let event = events.get(t.event)?;
                Some((
                    Claimed {
                        id: t.id,
                        attempts: 0,
                        event_id: event.id.clone(),
                        event_type: event.event_type.clone(),
                        event_created_at: event.created_at,
                        data: event.data.clone(),
                        webhook: endpoint.target,
                        ordering_key: t.ordering_key,
                    },
                    endpoint.host,
                    permit,
                ))
            })
            .collect();
        dispatch(&shared, ready).await;
        // Its attempts are tracked tasks now (or queued for a slot, which the worker gives
        // back when it stops).
        drop(taking.in_flight);
    }
}

/// The intake of one publish: takes a delivery when its webhook is cached at the version the
/// transaction read, a global slot is free, and neither the webhook nor its host would be over
/// its limit. Dropped without [`Handoff::dispatch`] (the transaction failed), it gives its
/// slots back.
pub struct Taking {
    shared: Option<Arc<Shared>>,
    /// Counts this publish among the worker's tasks until its deliveries are started: a
    /// stopping worker waits for it as for an attempt, so nothing it leased is sent after the
    /// recorder has ended (the send would be unrecorded, its lease left to expire).
    in_flight: Option<TaskTrackerToken>,
    lease_until: i64,
    taken: Vec<(Endpoint, OwnedSemaphorePermit)>,
    per_webhook: HashMap<WebhookId, usize>,
    per_host: HashMap<Arc<str>, usize>,
    /// Deliveries left to a claim because their webhook or host was at its limit.
    full: u64,
}

impl Taking {
    /// How many deliveries it left to a claim because their webhook or its host was at its
    /// limit. The attempt that makes room for them wakes the dispatcher (see
    /// `Limits::finish`), so the publish need not: a claim woken now would find them still
    /// full and read past them for nothing.
    pub fn left_full(&self) -> u64 {
        self.full
    }

    /// The lease written into the deliveries it took, if it took any: the time that tells them
    /// apart should the publish fail after all (see `Store::release_handed_off`).
    pub fn taken_until(&self) -> Option<i64> {
        (!self.taken.is_empty()).then_some(self.lease_until)
    }
}

impl Intake for Taking {
    fn take(&mut self, webhook: &str, updated_at: i64) -> Option<i64> {
        let shared = self.shared.as_ref()?;
        let endpoint = shared.cache.get(webhook, updated_at)?;
        let promised_webhook = self.per_webhook.get(webhook).copied().unwrap_or(0);
        let promised_host = self.per_host.get(&endpoint.host).copied().unwrap_or(0);
        if !shared.limits.has_room(
            &endpoint.target.id,
            &endpoint.host,
            promised_webhook,
            promised_host,
        ) {
            self.full += 1;
            return None;
        }
        let permit = shared.permits.clone().try_acquire_owned().ok()?;
        *self
            .per_webhook
            .entry(endpoint.target.id.clone())
            .or_default() += 1;
        *self.per_host.entry(endpoint.host.clone()).or_default() += 1;
        self.taken.push((endpoint, permit));
        Some(self.lease_until)
    }
}
