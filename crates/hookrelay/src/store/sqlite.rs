//! SQLite: the embedded default. One process owns the file. Writes go through a single
//! connection (SQLite allows one writer at a time; one connection makes that explicit instead of
//! surfacing as `SQLITE_BUSY`), reads through a small pool that WAL mode lets run alongside it.
//! Leases are kept in memory (see `leases.rs`), so claims are reads and never wait for the writer.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::warn;

use super::claim::{Candidate, Choice};
use super::leases::{DeliveryLock, Leases};
use super::records::{CLAIMED_JSON_OBJECT, ClaimedRecord};
use super::{ClaimedRow, Result};

/// A store in one SQLite file.
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// The deliveries this process has leased.
    leases: Leases,
    /// The database file (none in memory), beside which the delivery lock lives.
    file: Option<PathBuf>,
    /// Stops the checkpointer when the store is dropped.
    _checkpoints: DropGuard,
}

/// How often WAL frames are copied back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// How many rows a bulk statement binds. A batch is padded with rows of NULLs (which match and
/// write nothing) up to the next of these sizes, so the one writer prepares each statement shape
/// once and then finds it in sqlx's statement cache; unpadded, nearly every batch size was a new
/// statement text, and preparing them was a fifth of the writer thread.
const SHAPES: [usize; 7] = [8, 16, 32, 64, 128, 256, 512];

/// `rows` in chunks of at most the largest shape, each with its rows padded with `None` up to
/// its shape.
fn shaped<T>(rows: &[T]) -> impl Iterator<Item = impl Iterator<Item = Option<&T>>> {
    rows.chunks(SHAPES[SHAPES.len() - 1]).map(|chunk| {
        let shape = SHAPES
            .iter()
            .copied()
            .find(|&s| s >= chunk.len())
            .unwrap_or(chunk.len());
        chunk
            .iter()
            .map(Some)
            .chain(std::iter::repeat_n(None, shape - chunk.len()))
    })
}

