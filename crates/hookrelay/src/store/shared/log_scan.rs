//! The dashboard's delivery log: a page of a webhook's deliveries matching its filters, read
//! with a bounded scan. The API's list walks the webhook's delivery index until it has a page,
//! which for a filter that matches almost nothing is the webhook's whole history (a second at
//! a million deliveries). Here the walk looks at no more than `scan` deliveries from the
//! cursor; when those hold less than a page of matches, the page says how far back it
//! searched and its cursor resumes from there, so paging on misses no row and every request
//! costs at most `scan` rows. An index per filter, e.g. `(webhook_id, status, id)`, would make
//! such reads exact instead, but every delivery's status change would then write it too, on
//! the delivery path.

use super::log::{CLOCK_SLACK_MS, push_filter};
use super::paginate;
use crate::ids::{DeliveryId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::records::{DELIVERY_COLUMNS, DeliveryRecord};
use crate::store::{Delivery, DeliveryFilter, LogPage, Page, Result};

/// Appends the walk along `deliveries_by_webhook`, newest first, at most `scan` rows: from the
/// cursor, and down to the first id that could have been made at the filter's `since`.
fn push_walk<'a>(q: &mut Query<'a>, columns: &str, walk: &Walk<'a>) {
    q.push(&format!(
        "SELECT {columns} FROM deliveries WHERE webhook_id = "
    ))
    .push_arg(walk.webhook.as_str())
    .push(" AND tenant_id = ")
    .push_arg(walk.tenant.as_str());
    if let Some(cursor) = &walk.page.cursor {
        q.push(" AND id < ").push_arg(cursor.as_str());
    }
    if let Some(oldest) = walk.oldest {
        q.push(" AND id >= ").push_arg(oldest.as_str());
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .push_arg(i64::from(walk.scan));
}

/// What one bounded walk covers.
struct Walk<'a> {
    tenant: &'a TenantId,
    webhook: &'a WebhookId,
    page: &'a Page,
    oldest: Option<&'a DeliveryId>,
    scan: u32,
}

pub async fn scan<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhook: &WebhookId,
    filter: &DeliveryFilter,
    page: &Page,
    scan: u32,
) -> Result<LogPage> {
    // A delivery's id is made on its event's publish, after the event's `created_at`.
    let oldest = filter
        .since
        .map(|since| DeliveryId::lower_bound(since - CLOCK_SLACK_MS));
    let walk = Walk {
        tenant,
        webhook,
        page,
        oldest: oldest.as_ref(),
        scan,
    };
    // The filters apply outside the limited walk, which neither database pushes them into.
    let mut q = Query::new("SELECT * FROM (");
    push_walk(&mut q, DELIVERY_COLUMNS, &walk);
    q.push(") AS scanned WHERE 1 = 1");
    push_filter(&mut q, filter);
    q.push(" ORDER BY id DESC LIMIT ")
        .push_arg(i64::from(page.limit) + 1);
    let rows: Vec<DeliveryRecord> = db.fetch_all(Conn::Read, q).await?;
    if rows.len() > page.limit as usize {
        let found = paginate(rows, page.limit, |d: &Delivery| d.id.to_string());
        return Ok(LogPage {
            items: found.items,
            next_cursor: found.next_cursor,
            searched_to: None,
        });
    }
    // Short of a page: the walk reached either the end or its bound. Which, and where it
    // stopped, from the same walk over the index alone.
    let mut q = Query::new("SELECT COUNT(*), MIN(id) FROM (");
    push_walk(&mut q, "id", &walk);
    q.push(") AS scanned");
    let (looked_at, last): (i64, Option<String>) = db.fetch_one(Conn::Read, q).await?;
    let stopped = last.filter(|_| looked_at >= i64::from(scan));
    Ok(LogPage {
        items: rows.into_iter().map(Delivery::from).collect(),
        searched_to: stopped.as_deref().and_then(DeliveryId::timestamp_of),
        next_cursor: stopped,
    })
}
