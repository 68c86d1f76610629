//! The store's answers for operators: readiness (`/readyz`), the queue's depth (the queue
//! gauges), and the dashboard's system overview. Each is a few reads, cheap enough to run
//! every few seconds: recent deliveries are found by id range (ids start with their creation
//! time), webhooks by a scan of the webhooks table, which is small beside the deliveries.

use crate::ids::DeliveryId;
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::records::{WEBHOOK_COLUMNS, WebhookRecord};
use crate::store::{DeliveryStatus, NotReady, QueueDepth, Result, SystemOverview, Webhook};

/// The database answers, and its applied migrations are the embedded ones: none pending (this
/// node would miss columns), none unknown (a newer hookrelay migrated it; this one may write
/// what that one no longer expects).
pub(super) async fn ready<B: Backend>(b: &B) -> Result<(), NotReady> {
    let applied: Vec<(i64,)> = b
        .fetch_all(
            Conn::Read,
            Query::new("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version"),
        )
        .await
        .map_err(NotReady::Unreachable)?;
    let applied: Vec<i64> = applied.into_iter().map(|(v,)| v).collect();
    let embedded: Vec<i64> = B::migrator()
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect();
    if let Some(pending) = embedded.iter().find(|v| !applied.contains(v)) {
        return Err(NotReady::Migrations(format!(
            "migration {pending} is not applied"
        )));
    }
    if let Some(unknown) = applied.iter().find(|v| !embedded.contains(v)) {
        return Err(NotReady::Migrations(format!(
            "the database has migration {unknown}, which this build does not know"
        )));
    }
    Ok(())
}

/// Counts pending deliveries by whether they are due at `now`. Parked ones have no due time
/// and match neither; leases written into rows count as due later, those held in memory as
/// due (the row does not know).
pub(super) async fn queue_depth<B: Backend>(b: &B, now: i64) -> Result<QueueDepth> {
    let (due, scheduled, oldest_due): (i64, i64, Option<i64>) = b
        .fetch_one(
            Conn::Read,
            Query::new(
                "SELECT COUNT(*) FILTER (WHERE next_attempt_at <= $1), \
                 COUNT(*) FILTER (WHERE next_attempt_at > $1), \
                 MIN(next_attempt_at) FILTER (WHERE next_attempt_at <= $1) \
                 FROM deliveries WHERE status = 'pending' AND next_attempt_at IS NOT NULL",
            )
            .arg(now),
        )
        .await?;
    Ok(QueueDepth {
        due,
        scheduled,
        oldest_due,
    })
}

/// Deliveries created since `since` by status; the failing and the disabled webhooks.
pub(super) async fn system_overview<B: Backend>(
    b: &B,
    since: i64,
    limit: u32,
) -> Result<SystemOverview> {
    let bound = DeliveryId::lower_bound(since);
    let counts: Vec<(String, i64)> = b
        .fetch_all(
            Conn::Read,
            Query::new("SELECT status, COUNT(*) FROM deliveries WHERE id >= $1 GROUP BY status")
                .arg(bound.as_str()),
        )
        .await?;
    let recent = counts
        .into_iter()
        .filter_map(|(s, n)| Some((DeliveryStatus::parse(&s)?, u64::try_from(n).ok()?)))
        .collect();
    let webhooks = |filter: &str, order: &str| {
        Query::new(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE {filter} ORDER BY {order} LIMIT $2"
        ))
    };
    let failing: Vec<WebhookRecord> = b
        .fetch_all(
            Conn::Read,
            webhooks(
                "w.active = $1 AND w.failing_since IS NOT NULL",
                "w.failing_since, w.id",
            )
            .arg(true)
            .arg(i64::from(limit)),
        )
        .await?;
    let disabled: Vec<WebhookRecord> = b
        .fetch_all(
            Conn::Read,
            webhooks("w.active = $1", "w.disabled_at DESC, w.id")
                .arg(false)
                .arg(i64::from(limit)),
        )
        .await?;
    let convert = |rows: Vec<WebhookRecord>| -> Result<Vec<Webhook>> {
        rows.into_iter().map(TryInto::try_into).collect()
    };
    Ok(SystemOverview {
        recent,
        failing: convert(failing)?,
        disabled: convert(disabled)?,
    })
}
