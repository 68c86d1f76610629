//! The delivery log: reading deliveries, attempts and events, statistics, logging test sends,
//! and putting deliveries back in the queue (retry, replay, release).

use super::{ID_CHUNK, ordering, paginate, webhooks};
use crate::ids::{DeliveryId, EventId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::records::{
    AttemptRow, DELIVERY_COLUMNS, DeliveryRecord, EVENT_COLUMNS, EventRecord,
};
use crate::store::{
    Activity, AttemptRecord, Delivery, DeliveryDetail, DeliveryFilter, DeliveryStatus, Error,
    Event, NewEvent, Page, Paged, Replay, Result,
};

/// The longest a delivery can be retried for; statistics look this far back for the
/// deliveries whose attempts fall in their window.
const LONGEST_SCHEDULE_MS: i64 = 7 * 24 * 3_600_000;

/// How long before its event's `created_at` a delivery id may be generated: none should be
/// (the id is generated later, on the same node's clock), this allows for the clock stepping
/// back.
pub(super) const CLOCK_SLACK_MS: i64 = 60_000;

/// How long after its event's `created_at` a delivery id may be generated: the time between a
/// publish request being parsed and its group writing, normally well under a second and
/// seconds under load (nothing retries a publish); an hour leaves room for any stall.
const PUBLISH_SPAN_MS: i64 = 3_600_000;

pub async fn get<B: Backend>(
    db: &B,
    tenant: Option<&TenantId>,
    id: &DeliveryId,
) -> Result<DeliveryDetail> {
    let q = Query::new(format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2)"
    ))
    .arg(id.as_str())
    .arg(tenant.map(TenantId::as_str));
    let delivery: Delivery = db.fetch_one::<DeliveryRecord>(Conn::Read, q).await?.into();
    let q = Query::new(
        "SELECT id, attempt, started_at, latency_ms, status_code, response_body, error, succeeded \
         FROM attempts WHERE delivery_id = $1 ORDER BY started_at, attempt",
    )
    .arg(id.as_str());
    let attempts: Vec<AttemptRow> = db.fetch_all(Conn::Read, q).await?;
    let q = Query::new(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1"))
        .arg(delivery.event_id.as_str());
    let event: Option<EventRecord> = db.fetch_optional(Conn::Read, q).await?;
    let webhook = webhooks::by_id(db, std::slice::from_ref(&delivery.webhook_id))
        .await?
        .pop();
    Ok(DeliveryDetail {
        delivery,
        attempts: attempts.into_iter().map(Into::into).collect(),
        event: event.map(Into::into),
        webhook,
    })
}

/// One event and its deliveries. There is no index of deliveries by event (every publish
/// would pay for it), so they are found through their webhooks: a publish gives each target
/// webhook at most one delivery of an event, with an id generated within
/// [`PUBLISH_SPAN_MS`] of the event's `created_at`. Each of the event's tenants' webhooks costs
/// one range read of `deliveries_by_webhook`: one that got the event stops at its delivery,
/// just past the event's time; one that did not reads its deliveries of that span.
pub async fn get_event<B: Backend>(db: &B, id: &EventId) -> Result<(Event, Vec<Delivery>)> {
    let q =
        Query::new(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1")).arg(id.as_str());
    let event: Event = db.fetch_one::<EventRecord>(Conn::Read, q).await?.into();
    if event.tenants.is_empty() {
        return Ok((event, Vec::new()));
    }
    let from = DeliveryId::lower_bound(event.created_at - CLOCK_SLACK_MS);
    let to = DeliveryId::lower_bound(event.created_at + PUBLISH_SPAN_MS);
    let mut q = Query::new(
        "SELECT (SELECT d.id FROM deliveries d WHERE d.webhook_id = w.id AND d.id >= $2 \
         AND d.id < $3 AND d.event_id = $1 ORDER BY d.id LIMIT 1) \
         FROM webhooks w WHERE w.tenant_id IN (",
    )
    .arg(id.as_str())
    .arg(from.as_str())
    .arg(to.as_str());
    q.push_list(event.tenants.iter().map(TenantId::as_str))
        .push(")");
    let found: Vec<(Option<String>,)> = db.fetch_all(Conn::Read, q).await?;
    let mut ids: Vec<String> = found.into_iter().filter_map(|(id,)| id).collect();
    ids.sort_unstable();
    // Read by primary key in a query of their own: joined to the one above, PostgreSQL may
    // pick a hash join against a scan of every delivery (it did on a young table).
    let mut deliveries = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ID_CHUNK) {
        let mut q = Query::new(format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id IN ("
        ));
        q.push_list(chunk.iter().map(String::as_str))
            .push(") ORDER BY id");
        let rows: Vec<DeliveryRecord> = db.fetch_all(Conn::Read, q).await?;
        deliveries.extend(rows.into_iter().map(Delivery::from));
    }
    Ok((event, deliveries))
}

