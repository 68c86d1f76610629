//! SQLite: the embedded default. One process owns the file. Writes go through a single
//! connection (SQLite allows one writer at a time; one connection makes that explicit instead of
//! surfacing as `SQLITE_BUSY`), reads through a small pool that WAL mode lets run alongside it.
//! Leases are kept in memory (see `leases.rs`), so claims are reads and never wait for the writer.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Arguments, Sqlite, SqlitePool, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{info, warn};

use super::backend::{Backend, Conn, FailureClock};
use super::leases::{DeliveryLock, Leases};
use super::plan::PlannedDelivery;
use super::query::{Arg, Query, Record};
use super::subscriptions::Subscriptions;
use super::{AttemptRecord, Chooser, Claimed, DueKey, Error, NewEvent, Result};
use crate::ids::DeliveryId;

mod bulk;
mod claims;
mod clocks;

/// A store in one SQLite file.
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// The deliveries this process has leased.
    leases: Leases,
    /// The tenants' webhooks read for publishing.
    subscriptions: Subscriptions,
    /// The webhooks whose failure clock runs.
    clocks: clocks::RunningClocks,
    /// The database file (none in memory), beside which the delivery lock lives.
    file: Option<PathBuf>,
    /// Stops the checkpointer when the store is dropped.
    _checkpoints: DropGuard,
}

/// How often WAL frames are copied back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Copies committed WAL frames into the database file, on a connection of its own (sqlx runs
/// each SQLite connection on its own thread), so the single writer spends its time on writes
/// alone. `PASSIVE` never waits for, nor blocks, the writer or readers.
async fn checkpoint_continuously(pool: SqlitePool, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(CHECKPOINT_INTERVAL) => {}
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            warn!(error = %e, "checkpointing the write-ahead log failed; retrying");
        }
    }
    pool.close().await;
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl SqliteStore {
    /// Opens (creating if needed) the file named by a `sqlite://path` URL.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives a crash of the process, which is what
            // "an event answered with 202 is never lost" needs; only an OS crash or power loss
            // can lose the last transactions, in exchange for no fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // Checkpoints run on their own connection (see `checkpoint_continuously`), so the
            // writer's commits never copy pages or fsync; this is only a backstop should that
            // fall far behind.
            .pragma("wal_autocheckpoint", "65536")
            .pragma("cache_size", "-4096");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        // An in-memory database has no file on disk, and no other process can open it.
        let file = Some(options.get_filename().to_owned()).filter(|f| f.is_file());
        // Readers (claims, the API) read the database file through a memory map rather than
        // a read() and a copy into their page cache per page. Pages still in the WAL are read
        // as before; the map counts towards RSS only for pages actually touched.
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true).pragma("mmap_size", "268435456"))
            .await?;
        let stop = CancellationToken::new();
        tokio::spawn(checkpoint_continuously(checkpointer, stop.clone()));
        Ok(Self {
            reader,
            writer,
            leases: Leases::default(),
            subscriptions: Subscriptions::default(),
            clocks: clocks::RunningClocks::default(),
            file,
            _checkpoints: stop.drop_guard(),
        })
    }
}

/// Binds a shared query's arguments.
fn arguments(args: Vec<Arg<'_>>) -> Result<SqliteArguments<'_>> {
    let mut bound = SqliteArguments::default();
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
impl Backend for SqliteStore {
    type Tx = Transaction<'static, Sqlite>;

    const NAME: &'static str = "sqlite";
    /// One writer at a time: a publish and a deletion never overlap, so nothing is locked.
    const KEY_SHARE: &'static str = "";
    const FOR_UPDATE: &'static str = "";

    async fn fetch_all<R: Record>(&self, conn: Conn<'_, Self::Tx>, q: Query<'_>) -> Result<Vec<R>> {
        let (sql, args) = q.into_parts();
        let query = sqlx::query_as_with::<_, R, _>(&sql, arguments(args)?);
        Ok(match conn {
            Conn::Read => query.fetch_all(&self.reader).await?,
            Conn::Write => query.fetch_all(&self.writer).await?,
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
            Conn::Read => query.fetch_optional(&self.reader).await?,
            Conn::Write => query.fetch_optional(&self.writer).await?,
            Conn::Tx(tx) => query.fetch_optional(&mut **tx).await?,
        })
    }

    async fn execute(&self, conn: Conn<'_, Self::Tx>, q: Query<'_>) -> Result<u64> {
        let (sql, args) = q.into_parts();
        let query = sqlx::query_with(&sql, arguments(args)?);
        let done = match conn {
            Conn::Read => query.execute(&self.reader).await?,
            Conn::Write => query.execute(&self.writer).await?,
            Conn::Tx(tx) => query.execute(&mut **tx).await?,
        };
        Ok(done.rows_affected())
    }

    async fn begin(&self) -> Result<Self::Tx> {
        Ok(self.writer.begin().await?)
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
            .run(&self.writer)
            .await
            .map_err(|e| Error::Backend(e.into()))
    }

    /// Only this process delivers from the file; the lock says so to any other.
    fn delivery_lock(&self) -> anyhow::Result<DeliveryLock> {
        match &self.file {
            Some(file) => DeliveryLock::acquire(file),
            None => Ok(DeliveryLock::none()),
        }
    }

    /// One process owns an SQLite file, so the in-process wake-up is all there is.
    fn listen(&self, _wake: Arc<Notify>, _shutdown: CancellationToken) {}

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

    /// Nobody else to tell: the publishing process's own dispatcher is woken by the publisher.
    async fn notify_work(_tx: &mut Self::Tx) -> Result<()> {
        Ok(())
    }

    /// SQLite's planner needs no statistics for these queries: it prefers the indexes.
    fn deliveries_written(&self, _n: usize) {}

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
        let clocks = self.clocks.to_write(&self.reader, clocks).await?;
        match conn {
            // Committed later, or not: the stopped clocks stay known as running meanwhile.
            Conn::Tx(tx) => bulk::record(tx, records, &clocks).await,
            Conn::Read | Conn::Write => {
                let mut tx = self.writer.begin().await?;
                bulk::record(&mut tx, records, &clocks).await?;
                tx.commit().await?;
                self.clocks.committed(&clocks);
                Ok(())
            }
        }
    }

    fn end_leases<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        self.leases.end(ids);
    }

    async fn next_due(&self) -> Result<Option<i64>> {
        self.next_due_inner().await
    }

    /// Called under the delivery lock, before this process takes or claims anything: no
    /// other process delivers from the file, so every lease written into a row is a dead run's.
    async fn resume_abandoned(&self, started: i64, lease_ms: i64) -> Result<()> {
        let resumed = sqlx::query(super::leases::RESUME_ABANDONED)
            .bind(started)
            .bind(started.saturating_add(lease_ms))
            .bind(started)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if resumed > 0 {
            info!(
                deliveries = resumed,
                "a previous run left deliveries unfinished: they are due now"
            );
        }
        Ok(())
    }

    /// The delivery lock is the app's, held until it exits.
    async fn stop_claiming(&self) {}

    /// Only the process holding the delivery lock runs the retention job, and it has one
    /// writer: nobody to keep out.
    async fn lock_purge(_tx: &mut Self::Tx) -> Result<bool> {
        Ok(true)
    }

    /// One writer: every transaction has the queues to itself already.
    async fn lock_queues(_tx: &mut Self::Tx, _queues: &[(&str, &str)]) -> Result<()> {
        Ok(())
    }
}
