//! Persistence. One [`Store`] trait: what callers need, written once for every database in
//! `shared/` on the contract of `backend.rs` (`Backend`), which SQLite ([`sqlite`]) and
//! PostgreSQL ([`postgres`]) implement: how queries run, migrations, the hot path's bulk writes
//! and claims. SQL lives nowhere else. See docs/architecture.md.
//!
//! Invariants: every tenant-facing read and write is filtered by tenant id, so an object of
//! another tenant is simply not found; publishing writes an event and all its deliveries in one
//! transaction; deliveries are the queue, leased by pushing `next_attempt_at` past the lease.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use leases::DeliveryLock;
pub use views::{DeliveryDetail, Event};

use crate::ids::{AttemptId, DeliveryId, EventId, KeyId, TenantId, WebhookId};
use crate::model::{
    Channel, CustomHeaders, EventFilter, PayloadFormat, RetrySchedule, SignatureConfig,
    TimeoutSeconds, WebhookUrl,
};

mod backend;
mod claim;
mod leases;
mod plan;
pub mod postgres;
mod query;
mod records;
mod shared;
pub mod sqlite;
mod statistics;
mod views;

/// What the store can fail with. Each backend maps its own constraint errors onto these, so
/// callers never see a SQLSTATE.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write.
    #[error("already exists")]
    Conflict,
    /// The database failed; a bug or an outage, never the caller's input.
    #[error("database error")]
    Backend(#[source] sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => Error::Conflict,
                sqlx::error::ErrorKind::ForeignKeyViolation => Error::NotFound,
                _ => Error::Backend(e),
            },
            _ => Error::Backend(e),
        }
    }
}

/// Store results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A page request: at most `limit` items after `cursor` (an id from the previous page).
#[derive(Clone, Debug)]
pub struct Page {
    /// 1..=250.
    pub limit: u32,
    /// The last id of the previous page.
    pub cursor: Option<String>,
}

/// One page of results and the cursor of the next, if any.
#[derive(Debug)]
pub struct Paged<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

/// A tenant.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Chosen by the operator.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Where notices about this tenant's webhooks go.
    pub contact_email: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A webhook (endpoint subscription) with every setting, each a `model` type: a value that
/// reached the store was valid when it was set.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// `wh_…`
    pub id: WebhookId,
    /// Owner.
    pub tenant_id: TenantId,
    /// Target URL, checked against the URL policy when it was set.
    pub url: WebhookUrl,
    /// Free text.
    pub description: String,
    /// Event type patterns; empty means all.
    pub events: EventFilter,
    /// Channels; empty means all events.
    pub channels: Vec<Channel>,
    /// Signing secret.
    pub secret: String,
    /// The secret it replaced and when that stops signing (unix ms), during a rotation.
    pub previous_secret: Option<(String, i64)>,
    /// Whether deliveries are made.
    pub active: bool,
    /// Why the webhook was disabled, when it was: `failing` or `gone` when hookrelay did it,
    /// `manual` when a person did.
    pub disabled_reason: Option<String>,
    /// When it was disabled (unix ms).
    pub disabled_at: Option<i64>,
    /// Since when its attempts have all failed (unix ms); `None` after a success. Kept by the
    /// attempt recorder only: writing a webhook never changes it, and enabling one clears it.
    pub failing_since: Option<i64>,
    /// Seconds between attempts.
    pub retry_schedule: RetrySchedule,
    /// Per-attempt timeout.
    pub timeout_seconds: TimeoutSeconds,
    /// Optional cap on deliveries a second.
    pub rate_limit_per_second: Option<u32>,
    /// Extra headers.
    pub headers: CustomHeaders,
    /// Signature scheme.
    pub signature: SignatureConfig,
    /// Body format.
    pub payload_format: PayloadFormat,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// An entry of the event type catalog.
#[derive(Clone, Debug)]
pub struct EventType {
    /// `meeting.ended`
    pub name: String,
    /// What the event means.
    pub description: String,
    /// Example data (JSON text), used by test sends.
    pub example: Option<String>,
    /// JSON Schema (JSON text) that published data must match.
    pub schema: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

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

/// Delivery states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx arrived.
    Succeeded,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// What one attempt came to: when it started, how long it took, and what came back. Declared
/// once: the sender's outcome, the recorder's record and the log's attempt all hold one.
#[derive(Clone, Debug)]
pub struct AttemptResult {
    /// When the request started, unix ms.
    pub started_at: i64,
    /// Request to response (or error), in ms.
    pub latency_ms: i64,
    /// HTTP status, when a response arrived.
    pub status_code: Option<u16>,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
    /// What went wrong without an acceptable response: timeout, refused, DNS, TLS…
    pub error: Option<String>,
    /// A 2xx within the timeout.
    pub succeeded: bool,
}

/// One attempt of a delivery.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// `att_…`
    pub id: AttemptId,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// What it came to.
    pub result: AttemptResult,
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
    /// Its URL.
    pub url: String,
    /// Why.
    pub reason: DisabledReason,
    /// When (unix ms).
    pub disabled_at: i64,
    /// The last failed attempt's error, or its status code and response excerpt.
    pub last_error: Option<String>,
}

