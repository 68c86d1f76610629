//! Publishing: a group of events and all their deliveries written in one transaction (group
//! commit). The plan (which events are new, which deliveries each fans out to) is `plan.rs`;
//! the bulk inserts are the backend's.

use super::ordering;
use crate::ids::{DeliveryId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::plan::{Plan, TargetRow};
use crate::store::query::Query;
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
    let rows = targets(db, &mut tx, events).await?;
    let plan = Plan::new(events, &[], &rows);
    match B::insert_events(&mut tx, &plan.new_events).await {
        Ok(()) => return write_deliveries(db, tx, events, plan, intake).await,
        Err(Error::Conflict) => B::rollback(tx).await?,
        Err(e) => return Err(e),
    }
    let mut tx = db.begin().await?;
    let existing = B::published_before(&mut tx, events).await?;
    let rows = targets(db, &mut tx, events).await?;
    let plan = Plan::new(events, &existing, &rows);
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
    let rows = targets(db, tx, events).await?;
    let plan = Plan::new(events, &[], &rows);
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

/// Every target tenant of `events` with its active webhooks: one query for the whole group.
/// The webhooks are locked (on PostgreSQL) until the publish commits, so a webhook deleted
/// meanwhile waits for it and then deletes what it wrote.
async fn targets<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    events: &[NewEvent],
) -> Result<Vec<TargetRow>> {
    let mut tenants: Vec<&str> = events
        .iter()
        .flat_map(|e| e.tenants.iter().map(TenantId::as_str))
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    let mut q = Query::new(
        "SELECT t.id, w.id, w.events, w.channels, w.updated_at, w.payload_filter, w.ordering, \
         w.ordering_key FROM tenants t LEFT JOIN (SELECT id, tenant_id, events, channels, \
         updated_at, payload_filter, ordering, ordering_key FROM webhooks \
         WHERE active = $1 AND tenant_id IN (",
    )
    .arg(true);
    q.push_list(tenants.iter().copied())
        .push(") ")
        .push(B::KEY_SHARE)
        .push(") w ON w.tenant_id = t.id WHERE t.id IN (")
        .push_list(tenants.iter().copied())
        // In id order, so an event's deliveries take ids (and due-index places) in that order
        // whatever plan the database picks.
        .push(") ORDER BY t.id, w.id");
    db.fetch_all(Conn::Tx(tx), q).await
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
