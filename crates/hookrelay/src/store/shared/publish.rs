//! Publishing: a group of events and all their deliveries written in one transaction (group
//! commit). The plan (which events are new, which deliveries each fans out to) is `plan.rs`;
//! the bulk inserts are the backend's.

use std::sync::Arc;

use super::{ID_CHUNK, ordering};
use crate::ids::{DeliveryId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::plan::{Plan, PlannedDelivery};
use crate::store::query::Query;
use crate::store::subscriptions::{TenantTargets, WebhookRow};
use crate::store::{Error, Intake, NewEvent, Publication, Result, Taken};

pub async fn publish_many<B: Backend>(
    db: &B,
    events: &[NewEvent],
    intake: &mut (dyn Intake + Send),
) -> Result<Publication> {
    if events.is_empty() {
        return Ok(Publication::default());
    }
    // Ids are almost never repeated (a client retrying a publish), so the events are written
    // before their ids are checked, and only a unique violation has the group planned again, in
    // a new transaction, with the repeats read first. Checking first cost every publish a
    // lookup per event (a twentieth of PostgreSQL's time under load; skipping repeats in the
    // insert cost half that).
    let mut tx = db.begin().await?;
    let tenants = targets(db, &mut tx, events, &[], true).await?;
    let plan = Plan::new(events, &[], &tenants);
    match B::insert_events(&mut tx, &plan.new_events).await {
        Ok(()) => return write_deliveries(db, tx, events, plan, intake).await,
        Err(Error::Conflict) => B::rollback(tx).await?,
        Err(e) => return Err(e),
    }
    let mut tx = db.begin().await?;
    let existing = B::published_before(&mut tx, events).await?;
    let tenants = targets(db, &mut tx, events, &existing, true).await?;
    let plan = Plan::new(events, &existing, &tenants);
    // A unique violation here means another node published one of these ids between the read
    // above and this write: nothing is committed, and the `Conflict` tells the caller to run
    // the batch again (it then reads as a repeat).
    B::insert_events(&mut tx, &plan.new_events).await?;
    write_deliveries(db, tx, events, plan, intake).await
}

/// Publishes events of fresh ids in a transaction the caller commits, every delivery due at
/// once: events that hookrelay itself raises, with what caused them.
pub(super) async fn publish_in<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    events: &[NewEvent],
) -> Result<()> {
    // This transaction has written already, so what it reads may not be committed: read
    // afresh and keep none of it.
    let tenants = targets(db, tx, events, &[], false).await?;
    let plan = Plan::new(events, &[], &tenants);
    B::insert_events(tx, &plan.new_events).await?;
    let placed: Vec<(DeliveryId, i64)> = (plan.deliveries.iter())
        .map(|d| (DeliveryId::generate(), events[d.event].created_at))
        .collect();
    if plan.ordered.is_empty() {
        B::insert_deliveries(tx, events, &plan.deliveries, &placed).await?;
    } else {
        // The operator's webhook may be fifo too.
        let places = ordering::place(db, tx, &plan).await?;
        ordering::insert(db, tx, events, &plan, &placed, &places).await?;
    }
    if !placed.is_empty() {
        B::notify_work(tx).await?;
    }
    Ok(())
}

/// Times a publish reads its targets again when one of the webhooks it planned to deliver to
/// changed meanwhile (a few at most: webhooks change at the pace of people).
const MAX_REPLANS: usize = 16;

/// Every existing tenant of `events` with its active webhooks, in tenant order, ready to be
/// planned on (with `existing`, the events stored before). On PostgreSQL the webhooks the
/// plan delivers to are locked until the publish commits, so a webhook deleted meanwhile
/// waits for it and then deletes what it wrote; one found changed since it was read has its
/// tenant read again. `keep`: whether what is read may be cached for later publishes.
async fn targets<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    events: &[NewEvent],
    existing: &[(String, i64)],
    keep: bool,
) -> Result<Vec<Arc<TenantTargets>>> {
    for _ in 0..MAX_REPLANS {
        let tenants = read_targets(db, tx, events, keep).await?;
        if B::KEY_SHARE.is_empty() {
            // One writer at a time: nothing changed since the read.
            return Ok(tenants);
        }
        let plan = Plan::new(events, existing, &tenants);
        if lock_targets(db, tx, &plan.deliveries).await? {
            return Ok(tenants);
        }
    }
    Err(Error::Conflict)
}

