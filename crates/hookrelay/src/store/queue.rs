//! What flows through the queue: events as a publish writes them and what it wrote, deliveries
//! as a claim hands them over, attempts as the recorder writes them with what they do to a
//! failing webhook, and retention's batches.

use super::entities::Attempt;
use super::entities::DeliveryStatus;
use crate::ids::{DeliveryId, EventId, TenantId, WebhookId};

/// An event to publish.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Generated or publisher-chosen (idempotency key).
    pub id: EventId,
    /// Its type.
    pub event_type: String,
    /// Tenants whose webhooks receive it.
    pub tenants: Vec<TenantId>,
    /// Channels it carries.
    pub channels: Vec<String>,
    /// The data, as JSON text.
    pub data: String,
    /// Unix ms.
    pub created_at: i64,
}

/// What publishing did.
#[derive(Debug, PartialEq, Eq)]
pub enum Published {
    /// A new event with this many deliveries.
    Created {
        /// Deliveries queued.
        deliveries: u64,
    },
    /// The id was published before; nothing new was written.
    Duplicate {
        /// Deliveries the first publish queued.
        deliveries: u64,
    },
    /// A target tenant does not exist; nothing was written.
    UnknownTenant(TenantId),
}

/// A claimed (or handed-over) delivery with everything needed to send it, so sending needs no
/// further query. A claim names the webhook by id and version ([`WebhookVersion`]), which the
/// dispatcher resolves from its cache (or [`Store::webhooks_by_id`]) instead of every claim
/// decoding it, into the prepared webhook it sends to ([`Claimed::with_webhook`]).
#[derive(Clone, Debug)]
pub struct Claimed<W = WebhookVersion> {
    /// `dlv_…`
    pub id: DeliveryId,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The event's id.
    pub event_id: EventId,
    /// The event's type.
    pub event_type: String,
    /// The event's creation time, unix ms.
    pub event_created_at: i64,
    /// The event's data (JSON text).
    pub data: String,
    /// The webhook it goes to.
    pub webhook: W,
    /// Its fifo queue's key, if its webhook was fifo when it was published.
    pub ordering_key: Option<String>,
}

impl<W> Claimed<W> {
    /// The same delivery with its webhook resolved.
    pub fn with_webhook<T>(self, webhook: T) -> Claimed<T> {
        Claimed {
            id: self.id,
            attempts: self.attempts,
            event_id: self.event_id,
            event_type: self.event_type,
            event_created_at: self.event_created_at,
            data: self.data,
            webhook,
            ordering_key: self.ordering_key,
        }
    }
}

/// A webhook as a claim names it: its id and its `updated_at` when claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookVersion {
    /// The webhook.
    pub id: WebhookId,
    /// Its `updated_at` (caches key on it).
    pub updated_at: i64,
}

/// Decides, for each new delivery as a publish writes it, whether this node sends it right after
/// the commit instead of leaving it to a claim. A delivery taken is written already leased (due
/// at the lease's end), so no claim query ever reads it back; if the node dies before the attempt
/// is recorded, the lease expires and any node claims it (at-least-once, as with claims).
pub trait Intake: Send {
    /// Offered a new delivery to `webhook` whose row reads `updated_at`: the end of its lease
    /// (unix ms) if this node takes it.
    fn take(&mut self, webhook: &str, updated_at: i64) -> Option<i64>;
}

/// Decides, for each due delivery a claim looks at, whether to lease it: the dispatcher accepts
/// only what it can start or queue at once.
pub trait Chooser {
    /// Offered the due delivery `id` to `webhook`, due at `due`: whether the claim takes it.
    fn choose(&mut self, webhook: &str, due: i64, id: &str) -> bool;
}

impl<F: FnMut(&str, i64, &str) -> bool> Chooser for F {
    fn choose(&mut self, webhook: &str, due: i64, id: &str) -> bool {
        self(webhook, due, id)
    }
}

