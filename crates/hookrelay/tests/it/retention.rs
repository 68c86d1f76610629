//! Retention: finished deliveries older than the cutoff go with their attempts, pending ones
//! stay however old (a disabled webhook's are held for it), and an event goes once no delivery
//! refers to it. The job runs with a delivering app; on PostgreSQL, a node purges nothing while
//! another holds the purge lock.

use std::collections::HashMap;
use std::time::Duration;

use hookrelay::clock::now_ms;
use hookrelay::ids::{AttemptId, DeliveryId};
use hookrelay::store::{
    Attempt, AttemptRecord, AttemptResult, Claimed, DeliveryStatus, PurgeCursor, Purged, Store,
    postgres::PURGE_LOCK,
};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestReceiver, eventually, policy};

backend_tests!(
    old_finished_deliveries_go_with_their_attempts_and_pending_and_recent_ones_stay,
    the_retention_job_purges_on_a_delivering_app,
);

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Runs `sql` on the app's database: the one number it selects, or the rows it changed.
pub(crate) async fn sql(app: &TestApp, sql: &str) -> i64 {
    let select = sql.starts_with("SELECT");
    match app.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(app.database_url())
                .await
                .unwrap();
            if select {
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            } else {
                let done = sqlx::query(sql).execute(&mut conn).await.unwrap();
                done.rows_affected() as i64
            }
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(app.database_url())
                .await
                .unwrap();
            if select {
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            } else {
                let done = sqlx::query(sql).execute(&mut conn).await.unwrap();
                done.rows_affected() as i64
            }
        }
    }
}

/// Rows of each table: (deliveries, attempts, events).
async fn rows(app: &TestApp) -> (i64, i64, i64) {
    (
        sql(app, "SELECT COUNT(*) FROM deliveries").await,
        sql(app, "SELECT COUNT(*) FROM attempts").await,
        sql(app, "SELECT COUNT(*) FROM events").await,
    )
}

/// A whole pass of batches of `batch`, as the job runs it; answers the totals.
pub(crate) async fn purge_all(store: &dyn Store, before_ms: i64, batch: u32) -> Purged {
    let mut cursor = PurgeCursor::default();
    let mut total = Purged::default();
    for _ in 0..1000 {
        let purged = store.purge(before_ms, batch, &mut cursor).await.unwrap();
        assert!(!purged.elsewhere, "no other node purges");
        total.deliveries += purged.deliveries;
        total.attempts += purged.attempts;
        total.events += purged.events;
        if !purged.more {
            return total;
        }
    }
    panic!("a purge pass never ended");
}

/// An attempt on a claimed delivery that leaves it `status`.
fn attempt(c: &Claimed, status: DeliveryStatus) -> AttemptRecord {
    let now = now_ms();
    AttemptRecord {
        delivery_id: c.id.clone(),
        webhook_id: c.webhook.id.clone(),
        attempt: Attempt {
            id: AttemptId::generate(),
            attempt: c.attempts + 1,
            result: AttemptResult {
                started_at: now,
                latency_ms: 1,
                status_code: Some(if status == DeliveryStatus::Succeeded {
                    200
                } else {
                    500
                }),
                response_body: None,
                error: None,
                succeeded: status == DeliveryStatus::Succeeded,
            },
        },
        gone: false,
        status,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(now + HOUR_MS),
        ordering_key: None,
    }
}

/// Every due delivery, leased, by (event id, webhook id).
async fn claim_all(store: &dyn Store) -> HashMap<(String, String), Claimed> {
    let now = now_ms() + 1;
    let mut all = |_: &str, _: i64, _: &str| true;
    let claimed = store
        .claim_due(now, 100, now + 60_000, &mut None, &mut all)
        .await
        .unwrap();
    claimed
        .into_iter()
        .map(|c| ((c.event_id.to_string(), c.webhook.id.to_string()), c))
        .collect()
}

