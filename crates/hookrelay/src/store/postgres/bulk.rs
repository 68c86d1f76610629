//! PostgreSQL's bulk writes on the hot path: events and deliveries as a publish writes them,
//! and attempt results as the recorder writes them. Each binds one array per column, so a
//! statement's text never changes with its row count (prepared once per connection).

use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Transaction};

use crate::ids::DeliveryId;
use crate::store::backend::FailureClock;
use crate::store::plan::PlannedDelivery;
use crate::store::shared::hours::ADD_ON_CONFLICT;
use crate::store::{AttemptRecord, NewEvent, Result};

/// Rows per bulk statement. One statement for a whole group commit (up to 2,000 events, 200,000
/// deliveries in a fan-out) encoded every array at once: RSS rose from ~100 MB to 270 MB while a
/// backlog of a million deliveries was being published.
const ARRAY_CHUNK: usize = 1_000;

/// One column of `rows`, as the array a bulk statement binds.
fn column<'r, R, T>(rows: &'r [R], value: impl Fn(&'r R) -> T) -> Vec<T> {
    rows.iter().map(value).collect()
}

/// The `(id, deliveries)` of those of `events` already stored. One array parameter, so
/// one statement text whatever the batch size.
pub async fn published_before(
    tx: &mut Transaction<'static, Postgres>,
    events: &[NewEvent],
) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT id, deliveries FROM events WHERE id = ANY($1::text[])")
            .bind(column(events, |e| e.id.as_str()))
            .fetch_all(&mut **tx)
            .await?,
    )
}

