//! SQLite's bulk writes on the hot path: events and deliveries as a publish writes them, and
//! attempt results as the recorder writes them. Multi-row `VALUES` statements, padded to a few
//! fixed shapes so that the one writer prepares each statement once.

use sqlx::{Sqlite, Transaction};

use crate::ids::DeliveryId;
use crate::store::backend::FailureClock;
use crate::store::plan::PlannedDelivery;
use crate::store::shared::hours;
use crate::store::{AttemptRecord, NewEvent, Result};

/// A multi-row statement that could fail part-way under the default `ABORT` makes SQLite keep a
/// statement journal (a copy of every page it changes) to undo just that statement. `FAIL`
/// stops it where it failed instead; the store then rolls the whole transaction back, so
/// nothing partial is ever committed either way.
const OR_FAIL: &str = " OR FAIL";

/// How many rows a bulk statement binds. A batch is padded with rows of NULLs (which match and
/// write nothing) up to the next of these sizes, so the one writer prepares each statement shape
/// once and then finds it in sqlx's statement cache; unpadded, nearly every batch size was a new
/// statement text, and preparing them was a fifth of the writer thread.
const SHAPES: [usize; 7] = [8, 16, 32, 64, 128, 256, 512];

/// `rows` in chunks of at most the largest shape, each with its rows padded with `None` up to
/// its shape.
fn shaped<T>(rows: &[T]) -> impl Iterator<Item = impl Iterator<Item = Option<&T>>> {
    rows.chunks(SHAPES[SHAPES.len() - 1]).map(|chunk| {
        let shape = SHAPES
            .iter()
            .copied()
            .find(|&s| s >= chunk.len())
            .unwrap_or(chunk.len());
        chunk
            .iter()
            .map(Some)
            .chain(std::iter::repeat_n(None, shape - chunk.len()))
    })
}

/// Binds `n` NULLs: a padding row.
fn push_nulls(b: &mut sqlx::query_builder::Separated<'_, '_, Sqlite, &'static str>, n: usize) {
    for _ in 0..n {
        b.push_bind(None::<i64>);
    }
}

/// The `(id, deliveries)` of those of `events` already stored.
pub async fn published_before(
    tx: &mut Transaction<'static, Sqlite>,
    events: &[NewEvent],
) -> Result<Vec<(String, i64)>> {
    let mut found = Vec::new();
    for chunk in shaped(events) {
        let mut q =
            sqlx::QueryBuilder::<Sqlite>::new("SELECT id, deliveries FROM events WHERE id IN (");
        let mut list = q.separated(", ");
        for e in chunk {
            list.push_bind(e.map(|e| e.id.as_str()));
        }
        q.push(")");
        found.extend(q.build_query_as().fetch_all(&mut **tx).await?);
    }
    Ok(found)
}

