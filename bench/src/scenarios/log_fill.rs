//! A large delivery log written straight into the database, for the `dashboard` scenario:
//! three `INSERT … SELECT` statements over a generated series (one per table: events,
//! deliveries, attempts) and the attempts' hourly counts the recorder would have kept, run by `psql` or `sqlite3` while hookrelay is stopped. Publishing a
//! million events would take minutes and would date them all "now"; this spreads them over the
//! last 30 days, as a month of traffic is, in seconds.
//!
//! The rows are what hookrelay itself writes: ids are the prefix and a ULID of the row's time
//! (48-bit milliseconds, then a counter in place of the random part), so they sort by time as
//! the store's index ranges and cursors expect; every delivery is finished (none is due, so no
//! worker would touch them), with one attempt: one in twenty failed with a 500, the rest
//! succeeded with latencies from 5 to 404 ms.

/// Crockford's base32 alphabet, as a SQL string.
const CROCKFORD: &str = "'0123456789ABCDEFGHJKMNPQRSTVWXYZ'";

/// The event types the log's deliveries have, in turn.
pub const EVENT_TYPES: [&str; 5] = [
    "order.created",
    "order.paid",
    "user.created",
    "invoice.paid",
    "meeting.ended",
];

/// Which SQL dialect to write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35 or later.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// What to write.
pub struct Fill<'a> {
    /// Deliveries (and events, and attempts), one each per row of the series.
    pub deliveries: u64,
    /// The tenant the webhooks belong to.
    pub tenant: &'a str,
    /// The webhook that gets nine deliveries in ten.
    pub busy: &'a str,
    /// The webhooks that share the tenth, in turn.
    pub others: &'a [String],
    /// The newest delivery's time (unix ms); the oldest is 30 days before.
    pub until_ms: i64,
}

/// `chars` Crockford digits of the integer SQL expression `value`, most significant first
/// (`chars * 5` bits).
fn base32(value: &str, chars: u32) -> String {
    (0..chars)
        .map(|i| {
            let shift = 5 * (chars - 1 - i);
            format!("substr({CROCKFORD}, CAST((({value}) >> {shift}) & 31 AS INTEGER) + 1, 1)")
        })
        .collect::<Vec<_>>()
        .join(" || ")
}

impl Fill<'_> {
    /// The SQL script: one transaction, then statistics for the planner.
    pub fn script(&self, dialect: Dialect) -> String {
        let n = self.deliveries.max(1);
        let span: i64 = 30 * 24 * 3_600_000;
        let step = (span / n as i64).max(1);
        let start = self.until_ms - step * (n as i64 - 1);
        let series = match dialect {
            Dialect::Sqlite => format!(
                "(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {}) \
                 SELECT n FROM s) AS g",
                n - 1
            ),
            Dialect::Postgres => format!("generate_series(0::bigint, {}) AS g(n)", n - 1),
        };
        let at = format!("({start} + n * {step})");
        // The time part of a ULID, then a counter where its random part goes.
        let ulid = |prefix: &str| {
            format!(
                "'{prefix}' || {} || '000000' || {}",
                base32(&at, 10),
                base32("n", 10)
            )
        };
        let types = EVENT_TYPES
            .iter()
            .enumerate()
            .map(|(i, t)| format!("WHEN {i} THEN '{t}' "))
            .collect::<String>();
        let event_type = format!("(CASE n % {} {types}END)", EVENT_TYPES.len());
        let webhook = if self.others.is_empty() {
            format!("'{}'", self.busy)
        } else {
            let others = self
                .others
                .iter()
                .enumerate()
                .map(|(i, w)| format!("WHEN {i} THEN '{w}' "))
                .collect::<String>();
            format!(
                "(CASE WHEN n % 10 = 9 THEN (CASE (n / 10) % {} {others}END) ELSE '{}' END)",
                self.others.len(),
                self.busy
            )
        };
        let ok = "(n % 20 <> 0)";
        let tenant = self.tenant;
        let (begin, after) = match dialect {
            Dialect::Sqlite => ("PRAGMA synchronous = OFF;\nBEGIN;", "ANALYZE;"),
            Dialect::Postgres => (
                "BEGIN;",
                // What autovacuum (and the store's own ANALYZE as it writes) would have done
                // over a month: statistics, and the visibility map index-only scans need.
                "VACUUM ANALYZE events; VACUUM ANALYZE deliveries; VACUUM ANALYZE attempts; \
                 VACUUM ANALYZE attempt_hours;",
            ),
        };
        format!(
            "{begin}
INSERT INTO events (id, event_type, tenants, channels, data, deliveries, created_at)
SELECT {evt}, {event_type}, '[\"{tenant}\"]', '[]', '{{\"n\":' || n || '}}', 1, {at} FROM {series};
INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts,
    next_attempt_at, created_at, updated_at)
SELECT {dlv}, {evt}, {webhook}, '{tenant}', {event_type},
    CASE WHEN {ok} THEN 'succeeded' ELSE 'failed' END, 1, NULL, {at}, {at} + 50 FROM {series};
INSERT INTO attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, status_code,
    response_body, error, succeeded)
SELECT {att}, {dlv}, {webhook}, 1, {at} + 5, 5 + (n * 7919) % 400,
    CASE WHEN {ok} THEN 200 ELSE 500 END,
    CASE WHEN {ok} THEN 'ok' ELSE 'receiver error' END,
    CASE WHEN {ok} THEN NULL ELSE 'HTTP 500' END, {ok} FROM {series};
INSERT INTO attempt_hours (webhook_id, hour_start, succeeded, failed)
SELECT webhook_id, started_at - started_at % 3600000,
    SUM(CASE WHEN succeeded THEN 1 ELSE 0 END), SUM(CASE WHEN succeeded THEN 0 ELSE 1 END)
FROM attempts WHERE true GROUP BY 1, 2
ON CONFLICT (webhook_id, hour_start, writer) DO UPDATE SET succeeded = excluded.succeeded,
    failed = excluded.failed;
COMMIT;
{after}
",
            evt = ulid("evt_"),
            dlv = ulid("dlv_"),
            att = ulid("att_"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_every_table_in_one_transaction() {
        let fill = Fill {
            deliveries: 10,
            tenant: "acme",
            busy: "wh_a",
            others: &["wh_b".to_owned()],
            until_ms: 1_795_600_000_000,
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let sql = fill.script(dialect);
            for table in ["events", "deliveries", "attempts"] {
                assert!(sql.contains(&format!("INSERT INTO {table} (")), "{table}");
            }
            assert!(sql.contains("BEGIN;") && sql.contains("COMMIT;"));
        }
        assert!(
            fill.script(Dialect::Postgres)
                .contains("generate_series(0::bigint, 9)")
        );
        // Ten digits of the time, most significant (bits 45 to 49) first.
        assert!(
            base32("t", 10)
                .starts_with("substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', CAST(((t) >> 45) & 31")
        );
    }
}
