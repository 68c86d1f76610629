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

pub use entities::{
    Activity, Attempt, AttemptHour, AttemptResult, DashboardSession, Delivery, DeliveryFilter,
    DeliveryStatus, EventType, KeyOwner, LogPage, NewDashboardSession, Page, Paged, Replay, Tenant,
    Webhook,
};
pub use error::{Error, NotReady, Result};
pub use leases::DeliveryLock;
pub use queue::{
    AttemptRecord, Chooser, Claimed, Disabled, DisabledReason, DueKey, FailurePolicy, Intake,
    NewEvent, NoIntake, Publication, Published, PurgeCursor, Purged, Taken, WebhookVersion,
};
pub use views::{DeliveryDetail, Event};

use crate::ids::{DeliveryId, EventId, KeyId, TenantId, WebhookId};

mod backend;
mod claim;
mod entities;
mod error;
mod leases;
mod plan;
pub mod postgres;
mod query;
mod queue;
mod records;
mod shared;
pub mod sqlite;
mod statistics;
mod subscriptions;
mod views;

/// What the operator's "system at a glance" shows beyond the queue's depth.
#[derive(Clone, Debug, Default)]
pub struct SystemOverview {
    /// Deliveries created since the time asked, by status.
    pub recent: Vec<(DeliveryStatus, u64)>,
    /// Active webhooks whose attempts have all failed for a while, longest failing first.
    pub failing: Vec<Webhook>,
    /// Disabled webhooks, most recently disabled first.
    pub disabled: Vec<Webhook>,
}

/// The queue's size as the gauges show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Pending deliveries due now.
    pub due: i64,
    /// Pending deliveries due later.
    pub scheduled: i64,
    /// When the oldest due delivery became due (unix ms), if any is.
    pub oldest_due: Option<i64>,
}

/// The persistence operations hookrelay needs. Methods match callers, not tables.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations (idempotent).
    async fn migrate(&self) -> Result<()>;

    /// The right to use the database, held while this process serves. SQLite keeps leases in
    /// memory, so only one process may use a file; the lock refuses a second.
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
    /// A publish failed, yet may have committed (its connection died before the answer came):
    /// the deliveries its hand-off took would then be written leased until `lease_until`, a
    /// time only that publish wrote, and never sent. Makes pending, never-attempted deliveries
    /// due at exactly `lease_until` due at `now` instead; answers how many.
    async fn release_handed_off(&self, lease_until: i64, now: i64) -> Result<u64>;
    /// When the earliest pending delivery is due, if any.
    async fn next_due_at(&self) -> Result<Option<i64>>;
    /// This node holds the right to deliver ([`Store::lock_delivery`]) and has neither taken
    /// nor claimed anything yet: deliveries that a previous run of it took and never finished
    /// (written leased until up to `lease` from now, never attempted) become due now instead of
    /// at their lease's end, where the backend is sure no other node holds them. On PostgreSQL
    /// that is known only once the node delivers alone, so it happens then, if it starts so.
    async fn resume_abandoned(&self, lease: std::time::Duration) -> Result<()>;
    /// Whether this node can serve: the database answers and its applied migrations are
    /// exactly those embedded in this build. One cheap read, for `/readyz`.
    async fn ready(&self) -> Result<(), NotReady>;
    /// Pending deliveries due at `now`, due later, and the oldest due time; parked ones (due
    /// at no time) are neither. For the queue gauges, read every few seconds.
    async fn queue_depth(&self, now: i64) -> Result<QueueDepth>;
    /// Deliveries created since `since` by status, and up to `limit` failing and disabled
    /// webhooks of every tenant (the operator's dashboard).
    async fn system_overview(&self, since: i64, limit: u32) -> Result<SystemOverview>;
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
    /// A webhook's deliveries matching `filter`, newest first, looking at no more than `scan`
    /// of its deliveries from the cursor on: a page can be short of `page.limit` with a
    /// `next_cursor` and `searched_to` (the dashboard's log).
    async fn scan_deliveries(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        filter: &DeliveryFilter,
        page: &Page,
        scan: u32,
    ) -> Result<LogPage>;
    /// Attempts of a webhook since `since` (unix ms), newest first, at most `limit`, and its
    /// deliveries created since then counted by status.
    async fn webhook_activity(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        since: i64,
        limit: u32,
    ) -> Result<Activity>;
    /// The attempts of a webhook's newest deliveries created since `since` (unix ms), newest
    /// delivery first, at most `limit`: a walk down the webhook's delivery index that stops
    /// after `limit` rows, so it costs the same however large the log is (the dashboard's
    /// chart; [`Store::webhook_activity`] reads the whole window).
    async fn recent_attempts(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        since: i64,
        limit: u32,
    ) -> Result<Vec<(i64, i64, bool)>>;
    /// For each of `webhooks` (of `tenant`), its attempts counted per UTC hour from `since` (a
    /// whole hour, unix ms) on, as the recorder kept them (`shared/hours.rs`): exact, and at
    /// most 720 rows per webhook (the dashboard's charts, sparklines and rates).
    async fn attempt_hours(
        &self,
        tenant: &TenantId,
        webhooks: &[WebhookId],
        since: i64,
    ) -> Result<Vec<AttemptHour>>;
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

    /// Stores a one-time dashboard link for `tenant` by the hash of its token (expired links
    /// are swept first). `NotFound` if the tenant does not exist.
    async fn create_dashboard_link(
        &self,
        hash: &str,
        tenant: &TenantId,
        expires_at: i64,
        now: i64,
    ) -> Result<()>;
    /// Spends a dashboard link: deletes it and answers its tenant if it had not expired at
    /// `now`. A second redemption finds nothing.
    async fn redeem_dashboard_link(&self, hash: &str, now: i64) -> Result<Option<TenantId>>;
    /// Stores a dashboard session by the hash of its token; sessions idle for `idle_ms` or
    /// more are swept first.
    async fn create_dashboard_session(
        &self,
        session: &NewDashboardSession<'_>,
        idle_ms: i64,
    ) -> Result<()>;
    /// The session with this token hash, unless it has been idle for `idle_ms`; marks it seen
    /// (at most once a minute, so reading pages rarely writes).
    async fn find_dashboard_session(
        &self,
        hash: &str,
        now: i64,
        idle_ms: i64,
    ) -> Result<Option<DashboardSession>>;
    /// Ends a dashboard session (sign-out); nothing if it is gone already.
    async fn delete_dashboard_session(&self, hash: &str) -> Result<()>;
}

/// How many of the oldest due deliveries a claim of `limit` looks at. Deliveries the chooser
/// passes over (their webhook is full) are passed over within this window only, so a deep
/// backlog of one saturated endpoint costs every claim a bounded scan, not one of the queue.
pub fn scan_window(limit: u32) -> u32 {
    limit.saturating_mul(8).max(2048)
}

/// Connects to the database named by `url` (`sqlite:` or `postgres://`).
pub async fn connect(url: &str, pool: &PoolSettings) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::connect(url).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(
            postgres::PgStore::connect(url, pool).await?,
        ))
    }
}

/// The PostgreSQL connection pool's bounds (an SQLite file's pools are fixed: one writer).
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    /// Most connections open at once.
    pub max_connections: u32,
    /// Longest wait for a connection, connecting included; then [`Error::Unavailable`].
    pub acquire_timeout: std::time::Duration,
}