/// Inserts new events, in statements of the fixed [`SHAPES`].
pub async fn insert_events(
    tx: &mut Transaction<'static, Sqlite>,
    events: &[(&NewEvent, u64)],
) -> Result<()> {
    for chunk in shaped(events) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
            "INSERT{} INTO events (id, event_type, tenants, channels, data, deliveries, created_at) \
             SELECT * FROM (",
            OR_FAIL
        ));
        q.push_values(chunk, |mut b, row| match row {
            Some((e, n)) => {
                b.push_bind(e.id.as_str())
                    .push_bind(e.event_type.as_str())
                    .push_bind(serde_json::to_string(&e.tenants).unwrap_or_default())
                    .push_bind(serde_json::to_string(&e.channels).unwrap_or_default())
                    .push_bind(e.data.as_str())
                    .push_bind(*n as i64)
                    .push_bind(e.created_at);
            }
            None => push_nulls(&mut b, 7),
        });
        q.push(") WHERE column1 IS NOT NULL");
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Inserts planned deliveries with their ids and due times, in statements of the fixed
/// [`SHAPES`].
pub async fn insert_deliveries(
    tx: &mut Transaction<'static, Sqlite>,
    events: &[NewEvent],
    deliveries: &[PlannedDelivery<'_>],
    placed: &[(DeliveryId, i64)],
) -> Result<()> {
    let rows: Vec<_> = deliveries.iter().zip(placed).collect();
    for chunk in shaped(&rows) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
            "INSERT{} INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT column1, column2, column3, column4, column5, 'pending', 0, column6, \
             column7, column7 FROM (",
            OR_FAIL
        ));
        q.push_values(chunk, |mut b, row| match row {
            Some((d, (id, due))) => {
                let e = &events[d.event];
                b.push_bind(id.as_str())
                    .push_bind(e.id.as_str())
                    .push_bind(d.webhook)
                    .push_bind(d.tenant)
                    .push_bind(e.event_type.as_str())
                    .push_bind(*due)
                    .push_bind(e.created_at);
            }
            None => push_nulls(&mut b, 7),
        });
        q.push(") WHERE column1 IS NOT NULL");
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Records attempt results: each delivery's new state, then the attempts of those that
/// still exist, then the webhooks' failure clocks (writing only rows whose clock changes), then
/// the attempts counted per webhook and hour (`shared/hours.rs`).
/// Multi-row statements of the fixed [`SHAPES`].
pub async fn record(
    tx: &mut Transaction<'static, Sqlite>,
    records: &[AttemptRecord],
    clocks: &[FailureClock<'_>],
) -> Result<()> {
    for chunk in shaped(records) {
        let chunk: Vec<_> = chunk.collect();
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
            "UPDATE{} deliveries SET status = u.column2, attempts = u.column3, \
             next_attempt_at = u.column4, updated_at = u.column5 FROM (",
            OR_FAIL
        ));
        q.push_values(&chunk, |mut b, row| match row {
            Some(r) => {
                b.push_bind(r.delivery_id.as_str())
                    .push_bind(r.status.as_str())
                    .push_bind(i64::from(r.attempt.attempt))
                    .push_bind(r.next_attempt_at)
                    .push_bind(r.attempt.result.started_at + r.attempt.result.latency_ms);
            }
            None => push_nulls(&mut b, 5),
        });
        q.push(") AS u WHERE deliveries.id = u.column1");
        q.build().execute(&mut **tx).await?;
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
            "INSERT{} INTO attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
             status_code, response_body, error, succeeded) \
             SELECT a.column1, a.column2, a.column3, a.column4, a.column5, a.column6, \
             a.column7, a.column8, a.column9, a.column10 FROM (",
            OR_FAIL
        ));
        q.push_values(&chunk, |mut b, row| match row {
            Some(r) => {
                b.push_bind(r.attempt.id.as_str())
                    .push_bind(r.delivery_id.as_str())
                    .push_bind(r.webhook_id.as_str())
                    .push_bind(i64::from(r.attempt.attempt))
                    .push_bind(r.attempt.result.started_at)
                    .push_bind(r.attempt.result.latency_ms)
                    .push_bind(r.attempt.result.status_code.map(i64::from))
                    .push_bind(r.attempt.result.response_body.as_deref())
                    .push_bind(r.attempt.result.error.as_deref())
                    .push_bind(r.attempt.result.succeeded);
            }
            None => push_nulls(&mut b, 10),
        });
        // A delivery deleted (with its webhook) since it was claimed keeps no attempt.
        q.push(") AS a WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.column2)");
        q.build().execute(&mut **tx).await?;
    }
    for chunk in shaped(clocks) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "UPDATE webhooks SET failing_since = k.since FROM (SELECT v.column1 AS id, \
             CASE WHEN v.column2 THEN v.column3 ELSE COALESCE(w.failing_since, v.column3) END \
             AS since FROM (",
        );
        q.push_values(chunk, |mut b, row| match row {
            Some(c) => {
                b.push_bind(c.webhook).push_bind(c.exact).push_bind(c.since);
            }
            None => push_nulls(&mut b, 3),
        });
        q.push(
            ") AS v JOIN webhooks w ON w.id = v.column1) AS k \
             WHERE webhooks.id = k.id AND webhooks.failing_since IS NOT k.since",
        );
        q.build().execute(&mut **tx).await?;
    }
    // Only the hours of webhooks still there: a delivery deleted since it was claimed went
    // with its webhook, in one transaction.
    for chunk in shaped(&hours::count(records)) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO attempt_hours (webhook_id, hour_start, succeeded, failed) \
             SELECT h.column1, h.column2, h.column3, h.column4 FROM (",
        );
        q.push_values(chunk, |mut b, row| match row {
            Some(h) => {
                b.push_bind(h.webhook)
                    .push_bind(h.hour_start)
                    .push_bind(h.succeeded)
                    .push_bind(h.failed);
            }
            None => push_nulls(&mut b, 4),
        });
        // The `WHERE` also tells SQLite's parser that `ON CONFLICT` is the upsert's.
        q.push(") AS h WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.id = h.column1) ")
            .push(hours::ADD_ON_CONFLICT);
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}
