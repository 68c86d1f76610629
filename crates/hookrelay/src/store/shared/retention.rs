//! Retention: deleting, a small batch at a time, the deliveries, attempts and events older than
//! the operator keeps. A pass walks old deliveries in id order (ids grow with time, so "created
//! before" is a primary-key range), deleting the finished ones with their attempts, then old
//! events in `(created_at, id)` order (`events_by_age`), deleting those no delivery refers to.
//!
//! Invariants: a pending delivery is never deleted, however old (a disabled webhook's are held
//! for it), nor is an event a delivery refers to, nor an attempt whose delivery stays. Each
//! call looks at no more than `batch` rows, reads on a reader, and writes (if anything is to
//! go) in one short transaction, so the single SQLite writer is held only briefly; on
//! PostgreSQL that transaction first takes [`Backend::lock_purge`], so batches of two nodes
//! never overlap.

use std::collections::HashSet;

use crate::ids::DeliveryId;
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::{DeliveryStatus, PurgeCursor, Purged, Result};

/// How much older than `before` an event must be before it may go. Deliveries are found by id,
/// events by `created_at`, and the two clocks differ: the API stamps an event when it parses
/// it, and its deliveries take their ids when the publish that writes them runs, a moment
/// later (the publisher's queue, the transaction). Whether a delivery refers to an event is
/// looked up among the deliveries created within this much of the event (there is no index of
/// deliveries by event: it cost every delivery a write), so this bounds how late a publish may
/// write its deliveries, with a wide margin. It also keeps that lookup among deliveries older
/// than `before`, which only pending ones outlive.
const EVENT_MARGIN_MS: i64 = 3_600_000;

/// One batch of the pass `cursor` is in: old deliveries first, then old events.
pub async fn purge<B: Backend>(
    db: &B,
    before_ms: i64,
    batch: u32,
    cursor: &mut PurgeCursor,
) -> Result<Purged> {
    let batch = batch.max(1);
    if cursor.after_delivery.is_empty() && !cursor.deliveries_done {
        // A pass's first batch. The hours' counts are kept for their own period, whatever the
        // log's: one pass an hour deletes about one row per webhook.
        super::hours::purge(db, crate::clock::now_ms() - super::hours::KEPT_MS).await?;
    }
    if cursor.deliveries_done {
        events(db, before_ms - EVENT_MARGIN_MS, batch, cursor).await
    } else {
        deliveries(db, before_ms, batch, cursor).await
    }
}

/// Looks at the next `batch` deliveries created before `before_ms` and deletes the finished
/// ones with their attempts.
async fn deliveries<B: Backend>(
    db: &B,
    before_ms: i64,
    batch: u32,
    cursor: &mut PurgeCursor,
) -> Result<Purged> {
    let bound = DeliveryId::lower_bound(before_ms);
    let q = Query::new(
        "SELECT id, status FROM deliveries WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3",
    )
    .arg(cursor.after_delivery.as_str())
    .arg(bound.as_str())
    .arg(i64::from(batch));
    let rows: Vec<(String, String)> = db.fetch_all(Conn::Read, q).await?;
    let finished: Vec<&str> = rows
        .iter()
        .filter(|(_, status)| status != DeliveryStatus::Pending.as_str())
        .map(|(id, _)| id.as_str())
        .collect();
    let mut purged = Purged {
        more: true,
        ..Purged::default()
    };
    if !finished.is_empty() {
        let mut tx = db.begin().await?;
        if !B::lock_purge(&mut tx).await? {
            B::rollback(tx).await?;
            return Ok(elsewhere());
        }
        // The status is checked again: a delivery retried or replayed since the read is
        // pending now, and stays. On PostgreSQL the delete locks the rows, so a recorder
        // writing an attempt for one of them waits and then finds it gone (it records
        // attempts only for deliveries that still exist).
        let mut q = Query::new("DELETE FROM deliveries WHERE status IN ($1, $2) AND id IN (")
            .arg(DeliveryStatus::Succeeded.as_str())
            .arg(DeliveryStatus::Failed.as_str());
        q.push_list(finished.iter().copied()).push(") RETURNING id");
        let deleted: Vec<(String,)> = db.fetch_all(Conn::Tx(&mut tx), q).await?;
        if !deleted.is_empty() {
            let mut q = Query::new("DELETE FROM attempts WHERE delivery_id IN (");
            q.push_list(deleted.iter().map(|(id,)| id.as_str()))
                .push(")");
            purged.attempts = db.execute(Conn::Tx(&mut tx), q).await?;
        }
        B::commit(tx).await?;
        purged.deliveries = deleted.len() as u64;
    }
    if let Some((id, _)) = rows.last() {
        cursor.after_delivery.clone_from(id);
    }
    if rows.len() < batch as usize {
        cursor.deliveries_done = true;
    }
    Ok(purged)
}

