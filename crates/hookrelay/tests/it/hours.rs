//! The attempts counted per webhook and hour (`attempt_hours`, store/shared/hours.rs), on both
//! backends: the recorder's counts equal the attempts it wrote, over a real pipeline with
//! retries, failures and a test send; retention deletes hours older than 31 days and keeps the
//! rest; deleting a webhook deletes its hours and no other's.

use std::time::Duration;

use hookrelay::clock::now_ms;
use hookrelay::ids::{TenantId, WebhookId};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver, eventually};
use crate::retention::{purge_all, sql};

backend_tests!(attempts_are_counted_per_hour_and_go_with_their_webhook_or_their_age,);

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A webhook's counted (succeeded, failed), and its attempts' as the log holds them.
async fn counted_and_logged(app: &TestApp, webhook: &str) -> ((i64, i64), (i64, i64)) {
    // PostgreSQL sums a bigint column as a numeric.
    let sum = |what: &str, table: &str| {
        format!(
            "SELECT CAST(COALESCE(SUM({what}), 0) AS BIGINT) FROM {table} \
             WHERE webhook_id = '{webhook}'"
        )
    };
    let counted = (
        sql(app, &sum("succeeded", "attempt_hours")).await,
        sql(app, &sum("failed", "attempt_hours")).await,
    );
    let logged = (
        sql(
            app,
            &sum("CASE WHEN succeeded THEN 1 ELSE 0 END", "attempts"),
        )
        .await,
        sql(
            app,
            &sum("CASE WHEN succeeded THEN 0 ELSE 1 END", "attempts"),
        )
        .await,
    );
    (counted, logged)
}

async fn attempts_are_counted_per_hour_and_go_with_their_webhook_or_their_age(app: &mut TestApp) {
    let app = &*app;
    let receiver = TestReceiver::spawn().await;
    let a = app
        .create_webhook(json!({"url": receiver.url("/a"), "retry_schedule": [1, 1]}))
        .await;
    let a = a["id"].as_str().unwrap().to_owned();
    let b = app
        .create_webhook(json!({"url": receiver.url("/b"), "retry_schedule": []}))
        .await;
    let b = b["id"].as_str().unwrap().to_owned();

    // Every third answer fails: some deliveries succeed on a retry, some of the second
    // webhook's fail for good; the recorder writes them in batches as they come.
    receiver.script(&[500, 200, 200].repeat(40));
    for n in 0..60 {
        app.publish(json!({"type": "order.created", "data": {"n": n}}))
            .await;
    }
    let (status, out) = app
        .post(
            &format!("/v1/webhooks/{a}/test"),
            json!({"event_type": "order.created"}),
        )
        .await;
    assert!(status.is_success(), "{out}");
    eventually(
        Duration::from_secs(30),
        "every delivery finished",
        || async {
            let all = sql(app, "SELECT COUNT(*) FROM deliveries").await;
            let pending = sql(
                app,
                "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'",
            )
            .await;
            all == 121 && pending == 0
        },
    )
    .await;
    let mut failed = 0;
    for webhook in [&a, &b] {
        let (counted, logged) = counted_and_logged(app, webhook).await;
        assert_eq!(counted, logged, "{webhook}");
        failed += counted.1;
    }
    assert!(failed > 0, "some attempts failed");
    // A row per webhook, hour and writer (the test send's are writer 0; on PostgreSQL the
    // node's recorder draws another), and the hour may have turned meanwhile.
    let hours = sql(app, "SELECT COUNT(*) FROM attempt_hours").await;
    assert!(hours <= 6, "a row per webhook, hour and writer: {hours}");

    // Another writer's row of the same hour (another node's recorder) adds to what is read.
    let store = app.store.clone().expect("a running app");
    let read = || async {
        // The admin's webhooks are the default tenant's.
        let tenant = TenantId::default_tenant();
        let hours = (store.attempt_hours(&tenant, &[WebhookId::from_trusted(b.clone())], 0))
            .await
            .unwrap();
        let rows = hours.len();
        let total = hours
            .iter()
            .map(|h| (h.succeeded, h.failed))
            .fold((0, 0), |t, h| (t.0 + h.0, t.1 + h.1));
        (rows, total)
    };
    let (rows, (ok, bad)) = read().await;
    let counted = counted_and_logged(app, &b).await.0;
    assert_eq!((ok as i64, bad as i64), counted);
    sql(
        app,
        &format!(
            "INSERT INTO attempt_hours (webhook_id, hour_start, writer, succeeded, failed) \
             SELECT webhook_id, hour_start, 7, 5, 2 FROM attempt_hours \
             WHERE webhook_id = '{b}' ORDER BY hour_start LIMIT 1"
        ),
    )
    .await;
    assert_eq!(
        read().await,
        (rows, (ok + 5, bad + 2)),
        "summed, one per hour"
    );

    // Retention: an hour 40 days old goes, one 20 days old stays, whatever the log keeps.
    let now = now_ms();
    let hour = |ago: i64| {
        let at = now - ago;
        at - at.rem_euclid(HOUR_MS)
    };
    for ago in [40 * DAY_MS, 20 * DAY_MS] {
        sql(
            app,
            &format!(
                "INSERT INTO attempt_hours (webhook_id, hour_start, succeeded, failed) \
                 VALUES ('{b}', {}, 7, 1)",
                hour(ago)
            ),
        )
        .await;
    }
    purge_all(&*store, now - 90 * DAY_MS, 100).await;
    let kept = |ago| {
        format!(
            "SELECT COUNT(*) FROM attempt_hours WHERE webhook_id = '{b}' AND hour_start = {}",
            hour(ago)
        )
    };
    assert_eq!(sql(app, &kept(40 * DAY_MS)).await, 0);
    assert_eq!(sql(app, &kept(20 * DAY_MS)).await, 1);

    // Deleting a webhook deletes its hours, and only its.
    let (status, _) = app.delete(&format!("/v1/webhooks/{a}")).await;
    assert!(status.is_success());
    let rows = |w: &str| format!("SELECT COUNT(*) FROM attempt_hours WHERE webhook_id = '{w}'");
    assert_eq!(sql(app, &rows(&a)).await, 0);
    assert!(sql(app, &rows(&b)).await >= 2);
}