/// Logs a test send: its event, its delivery (marked `test`, never due) and its attempt.
pub async fn record_test_send<B: Backend>(
    db: &B,
    tenant: &TenantId,
    event: &NewEvent,
    attempt: &AttemptRecord,
) -> Result<()> {
    let mut tx = db.begin().await?;
    // Locked as a publish locks its targets, so a deletion of the webhook either waits for
    // this transaction (and deletes what it wrote) or is seen here.
    let q = Query::new(format!(
        "SELECT id FROM webhooks WHERE id = $1 AND tenant_id = $2 {}",
        B::KEY_SHARE
    ))
    .arg(attempt.webhook_id.as_str())
    .arg(tenant.as_str());
    let found: Option<(String,)> = db.fetch_optional(Conn::Tx(&mut tx), q).await?;
    if found.is_none() {
        return Err(Error::NotFound);
    }
    let text = |v: serde_json::Result<String>| v.unwrap_or_else(|_| "[]".to_owned());
    let q = Query::new(
        "INSERT INTO events (id, event_type, tenants, channels, data, deliveries, created_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6)",
    );
    let tenants = text(serde_json::to_string(&event.tenants));
    let channels = text(serde_json::to_string(&event.channels));
    let q = q
        .arg(event.id.as_str())
        .arg(event.event_type.as_str())
        .arg(tenants.as_str())
        .arg(channels.as_str())
        .arg(event.data.as_str())
        .arg(event.created_at);
    db.execute(Conn::Tx(&mut tx), q).await?;
    let finished = attempt.attempt.result.started_at + attempt.attempt.result.latency_ms;
    let q = Query::new(
        "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
         attempts, next_attempt_at, created_at, updated_at, test) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10)",
    )
    .arg(attempt.delivery_id.as_str())
    .arg(event.id.as_str())
    .arg(attempt.webhook_id.as_str())
    .arg(tenant.as_str())
    .arg(event.event_type.as_str())
    .arg(attempt.status.as_str())
    .arg(i64::from(attempt.attempt.attempt))
    .arg(event.created_at)
    .arg(finished)
    .arg(true);
    db.execute(Conn::Tx(&mut tx), q).await?;
    let q = Query::new(
        "INSERT INTO attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
         status_code, response_body, error, succeeded) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .arg(attempt.attempt.id.as_str())
    .arg(attempt.delivery_id.as_str())
    .arg(attempt.webhook_id.as_str())
    .arg(i64::from(attempt.attempt.attempt))
    .arg(attempt.attempt.result.started_at)
    .arg(attempt.attempt.result.latency_ms)
    .arg(attempt.attempt.result.status_code.map(i64::from))
    .arg(attempt.attempt.result.response_body.as_deref())
    .arg(attempt.attempt.result.error.as_deref())
    .arg(attempt.attempt.result.succeeded);
    db.execute(Conn::Tx(&mut tx), q).await?;
    let result = &attempt.attempt.result;
    super::hours::add_one(
        db,
        &mut tx,
        &attempt.webhook_id,
        result.started_at,
        result.succeeded,
    )
    .await?;
    B::commit(tx).await
}