async fn old_finished_deliveries_go_with_their_attempts_and_pending_and_recent_ones_stay(
    app: &mut TestApp,
) {
    // Results are recorded by hand, so nothing must deliver meanwhile.
    app.stop().await;
    let node = app.spawn_peer(|c| c.deliver = false).await;
    let store = node.store.clone().unwrap();
    let a = node
        .create_webhook(json!({"url": "http://127.0.0.1:9/a"}))
        .await;
    let b = node
        .create_webhook(json!({"url": "http://127.0.0.1:9/b"}))
        .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    node.create_tenant("nobody").await;
    // An event no webhook receives: no delivery ever refers to it.
    node.publish(json!({"id": "unheard", "type": "a.b", "data": {}, "tenant": "nobody"}))
        .await;
    for id in ["old-1", "old-2"] {
        node.publish(json!({"id": id, "type": "a.b", "data": {}}))
            .await;
    }
    let claimed = claim_all(&*store).await;
    assert_eq!(claimed.len(), 4);
    let of = |event: &str, webhook: &str| &claimed[&(event.to_owned(), webhook.to_owned())];
    let records = [
        attempt(of("old-1", a), DeliveryStatus::Succeeded),
        // Failed once, to be retried: pending, then held while its webhook is disabled.
        attempt(of("old-1", b), DeliveryStatus::Pending),
        attempt(of("old-2", a), DeliveryStatus::Failed),
        attempt(of("old-2", b), DeliveryStatus::Succeeded),
    ];
    store.record_attempts(&records, &policy()).await.unwrap();
    let (status, _) = node
        .patch(&format!("/v1/webhooks/{b}"), json!({"active": false}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Everything above is older than the cutoff; what follows is not.
    let cutoff = now_ms() + 1;
    eventually(
        Duration::from_secs(1),
        "the clock passes the cutoff",
        || async { now_ms() >= cutoff },
    )
    .await;
    node.publish(json!({"id": "recent", "type": "a.b", "data": {}}))
        .await;
    let claimed = claim_all(&*store).await;
    assert_eq!(claimed.len(), 1, "only the active webhook receives it");
    let recent = claimed[&("recent".to_owned(), a.to_owned())].clone();
    let done = attempt(&recent, DeliveryStatus::Succeeded);
    store.record_attempts(&[done], &policy()).await.unwrap();
    assert_eq!(rows(&node).await, (5, 5, 4));

    // Batches of 2: the pass walks on from batch to batch.
    let purged = purge_all(&*store, cutoff, 2).await;
    assert_eq!(
        (purged.deliveries, purged.attempts, purged.events),
        (3, 3, 0)
    );
    let held = &of("old-1", b).id;
    let detail = store.get_delivery(None, held).await.unwrap();
    let (delivery, attempts) = (detail.delivery, detail.attempts);
    assert_eq!(
        delivery.status,
        DeliveryStatus::Pending,
        "a held delivery stays"
    );
    assert_eq!(attempts.len(), 1, "with its attempts");
    let attempts = store.get_delivery(None, &recent.id).await.unwrap().attempts;
    assert_eq!(
        attempts.len(),
        1,
        "a recent delivery stays, with its attempts"
    );
    assert_eq!(
        rows(&node).await,
        (2, 2, 4),
        "events wait an hour past the cutoff"
    );

    // Much later: every finished delivery is old, and so are the events. `old-1` stays while
    // its held delivery refers to it.
    let later = now_ms() + 2 * HOUR_MS;
    let purged = purge_all(&*store, later, 2).await;
    assert_eq!(
        (purged.deliveries, purged.attempts, purged.events),
        (1, 1, 3)
    );
    assert_eq!(rows(&node).await, (1, 1, 1));
    let kept = sql(&node, "SELECT COUNT(*) FROM events WHERE id = 'old-1'").await;
    assert_eq!(kept, 1);

    // Once it is finished, it goes, and its event with it.
    let attempts = store.get_delivery(None, held).await.unwrap().attempts;
    let mut last = attempt(of("old-1", b), DeliveryStatus::Failed);
    last.attempt.attempt = attempts.len() as u32 + 1;
    store.record_attempts(&[last], &policy()).await.unwrap();
    let purged = purge_all(&*store, later, 2).await;
    assert_eq!(
        (purged.deliveries, purged.attempts, purged.events),
        (1, 2, 1)
    );
    assert_eq!(rows(&node).await, (0, 0, 0));
    assert_eq!(purge_all(&*store, later, 2).await, Purged::default());
    node.teardown().await;
    app.restart().await;
}

async fn the_retention_job_purges_on_a_delivering_app(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let w = w["id"].as_str().unwrap();
    app.publish(json!({"id": "aged", "type": "a.b", "data": {}}))
        .await;
    let aged = app.wait_for_delivery(w, "succeeded").await;
    app.publish(json!({"id": "fresh", "type": "a.b", "data": {}}))
        .await;
    receiver.wait_for(2).await;
    eventually(
        Duration::from_secs(10),
        "both attempts recorded",
        || async { sql(app, "SELECT COUNT(*) FROM attempts").await == 2 },
    )
    .await;
    app.stop().await;

    // Thirty-one days pass for the first delivery and its event (ids carry their time).
    let old = now_ms() - 31 * DAY_MS;
    let id = aged["id"].as_str().unwrap();
    let old_id = DeliveryId::lower_bound(old);
    let moved = sql(
        app,
        &format!("UPDATE attempts SET delivery_id = '{old_id}' WHERE delivery_id = '{id}'"),
    )
    .await;
    assert_eq!(moved, 1);
    let aged_rows = [
        format!("UPDATE deliveries SET id = '{old_id}', created_at = {old} WHERE id = '{id}'"),
        format!("UPDATE events SET created_at = {old} WHERE id = 'aged'"),
    ];
    for statement in &aged_rows {
        assert_eq!(sql(app, statement).await, 1, "{statement}");
    }

    // The job's first pass runs at start.
    app.restart().await;
    eventually(Duration::from_secs(20), "the aged rows purged", || async {
        rows(app).await == (1, 1, 1)
    })
    .await;
    let fresh = sql(app, "SELECT COUNT(*) FROM events WHERE id = 'fresh'").await;
    assert_eq!(fresh, 1, "what is younger than retention_days stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_node_purges_nothing_while_another_holds_the_purge_lock() {
    let Some(mut app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    app.stop().await;
    let node = app.spawn_peer(|c| c.deliver = false).await;
    let store = node.store.clone().unwrap();
    node.create_webhook(json!({"url": "http://127.0.0.1:9/a"}))
        .await;
    node.publish(json!({"type": "a.b", "data": {}})).await;
    let records: Vec<AttemptRecord> = claim_all(&*store)
        .await
        .values()
        .map(|c| attempt(c, DeliveryStatus::Succeeded))
        .collect();
    store.record_attempts(&records, &policy()).await.unwrap();
    let later = now_ms() + 2 * HOUR_MS;

    // Another node is in the middle of a batch: it holds the lock in its transaction.
    let mut other = sqlx::PgConnection::connect(node.database_url())
        .await
        .unwrap();
    let mut batch = other.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
        .bind(PURGE_LOCK)
        .execute(&mut *batch)
        .await
        .unwrap();
    let purged = store
        .purge(later, 100, &mut PurgeCursor::default())
        .await
        .unwrap();
    assert!(purged.elsewhere, "{purged:?}");
    assert_eq!((purged.deliveries, purged.more), (0, false));
    assert_eq!(rows(&node).await, (1, 1, 1), "nothing was deleted");

    // Its batch over, this node purges.
    batch.rollback().await.unwrap();
    let purged = purge_all(&*store, later, 100).await;
    assert_eq!(
        (purged.deliveries, purged.attempts, purged.events),
        (1, 1, 1)
    );
    node.teardown().await;
    app.restart().await;
    app.teardown().await;
}