/// Binds `n` NULLs: a padding row.
fn push_nulls(b: &mut sqlx::query_builder::Separated<'_, '_, Sqlite, &'static str>, n: usize) {
    for _ in 0..n {
        b.push_bind(None::<i64>);
    }
}

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
    const BACKEND: &'static str = "sqlite";
    /// A multi-row statement that could fail part-way under the default `ABORT` makes SQLite
    /// keep a statement journal (a copy of every page it changes) to undo just that statement.
    /// `FAIL` stops it where it failed instead; the store then rolls the whole transaction
    /// back, so nothing partial is ever committed either way.
    const OR_FAIL: &'static str = " OR FAIL";
    /// One writer at a time: a publish and a deletion never overlap, so nothing is locked.
    const KEY_SHARE: &'static str = "";
    const FOR_UPDATE: &'static str = "";

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
            file,
            _checkpoints: stop.drop_guard(),
        })
    }

    fn read(&self) -> &SqlitePool {
        &self.reader
    }

    fn write(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_write(&self) -> Result<Transaction<'_, Sqlite>> {
        Ok(self.writer.begin().await?)
    }

    /// One process owns an SQLite file, so the in-process wake-up is all there is.
    fn listen_inner(&self, _wake: Arc<Notify>, _shutdown: CancellationToken) {}

    async fn notify_work(_tx: &mut Transaction<'_, Sqlite>) -> Result<()> {
        Ok(())
    }

    async fn migrate_inner(&self) -> Result<()> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(|e| super::Error::Backend(e.into()))
    }

    /// The delivery lock is the app's, held until it exits.
    async fn claiming_stopped_inner(&self) {}

    /// Only this process delivers from the file; the lock says so to any other.
    fn lock_delivery_inner(&self) -> anyhow::Result<DeliveryLock> {
        match &self.file {
            Some(file) => DeliveryLock::acquire(file),
            None => Ok(DeliveryLock::none()),
        }
    }

    /// The `(id, deliveries)` of those of `events` already stored.
    async fn published_before(
        tx: &mut Transaction<'_, Sqlite>,
        events: &[super::NewEvent],
    ) -> Result<Vec<(String, i64)>> {
        let mut found = Vec::new();
        for chunk in shaped(events) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "SELECT id, deliveries FROM events WHERE id IN (",
            );
            let mut list = q.separated(", ");
            for e in chunk {
                list.push_bind(e.map(|e| e.id.as_str()));
            }
            q.push(")");
            found.extend(q.build_query_as().fetch_all(&mut **tx).await?);
        }
        Ok(found)
    }

    /// Inserts new events, in statements of the fixed [`SHAPES`].
    async fn insert_events(
        tx: &mut Transaction<'_, Sqlite>,
        events: &[(&super::NewEvent, u64)],
    ) -> Result<()> {
        for chunk in shaped(events) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
                "INSERT{} INTO events (id, event_type, tenants, channels, data, deliveries, created_at) \
                 SELECT * FROM (",
                Self::OR_FAIL
            ));
            q.push_values(chunk, |mut b, row| match row {
                Some((e, n)) => {
                    b.push_bind(e.id.as_str())
                        .push_bind(e.event_type.as_str())
                        .push_bind(serde_json::to_string(&e.tenants).unwrap_or_default())
                        .push_bind(serde_json::to_string(&e.channels).unwrap_or_default())
                        .push_bind(e.data.as_str())
                        .push_bind(*n as i64)
                        .push_bind(e.created_at);
                }
                None => push_nulls(&mut b, 7),
            });
            q.push(") WHERE column1 IS NOT NULL");
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Inserts planned deliveries with their ids and due times, in statements of the fixed
    /// [`SHAPES`].
    async fn insert_deliveries(
        tx: &mut Transaction<'_, Sqlite>,
        events: &[super::NewEvent],
        deliveries: &[super::sql::PlannedDelivery<'_>],
        placed: &[(crate::ids::DeliveryId, i64)],
    ) -> Result<()> {
        let rows: Vec<_> = deliveries.iter().zip(placed).collect();
        for chunk in shaped(&rows) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
                "INSERT{} INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
                 attempts, next_attempt_at, created_at, updated_at) \
                 SELECT column1, column2, column3, column4, column5, 'pending', 0, column6, \
                 column7, column7 FROM (",
                Self::OR_FAIL
            ));
            q.push_values(chunk, |mut b, row| match row {
                Some((d, (id, due))) => {
                    let e = &events[d.event];
                    b.push_bind(id.as_str())
                        .push_bind(e.id.as_str())
                        .push_bind(d.webhook)
                        .push_bind(d.tenant)
                        .push_bind(e.event_type.as_str())
                        .push_bind(*due)
                        .push_bind(e.created_at);
                }
                None => push_nulls(&mut b, 7),
            });
            q.push(") WHERE column1 IS NOT NULL");
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Records attempt results: each delivery's new state, then the attempts of those that
    /// still exist. Multi-row statements of the fixed [`SHAPES`].
    async fn record_inner(&self, records: &[super::AttemptRecord]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for chunk in shaped(records) {
            let chunk: Vec<_> = chunk.collect();
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
                "UPDATE{} deliveries SET status = u.column2, attempts = u.column3, \
                 next_attempt_at = u.column4, updated_at = u.column5 FROM (",
                Self::OR_FAIL
            ));
            q.push_values(&chunk, |mut b, row| match row {
                Some(r) => {
                    b.push_bind(r.delivery_id.as_str())
                        .push_bind(r.status.as_str())
                        .push_bind(i64::from(r.attempt))
                        .push_bind(r.next_attempt_at)
                        .push_bind(r.started_at + r.latency_ms);
                }
                None => push_nulls(&mut b, 5),
            });
            q.push(") AS u WHERE deliveries.id = u.column1");
            q.build().execute(&mut *tx).await?;
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
                "INSERT{} INTO attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
                 status_code, response_body, error, succeeded) \
                 SELECT a.column1, a.column2, a.column3, a.column4, a.column5, a.column6, \
                 a.column7, a.column8, a.column9, a.column10 FROM (",
                Self::OR_FAIL
            ));
            q.push_values(&chunk, |mut b, row| match row {
                Some(r) => {
                    b.push_bind(r.id.as_str())
                        .push_bind(r.delivery_id.as_str())
                        .push_bind(r.webhook_id.as_str())
                        .push_bind(i64::from(r.attempt))
                        .push_bind(r.started_at)
                        .push_bind(r.latency_ms)
                        .push_bind(r.status_code.map(i64::from))
                        .push_bind(r.response_body.as_deref())
                        .push_bind(r.error.as_deref())
                        .push_bind(r.succeeded);
                }
                None => push_nulls(&mut b, 10),
            });
            // A delivery deleted (with its webhook) since it was claimed keeps no attempt.
            q.push(") AS a WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.column2)");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// SQLite's planner needs no statistics for these queries: it prefers the indexes.
    fn deliveries_written(&self, _n: usize) {}

    fn leases_ended<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        self.leases.end(ids);
    }

    /// The earliest due time of a pending delivery this process does not hold: those it holds
    /// look due in the database, but no claim can take them.
    async fn next_due_inner(&self) -> Result<Option<i64>> {
        let held = self.leases.held_ids(crate::clock::now_ms());
        if held.is_empty() {
            return Ok(sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
            )
            .fetch_one(self.read())
            .await?);
        }
        let held = serde_json::to_string(&held)
            .map_err(|e| super::Error::Backend(sqlx::Error::Encode(Box::new(e))))?;
        Ok(sqlx::query_scalar(
            "SELECT next_attempt_at FROM deliveries WHERE status = 'pending' \
             AND id NOT IN (SELECT value FROM json_each($1)) ORDER BY next_attempt_at LIMIT 1",
        )
        .bind(held)
        .fetch_optional(self.read())
        .await?)
    }

    /// Claims on a reader connection, writing nothing: candidate pages, each read as one JSON
    /// row, filtered against the leases held in memory, then the chosen deliveries joined with
    /// their events and webhooks as one JSON array. sqlx hands every row across a channel from
    /// its database thread and copies every value, so rows, not statements, are what cost here.
    async fn claim_inner(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<super::DueKey>,
        choose: &mut (dyn super::Chooser + Send),
    ) -> Result<Vec<ClaimedRow>> {
        let _reading = self.leases.reading(now);
        let mut conn = self.reader.acquire().await?;
        let mut choice = Choice::new(limit, from.take(), choose);
        while choice.wants_more() {
            let page = choice.next_page();
            let size = page.size;
            // One JSON row per page: the driver hands rows over one message each.
            let sql = format!(
                "SELECT json_group_array(json_array(id, webhook_id, next_attempt_at)) FROM ({})",
                page.sql
            );
            let mut q = sqlx::query_as(&sql).bind(now).bind(size);
            if let Some(key) = page.key {
                q = q.bind(key.due).bind(key.id.clone());
            }
            let (json,): (String,) = q.fetch_one(&mut *conn).await?;
            let candidates: Vec<Candidate> = serde_json::from_str(&json)
                .map_err(|e| super::Error::Backend(sqlx::Error::Decode(Box::new(e))))?;
            let held = self.leases.view(now);
            choice.offer(candidates, size, &|id| held.holds(id));
        }
        let chosen;
        (chosen, *from) = choice.end();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&chosen)
            .map_err(|e| super::Error::Backend(sqlx::Error::Encode(Box::new(e))))?;
        let (batch,): (String,) = sqlx::query_as(&format!(
            "SELECT json_group_array({CLAIMED_JSON_OBJECT}) FROM json_each($1) j \
             JOIN deliveries d ON d.id = j.value JOIN events e ON e.id = d.event_id \
             JOIN webhooks w ON w.id = d.webhook_id"
        ))
        .bind(&ids)
        .fetch_one(&mut *conn)
        .await?;
        let rows: Vec<ClaimedRecord> = serde_json::from_str(&batch)
            .map_err(|e| super::Error::Backend(sqlx::Error::Decode(Box::new(e))))?;
        let rows: Vec<ClaimedRow> = rows.into_iter().map(ClaimedRow::from).collect();
        // One claimer per store (the dispatcher's loop), so nothing took the chosen meanwhile;
        // those deleted since the candidates were read (with their webhook) are not held.
        self.leases
            .hold(rows.iter().map(|r| r.id.as_str()), lease_until);
        Ok(rows)
    }
}

super::sql::impl_store!(SqliteStore, Sqlite);
