//! PostgreSQL: several hookrelay nodes share one database. Each delivering node owns partitions
//! of the due queue (`partitions.rs`, `membership.rs`) and claims only from its own, reading
//! without locks and keeping its leases in memory (`claims.rs`). The cross-node wake-up is in
//! `listen.rs`.

mod bulk;
mod claims;
mod listen;
mod membership;
mod partitions;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions};
use sqlx::{Arguments, PgPool, Postgres, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use self::membership::Membership;
use super::backend::{Backend, Conn, FailureClock};
use super::leases::{DeliveryLock, Leases};
use super::plan::PlannedDelivery;
use super::query::{Arg, Query, Record};
use super::statistics::Statistics;
use super::subscriptions::Subscriptions;
use super::{AttemptRecord, Chooser, Claimed, DueKey, Error, NewEvent, PoolSettings, Result};
use crate::ids::DeliveryId;

/// The `NOTIFY` channel on which a publish tells every node there is new work.
const WORK_CHANNEL: &str = "hookrelay_work";

/// The first half of the advisory lock key a retention batch holds (beside `membership.rs`'s; the
/// second half is the schema's hash, as there). Public so that tests can hold it as another
/// node would.
pub const PURGE_LOCK: i32 = 0x686b_7203;

/// A store in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    statistics: Statistics,
    /// The deliveries this node holds, in the partitions it owns or owned.
    leases: Leases,
    /// The tenants' webhooks read for publishing.
    subscriptions: Subscriptions,
    /// Which partitions it owns; taken by the one claiming loop.
    membership: tokio::sync::Mutex<Membership>,
    /// This node's rows of `attempt_hours` (`shared/hours.rs`), drawn at random: two nodes
    /// sharing rows would only wait on each other's locks, as every node did before.
    writer: i32,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl PgStore {
    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await?;
        Ok(Self {
            pool,
            statistics: Statistics::new(),
            leases: Leases::default(),
            subscriptions: Subscriptions::default(),
            membership: tokio::sync::Mutex::new(Membership::new(options)),
            writer: rand::random_range(1..=i32::MAX),
        })
    }
}

/// Binds a shared query's arguments.
fn arguments(args: Vec<Arg<'_>>) -> Result<PgArguments> {
    let mut bound = PgArguments::default();
    for arg in args {
        match arg {
            Arg::Int(v) => bound.add(v),
            Arg::Text(v) => bound.add(v),
            Arg::Bool(v) => bound.add(v),
        }
        .map_err(|e| Error::Backend(sqlx::Error::Encode(e)))?;
    }
    Ok(bound)
}

#[async_trait]
impl Backend for PgStore {
    type Tx = Transaction<'static, Postgres>;

    const NAME: &'static str = "postgres";
    const KEY_SHARE: &'static str = "FOR KEY SHARE";
    const FOR_UPDATE: &'static str = "FOR UPDATE";

    async fn fetch_all<R: Record>(&self, conn: Conn<'_, Self::Tx>, q: Query<'_>) -> Result<Vec<R>> {
        let (sql, args) = q.into_parts();
        let query = sqlx::query_as_with::<_, R, _>(&sql, arguments(args)?);
        Ok(match conn {
            Conn::Read | Conn::Write => query.fetch_all(&self.pool).await?,
            Conn::Tx(tx) => query.fetch_all(&mut **tx).await?,
        })
    }

    async fn fetch_optional<R: Record>(
        &self,
        conn: Conn<'_, Self::Tx>,
        q: Query<'_>,
    ) -> Result<Option<R>> {
        let (sql, args) = q.into_parts();
        let query = sqlx::query_as_with::<_, R, _>(&sql, arguments(args)?);
        Ok(match conn {
            Conn::Read | Conn::Write => query.fetch_optional(&self.pool).await?,
            Conn::Tx(tx) => query.fetch_optional(&mut **tx).await?,
        })
    }

    async fn execute(&self, conn: Conn<'_, Self::Tx>, q: Query<'_>) -> Result<u64> {
        let (sql, args) = q.into_parts();
        let query = sqlx::query_with(&sql, arguments(args)?);
        let done = match conn {
            Conn::Read | Conn::Write => query.execute(&self.pool).await?,
            Conn::Tx(tx) => query.execute(&mut **tx).await?,
        };
        Ok(done.rows_affected())
    }

    async fn begin(&self) -> Result<Self::Tx> {
        Ok(self.pool.begin().await?)
    }

