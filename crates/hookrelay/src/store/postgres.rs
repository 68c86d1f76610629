//! PostgreSQL: several hookrelay nodes share one database. Claiming uses
//! `FOR UPDATE SKIP LOCKED`, so nodes never wait on each other's batches, and one statement both
//! leases the batch and joins it with events and webhooks.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::records::{ClaimedRecord, claimed_select};
use super::{Claimed, Result};
use crate::ids::WebhookId;

/// A store in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl PgStore {
    const BACKEND: &'static str = "postgres";

    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
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

    async fn migrate_inner(&self) -> Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| super::Error::Backend(e.into()))
    }

    async fn claim_inner(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        skip_webhooks: &[WebhookId],
    ) -> Result<Vec<Claimed>> {
        let skip: Vec<&str> = skip_webhooks.iter().map(WebhookId::as_str).collect();
        let sql = format!(
            "WITH due AS ( \
                SELECT id FROM deliveries \
                WHERE status = 'pending' AND next_attempt_at <= $1 AND NOT (webhook_id = ANY($4)) \
                ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED \
             ), d AS ( \
                UPDATE deliveries SET next_attempt_at = $3 FROM due WHERE deliveries.id = due.id \
                RETURNING deliveries.id, deliveries.attempts, deliveries.event_id, deliveries.webhook_id \
             ) \
             SELECT {} FROM d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id",
            claimed_select()
        );
        let rows: Vec<ClaimedRecord> = sqlx::query_as(&sql)
            .bind(now)
            .bind(i64::from(limit))
            .bind(lease_until)
            .bind(&skip)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Claimed::from).collect())
    }
}

super::sql::impl_store!(PgStore, Postgres);