/// A place in the order claims read due deliveries in: by due time, then id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DueKey {
    /// `next_attempt_at`, unix ms.
    pub due: i64,
    /// The delivery's id.
    pub id: String,
}

/// An [`Intake`] that takes nothing: every delivery waits for a claim.
pub struct NoIntake;

impl Intake for NoIntake {
    fn take(&mut self, _webhook: &str, _updated_at: i64) -> Option<i64> {
        None
    }
}

/// A delivery an [`Intake`] took: the caller sends it once the publish has committed.
#[derive(Clone, Debug)]
pub struct Taken {
    /// `dlv_…`
    pub id: DeliveryId,
    /// The event's position in the published slice.
    pub event: usize,
    /// The webhook it goes to.
    pub webhook: WebhookId,
    /// Its fifo queue's key, if it is ordered (a head: only heads are taken).
    pub ordering_key: Option<String>,
}

/// What a publish wrote.
#[derive(Debug, Default)]
pub struct Publication {
    /// One result per event, in order.
    pub results: Vec<Published>,
    /// The deliveries the intake took.
    pub taken: Vec<Taken>,
    /// Deliveries written due now, for a claim to pick up.
    pub queued: u64,
}

/// An attempt as the recorder writes it, with the delivery state it leads to.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// The webhook (kept on the attempt for per-webhook statistics).
    pub webhook_id: WebhookId,
    /// The attempt.
    pub attempt: Attempt,
    /// The endpoint answered `410 Gone`: its webhook is disabled at once.
    pub gone: bool,
    /// The delivery's status after this attempt.
    pub status: DeliveryStatus,
    /// When to try again (pending only), unix ms.
    pub next_attempt_at: Option<i64>,
    /// The delivery's fifo queue key, if it is ordered: finishing it lets the next one go.
    pub ordering_key: Option<String>,
}

/// What recording attempts does to the webhooks that keep failing.
#[derive(Clone, Debug)]
pub struct FailurePolicy {
    /// A webhook whose attempts have all failed for this long (ms) is disabled.
    pub disable_after_ms: i64,
    /// The tenant whose webhook receives the operator's `webhook.disabled` events, if any.
    pub operations_tenant: Option<TenantId>,
}

/// Why hookrelay disabled a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisabledReason {
    /// Every attempt failed for the policy's window.
    Failing,
    /// The endpoint answered `410 Gone`.
    Gone,
}

impl DisabledReason {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failing => "failing",
            Self::Gone => "gone",
        }
    }
}

/// A webhook that recording attempts disabled: what its owner and the operator are told.
#[derive(Clone, Debug)]
pub struct Disabled {
    /// The webhook.
    pub webhook_id: WebhookId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its URL, a broker's password masked.
    pub url: String,
    /// Why.
    pub reason: DisabledReason,
    /// When (unix ms).
    pub disabled_at: i64,
    /// The last failed attempt's error, or its status code and response excerpt.
    pub last_error: Option<String>,
}

/// What one [`Store::purge`] batch deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Finished deliveries.
    pub deliveries: u64,
    /// Their attempts.
    pub attempts: u64,
    /// Events no delivery referred to any more.
    pub events: u64,
    /// Old rows may remain past the cursor: call again (after a pause) with the same cursor.
    pub more: bool,
    /// Another node was purging (PostgreSQL): this call did nothing, and the pass should end.
    pub elsewhere: bool,
}

/// How far a retention pass has got: first through old deliveries in id order, then through
/// old events in (created_at, id) order. A pass starts from the default and hands the same
/// cursor to each [`Store::purge`] until one answers `more: false`.
#[derive(Clone, Debug, Default)]
pub struct PurgeCursor {
    /// The last delivery looked at (empty: none yet).
    pub(super) after_delivery: String,
    /// Every old delivery has been looked at; events come next.
    pub(super) deliveries_done: bool,
    /// The last event looked at, as (created_at, id).
    pub(super) after_event: Option<(i64, String)>,
}