pub async fn list<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhook: &WebhookId,
    filter: &DeliveryFilter,
    page: &Page,
) -> Result<Paged<Delivery>> {
    let mut q = Query::new(format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE webhook_id = $1 AND tenant_id = $2"
    ))
    .arg(webhook.as_str())
    .arg(tenant.as_str());
    if let Some(cursor) = &page.cursor {
        q.push(" AND id < ").push_arg(cursor.as_str());
    }
    push_filter(&mut q, filter);
    q.push(" ORDER BY id DESC LIMIT ")
        .push_arg(i64::from(page.limit) + 1);
    let rows: Vec<DeliveryRecord> = db.fetch_all(Conn::Read, q).await?;
    Ok(paginate(rows, page.limit, |d: &Delivery| d.id.to_string()))
}

/// ` AND …` for each of `filter`'s conditions on a delivery's columns.
pub(super) fn push_filter<'a>(q: &mut Query<'a>, filter: &'a DeliveryFilter) {
    if let Some(status) = filter.status {
        q.push(" AND status = ").push_arg(status.as_str());
    }
    if let Some(t) = &filter.event_type {
        q.push(" AND event_type = ").push_arg(t.as_str());
    }
    if let Some(since) = filter.since {
        q.push(" AND created_at >= ").push_arg(since);
    }
    if let Some(until) = filter.until {
        q.push(" AND created_at < ").push_arg(until);
    }
}

pub async fn activity<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhook: &WebhookId,
    since: i64,
    limit: u32,
) -> Result<Activity> {
    // Through the webhook's deliveries: ids are time-ordered, so those created since the
    // window's start less the longest retry schedule are an index range.
    let oldest = DeliveryId::lower_bound(since - LONGEST_SCHEDULE_MS);
    let q = Query::new(
        "SELECT a.started_at, a.latency_ms, a.succeeded FROM deliveries d \
         JOIN attempts a ON a.delivery_id = d.id \
         WHERE d.webhook_id = $1 AND d.tenant_id = $2 AND d.id >= $5 \
         AND a.started_at >= $3 ORDER BY a.started_at DESC LIMIT $4",
    )
    .arg(webhook.as_str())
    .arg(tenant.as_str())
    .arg(since)
    .arg(i64::from(limit))
    .arg(oldest.as_str());
    let attempts: Vec<(i64, i64, bool)> = db.fetch_all(Conn::Read, q).await?;
    let q = Query::new(
        "SELECT status, COUNT(*) FROM deliveries \
         WHERE webhook_id = $1 AND tenant_id = $2 AND created_at >= $3 GROUP BY status",
    )
    .arg(webhook.as_str())
    .arg(tenant.as_str())
    .arg(since);
    let counts: Vec<(String, i64)> = db.fetch_all(Conn::Read, q).await?;
    Ok(Activity {
        attempts,
        deliveries: counts
            .into_iter()
            .filter_map(|(s, n)| DeliveryStatus::parse(&s).map(|s| (s, n.max(0) as u64)))
            .collect(),
    })
}

pub async fn recent_attempts<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhook: &WebhookId,
    since: i64,
    limit: u32,
) -> Result<Vec<(i64, i64, bool)>> {
    let oldest = DeliveryId::lower_bound(since);
    // Ordered by the delivery id, not by `started_at`: the index walk then stops after `limit`
    // rows instead of reading and sorting the whole window (seconds for a million deliveries).
    let q = Query::new(
        "SELECT a.started_at, a.latency_ms, a.succeeded FROM deliveries d \
         JOIN attempts a ON a.delivery_id = d.id \
         WHERE d.webhook_id = $1 AND d.tenant_id = $2 AND d.id >= $3 \
         ORDER BY d.id DESC LIMIT $4",
    )
    .arg(webhook.as_str())
    .arg(tenant.as_str())
    .arg(oldest.as_str())
    .arg(i64::from(limit));
    db.fetch_all(Conn::Read, q).await
}