/// A delivery as the log shows it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `dlv_…`
    pub id: DeliveryId,
    /// The event.
    pub event_id: EventId,
    /// The webhook.
    pub webhook_id: WebhookId,
    /// The event's type.
    pub event_type: String,
    /// Current state.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only), unix ms.
    pub next_attempt_at: Option<i64>,
    /// Made by a test send (`POST /v1/webhooks/{id}/test`), not by a publish.
    pub test: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// Filters of the delivery log.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// Only deliveries of this event type.
    pub event_type: Option<String>,
    /// Only deliveries created at or after this time, unix ms.
    pub since: Option<i64>,
    /// Only deliveries created before this time, unix ms.
    pub until: Option<i64>,
}

/// A webhook's recent attempts and delivery counts, for statistics.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    /// (started_at ms, latency ms, succeeded), newest first.
    pub attempts: Vec<(i64, i64, bool)>,
    /// Deliveries created in the window, by status.
    pub deliveries: Vec<(DeliveryStatus, u64)>,
}

/// Which past deliveries to queue again.
#[derive(Clone, Debug)]
pub struct Replay {
    /// Created at or after (unix ms).
    pub since: i64,
    /// Created before (unix ms).
    pub until: i64,
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// When they become due (unix ms).
    pub now: i64,
}

/// Who an API key belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOwner {
    /// The operator.
    Admin,
    /// One tenant.
    Tenant(TenantId),
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
    after_delivery: String,
    /// Every old delivery has been looked at; events come next.
    deliveries_done: bool,
    /// The last event looked at, as (created_at, id).
    after_event: Option<(i64, String)>,
}