/// Inserts new events, a parameter array per column: one statement text whatever the
/// count (prepared once per connection), [`ARRAY_CHUNK`] rows per statement.
pub async fn insert_events(
    tx: &mut Transaction<'static, Postgres>,
    events: &[(&NewEvent, u64)],
) -> Result<()> {
    for chunk in events.chunks(ARRAY_CHUNK) {
        sqlx::query(
            "INSERT INTO events (id, event_type, tenants, channels, data, deliveries, created_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::int8[], $7::int8[])",
        )
        .bind(column(chunk, |(e, _)| e.id.as_str()))
        .bind(column(chunk, |(e, _)| e.event_type.as_str()))
        .bind(column(chunk, |(e, _)| {
            serde_json::to_string(&e.tenants).unwrap_or_default()
        }))
        .bind(column(chunk, |(e, _)| {
            serde_json::to_string(&e.channels).unwrap_or_default()
        }))
        .bind(column(chunk, |(e, _)| e.data.as_str()))
        .bind(column(chunk, |(_, n)| *n as i64))
        .bind(column(chunk, |(e, _)| e.created_at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Inserts planned deliveries with their ids and due times, as [`insert_events`]
/// does.
pub async fn insert_deliveries(
    tx: &mut Transaction<'static, Postgres>,
    events: &[NewEvent],
    deliveries: &[PlannedDelivery<'_>],
    placed: &[(DeliveryId, i64)],
) -> Result<()> {
    let event = |d: &PlannedDelivery<'_>| &events[d.event];
    for (chunk, placed) in deliveries
        .chunks(ARRAY_CHUNK)
        .zip(placed.chunks(ARRAY_CHUNK))
    {
        sqlx::query(
            "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT id, event_id, webhook_id, tenant_id, event_type, 'pending', 0, due, \
             created_at, created_at \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::int8[], $7::int8[]) AS d(id, event_id, webhook_id, tenant_id, event_type, \
             due, created_at)",
        )
        .bind(column(placed, |(id, _)| id.as_str()))
        .bind(column(chunk, |d| event(d).id.as_str()))
        .bind(column(chunk, |d| d.webhook))
        .bind(column(chunk, |d| d.tenant))
        .bind(column(chunk, |d| event(d).event_type.as_str()))
        .bind(column(placed, |(_, due)| *due))
        .bind(column(chunk, |d| event(d).created_at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Records attempt results in one statement per batch: the deliveries' new state, then
/// the attempts of those the update found (a delivery deleted with its webhook since it
/// was claimed keeps none), and the webhooks' failure clocks (writing only rows whose clock
/// changes), and the attempts counted per webhook and hour in this node's rows (`writer`, see
/// `shared/hours.rs`). The update locks the deliveries, so a deletion waits for it.
/// Rows travel as one array per column: the statement text never changes (prepared once
/// per connection, however many rows), and the planner, which cannot see how many rows a
/// parameter array holds, probes the primary key per row instead of choosing to hash a
/// scan of the whole table as it did for a literal `VALUES` list of a few hundred rows.
pub async fn record(
    conn: &mut PgConnection,
    records: &[AttemptRecord],
    clocks: &[FailureClock<'_>],
    writer: i32,
) -> Result<()> {
    // The deliveries' rows are locked in id order, as every other write of many deliveries
    // locks them (an index walk of `id = ANY`, the lease write of a partition given up): in
    // batch order, a recorder and another node's lease write deadlocked, each holding rows the
    // other wanted, until PostgreSQL's check a second later broke one of them.
    let mut sorted: Vec<&AttemptRecord> = records.iter().collect();
    sorted.sort_unstable_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
    let records = sorted.as_slice();
    // A webhook whose attempts all succeeded stops its clock, if one runs: a probe of the small
    // index of running clocks (migration 0011), not of every webhook in a fan-out batch.
    let (stopped, failing): (Vec<FailureClock<'_>>, Vec<FailureClock<'_>>) = clocks
        .iter()
        .copied()
        .partition(|c| c.exact && c.since.is_none());
    sqlx::query(&format!(
        "WITH v AS ( \
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
            $6::int8[], $7::int8[], $8::text[], $9::text[], $10::bool[], $11::text[], \
            $12::int8[]) AS v(id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
            status_code, response_body, error, succeeded, status, next_attempt_at) \
         ), u AS ( \
            UPDATE deliveries SET status = v.status, attempts = v.attempt, \
            next_attempt_at = v.next_attempt_at, updated_at = v.started_at + v.latency_ms \
            FROM v WHERE deliveries.id = v.delivery_id RETURNING deliveries.id \
         ), stopped AS ( \
            UPDATE webhooks SET failing_since = NULL \
            WHERE failing_since IS NOT NULL AND id = ANY($13::text[]) \
         ), k AS ( \
            SELECT k.id, CASE WHEN k.exact THEN k.since \
            ELSE COALESCE(w.failing_since, k.since) END AS since \
            FROM unnest($14::text[], $15::bool[], $16::int8[]) AS k(id, exact, since) \
            JOIN webhooks w ON w.id = k.id \
         ), kept AS ( \
            UPDATE webhooks SET failing_since = k.since FROM k \
            WHERE webhooks.id = k.id AND webhooks.failing_since IS DISTINCT FROM k.since \
         ), hours AS ( \
            INSERT INTO attempt_hours (webhook_id, hour_start, writer, succeeded, failed) \
            SELECT webhook_id, started_at - started_at % 3600000, $17::int4, \
            count(*) FILTER (WHERE succeeded), count(*) FILTER (WHERE NOT succeeded) \
            FROM v WHERE delivery_id IN (SELECT id FROM u) GROUP BY 1, 2 ORDER BY 1, 2 \
            {ADD_ON_CONFLICT} \
         ) \
         INSERT INTO attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
            status_code, response_body, error, succeeded) \
         SELECT id, delivery_id, webhook_id, attempt, started_at, latency_ms, status_code, \
            response_body, error, succeeded FROM v WHERE delivery_id IN (SELECT id FROM u)"
    ))
    .bind(column(records, |r| r.attempt.id.as_str()))
    .bind(column(records, |r| r.delivery_id.as_str()))
    .bind(column(records, |r| r.webhook_id.as_str()))
    .bind(column(records, |r| i64::from(r.attempt.attempt)))
    .bind(column(records, |r| r.attempt.result.started_at))
    .bind(column(records, |r| r.attempt.result.latency_ms))
    .bind(column(records, |r| {
        r.attempt.result.status_code.map(i64::from)
    }))
    .bind(column(records, |r| {
        r.attempt.result.response_body.as_deref()
    }))
    .bind(column(records, |r| r.attempt.result.error.as_deref()))
    .bind(column(records, |r| r.attempt.result.succeeded))
    .bind(column(records, |r| r.status.as_str()))
    .bind(column(records, |r| r.next_attempt_at))
    .bind(column(&stopped, |c| c.webhook))
    .bind(column(&failing, |c| c.webhook))
    .bind(column(&failing, |c| c.exact))
    .bind(column(&failing, |c| c.since))
    .bind(writer)
    .execute(conn)
    .await?;
    Ok(())
}
