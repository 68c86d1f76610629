//! Each webhook's attempts counted per UTC hour (`attempt_hours`): what the dashboard's charts,
//! sparklines and success rates show over 24 hours, 7 days and 30 days. Counting the attempts
//! themselves cost a walk over every attempt in the window (seconds for a busy webhook over
//! 30 days), so the pages read a bounded sample and could only shade the hours before it as
//! "not counted". The counts are kept instead where the attempts are written: on PostgreSQL
//! by the statement that records a batch (`postgres/bulk.rs`), on SQLite by its transaction
//! (`sqlite/bulk.rs`), and with a test send by its transaction; a batch adds one row per
//! webhook and hour it touches, so the recorder's cost grows with the webhooks of a batch, not
//! its attempts. A chart then reads at most 720 rows per writer, exact however many attempts
//! there were.
//!
//! Each PostgreSQL node adds to rows of its own (`writer`, a number it draws at start; SQLite's
//! one writer and test sends use 0), and readers add a webhook's rows of an hour up: with one
//! row per webhook and hour, every node's recorder updated the same rows of the busiest
//! webhooks, and the nodes' recorders waited on each other's row locks (bench/README.md).
//!
//! The counts outlive the delivery log's retention up to [`KEPT_MS`], so the 30-day chart is
//! whole even where the log keeps a week; retention deletes older hours, and deleting a
//! webhook deletes its hours with its deliveries.

use std::collections::BTreeMap;

use crate::ids::{TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::{AttemptHour, AttemptRecord, Result};

pub const HOUR_MS: i64 = 3_600_000;

/// How long hours are kept: the longest chart's 30 days and the hour it starts in.
pub const KEPT_MS: i64 = 31 * 24 * HOUR_MS;

/// One webhook's attempts of one hour in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourCount<'a> {
    pub webhook: &'a str,
    pub hour_start: i64,
    pub succeeded: i64,
    pub failed: i64,
}

/// The hour `at` (unix ms) starts in.
pub fn hour_of(at: i64) -> i64 {
    at - at.rem_euclid(HOUR_MS)
}

/// `records` counted per webhook and hour, in key order (so that two writers adding to the same
/// rows lock them in the same order).
pub fn count(records: &[AttemptRecord]) -> Vec<HourCount<'_>> {
    let mut hours: BTreeMap<(&str, i64), (i64, i64)> = BTreeMap::new();
    for r in records {
        let key = (r.webhook_id.as_str(), hour_of(r.attempt.result.started_at));
        let (ok, bad) = hours.entry(key).or_default();
        if r.attempt.result.succeeded {
            *ok += 1;
        } else {
            *bad += 1;
        }
    }
    hours
        .into_iter()
        .map(|((webhook, hour_start), (succeeded, failed))| HourCount {
            webhook,
            hour_start,
            succeeded,
            failed,
        })
        .collect()
}

/// The `ON CONFLICT` clause adding a new count to a row already there (both databases).
pub const ADD_ON_CONFLICT: &str = "ON CONFLICT (webhook_id, hour_start, writer) DO UPDATE SET \
     succeeded = attempt_hours.succeeded + excluded.succeeded, \
     failed = attempt_hours.failed + excluded.failed";

/// Adds one attempt (a test send's) in `tx`.
pub async fn add_one<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    webhook: &WebhookId,
    started_at: i64,
    succeeded: bool,
) -> Result<()> {
    let q = Query::new(format!(
        "INSERT INTO attempt_hours (webhook_id, hour_start, succeeded, failed) \
         VALUES ($1, $2, $3, $4) {ADD_ON_CONFLICT}"
    ))
    .arg(webhook.as_str())
    .arg(hour_of(started_at))
    .arg(i64::from(succeeded))
    .arg(i64::from(!succeeded));
    db.execute(Conn::Tx(tx), q).await?;
    Ok(())
}

/// The hours of `webhooks` (those of `tenant`) from `since` (a whole hour) on.
pub async fn read<B: Backend>(
    db: &B,
    tenant: &TenantId,
    webhooks: &[WebhookId],
    since: i64,
) -> Result<Vec<AttemptHour>> {
    if webhooks.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT h.webhook_id, h.hour_start, CAST(SUM(h.succeeded) AS BIGINT), \
         CAST(SUM(h.failed) AS BIGINT) FROM attempt_hours h \
         JOIN webhooks w ON w.id = h.webhook_id \
         WHERE w.tenant_id = $1 AND h.hour_start >= $2 AND h.webhook_id IN (",
    )
    .arg(tenant.as_str())
    .arg(since);
    q.push_list(webhooks.iter().map(WebhookId::as_str))
        .push(") GROUP BY h.webhook_id, h.hour_start");
    let rows: Vec<(String, i64, i64, i64)> = db.fetch_all(Conn::Read, q).await?;
    Ok(rows
        .into_iter()
        .map(|(webhook, hour_start, ok, bad)| AttemptHour {
            webhook: WebhookId::from_trusted(webhook),
            hour_start,
            succeeded: ok.max(0) as u64,
            failed: bad.max(0) as u64,
        })
        .collect())
}

/// Deletes the hours that started before `before`.
pub async fn purge<B: Backend>(db: &B, before: i64) -> Result<u64> {
    let q = Query::new("DELETE FROM attempt_hours WHERE hour_start < $1").arg(before);
    db.execute(Conn::Write, q).await
}

/// Deletes the hours of the webhooks whose id is `webhooks` (`= $1`, or `IN (…$1…)`), `$1`
/// being `arg`, in `tx` (as `webhooks::delete_deliveries` does their deliveries).
pub async fn delete<B: Backend>(db: &B, tx: &mut B::Tx, webhooks: &str, arg: &str) -> Result<()> {
    let q = Query::new(format!(
        "DELETE FROM attempt_hours WHERE webhook_id {webhooks}"
    ))
    .arg(arg);
    db.execute(Conn::Tx(tx), q).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AttemptId, DeliveryId};
    use crate::store::{Attempt, AttemptResult, DeliveryStatus};

    fn record(webhook: &str, started_at: i64, succeeded: bool) -> AttemptRecord {
        AttemptRecord {
            delivery_id: DeliveryId::from_trusted("dlv_x".to_owned()),
            webhook_id: WebhookId::from_trusted(webhook.to_owned()),
            attempt: Attempt {
                id: AttemptId::from_trusted("att_x".to_owned()),
                attempt: 1,
                result: AttemptResult {
                    started_at,
                    latency_ms: 5,
                    succeeded,
                    status_code: Some(200),
                    response_body: None,
                    error: None,
                },
            },
            gone: false,
            status: DeliveryStatus::Succeeded,
            next_attempt_at: None,
            ordering_key: None,
        }
    }

    #[test]
    fn a_batch_is_counted_per_webhook_and_utc_hour_in_key_order() {
        let h = 1_795_564_800_000; // a whole hour
        let records = [
            record("wh_b", h + 10, true),
            record("wh_a", h + HOUR_MS - 1, false),
            record("wh_b", h + HOUR_MS, true),
            record("wh_a", h, true),
            record("wh_b", h + 20, false),
        ];
        let count = |webhook, hour_start, succeeded, failed| HourCount {
            webhook,
            hour_start,
            succeeded,
            failed,
        };
        assert_eq!(
            super::count(&records),
            [
                count("wh_a", h, 1, 1),
                count("wh_b", h, 1, 1),
                count("wh_b", h + HOUR_MS, 1, 0),
            ]
        );
        assert_eq!(hour_of(h - 1), h - HOUR_MS);
    }
}
