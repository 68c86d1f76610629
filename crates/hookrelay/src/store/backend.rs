//! The contract between the shared store code and a database: everything the two backends do
//! differently, and nothing else. `store/shared/` implements [`Store`](super::Store) once for
//! every [`Backend`]; `sqlite/` and `postgres/` implement this trait.
//!
//! What differs: how queries run (pools, transactions, binding), migrations, the row locks
//! only PostgreSQL needs, the hot path's bulk writes and claims (multi-row `VALUES` on SQLite,
//! one array per column on PostgreSQL), where leases live, how nodes wake each other, and
//! which node purges old rows.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::leases::DeliveryLock;
use super::plan::PlannedDelivery;
use super::query::{Query, Record};
use super::subscriptions::Subscriptions;
use super::{AttemptRecord, Chooser, Claimed, DueKey, Error, NewEvent, Result};
use crate::ids::DeliveryId;

/// Where a query runs.
pub enum Conn<'t, Tx> {
    /// A reading connection (on SQLite, one of those beside the single writer).
    Read,
    /// A writing connection, the statement being its own transaction.
    Write,
    /// An open write transaction.
    Tx(&'t mut Tx),
}

/// A webhook's failure clock as one recorded batch sets it (worked out in
/// `shared/failures.rs`).
#[derive(Clone, Copy, Debug)]
pub struct FailureClock<'a> {
    /// The webhook.
    pub webhook: &'a str,
    /// The batch holds a success for it: the clock becomes `since` exactly (`None`: stopped).
    /// Otherwise it starts at `since` unless it is running already.
    pub exact: bool,
    /// The first failure after the batch's last success, if any.
    pub since: Option<i64>,
}

/// One database kind, as the shared store code uses it. Queries written once in
/// `store/shared/` run through [`Backend::fetch_all`], [`Backend::fetch_optional`] and
/// [`Backend::execute`]; the items after those are what the backends do differently.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// An open write transaction: committed by [`Backend::commit`], rolled back when dropped.
    type Tx: Send;

    /// The backend's name, for logs.
    const NAME: &'static str;
    /// What a publish takes on the webhooks it targets, so that deleting one waits for the
    /// publish to commit (`FOR KEY SHARE`). Empty where there is one writer at a time.
    const KEY_SHARE: &'static str;
    /// What a deletion takes on the rows whose dependents it is about to delete, so that a
    /// concurrent recorder or publish is waited for (`FOR UPDATE`). Empty with one writer.
    const FOR_UPDATE: &'static str;

    /// Every row the query returns.
    async fn fetch_all<R: Record>(&self, conn: Conn<'_, Self::Tx>, q: Query<'_>) -> Result<Vec<R>>;

    /// The first row the query returns, if any.
    async fn fetch_optional<R: Record>(
        &self,
        conn: Conn<'_, Self::Tx>,
        q: Query<'_>,
    ) -> Result<Option<R>>;

    /// The one row the query returns; `NotFound` if none.
    async fn fetch_one<R: Record>(&self, conn: Conn<'_, Self::Tx>, q: Query<'_>) -> Result<R> {
        self.fetch_optional(conn, q).await?.ok_or(Error::NotFound)
    }

    /// Runs a statement; answers the rows it changed.
    async fn execute(&self, conn: Conn<'_, Self::Tx>, q: Query<'_>) -> Result<u64>;

    /// Opens a write transaction.
    async fn begin(&self) -> Result<Self::Tx>;

    /// Commits a write transaction.
    async fn commit(tx: Self::Tx) -> Result<()>;

    /// Rolls a write transaction back.
    async fn rollback(tx: Self::Tx) -> Result<()>;

    /// Applies pending migrations (idempotent).
    async fn apply_migrations(&self) -> Result<()>;

    /// The migrations embedded in this build, which readiness compares with those applied.
    fn migrator() -> &'static sqlx::migrate::Migrator;

    /// The right to claim deliveries from this database, held while the dispatcher runs.
    fn delivery_lock(&self) -> anyhow::Result<DeliveryLock>;

    /// Wakes `wake` when another node publishes, until `shutdown`; nothing where one process
    /// owns the database.
    fn listen(&self, wake: Arc<Notify>, shutdown: CancellationToken);

    /// The tenants' webhooks this node has read for publishing (`subscriptions.rs`).
    fn subscriptions(&self) -> &Subscriptions;

    /// The `(id, deliveries)` of those of `events` already stored.
    async fn published_before(tx: &mut Self::Tx, events: &[NewEvent])
    -> Result<Vec<(String, i64)>>;

    /// Inserts new events, each with its delivery count. A repeated id fails with `Conflict`.
    async fn insert_events(tx: &mut Self::Tx, events: &[(&NewEvent, u64)]) -> Result<()>;

    /// Inserts the planned deliveries of `events`, each with its id and due time (`placed`,
    /// one per planned delivery).
    async fn insert_deliveries(
        tx: &mut Self::Tx,
        events: &[NewEvent],
        deliveries: &[PlannedDelivery<'_>],
        placed: &[(DeliveryId, i64)],
    ) -> Result<()>;

    /// Tells other nodes, once `tx` commits, that there is work to claim.
    async fn notify_work(tx: &mut Self::Tx) -> Result<()>;

    /// `n` deliveries were written (PostgreSQL keeps the planner's statistics in step).
    fn deliveries_written(&self, n: usize);

    /// Leases due deliveries: see [`Store::claim_due`](super::Store::claim_due).
    async fn claim(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>>;

    /// Writes attempts, the deliveries' new states (of the deliveries that still exist) and
    /// the webhooks' failure clocks, atomically: in `conn`'s transaction, or one of its own.
    /// This is the recorder's whole write while every attempt succeeds, so it is the hot
    /// path's: PostgreSQL makes it one statement.
    async fn write_attempts(
        &self,
        conn: Conn<'_, Self::Tx>,
        records: &[AttemptRecord],
        clocks: &[FailureClock<'_>],
    ) -> Result<()>;

    /// The leases of these deliveries ended (they were recorded or released).
    fn end_leases<'a>(&self, ids: impl IntoIterator<Item = &'a str>);

    /// When the earliest pending delivery that this node could claim is due.
    async fn next_due(&self) -> Result<Option<i64>>;

    /// This node is about to deliver: the deliveries a previous run left leased in their rows
    /// (see `leases::RESUME_ABANDONED`) are made due now where no other node can hold them
    /// (SQLite, under the delivery lock), or once it is known that none does (PostgreSQL, if
    /// its first check of the others finds it alone). `started` is when this run started (unix
    /// ms).
    async fn resume_abandoned(&self, started: i64, lease_ms: i64) -> Result<()>;

    /// This node's dispatcher stopped: whatever it holds in order to claim goes.
    async fn stop_claiming(&self);

    /// Takes, for the rest of `tx`, the right to purge old rows, unless another node holds it
    /// (PostgreSQL); always granted where one process owns the database.
    async fn lock_purge(tx: &mut Self::Tx) -> Result<bool>;

    /// Takes, for the rest of `tx`, the right to change these fifo queues (webhook id, key):
    /// see `shared/ordering.rs`. Waits for any transaction holding one of them; nothing where
    /// one writer serializes every transaction anyway.
    async fn lock_queues(tx: &mut Self::Tx, queues: &[(&str, &str)]) -> Result<()>;
}
