//! Ordered (fifo) delivery: how a fifo webhook's deliveries are kept back until the one before
//! them, in the same queue, has finished. docs/ordering.md says the same to users.
//!
//! # Design
//!
//! A fifo webhook's deliveries form queues: one per webhook, or one per value at its
//! `ordering_key` path (`model::ordering::queue_key`). Each such delivery carries its queue's
//! key (`ordering_key`) and its place in it (`ordering_seq`); every other delivery has both
//! NULL. The one invariant:
//!
//! > Of a queue's pending deliveries, only the one with the lowest place (its *head*) may be
//! > due, leased or in flight. Every other one *waits*: pending, due at no time (NULL).
//!
//! The claim is not changed at all: a waiting delivery is not due, so no claim reads it, on
//! any node, whatever its leases; the head is claimed, leased, retried and given back like
//! any delivery. Keeping the invariant is left to the few writes that change a queue:
//!
//! - **Publish** (`place`, then `insert`): a delivery joins the tail of its queue (its place
//!   one past the highest pending one's). If the queue had nothing pending, it is the head:
//!   due at once, and the publish hand-off may take it (so the hand-off, which bypasses the
//!   claim, only ever takes heads); otherwise it waits, and is never offered to the hand-off.
//! - **Recording** (`advance`): when a head's attempt ends the delivery (`succeeded`, or
//!   `failed` after its last retry or a `410`), the next of its queue becomes due in the same
//!   transaction. A retry (still `pending`) keeps the head and with it the whole queue back.
//!   `failed` releases the next: a queue never stalls for good on one bad event.
//! - **Disable/enable**: disabling parks heads (due at NULL) as it parks any delivery; waiting
//!   ones stay as they are. Enabling makes due only the parked deliveries that are heads
//!   (`UNPARK_HEADS`). A head promoted while its webhook is disabled is made due all the same
//!   and parked again by the claim that finds its webhook disabled (`worker::resolve`).
//! - **Manual retry** (`retry`): of a head, due now (as for any delivery); of a waiting
//!   delivery, nothing (it is queued already, and goes after those before it); of a finished
//!   one, it joins its queue's tail again, due now only if the queue is empty.
//! - **Replay** (`replay`): finished deliveries join their queues' tails in their original
//!   order (by id: publish order); matched heads are due now; matched waiting ones keep their
//!   place.
//!
//! With several PostgreSQL nodes, a publish adding to a queue and a recorder finishing its head
//! must not miss each other (the publish seeing the head pending, the recorder not yet seeing
//! the new delivery: it would wait forever). Each of these writes takes a transaction-level
//! advisory lock per queue (`Backend::lock_queues`, hashed into 256 buckets per schema so a
//! large group takes a bounded number of locks) before it reads or writes a queue, always in
//! lock order and before any row lock, so they serialize per queue and never deadlock. SQLite
//! has one writer and needs none.
//!
//! What unordered webhooks pay: the targets query reads two more columns of the webhooks it
//! already reads; a claimed delivery carries its (NULL) key; a recorded batch is scanned once
//! for keys. No query, lock or index entry more: their rows never enter `deliveries_ordered`.
//!
//! Crashes: every step above is one transaction, so a crash leaves each queue either before or
//! after it. A head whose node died is claimed again when its lease ends (or at once after a
//! restart, see `leases::RESUME_ABANDONED`), delivery being at-least-once: the head may arrive
//! twice, but nothing after it is attempted before its success or failure is recorded.

use std::collections::BTreeMap;

use super::ID_CHUNK;
use crate::ids::{DeliveryId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::plan::{Plan, PlannedDelivery};
use crate::store::query::Query;
use crate::store::records::{DELIVERY_COLUMNS, DeliveryRecord};
use crate::store::{AttemptRecord, Delivery, DeliveryStatus, NewEvent, Replay, Result};

/// A queue: (webhook id, key).
pub type QueueId<'a> = (&'a str, &'a str);

/// Where an ordered delivery joins its queue.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    /// Its place in the queue.
    pub seq: i64,
    /// Whether it is the head (due now), not waiting.
    pub head: bool,
}