/// Every existing tenant of `events` with its active webhooks, in tenant order: one query for
/// the tenants' versions, and one for the webhooks of those whose version this node has not
/// read (`subscriptions.rs`).
async fn read_targets<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    events: &[NewEvent],
    keep: bool,
) -> Result<Vec<Arc<TenantTargets>>> {
    let mut tenants: Vec<&str> = events
        .iter()
        .flat_map(|e| e.tenants.iter().map(TenantId::as_str))
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    let mut q = Query::new("SELECT id, webhooks_version FROM tenants WHERE id IN (");
    // Ids compare as bytes on both databases (PostgreSQL migration 0008), as `Plan` searches.
    q.push_list(tenants.iter().copied()).push(") ORDER BY id");
    let versions: Vec<(String, i64)> = db.fetch_all(Conn::Tx(tx), q).await?;
    let cache = db.subscriptions();
    let mut found: Vec<Option<Arc<TenantTargets>>> = (versions.iter())
        .map(|(id, version)| if keep { cache.get(id, *version) } else { None })
        .collect();
    if found.iter().all(Option::is_some) {
        return Ok(found.into_iter().flatten().collect());
    }
    let stale = || (versions.iter().zip(&found)).filter(|(_, f)| f.is_none());
    let mut q = Query::new(
        "SELECT tenant_id, id, events, channels, updated_at, payload_filter, ordering, \
         ordering_key FROM webhooks WHERE active = $1 AND tenant_id IN (",
    )
    .arg(true);
    // In id order, so an event's deliveries take ids (and due-index places) in that order.
    q.push_list(stale().map(|((id, _), _)| id.as_str()))
        .push(") ORDER BY tenant_id, id");
    let rows: Vec<WebhookRow> = db.fetch_all(Conn::Tx(tx), q).await?;
    let mut rows = rows.into_iter().peekable();
    for ((id, version), slot) in versions.iter().zip(&mut found) {
        if slot.is_some() {
            continue;
        }
        let own = std::iter::from_fn(|| rows.next_if(|r| r.0 == *id)).collect();
        let targets = Arc::new(TenantTargets::new(id.clone(), *version, own));
        if keep {
            cache.put(targets.clone());
        }
        *slot = Some(targets);
    }
    Ok(found.into_iter().flatten().collect())
}

/// Locks the webhooks `deliveries` go to (`FOR KEY SHARE`, in id order) and checks each is
/// still active at the `updated_at` planned with. `false`: one changed since it was read, and
/// its tenant's cached webhooks are forgotten.
async fn lock_targets<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    deliveries: &[PlannedDelivery<'_>],
) -> Result<bool> {
    let mut planned: Vec<(&str, i64, &str)> = (deliveries.iter())
        .map(|d| (d.webhook, d.updated_at, d.tenant))
        .collect();
    planned.sort_unstable();
    planned.dedup();
    for chunk in planned.chunks(ID_CHUNK) {
        let mut q = Query::new("SELECT id, updated_at FROM webhooks WHERE active = $1 AND id IN (")
            .arg(true);
        q.push_list(chunk.iter().map(|p| p.0))
            .push(") ORDER BY id ")
            .push(B::KEY_SHARE);
        let rows: Vec<(String, i64)> = db.fetch_all(Conn::Tx(tx), q).await?;
        let same = rows.len() == chunk.len()
            && (rows.iter().zip(chunk)).all(|((id, at), p)| id == p.0 && *at == p.1);
        if !same {
            for (_, _, tenant) in chunk {
                db.subscriptions().forget(tenant);
            }
            return Ok(false);
        }
    }
    Ok(true)
}

/// Writes the deliveries of a publish whose events are written, and commits: each leased to
/// this node if `intake` takes it, else due at once; a fifo webhook's delivery that waits
/// behind an earlier one of its queue is neither (see `ordering.rs`).
async fn write_deliveries<B: Backend>(
    db: &B,
    mut tx: B::Tx,
    events: &[NewEvent],
    plan: Plan<'_>,
    intake: &mut (dyn Intake + Send),
) -> Result<Publication> {
    if plan.new_events.is_empty() {
        return Ok(Publication {
            results: plan.results,
            ..Default::default()
        });
    }
    // Only a group with deliveries to fifo webhooks reads (and on PostgreSQL locks) queues.
    let places = if plan.ordered.is_empty() {
        Vec::new()
    } else {
        ordering::place(db, &mut tx, &plan).await?
    };
    let mut ordered = plan.ordered.iter().zip(&places).peekable();
    let mut taken = Vec::new();
    let mut queued = 0;
    // (id, due at) per planned delivery: leased to this node if the intake took it.
    let placed: Vec<(DeliveryId, i64)> = plan
        .deliveries
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let id = DeliveryId::generate();
            let order = ordered.next_if(|((at, _), _)| *at == i);
            if let Some((_, place)) = order
                && !place.head
            {
                // Waits: written due at NULL, never handed over.
                return (id, 0);
            }
            let due = match intake.take(d.webhook, d.updated_at) {
                Some(lease_until) => {
                    taken.push(Taken {
                        id: id.clone(),
                        event: d.event,
                        webhook: WebhookId::from_trusted(d.webhook.to_owned()),
                        ordering_key: order.map(|((_, key), _)| key.clone()),
                    });
                    lease_until
                }
                None => {
                    queued += 1;
                    events[d.event].created_at
                }
            };
            (id, due)
        })
        .collect();
    if places.is_empty() {
        B::insert_deliveries(&mut tx, events, &plan.deliveries, &placed).await?;
    } else {
        ordering::insert(db, &mut tx, events, &plan, &placed, &places).await?;
    }
    // Other nodes need waking only for deliveries this node did not take.
    if queued > 0 {
        B::notify_work(&mut tx).await?;
    }
    B::commit(tx).await?;
    db.deliveries_written(plan.deliveries.len());
    Ok(Publication {
        results: plan.results,
        taken,
        queued,
    })
}