pub async fn replay<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhook: &WebhookId,
    replay: &Replay,
) -> Result<u64> {
    // Test sends are left out: a replay re-sends what was published, not pings. Deliveries
    // of fifo queues join their queues instead (`ordering.rs`).
    let mut q = Query::new(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 \
         WHERE webhook_id = $2 AND tenant_id = $3 AND created_at >= $4 AND created_at < $5 \
         AND test = $6 AND ordering_key IS NULL",
    )
    .arg(replay.now)
    .arg(webhook.as_str())
    .arg(tenant.as_str())
    .arg(replay.since)
    .arg(replay.until)
    .arg(false);
    if let Some(status) = replay.status {
        q.push(" AND status = ").push_arg(status.as_str());
    }
    let unordered = db.execute(Conn::Write, q).await?;
    Ok(unordered + ordering::replay(db, tenant, webhook, replay).await?)
}

pub async fn retry<B: Backend>(
    db: &B,
    tenant: Option<&TenantId>,
    id: &DeliveryId,
    now: i64,
) -> Result<Delivery> {
    if let Some(ordered) = ordering::retry(db, tenant, id, now).await? {
        return Ok(ordered);
    }
    let q = Query::new(format!(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = $3, updated_at = $3 \
         WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2) RETURNING {DELIVERY_COLUMNS}"
    ))
    .arg(id.as_str())
    .arg(tenant.map(TenantId::as_str))
    .arg(now);
    let r: DeliveryRecord = db.fetch_one(Conn::Write, q).await?;
    Ok(r.into())
}

/// Gives leased deliveries back, due at `at`, without counting an attempt.
pub async fn release<B: Backend>(db: &B, ids: &[DeliveryId], at: i64) -> Result<()> {
    for chunk in ids.chunks(ID_CHUNK) {
        let mut q = Query::new(
            "UPDATE deliveries SET next_attempt_at = $1 WHERE status = 'pending' AND id IN (",
        )
        .arg(at);
        q.push_list(chunk.iter().map(DeliveryId::as_str)).push(")");
        db.execute(Conn::Write, q).await?;
        db.end_leases(chunk.iter().map(DeliveryId::as_str));
    }
    Ok(())
}

/// See [`crate::store::Store::release_handed_off`]. Another publish's hand-off writing the same
/// millisecond could have its deliveries sent twice, never lost; the due index finds the rows.
pub async fn release_handed_off<B: Backend>(db: &B, lease_until: i64, now: i64) -> Result<u64> {
    let q = Query::new(
        "UPDATE deliveries SET next_attempt_at = $1 \
         WHERE status = 'pending' AND next_attempt_at = $2 AND attempts = 0",
    )
    .arg(now)
    .arg(lease_until);
    db.execute(Conn::Write, q).await
}

/// Parks deliveries claimed for a webhook that turned out to be disabled: due at no time until
/// the webhook is enabled. One enabled again meanwhile has its deliveries due at `now` instead.
pub async fn park<B: Backend>(db: &B, ids: &[DeliveryId], now: i64) -> Result<()> {
    for chunk in ids.chunks(ID_CHUNK) {
        let mut q = Query::new(
            "UPDATE deliveries SET next_attempt_at = CASE WHEN EXISTS (SELECT 1 FROM webhooks w \
             WHERE w.id = deliveries.webhook_id AND w.active = $1) THEN $2 ELSE NULL END \
             WHERE status = 'pending' AND id IN (",
        )
        .arg(true)
        .arg(now);
        q.push_list(chunk.iter().map(DeliveryId::as_str)).push(")");
        db.execute(Conn::Write, q).await?;
        db.end_leases(chunk.iter().map(DeliveryId::as_str));
    }
    Ok(())
}