/// Looks at the next `batch` events created before `before_ms` and deletes those no delivery
/// refers to.
async fn events<B: Backend>(
    db: &B,
    before_ms: i64,
    batch: u32,
    cursor: &mut PurgeCursor,
) -> Result<Purged> {
    let (after_at, after_id) = cursor
        .after_event
        .clone()
        .unwrap_or((i64::MIN, String::new()));
    let q = Query::new(
        "SELECT id, created_at FROM events WHERE created_at < $1 AND (created_at, id) > ($2, $3) \
         ORDER BY created_at, id LIMIT $4",
    )
    .arg(before_ms)
    .arg(after_at)
    .arg(after_id.as_str())
    .arg(i64::from(batch));
    let rows: Vec<(String, i64)> = db.fetch_all(Conn::Read, q).await?;
    let (Some((_, first)), Some((last_id, last))) = (rows.first(), rows.last()) else {
        return Ok(Purged::default());
    };
    // Every delivery of an event was written by the publish that wrote the event, with an id
    // taken within `EVENT_MARGIN_MS` of its `created_at`: those of this batch's events lie in
    // this id range. Below `before_ms` less the margin, the walk over deliveries left only
    // pending ones there, so the range is short.
    let from = DeliveryId::lower_bound(first - EVENT_MARGIN_MS);
    let to = DeliveryId::lower_bound(last + EVENT_MARGIN_MS + 1);
    let mut q = Query::new("SELECT DISTINCT event_id FROM deliveries WHERE id >= $1 AND id < $2")
        .arg(from.as_str())
        .arg(to.as_str());
    q.push(" AND event_id IN (")
        .push_list(rows.iter().map(|(id, _)| id.as_str()))
        .push(")");
    let referred: Vec<(String,)> = db.fetch_all(Conn::Read, q).await?;
    let referred: HashSet<&str> = referred.iter().map(|(id,)| id.as_str()).collect();
    let unreferred: Vec<&str> = rows
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| !referred.contains(id))
        .collect();
    let mut purged = Purged {
        more: rows.len() == batch as usize,
        ..Purged::default()
    };
    if !unreferred.is_empty() {
        let mut tx = db.begin().await?;
        if !B::lock_purge(&mut tx).await? {
            B::rollback(tx).await?;
            return Ok(elsewhere());
        }
        // No delivery can come to refer to these meanwhile: a publish writes deliveries only
        // for the events it writes, and these are long written.
        let mut q = Query::new("DELETE FROM events WHERE id IN (");
        q.push_list(unreferred.iter().copied()).push(")");
        purged.events = db.execute(Conn::Tx(&mut tx), q).await?;
        B::commit(tx).await?;
    }
    cursor.after_event = Some((*last, last_id.clone()));
    Ok(purged)
}

/// Another node holds the purge lock: this one leaves the pass to it.
fn elsewhere() -> Purged {
    Purged {
        elsewhere: true,
        ..Purged::default()
    }
}
