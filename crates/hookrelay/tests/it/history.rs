//! A past delivery log written straight into the database, as hookrelay writes it (ids are the
//! prefix and a ULID of the row's time, so they sort as the store's index ranges and cursors
//! expect): for tests of what the dashboard reads from hours or days of deliveries, which
//! publishing now could not date, or from thousands, which publishing would make slow.

use crate::helpers::{Backend, TestApp};

/// One past delivery, finished with one attempt at `at`.
pub(crate) struct Past<'a> {
    /// Unix ms.
    pub at: i64,
    pub succeeded: bool,
    pub event_type: &'a str,
}

/// Rows per statement, well under both databases' limits on bound text.
const CHUNK: usize = 400;

/// Writes `deliveries` of `webhook` (of `tenant`), each with its attempt, counted in their
/// hours as the recorder counts them; answers their ids.
pub(crate) async fn write(
    app: &TestApp,
    tenant: &str,
    webhook: &str,
    deliveries: &[Past<'_>],
) -> Vec<String> {
    // A random middle keeps ids unique across calls; the counter keeps one call's rows of the
    // same millisecond in order.
    let salt = uuid::Uuid::new_v4().as_u128() & ((1 << 48) - 1);
    let id = |prefix: &str, at: i64, n: usize| {
        let random = (salt << 32) | n as u128;
        format!("{prefix}{}", ulid::Ulid::from_parts(at as u64, random))
    };
    let mut ids = Vec::with_capacity(deliveries.len());
    let mut statements = Vec::new();
    for (c, chunk) in deliveries.chunks(CHUNK).enumerate() {
        let mut d_rows = Vec::with_capacity(chunk.len());
        let mut a_rows = Vec::with_capacity(chunk.len());
        for (i, p) in chunk.iter().enumerate() {
            let n = c * CHUNK + i;
            let dlv = id("dlv_", p.at, n);
            let (status, code, ok) = if p.succeeded {
                ("succeeded", 200, "TRUE")
            } else {
                ("failed", 500, "FALSE")
            };
            d_rows.push(format!(
                "('{dlv}', '{}', '{webhook}', '{tenant}', '{}', '{status}', 1, NULL, {}, {})",
                id("evt_", p.at, n),
                p.event_type,
                p.at,
                p.at + 50
            ));
            a_rows.push(format!(
                "('{}', '{dlv}', '{webhook}', 1, {}, 20, {code}, 'ok', NULL, {ok})",
                id("att_", p.at, n),
                p.at + 5
            ));
            ids.push(dlv);
        }
        statements.push(format!(
            "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
             attempts, next_attempt_at, created_at, updated_at) VALUES {}",
            d_rows.join(", ")
        ));
        statements.push(format!(
            "INSERT INTO attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, \
             status_code, response_body, error, succeeded) VALUES {}",
            a_rows.join(", ")
        ));
    }
    // The hourly counts the recorder keeps with every attempt it writes (shared/hours.rs).
    let mut hours = std::collections::BTreeMap::<i64, (i64, i64)>::new();
    for p in deliveries {
        let at = p.at + 5;
        let hour = hours.entry(at - at.rem_euclid(3_600_000)).or_default();
        if p.succeeded {
            hour.0 += 1;
        } else {
            hour.1 += 1;
        }
    }
    if !hours.is_empty() {
        let rows: Vec<String> = hours
            .iter()
            .map(|(hour, (ok, bad))| format!("('{webhook}', {hour}, {ok}, {bad})"))
            .collect();
        statements.push(format!(
            "INSERT INTO attempt_hours (webhook_id, hour_start, succeeded, failed) VALUES {} \
             ON CONFLICT (webhook_id, hour_start, writer) DO UPDATE SET \
             succeeded = attempt_hours.succeeded + excluded.succeeded, \
             failed = attempt_hours.failed + excluded.failed",
            rows.join(", ")
        ));
    }
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(app.database_url()).await.unwrap();
            for sql in &statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
            for sql in &statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
    ids
}