/// The persistence operations hookrelay needs. Methods match callers, not tables.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations (idempotent).
    async fn migrate(&self) -> Result<()>;

    /// The right to claim deliveries, held while this process's dispatcher runs. SQLite keeps
    /// leases in memory, so only one process may deliver from a file; the lock refuses a second.
    fn lock_delivery(&self) -> anyhow::Result<DeliveryLock>;

    /// Wakes `wake` whenever another node publishes (PostgreSQL `LISTEN`); a no-op where one
    /// process owns the database. Runs until `shutdown`.
    fn listen_for_work(&self, wake: Arc<Notify>, shutdown: CancellationToken);

    /// The stored hash of the generated admin key, if one was generated before.
    async fn admin_key_hash(&self) -> Result<Option<String>>;
    /// Stores the hash of a newly generated admin key.
    async fn set_admin_key_hash(&self, id: &KeyId, hash: &str, now: i64) -> Result<()>;
    /// Who owns the key with this hash.
    async fn find_key(&self, hash: &str) -> Result<Option<KeyOwner>>;
    /// Stores a tenant key's hash.
    async fn create_tenant_key(
        &self,
        tenant: &TenantId,
        id: &KeyId,
        hash: &str,
        prefix: &str,
        now: i64,
    ) -> Result<()>;

    /// Creates a tenant; `Conflict` if the id is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<()>;
    /// One tenant.
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant>;
    /// Tenants by id.
    async fn list_tenants(&self, page: &Page) -> Result<Paged<Tenant>>;
    /// Replaces name and contact email.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<()>;
    /// Deletes a tenant with its webhooks, keys and deliveries.
    async fn delete_tenant(&self, id: &TenantId) -> Result<()>;

    /// Creates a webhook.
    async fn create_webhook(&self, webhook: &Webhook) -> Result<()>;
    /// One webhook of a tenant.
    async fn get_webhook(&self, tenant: &TenantId, id: &WebhookId) -> Result<Webhook>;
    /// A tenant's webhooks by id.
    async fn list_webhooks(&self, tenant: &TenantId, page: &Page) -> Result<Paged<Webhook>>;
    /// Replaces every mutable field of a webhook of `webhook.tenant_id`; answers the stored
    /// `updated_at`: `webhook.updated_at`, or one past the stored value if that is not earlier,
    /// so that every change gives a new `updated_at` (caches key on it). Disabling parks the
    /// webhook's pending deliveries; enabling clears its failure clock and makes them due now.
    async fn update_webhook(&self, webhook: &Webhook) -> Result<i64>;
    /// Deletes a webhook and its deliveries.
    async fn delete_webhook(&self, tenant: &TenantId, id: &WebhookId) -> Result<()>;

    /// Adds a catalog entry; `Conflict` if the name exists.
    async fn create_event_type(&self, event_type: &EventType) -> Result<()>;
    /// One catalog entry.
    async fn get_event_type(&self, name: &str) -> Result<EventType>;
    /// The catalog by name.
    async fn list_event_types(&self, page: &Page) -> Result<Paged<EventType>>;
    /// Replaces description, example and schema.
    async fn update_event_type(&self, event_type: &EventType) -> Result<()>;
    /// Removes a catalog entry.
    async fn delete_event_type(&self, name: &str) -> Result<()>;

    /// Writes many events and their deliveries in one transaction (group commit): one result
    /// per event, in order. An event repeated within the batch is a `Duplicate` of its first.
    /// Each new delivery is offered to `intake`; those it takes are written leased.
    async fn publish_many(
        &self,
        events: &[NewEvent],
        intake: &mut (dyn Intake + Send),
    ) -> Result<Publication>;
    /// Leases up to `limit` due deliveries until `lease_until`, oldest first from `from` on
    /// (`None`: from the oldest). Each due delivery looked at is offered to `choose`, and only
    /// those it accepts are leased; at most [`scan_window`] are looked at. `from` is left at
    /// the last one looked at, where a claim that knows nothing before it can go since may
    /// resume.
    async fn claim_due(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>>;
    /// Webhooks by id, of any tenant (those not found are left out).
    async fn webhooks_by_id(&self, ids: &[WebhookId]) -> Result<Vec<Webhook>>;
    /// Records attempts and the resulting delivery states, in one transaction, and keeps each
    /// webhook's failure clock: a webhook failing for longer than the policy allows, or whose
    /// endpoint answered `410 Gone`, is disabled in that transaction (its pending deliveries
    /// parked, a `webhook.disabled` event published to the operations tenant). Answers the
    /// webhooks this call disabled; with several nodes, each is disabled by one call only.
    async fn record_attempts(
        &self,
        records: &[AttemptRecord],
        policy: &FailurePolicy,
    ) -> Result<Vec<Disabled>>;
    /// Parks pending deliveries of disabled webhooks (due at no time) until their webhook is
    /// enabled again.
    async fn park(&self, ids: &[DeliveryId]) -> Result<()>;
    /// Gives leased deliveries back, due at `at`, without counting an attempt.
    async fn release(&self, ids: &[DeliveryId], at: i64) -> Result<()>;
    /// When the earliest pending delivery is due, if any.
    async fn next_due_at(&self) -> Result<Option<i64>>;
    /// This node's dispatcher has stopped: whatever it holds to claim (on PostgreSQL, the
    /// locks that let it deliver alone) goes, so another node may claim at once.
    async fn claiming_stopped(&self);

    /// One delivery with its attempts oldest first, its event and its webhook (to re-render
    /// the request it made); `tenant` None sees every tenant's.
    async fn get_delivery(
        &self,
        tenant: Option<&TenantId>,
        id: &DeliveryId,
    ) -> Result<DeliveryDetail>;
    /// One event with its deliveries, oldest first (admin: any tenant's).
    async fn get_event(&self, id: &EventId) -> Result<(Event, Vec<Delivery>)>;
    /// Logs a test send to a webhook of `tenant`: its event, a delivery marked `test` in the
    /// state `attempt` leads to, and the attempt, in one transaction. `NotFound` if the
    /// webhook is gone (nothing is written).
    async fn record_test_send(
        &self,
        tenant: &TenantId,
        event: &NewEvent,
        attempt: &AttemptRecord,
    ) -> Result<()>;
    /// A webhook's deliveries, newest first.
    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        filter: &DeliveryFilter,
        page: &Page,
    ) -> Result<Paged<Delivery>>;
    /// Attempts of a webhook since `since` (unix ms), newest first, at most `limit`, and its
    /// deliveries created since then counted by status.
    async fn webhook_activity(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        since: i64,
        limit: u32,
    ) -> Result<Activity>;
    /// Makes a webhook's deliveries created in `[since, until)` (and in `status`, if given)
    /// pending and due at `now`, test sends excepted; answers how many.
    async fn replay(&self, tenant: &TenantId, webhook: &WebhookId, replay: &Replay) -> Result<u64>;
    /// Makes a delivery pending and due at `now` (manual retry); `tenant` None: any tenant's.
    async fn retry_delivery(
        &self,
        tenant: Option<&TenantId>,
        id: &DeliveryId,
        now: i64,
    ) -> Result<Delivery>;

    /// Deletes one small batch of what retention lets go, walking on from `cursor`: finished
    /// (`succeeded` or `failed`) deliveries created before `before_ms` with their attempts,
    /// then events created over an hour before it that no delivery refers to. Pending
    /// deliveries are kept however old (those of a disabled webhook wait for it to be enabled),
    /// and so are their attempts and events. A call looks at no more than `batch` deliveries
    /// or events, and writes in one short transaction. On PostgreSQL one node purges at a
    /// time: another's call meanwhile does nothing and answers `elsewhere`.
    async fn purge(&self, before_ms: i64, batch: u32, cursor: &mut PurgeCursor) -> Result<Purged>;
}

/// How many of the oldest due deliveries a claim of `limit` looks at. Deliveries the chooser
/// passes over (their webhook is full) are passed over within this window only, so a deep
/// backlog of one saturated endpoint costs every claim a bounded scan, not one of the queue.
pub fn scan_window(limit: u32) -> u32 {
    limit.saturating_mul(8).max(2048)
}

/// Connects to the database named by `url` (`sqlite:` or `postgres://`).
pub async fn connect(url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::connect(url).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(postgres::PgStore::connect(url).await?))
    }
}
