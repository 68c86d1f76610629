//! Webhooks, and the deletion of their deliveries.

use super::{ID_CHUNK, one_row, paginate};
use crate::ids::{TenantId, WebhookId};
use crate::model::PayloadFilter;
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::records::{WEBHOOK_COLUMNS, WebhookJson, WebhookRecord};
use crate::store::{Page, Paged, Result, Webhook};

/// Binds a webhook's columns as `$1…$23`, in the order both [`create`] and [`update`] name
/// them. The failure clock is not among them: only the attempt recorder writes it.
fn bind_columns<'a>(q: Query<'a>, w: &'a Webhook, j: &'a WebhookJson) -> Query<'a> {
    q.arg(w.id.as_str())
        .arg(w.tenant_id.as_str())
        .arg(w.url.as_str())
        .arg(w.description.as_str())
        .arg(j.events.as_str())
        .arg(j.channels.as_str())
        .arg(w.secret.as_str())
        .arg(w.active)
        .arg(w.disabled_reason.as_deref())
        .arg(j.retry_schedule.as_str())
        .arg(i64::from(w.timeout_seconds.get()))
        .arg(w.rate_limit_per_second.map(i64::from))
        .arg(j.headers.as_str())
        .arg(j.signature.as_str())
        .arg(w.payload_format.as_str())
        .arg(w.created_at)
        .arg(w.updated_at)
        .arg(w.previous_secret.as_ref().map(|p| p.0.as_str()))
        .arg(w.previous_secret.as_ref().map(|p| p.1))
        .arg(w.disabled_at)
        .arg(w.filter.as_ref().map(PayloadFilter::as_text))
        .arg(w.ordering.as_str())
        .arg(w.ordering.key_path())
}

pub async fn create<B: Backend>(db: &B, w: &Webhook) -> Result<()> {
    let j = WebhookJson::of(w);
    let q = Query::new(
        "INSERT INTO webhooks (id, tenant_id, url, description, events, channels, secret, \
         active, disabled_reason, retry_schedule, timeout_seconds, rate_limit_per_second, \
         headers, signature, payload_format, created_at, updated_at, previous_secret, \
         previous_secret_expires_at, disabled_at, payload_filter, ordering, ordering_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23)",
    );
    db.execute(Conn::Write, bind_columns(q, w, &j)).await?;
    Ok(())
}

pub async fn get<B: Backend>(db: &B, tenant: &TenantId, id: &WebhookId) -> Result<Webhook> {
    let q = Query::new(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.id = $1 AND w.tenant_id = $2"
    ))
    .arg(id.as_str())
    .arg(tenant.as_str());
    let r: WebhookRecord = db.fetch_one(Conn::Read, q).await?;
    r.try_into()
}

pub async fn list<B: Backend>(db: &B, tenant: &TenantId, page: &Page) -> Result<Paged<Webhook>> {
    let q = Query::new(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.tenant_id = $1 AND w.id > $2 \
         ORDER BY w.id LIMIT $3"
    ))
    .arg(tenant.as_str())
    .arg(page.cursor.as_deref().unwrap_or(""))
    .arg(i64::from(page.limit) + 1);
    let rows: Vec<WebhookRecord> = db.fetch_all(Conn::Read, q).await?;
    let rows = rows
        .into_iter()
        .map(Webhook::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(rows, page.limit, |w: &Webhook| w.id.to_string()))
}

