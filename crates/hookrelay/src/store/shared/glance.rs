//! The webhooks list's glance at each webhook: its recent attempts counted per hour, for every
//! webhook of a page in one query. Each webhook's part is a walk down its delivery index that
//! stops after a fixed number of rows (as [`super::log::recent_attempts`] does for one), so the
//! page costs the same with a million deliveries as with ten; the counting happens in the
//! database, so what comes back is at most one row per webhook and hour.

use crate::ids::{DeliveryId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::{AttemptHour, Result};

const HOUR_MS: i64 = 3_600_000;

pub async fn attempt_hours<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhooks: &[WebhookId],
    since: i64,
    per_webhook: u32,
) -> Result<Vec<AttemptHour>> {
    if webhooks.is_empty() || per_webhook == 0 {
        return Ok(Vec::new());
    }
    let oldest = DeliveryId::lower_bound(since);
    // One branch per webhook, each its own bounded index walk: a plain `IN (…)` would read
    // every webhook's whole window before any limit applied. `UNION ALL` of limited
    // subqueries is the one form both databases plan that way (SQLite has no LATERAL).
    let mut q = Query::new(format!(
        "SELECT webhook_id, started_at / {HOUR_MS} AS hour, \
         SUM(CASE WHEN succeeded THEN 1 ELSE 0 END), COUNT(*), MIN(started_at) FROM ("
    ))
    .arg(tenant.as_str())
    .arg(oldest.as_str())
    .arg(i64::from(per_webhook));
    for (i, webhook) in webhooks.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(
            "SELECT * FROM (SELECT d.webhook_id, a.started_at, a.succeeded FROM deliveries d \
             JOIN attempts a ON a.delivery_id = d.id WHERE d.webhook_id = ",
        )
        .push_arg(webhook.as_str())
        .push(" AND d.tenant_id = $1 AND d.id >= $2 ORDER BY d.id DESC LIMIT $3) AS w")
        .push(&i.to_string());
    }
    q.push(") AS sampled GROUP BY 1, 2");
    let rows: Vec<(String, i64, i64, i64, i64)> = db.fetch_all(Conn::Read, q).await?;
    Ok(rows
        .into_iter()
        .map(|(webhook, hour, ok, all, oldest)| AttemptHour {
            webhook: WebhookId::from_trusted(webhook),
            hour_start: hour * HOUR_MS,
            succeeded: ok.max(0) as u64,
            failed: (all - ok).max(0) as u64,
            oldest_started_at: oldest,
        })
        .collect())
}
