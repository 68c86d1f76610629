//! PostgreSQL: several hookrelay nodes share one database. A claim reads due deliveries without
//! locks, then one statement re-checks, leases and joins the chosen ones with their events and
//! webhooks; or, on a node that delivers alone, only reads them and keeps the leases in memory
//! (see `solo.rs`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::claim::{Candidate, Choice};
use super::leases::Leases;
use super::records::{CLAIMED_SELECT, ClaimedRecord};
use super::solo::{Membership, Mode};
use super::statistics::Statistics;
use super::{ClaimedRow, Result};

/// Rows per bulk statement. One statement for a whole group commit (up to 2,000 events, 200,000
/// deliveries in a fan-out) encoded every array at once: RSS rose from ~100 MB to 270 MB while a
/// backlog of a million deliveries was being published.
const ARRAY_CHUNK: usize = 1_000;

/// One column of `rows`, as the array a bulk statement binds.
fn column<'r, R, T>(rows: &'r [R], value: impl Fn(&'r R) -> T) -> Vec<T> {
    rows.iter().map(value).collect()
}

/// The `NOTIFY` channel on which a publish tells every node there is new work.
const WORK_CHANNEL: &str = "hookrelay_work";

/// A store in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    statistics: Statistics,
    /// The deliveries this node holds while it delivers alone.
    leases: Leases,
    /// Whether it does; taken by the one claiming loop.
    membership: tokio::sync::Mutex<Membership>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl PgStore {
    const BACKEND: &'static str = "postgres";
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
            .connect_with(options.clone())
            .await?;
        Ok(Self {
            pool,
            statistics: Statistics::new(),
            leases: Leases::default(),
            membership: tokio::sync::Mutex::new(Membership::new(options)),
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

    /// Ends leases held in memory (a solo node's); written leases are ended by the very writes
    /// that recorded or released their deliveries.
    fn leases_ended<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        self.leases.end(ids);
    }

    /// The `(id, deliveries)` of those of `events` already stored. One array parameter, so
    /// one statement text whatever the batch size.
    async fn published_before(
        tx: &mut Transaction<'_, Postgres>,
        events: &[super::NewEvent],
    ) -> Result<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT id, deliveries FROM events WHERE id = ANY($1::text[])")
                .bind(column(events, |e| e.id.as_str()))
                .fetch_all(&mut **tx)
                .await?,
        )
    }

    /// Inserts new events, a parameter array per column: one statement text whatever the
    /// count (prepared once per connection), [`ARRAY_CHUNK`] rows per statement.
    async fn insert_events(
        tx: &mut Transaction<'_, Postgres>,
        events: &[(&super::NewEvent, u64)],
    ) -> Result<()> {
        for chunk in events.chunks(ARRAY_CHUNK) {
            sqlx::query(
                "INSERT INTO events (id, event_type, tenants, channels, data, deliveries, created_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::int8[], $7::int8[])",
            )
            .bind(column(chunk, |(e, _)| e.id.as_str()))
            .bind(column(chunk, |(e, _)| e.event_type.as_str()))
            .bind(
                column(chunk, |(e, _)| serde_json::to_string(&e.tenants).unwrap_or_default()),
            )
            .bind(
                column(chunk, |(e, _)| serde_json::to_string(&e.channels).unwrap_or_default()),
            )
            .bind(column(chunk, |(e, _)| e.data.as_str()))
            .bind(column(chunk, |(_, n)| *n as i64))
            .bind(column(chunk, |(e, _)| e.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Inserts planned deliveries with their ids and due times, as [`Self::insert_events`]
    /// does.
    async fn insert_deliveries(
        tx: &mut Transaction<'_, Postgres>,
        events: &[super::NewEvent],
        deliveries: &[super::sql::PlannedDelivery<'_>],
        placed: &[(crate::ids::DeliveryId, i64)],
    ) -> Result<()> {
        let event = |d: &super::sql::PlannedDelivery<'_>| &events[d.event];
        for (chunk, placed) in deliveries
            .chunks(ARRAY_CHUNK)
            .zip(placed.chunks(ARRAY_CHUNK))
        {
            sqlx::query(
                "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
                 attempts, next_attempt_at, created_at, updated_at) \
                 SELECT id, event_id, webhook_id, tenant_id, event_type, 'pending', 0, due, \
                 created_at, created_at \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::int8[], $7::int8[]) AS d(id, event_id, webhook_id, tenant_id, event_type, \
                 due, created_at)",
            )
            .bind(column(placed, |(id, _)| id.as_str()))
            .bind(column(chunk, |d| event(d).id.as_str()))
            .bind(column(chunk, |d| d.webhook))
            .bind(column(chunk, |d| d.tenant))
            .bind(column(chunk, |d| event(d).event_type.as_str()))
            .bind(column(placed, |(_, due)| *due))
            .bind(column(chunk, |d| event(d).created_at))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Records attempt results in one statement per batch: the deliveries' new state, then
    /// the attempts of those the update found (a delivery deleted with its webhook since it
    /// was claimed keeps none). The update locks the deliveries, so a deletion waits for it.
    /// Rows travel as one array per column: the statement text never changes (prepared once
    /// per connection, however many rows), and the planner, which cannot see how many rows a
    /// parameter array holds, probes the primary key per row instead of choosing to hash a
    /// scan of the whole table as it did for a literal `VALUES` list of a few hundred rows.
    async fn record_inner(&self, records: &[super::AttemptRecord]) -> Result<()> {
        sqlx::query(
            "WITH v AS ( \
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
                $6::int8[], $7::int8[], $8::text[], $9::text[], $10::bool[], $11::text[], \
                $12::int8[]) AS v(id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
                status_code, response_body, error, succeeded, status, next_attempt_at) \
             ), u AS ( \
                UPDATE deliveries SET status = v.status, attempts = v.attempt, \
                next_attempt_at = v.next_attempt_at, updated_at = v.started_at + v.latency_ms \
                FROM v WHERE deliveries.id = v.delivery_id RETURNING deliveries.id \
             ) \
             INSERT INTO attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
                status_code, response_body, error, succeeded) \
             SELECT id, delivery_id, webhook_id, attempt, started_at, latency_ms, status_code, \
                response_body, error, succeeded FROM v WHERE delivery_id IN (SELECT id FROM u)",
        )
        .bind(column(records, |r| r.id.as_str()))
        .bind(column(records, |r| r.delivery_id.as_str()))
        .bind(column(records, |r| r.webhook_id.as_str()))
        .bind(column(records, |r| i64::from(r.attempt)))
        .bind(column(records, |r| r.started_at))
        .bind(column(records, |r| r.latency_ms))
        .bind(column(records, |r| r.status_code.map(i64::from)))
        .bind(column(records, |r| r.response_body.as_deref()))
        .bind(column(records, |r| r.error.as_deref()))
        .bind(column(records, |r| r.succeeded))
        .bind(column(records, |r| r.status.as_str()))
        .bind(column(records, |r| r.next_attempt_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps the planner's statistics in step with the tables' growth.
    fn deliveries_written(&self, n: usize) {
        self.statistics.written(n as u64, &self.pool);
    }

    async fn next_due_inner(&self) -> Result<Option<i64>> {
        let held = match self.membership.lock().await.mode() {
            Mode::Waiting => return Ok(None),
            Mode::Solo => self.leases.held_ids(crate::clock::now_ms()),
            Mode::Shared => Vec::new(),
        };
        if held.is_empty() {
            return Ok(sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
            )
            .fetch_one(&self.pool)
            .await?);
        }
        Ok(sqlx::query_scalar(
            "SELECT next_attempt_at FROM deliveries WHERE status = 'pending' \
             AND NOT (id = ANY($1)) ORDER BY next_attempt_at LIMIT 1",
        )
        .bind(&held)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn claiming_stopped_inner(&self) {
        self.membership
            .lock()
            .await
            .leave(&self.pool, &self.leases)
            .await;
    }

    async fn claim_inner(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<super::DueKey>,
        choose: &mut (dyn super::Chooser + Send),
    ) -> Result<Vec<ClaimedRow>> {
        let mut membership = self.membership.lock().await;
        match membership.settle(&self.pool, &self.leases).await {
            Mode::Waiting => Ok(Vec::new()),
            Mode::Shared => {
                self.claim_written(now, limit, lease_until, from, choose)
                    .await
            }
            Mode::Solo => self.claim_solo(now, limit, lease_until, from, choose).await,
        }
    }

    /// Walks due deliveries a page at a time, offering to `choose` those `held` does not
    /// say this node holds already; the ids it accepted.
    async fn choose(
        &self,
        now: i64,
        limit: u32,
        from: &mut Option<super::DueKey>,
        choose: &mut (dyn super::Chooser + Send),
        held: Option<&Leases>,
    ) -> Result<Vec<String>> {
        let mut choice = Choice::new(limit, from.take(), choose);
        while choice.wants_more() {
            let page = choice.next_page();
            let size = page.size;
            let mut q = sqlx::query_as(page.sql).bind(now).bind(size);
            if let Some(key) = page.key {
                q = q.bind(key.due).bind(key.id.clone());
            }
            let candidates: Vec<Candidate> = q.fetch_all(&self.pool).await?;
            match held {
                Some(leases) => {
                    let held = leases.view(now);
                    choice.offer(candidates, size, &|id| held.holds(id));
                }
                // Written leases: what another claim holds is not due.
                None => choice.offer(candidates, size, &|_| false),
            }
        }
        let chosen;
        (chosen, *from) = choice.end();
        Ok(chosen)
    }

    /// Claims alongside other nodes: each chosen delivery is leased in its row.
    async fn claim_written(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<super::DueKey>,
        choose: &mut (dyn super::Chooser + Send),
    ) -> Result<Vec<ClaimedRow>> {
        let chosen = self.choose(now, limit, from, choose, None).await?;
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            // The candidates were read without a lock: another node may have leased (or a
            // recorder finished) some since, so the update re-checks each. One statement finds,
            // leases and returns them: a separate `FOR UPDATE SKIP LOCKED` step wrote a lock
            // record per row and looked every row up twice (a fifth of the claim's buffer
            // reads, a sixth of its WAL). The price is that a row another transaction is
            // writing is waited for (then re-checked, and skipped if leased meanwhile) rather
            // than skipped. Only rows read as due are waited for: behind another node's claim of
            // the same rows or an expired lease's record (short statements), at worst behind a
            // replay. Claims lock in index order, so two of them do not deadlock (were one
            // cancelled, the loop claims again).
            "WITH d AS ( \
                UPDATE deliveries SET next_attempt_at = $3 \
                WHERE id = ANY($1) AND status = 'pending' AND next_attempt_at <= $2 \
                RETURNING id, attempts, event_id, webhook_id \
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

    /// Claims as the only delivering node: reads the chosen deliveries and holds them in
    /// memory, writing nothing.
    async fn claim_solo(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<super::DueKey>,
        choose: &mut (dyn super::Chooser + Send),
    ) -> Result<Vec<ClaimedRow>> {
        let _reading = self.leases.reading(now);
        let chosen = self
            .choose(now, limit, from, choose, Some(&self.leases))
            .await?;
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        // Those recorded, or deleted with their webhook, since the candidates were read drop out.
        let rows: Vec<ClaimedRecord> = sqlx::query_as(&format!(
            "SELECT {CLAIMED_SELECT} FROM deliveries d JOIN events e ON e.id = d.event_id \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.id = ANY($1) AND d.status = 'pending' AND d.next_attempt_at <= $2"
        ))
        .bind(&chosen)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let rows: Vec<ClaimedRow> = rows.into_iter().map(ClaimedRow::from).collect();
        self.leases
            .hold(rows.iter().map(|r| r.id.as_str()), lease_until);
        Ok(rows)
    }
}

super::sql::impl_store!(PgStore, Postgres);