/// Makes due (`$2`) the parked deliveries of webhook `$1` that may go: unordered ones, and of
/// each queue only its head. The enable step of `webhooks::update`.
pub const UNPARK_HEADS: &str = "UPDATE deliveries SET next_attempt_at = $2 WHERE webhook_id = $1 \
     AND status = 'pending' AND next_attempt_at IS NULL AND (ordering_key IS NULL OR NOT EXISTS \
     (SELECT 1 FROM deliveries p WHERE p.webhook_id = deliveries.webhook_id \
     AND p.ordering_key = deliveries.ordering_key AND p.status = 'pending' \
     AND p.ordering_seq < deliveries.ordering_seq))";

/// Most queues one replay transaction locks.
const REPLAY_QUEUES: usize = 256;

/// The highest place among a queue's pending deliveries, if it has any.
async fn tail<B: Backend>(db: &B, tx: &mut B::Tx, queue: QueueId<'_>) -> Result<Option<i64>> {
    let q = Query::new(
        "SELECT MAX(ordering_seq) FROM deliveries WHERE webhook_id = $1 AND ordering_key = $2 \
         AND status = 'pending'",
    )
    .arg(queue.0)
    .arg(queue.1);
    let (tail,): (Option<i64>,) = db.fetch_one(Conn::Tx(tx), q).await?;
    Ok(tail)
}

/// Locks the queues of a publish's ordered deliveries and works out where each joins its
/// queue, in the plan's order (so in publish order within the group).
pub async fn place<B: Backend>(db: &B, tx: &mut B::Tx, plan: &Plan<'_>) -> Result<Vec<Place>> {
    let mut queues: Vec<QueueId<'_>> = plan.ordered.iter().map(|o| queue_of(plan, o)).collect();
    queues.sort_unstable();
    queues.dedup();
    B::lock_queues(tx, &queues).await?;
    let mut last: BTreeMap<QueueId<'_>, i64> = BTreeMap::new();
    for queue in queues {
        // No pending delivery: the first of this group is the head; 0 marks that.
        last.insert(queue, tail(db, tx, queue).await?.unwrap_or(0));
    }
    let mut heads_given = BTreeMap::new();
    Ok(plan
        .ordered
        .iter()
        .map(|o| {
            let queue = queue_of(plan, o);
            let seq = last.get_mut(&queue).expect("every queue was read");
            let head = *seq == 0 && heads_given.insert(queue, ()).is_none();
            *seq += 1;
            Place { seq: *seq, head }
        })
        .collect())
}

/// The queue of an ordered delivery of `plan`.
fn queue_of<'a>(plan: &Plan<'a>, (i, key): &'a (usize, String)) -> QueueId<'a> {
    (plan.deliveries[*i].webhook, key.as_str())
}

/// Inserts a publish's deliveries when some are ordered: the unordered ones with the backend's
/// bulk insert, the ordered ones with their queue and place (waiting ones due at NULL).
pub async fn insert<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    events: &[NewEvent],
    plan: &Plan<'_>,
    placed: &[(DeliveryId, i64)],
    places: &[Place],
) -> Result<()> {
    let mut unordered: Vec<PlannedDelivery<'_>> = Vec::new();
    let mut unordered_placed = Vec::new();
    let mut next = 0;
    for (i, (d, p)) in plan.deliveries.iter().zip(placed).enumerate() {
        if plan.ordered.get(next).is_some_and(|o| o.0 == i) {
            next += 1;
        } else {
            unordered.push(*d);
            unordered_placed.push(p.clone());
        }
    }
    if !unordered.is_empty() {
        B::insert_deliveries(tx, events, &unordered, &unordered_placed).await?;
    }
    let rows: Vec<_> = plan.ordered.iter().zip(places).collect();
    // 12 values a row, well under SQLite's bound parameters.
    for chunk in rows.chunks(ID_CHUNK / 5) {
        let mut q = Query::new(
            "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
             attempts, next_attempt_at, created_at, updated_at, ordering_key, ordering_seq) VALUES ",
        );
        for (n, ((i, key), place)) in chunk.iter().enumerate() {
            let d = &plan.deliveries[*i];
            let e = &events[d.event];
            let (id, due) = &placed[*i];
            q.push(if n == 0 { "(" } else { ", (" })
                .push_list([
                    id.as_str(),
                    e.id.as_str(),
                    d.webhook,
                    d.tenant,
                    e.event_type.as_str(),
                ])
                .push(", 'pending', 0, ")
                .push_arg(place.head.then_some(*due))
                .push(", ")
                .push_list([e.created_at, e.created_at])
                .push(", ")
                .push_arg(key.as_str())
                .push(", ")
                .push_arg(place.seq)
                .push(")");
        }
        db.execute(Conn::Tx(tx), q).await?;
    }
    Ok(())
}

