//! SQLite: the embedded default. One process owns the file. Writes go through a single
//! connection (SQLite allows one writer at a time; one connection makes that explicit instead of
//! surfacing as `SQLITE_BUSY`), reads through a small pool that WAL mode lets run alongside it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::warn;

use super::claim::{Candidate, Choice};
use super::records::{CLAIMED_JSON_OBJECT, ClaimedRecord};
use super::{ClaimedRow, Result};

/// A store in one SQLite file.
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
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
    const BACKEND: &'static str = "sqlite";

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
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let stop = CancellationToken::new();
        tokio::spawn(checkpoint_continuously(checkpointer, stop.clone()));
        Ok(Self {
            reader,
            writer,
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

    /// Leases a batch in three statements on the one writer connection, none returning more
    /// than one row: pick the due ids (as a JSON array), lease them, and read them joined with
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
        let mut conn = self.writer.acquire().await?;
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
            choice.offer(candidates, size);
        }
        let chosen;
        (chosen, *from) = choice.end();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&chosen)
            .map_err(|e| super::Error::Backend(sqlx::Error::Encode(Box::new(e))))?;
        sqlx::query(
            "UPDATE deliveries SET next_attempt_at = $1 WHERE id IN (SELECT value FROM json_each($2))",
        )
        .bind(lease_until)
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
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
        Ok(rows.into_iter().map(ClaimedRow::from).collect())
    }
}

super::sql::impl_store!(SqliteStore, Sqlite);