/// Replaces every mutable field; `created_at` (`$16`) is bound but left as it is stored. Answers
/// the stored `updated_at`: see [`crate::store::Store::update_webhook`]. Disabling parks the
/// webhook's pending deliveries; enabling clears the failure clock and makes them due now.
pub async fn update<B: Backend>(db: &B, w: &Webhook) -> Result<i64> {
    let mut tx = db.begin().await?;
    let q = Query::new(format!(
        "SELECT active FROM webhooks WHERE id = $1 AND tenant_id = $2 {}",
        B::FOR_UPDATE
    ))
    .arg(w.id.as_str())
    .arg(w.tenant_id.as_str());
    let (was_active,): (bool,) = db.fetch_one(Conn::Tx(&mut tx), q).await?;
    let j = WebhookJson::of(w);
    let q = Query::new(
        "UPDATE webhooks SET url = $3, description = $4, events = $5, channels = $6, \
         secret = $7, active = $8, disabled_reason = $9, retry_schedule = $10, \
         timeout_seconds = $11, rate_limit_per_second = $12, headers = $13, \
         signature = $14, payload_format = $15, \
         updated_at = CASE WHEN updated_at >= $17 THEN updated_at + 1 ELSE $17 END, \
         previous_secret = $18, previous_secret_expires_at = $19, disabled_at = $20, \
         payload_filter = $21, ordering = $22, ordering_key = $23, \
         failing_since = CASE WHEN $8 AND NOT active THEN NULL ELSE failing_since END \
         WHERE id = $1 AND tenant_id = $2 RETURNING updated_at",
    );
    let (updated_at,): (i64,) = db
        .fetch_one(Conn::Tx(&mut tx), bind_columns(q, w, &j))
        .await?;
    match (was_active, w.active) {
        (true, false) => park(db, &mut tx, &[w.id.as_str()]).await?,
        (false, true) => {
            // Of a fifo queue only its head goes: the rest wait as they did.
            let q = Query::new(super::ordering::UNPARK_HEADS)
                .arg(w.id.as_str())
                .arg(w.updated_at);
            if db.execute(Conn::Tx(&mut tx), q).await? > 0 {
                B::notify_work(&mut tx).await?;
            }
        }
        _ => {}
    }
    B::commit(tx).await?;
    Ok(updated_at)
}

/// Parks the pending deliveries of disabled webhooks: due at no time, so no claim reads them,
/// and still `pending` in the log.
pub(super) async fn park<B: Backend>(db: &B, tx: &mut B::Tx, webhooks: &[&str]) -> Result<()> {
    for chunk in webhooks.chunks(ID_CHUNK) {
        let mut q = Query::new(
            "UPDATE deliveries SET next_attempt_at = NULL WHERE status = 'pending' \
             AND next_attempt_at IS NOT NULL AND webhook_id IN (",
        );
        q.push_list(chunk.iter().copied()).push(")");
        db.execute(Conn::Tx(tx), q).await?;
    }
    Ok(())
}

/// Deletes a webhook with its deliveries and attempts, in one transaction. Deleting the row
/// first waits for the publishes that target it (they lock it), and keeps later ones from
/// doing so.
pub async fn delete<B: Backend>(db: &B, tenant: &TenantId, id: &WebhookId) -> Result<()> {
    let mut tx = db.begin().await?;
    let q = Query::new("DELETE FROM webhooks WHERE id = $1 AND tenant_id = $2")
        .arg(id.as_str())
        .arg(tenant.as_str());
    one_row(db.execute(Conn::Tx(&mut tx), q).await?)?;
    delete_deliveries(db, &mut tx, "= $1", id.as_str()).await?;
    B::commit(tx).await
}

/// Webhooks by id, of any tenant.
pub async fn by_id<B: Backend>(db: &B, ids: &[WebhookId]) -> Result<Vec<Webhook>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ID_CHUNK) {
        let mut q = Query::new(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.id IN ("
        ));
        q.push_list(chunk.iter().map(WebhookId::as_str)).push(")");
        let rows: Vec<WebhookRecord> = db.fetch_all(Conn::Read, q).await?;
        for row in rows {
            found.push(row.try_into()?);
        }
    }
    Ok(found)
}

/// Deletes the deliveries (their attempts, and their hours' counts) of the webhooks whose id is `webhooks`
/// (`= $1`, or `IN (…$1…)`), `$1` being `arg`. On PostgreSQL it locks the deliveries first:
/// that waits for the recorders writing their attempts, and keeps later ones out.
pub(super) async fn delete_deliveries<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    webhooks: &str,
    arg: &str,
) -> Result<()> {
    if !B::FOR_UPDATE.is_empty() {
        let lock = format!(
            "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE webhook_id {webhooks} {}) AS l",
            B::FOR_UPDATE
        );
        db.execute(Conn::Tx(tx), Query::new(lock).arg(arg)).await?;
    }
    let attempts = format!(
        "DELETE FROM attempts WHERE delivery_id IN \
         (SELECT id FROM deliveries WHERE webhook_id {webhooks})"
    );
    db.execute(Conn::Tx(tx), Query::new(attempts).arg(arg))
        .await?;
    let deliveries = format!("DELETE FROM deliveries WHERE webhook_id {webhooks}");
    db.execute(Conn::Tx(tx), Query::new(deliveries).arg(arg))
        .await?;
    super::hours::delete(db, tx, webhooks, arg).await
}