/// The queues whose head a recorded batch finishes, sorted: those to lock and advance.
pub fn finished_queues(records: &[AttemptRecord]) -> Vec<QueueId<'_>> {
    let mut queues: Vec<QueueId<'_>> = records
        .iter()
        .filter(|r| r.status != DeliveryStatus::Pending)
        .filter_map(|r| Some((r.webhook_id.as_str(), r.ordering_key.as_deref()?)))
        .collect();
    queues.sort_unstable();
    queues.dedup();
    queues
}

/// Makes the head of each queue due at `now` if it waits: after the batch that finished the
/// previous head is written, in its transaction. Answers whether any became due.
pub async fn advance<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    queues: &[QueueId<'_>],
    now: i64,
) -> Result<bool> {
    let mut advanced = 0;
    for (webhook, key) in queues {
        let q = Query::new(
            "UPDATE deliveries SET next_attempt_at = $3 WHERE id = (SELECT id FROM deliveries \
             WHERE webhook_id = $1 AND ordering_key = $2 AND status = 'pending' \
             ORDER BY ordering_seq LIMIT 1) AND next_attempt_at IS NULL",
        )
        .arg(*webhook)
        .arg(*key)
        .arg(now);
        advanced += db.execute(Conn::Tx(tx), q).await?;
    }
    Ok(advanced > 0)
}

/// A manual retry of an ordered delivery (see the module's design); `None` if the delivery is
/// not ordered (or not found), for the caller to retry it as any other.
pub async fn retry<B: Backend>(
    db: &B,
    tenant: Option<&TenantId>,
    id: &DeliveryId,
    now: i64,
) -> Result<Option<Delivery>> {
    let q = Query::new(
        "SELECT webhook_id, ordering_key FROM deliveries WHERE id = $1 \
         AND ($2 IS NULL OR tenant_id = $2) AND ordering_key IS NOT NULL",
    )
    .arg(id.as_str())
    .arg(tenant.map(TenantId::as_str));
    let Some((webhook, key)): Option<(String, String)> = db.fetch_optional(Conn::Read, q).await?
    else {
        return Ok(None);
    };
    let queue = (webhook.as_str(), key.as_str());
    let mut tx = db.begin().await?;
    B::lock_queues(&mut tx, &[queue]).await?;
    let q =
        Query::new("SELECT status, ordering_seq FROM deliveries WHERE id = $1").arg(id.as_str());
    let (status, seq): (String, Option<i64>) = db.fetch_one(Conn::Tx(&mut tx), q).await?;
    let q = if status == DeliveryStatus::Pending.as_str() {
        let q = Query::new(
            "SELECT MIN(ordering_seq) FROM deliveries WHERE webhook_id = $1 \
             AND ordering_key = $2 AND status = 'pending'",
        )
        .arg(queue.0)
        .arg(queue.1);
        let (head,): (Option<i64>,) = db.fetch_one(Conn::Tx(&mut tx), q).await?;
        // A waiting delivery is queued already: it keeps its place.
        (head == seq).then(|| {
            Query::new("UPDATE deliveries SET next_attempt_at = $2, updated_at = $2 WHERE id = $1")
                .arg(id.as_str())
                .arg(now)
        })
    } else {
        let tail = tail(db, &mut tx, queue).await?;
        Some(
            Query::new(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $3, \
                 ordering_seq = $4 WHERE id = $1",
            )
            .arg(id.as_str())
            .arg(tail.is_none().then_some(now))
            .arg(now)
            .arg(tail.unwrap_or(0) + 1),
        )
    };
    if let Some(q) = q {
        db.execute(Conn::Tx(&mut tx), q).await?;
    }
    let q = Query::new(format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"
    ))
    .arg(id.as_str());
    let delivery: Delivery = db
        .fetch_one::<DeliveryRecord>(Conn::Tx(&mut tx), q)
        .await?
        .into();
    if delivery.next_attempt_at.is_some_and(|at| at <= now) {
        B::notify_work(&mut tx).await?;
    }
    B::commit(tx).await?;
    Ok(Some(delivery))
}

