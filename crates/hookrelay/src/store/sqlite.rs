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

use super::records::{CLAIMED_JSON_OBJECT, ClaimedRecord};
use super::{ClaimedRow, Result, scan_window};
use crate::ids::WebhookId;

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
        skip_webhooks: &[WebhookId],
    ) -> Result<Vec<ClaimedRow>> {
        let mut conn = self.writer.acquire().await?;
        // Only the oldest due rows are looked at, so a deep backlog of skipped (saturated)
        // webhooks costs a bounded scan per claim, not a scan of the whole queue.
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "SELECT json_group_array(id) FROM (SELECT id FROM (SELECT id, webhook_id FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= ",
        );
        q.push_bind(now)
            .push(" ORDER BY next_attempt_at LIMIT ")
            .push_bind(i64::from(scan_window(limit)))
            .push(")");
        if !skip_webhooks.is_empty() {
            q.push(" WHERE webhook_id NOT IN (");
            let mut list = q.separated(", ");
            for w in skip_webhooks {
                list.push_bind(w.as_str());
            }
            q.push(")");
        }
        q.push(" LIMIT ").push_bind(i64::from(limit)).push(")");
        let (ids,): (String,) = q.build_query_as().fetch_one(&mut *conn).await?;
        if ids == "[]" {
            return Ok(Vec::new());
        }
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