    async fn commit(tx: Self::Tx) -> Result<()> {
        Ok(tx.commit().await?)
    }

    async fn rollback(tx: Self::Tx) -> Result<()> {
        Ok(tx.rollback().await?)
    }

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn apply_migrations(&self) -> Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::Backend(e.into()))
    }

    /// Nodes coordinate through the database's row locks: nothing to lock here.
    fn delivery_lock(&self) -> anyhow::Result<DeliveryLock> {
        Ok(DeliveryLock::none())
    }

    fn listen(&self, wake: Arc<Notify>, shutdown: CancellationToken) {
        self.listen_inner(wake, shutdown);
    }

    fn subscriptions(&self) -> &Subscriptions {
        &self.subscriptions
    }

    async fn published_before(
        tx: &mut Self::Tx,
        events: &[NewEvent],
    ) -> Result<Vec<(String, i64)>> {
        bulk::published_before(tx, events).await
    }

    async fn insert_events(tx: &mut Self::Tx, events: &[(&NewEvent, u64)]) -> Result<()> {
        bulk::insert_events(tx, events).await
    }

    async fn insert_deliveries(
        tx: &mut Self::Tx,
        events: &[NewEvent],
        deliveries: &[PlannedDelivery<'_>],
        placed: &[(DeliveryId, i64)],
    ) -> Result<()> {
        bulk::insert_deliveries(tx, events, deliveries, placed).await
    }

    /// Tells every node's listener that there is new work; delivered at commit.
    async fn notify_work(tx: &mut Self::Tx) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WORK_CHANNEL)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Keeps the planner's statistics in step with the tables' growth.
    fn deliveries_written(&self, n: usize) {
        self.statistics.written(n as u64, &self.pool);
    }

    async fn claim(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>> {
        self.claim_inner(now, limit, lease_until, from, choose)
            .await
    }

    async fn write_attempts(
        &self,
        conn: Conn<'_, Self::Tx>,
        records: &[AttemptRecord],
        clocks: &[FailureClock<'_>],
    ) -> Result<()> {
        match conn {
            Conn::Tx(tx) => bulk::record(tx, records, clocks, self.writer).await,
            Conn::Read | Conn::Write => {
                let mut conn = self.pool.acquire().await?;
                bulk::record(&mut conn, records, clocks, self.writer).await
            }
        }
    }

    /// Ends leases held in memory; leases written into rows (a hand-off's, or those written
    /// as partitions were given up) are ended by the very writes that recorded or released
    /// their deliveries.
    fn end_leases<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        self.leases.end(ids);
    }

    async fn next_due(&self) -> Result<Option<i64>> {
        self.next_due_inner().await
    }

    /// Only noted here: whether another node holds leases is known at this node's first check
    /// of the others (`membership.rs`).
    async fn resume_abandoned(&self, started: i64, lease_ms: i64) -> Result<()> {
        self.membership
            .lock()
            .await
            .resume_when_alone(started, lease_ms);
        Ok(())
    }

    async fn stop_claiming(&self) {
        self.claiming_stopped_inner().await;
    }

    /// A transaction-level advisory lock: it goes with the batch's transaction, so a node that
    /// dies mid-batch holds nothing, and the next batch may run on any node. Trying, not
    /// waiting: a node that finds another purging leaves the pass to it.
    async fn lock_purge(tx: &mut Self::Tx) -> Result<bool> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT pg_try_advisory_xact_lock($1, {})",
            membership::SCHEMA_KEY
        ))
        .bind(PURGE_LOCK)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Transaction-level advisory locks, one per bucket of queues: the schema's hash in the
    /// high bits (deployments in other schemas never wait for these), and 8 bits of the
    /// queue's hash, so a group with thousands of queues takes at most 256 locks (the server's
    /// lock table is small) and unrelated queues sharing a bucket only wait for each other's
    /// short transactions. Single-key (`int8`) locks: never the same as the two-key locks of
    /// `membership.rs` and retention. Taken in order of their key so two transactions never wait
    /// for each other in a cycle; the outer projection runs over the sorted subquery's rows.
    async fn lock_queues(tx: &mut Self::Tx, queues: &[(&str, &str)]) -> Result<()> {
        if queues.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = queues.iter().map(|(w, k)| format!("{w} {k}")).collect();
        sqlx::query(&format!(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT \
             ({}::int8 << 8) | (hashtextextended(q, 0) & 255) AS h \
             FROM unnest($1::text[]) AS q ORDER BY h) AS s",
            membership::SCHEMA_KEY
        ))
        .bind(texts)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
