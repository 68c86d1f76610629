//! PostgreSQL: several hookrelay nodes share one database. Claiming uses
//! `FOR UPDATE SKIP LOCKED`, so nodes never wait on each other's batches, and one statement both
//! leases the batch and joins it with events and webhooks.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::claim::{Candidate, Choice};
use super::records::{CLAIMED_SELECT, ClaimedRecord};
use super::statistics::Statistics;
use super::{ClaimedRow, Result};

/// The `NOTIFY` channel on which a publish tells every node there is new work.
const WORK_CHANNEL: &str = "hookrelay_work";

/// A store in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    statistics: Statistics,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl PgStore {
    const BACKEND: &'static str = "postgres";
    /// A failed statement aborts the transaction here; nothing to choose.
    const OR_FAIL: &'static str = "";
    /// What a publish takes on the webhooks it targets: enough to make their deletion wait.
    const KEY_SHARE: &'static str = "FOR KEY SHARE";
    /// What a deletion takes on the rows whose dependents it is about to delete.
    const FOR_UPDATE: &'static str = "FOR UPDATE";

    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            statistics: Statistics::new(),
        })
    }

    /// The pool, for the cross-node wake-up listener.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn read(&self) -> &PgPool {
        &self.pool
    }

    fn write(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'_, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Tells every node's listener that there is new work; delivered at commit.
    async fn notify_work(tx: &mut Transaction<'_, Postgres>) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WORK_CHANNEL)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Forwards notifications on [`WORK_CHANNEL`] to `wake`. The listener reconnects by itself
    /// after a dropped connection; the fallback poll covers anything missed meanwhile.
    fn listen_inner(&self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let listener = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen(WORK_CHANNEL).await?;
                    Ok::<_, sqlx::Error>(listener)
                };
                let mut listener = tokio::select! {
                    () = shutdown.cancelled() => return,
                    l = listener => match l {
                        Ok(l) => l,
                        Err(e) => {
                            warn!(error = %e, "listening for work notifications failed; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(10));
                            continue;
                        }
                    },
                };
                backoff = Duration::from_millis(100);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        n = listener.recv() => match n {
                            Ok(_) => wake.notify_one(),
                            Err(e) => {
                                warn!(error = %e, "work notification listener lost its connection");
                                break;
                            }
                        },
                    }
                }
            }
        });
    }

    async fn migrate_inner(&self) -> Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| super::Error::Backend(e.into()))
    }

    /// Nodes coordinate through the database's row locks: nothing to lock here.
    fn lock_delivery_inner(&self) -> anyhow::Result<super::leases::DeliveryLock> {
        Ok(super::leases::DeliveryLock::none())
    }

    /// Leases are rows here, ended by the very writes that recorded or released them.
    fn leases_ended<'a>(&self, _ids: impl IntoIterator<Item = &'a str>) {}

    /// Keeps the planner's statistics in step with the tables' growth.
    fn deliveries_written(&self, n: usize) {
        self.statistics.written(n as u64, &self.pool);
    }

    async fn next_due_inner(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn claim_inner(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<super::DueKey>,
        choose: &mut (dyn super::Chooser + Send),
    ) -> Result<Vec<ClaimedRow>> {
        let mut choice = Choice::new(limit, from.take(), choose);
        while choice.wants_more() {
            let page = choice.next_page();
            let size = page.size;
            let mut q = sqlx::query_as(page.sql).bind(now).bind(size);
            if let Some(key) = page.key {
                q = q.bind(key.due).bind(key.id.clone());
            }
            let candidates: Vec<Candidate> = q.fetch_all(&self.pool).await?;
            // Leases live in the database here: what another claim holds is not due.
            choice.offer(candidates, size, &|_| false);
        }
        let chosen;
        (chosen, *from) = choice.end();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            // The candidates were read without locks: another node may have leased (or a
            // recorder finished) some since. Locking skips what another claim holds, the
            // re-check drops what changed, and nothing ever waits on another node.
            "WITH due AS ( \
                SELECT id FROM deliveries \
                WHERE id = ANY($1) AND status = 'pending' AND next_attempt_at <= $2 \
                FOR UPDATE SKIP LOCKED \
             ), d AS ( \
                UPDATE deliveries SET next_attempt_at = $3 FROM due WHERE deliveries.id = due.id \
                RETURNING deliveries.id, deliveries.attempts, deliveries.event_id, deliveries.webhook_id \
             ) \
             SELECT {CLAIMED_SELECT} FROM d JOIN events e ON e.id = d.event_id \
             JOIN webhooks w ON w.id = d.webhook_id"
        );
        let rows: Vec<ClaimedRecord> = sqlx::query_as(&sql)
            .bind(&chosen)
            .bind(now)
            .bind(lease_until)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(ClaimedRow::from).collect())
    }
}

super::sql::impl_store!(PgStore, Postgres);