/// The replay filters on `deliveries` (aliased `d`) from `$3` on: webhook, tenant, creation
/// window, no test sends, and the status asked for.
fn replay_filter<'a>(q: &mut Query<'a>, webhook: &'a WebhookId, tenant: &'a TenantId, r: &Replay) {
    q.push(" d.webhook_id = ")
        .push_arg(webhook.as_str())
        .push(" AND d.tenant_id = ")
        .push_arg(tenant.as_str())
        .push(" AND d.created_at >= ")
        .push_arg(r.since)
        .push(" AND d.created_at < ")
        .push_arg(r.until)
        .push(" AND d.test = ")
        .push_arg(false);
    if let Some(status) = r.status {
        q.push(" AND d.status = ").push_arg(status.as_str());
    }
}

/// Replays a webhook's ordered deliveries (see the module's design); answers how many it
/// matched. The queues are locked a few hundred per transaction.
pub async fn replay<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhook: &WebhookId,
    replay: &Replay,
) -> Result<u64> {
    let mut q = Query::new("SELECT DISTINCT d.ordering_key FROM deliveries d WHERE ");
    replay_filter(&mut q, webhook, tenant, replay);
    q.push(" AND d.ordering_key IS NOT NULL ORDER BY d.ordering_key");
    let keys: Vec<(String,)> = db.fetch_all(Conn::Read, q).await?;
    let mut matched = 0;
    for chunk in keys.chunks(REPLAY_QUEUES) {
        let queues: Vec<QueueId<'_>> = chunk
            .iter()
            .map(|(k,)| (webhook.as_str(), k.as_str()))
            .collect();
        let mut tx = db.begin().await?;
        B::lock_queues(&mut tx, &queues).await?;
        let mut changed = 0;
        for (key,) in chunk {
            // Heads it names go now; waiting ones keep their place.
            let mut q = Query::new(
                "UPDATE deliveries SET next_attempt_at = $1, updated_at = $1 \
                 WHERE id IN (SELECT d.id FROM deliveries d WHERE d.ordering_key = $2 AND",
            )
            .arg(replay.now)
            .arg(key.as_str());
            replay_filter(&mut q, webhook, tenant, replay);
            q.push(" AND d.status = 'pending' AND d.next_attempt_at IS NOT NULL)");
            changed += db.execute(Conn::Tx(&mut tx), q).await?;
            let mut q =
                Query::new("SELECT COUNT(*) FROM deliveries d WHERE d.ordering_key = $1 AND")
                    .arg(key.as_str());
            replay_filter(&mut q, webhook, tenant, replay);
            q.push(" AND d.status = 'pending'");
            let (pending,): (i64,) = db.fetch_one(Conn::Tx(&mut tx), q).await?;
            matched += pending.max(0) as u64;
            // Finished ones join the tail in publish order; the first is the head if the
            // queue has nothing pending.
            let tail = tail(db, &mut tx, (webhook.as_str(), key.as_str())).await?;
            let mut q = Query::new(
                "UPDATE deliveries SET status = 'pending', updated_at = $1, \
                 ordering_seq = $2 + r.n, \
                 next_attempt_at = CASE WHEN $3 AND r.n = 1 THEN $1 ELSE NULL END \
                 FROM (SELECT d.id, ROW_NUMBER() OVER (ORDER BY d.id) AS n FROM deliveries d \
                 WHERE d.ordering_key = $4 AND",
            )
            .arg(replay.now)
            .arg(tail.unwrap_or(0))
            .arg(tail.is_none())
            .arg(key.as_str());
            replay_filter(&mut q, webhook, tenant, replay);
            q.push(" AND d.status <> 'pending') AS r WHERE deliveries.id = r.id");
            let requeued = db.execute(Conn::Tx(&mut tx), q).await?;
            matched += requeued;
            changed += u64::from(requeued > 0 && tail.is_none());
        }
        if changed > 0 {
            B::notify_work(&mut tx).await?;
        }
        B::commit(tx).await?;
    }
    Ok(matched)
}
