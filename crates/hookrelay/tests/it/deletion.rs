//! Deleting a webhook or a tenant deletes what hangs off it (deliveries and attempts carry no
//! foreign keys; the store does it), and a result that arrives for a delivery deleted
//! meanwhile is dropped without failing the rest of its batch.

use hookrelay::clock::now_ms;
use hookrelay::ids::{AttemptId, DeliveryId};
use hookrelay::store::{Attempt, AttemptRecord, AttemptResult, Claimed, DeliveryStatus, Error};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, policy};

backend_tests!(
    deleting_a_webhook_deletes_its_deliveries_and_attempts_and_drops_their_late_results,
    deleting_a_tenant_deletes_its_webhooks_deliveries_and_attempts,
);

/// Rows of `table` whose `column` is one of `ids`, read straight from the database.
async fn rows(app: &TestApp, table: &str, column: &str, ids: &[&str]) -> i64 {
    let list = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} IN ({list})");
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(app.database_url()).await.unwrap();
            let n = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
            let n = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

/// A succeeded first attempt of `c` at `at`, as the recorder writes it.
pub(crate) fn delivered(c: &Claimed, at: i64) -> AttemptRecord {
    AttemptRecord {
        delivery_id: c.id.clone(),
        webhook_id: c.webhook.id.clone(),
        attempt: Attempt {
            id: AttemptId::generate(),
            attempt: 1,
            result: AttemptResult {
                started_at: at,
                latency_ms: 1,
                status_code: Some(200),
                response_body: None,
                error: None,
                succeeded: true,
            },
        },
        gone: false,
        status: DeliveryStatus::Succeeded,
        next_attempt_at: None,
        ordering_key: None,
    }
}

async fn deleting_a_webhook_deletes_its_deliveries_and_attempts_and_drops_their_late_results(
    app: &mut TestApp,
) {
    app.stop().await;
    let node = app.spawn_peer(|c| c.deliver = false).await;
    let mut webhooks = Vec::new();
    for path in ["a", "b"] {
        let w = node
            .create_webhook(json!({"url": format!("http://127.0.0.1:9/{path}")}))
            .await;
        webhooks.push(w["id"].as_str().unwrap().to_owned());
    }
    for i in 0..2 {
        node.publish(json!({"type": "a.b", "data": {"i": i}})).await;
    }
    let store = node.store.as_ref().unwrap();
    let now = now_ms() + 1;
    let mut all = |_: &str, _: i64, _: &str| true;
    let claimed = store
        .claim_due(now, 10, now + 60_000, &mut None, &mut all)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    let (of_a, of_b): (Vec<&Claimed>, Vec<&Claimed>) = claimed
        .iter()
        .partition(|c| c.webhook.id.as_str() == webhooks[0]);
    let a_ids: Vec<&str> = of_a.iter().map(|c| c.id.as_str()).collect();
    // One of A's results is in before the deletion, the other arrives after it.
    store
        .record_attempts(&[delivered(of_a[0], now)], &policy())
        .await
        .unwrap();
    assert_eq!(rows(&node, "attempts", "delivery_id", &a_ids).await, 1);

    let (status, _) = node.delete(&format!("/v1/webhooks/{}", webhooks[0])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        rows(&node, "deliveries", "webhook_id", &[&webhooks[0]]).await,
        0
    );
    assert_eq!(rows(&node, "attempts", "delivery_id", &a_ids).await, 0);

    let late: Vec<AttemptRecord> = [of_a[1], of_b[0], of_b[1]]
        .into_iter()
        .map(|c| delivered(c, now))
        .collect();
    store.record_attempts(&late, &policy()).await.unwrap();
    assert_eq!(
        rows(&node, "attempts", "delivery_id", &a_ids).await,
        0,
        "no attempt is kept for a deleted delivery"
    );
    for c in &of_b {
        let detail = store.get_delivery(None, &c.id).await.unwrap();
        assert_eq!(detail.delivery.status, DeliveryStatus::Succeeded);
        assert_eq!(
            detail.attempts.len(),
            1,
            "the rest of the batch is recorded"
        );
    }
    let gone = DeliveryId::from_trusted(a_ids[1].to_owned());
    assert!(matches!(
        store.get_delivery(None, &gone).await,
        Err(Error::NotFound)
    ));
    node.teardown().await;
    app.restart().await;
}

async fn deleting_a_tenant_deletes_its_webhooks_deliveries_and_attempts(app: &mut TestApp) {
    let receiver = crate::helpers::TestReceiver::spawn().await;
    app.create_tenant("acme").await;
    let (status, theirs) = app
        .post(
            "/v1/tenants/acme/webhooks",
            json!({"url": receiver.url("/acme")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let theirs = theirs["id"].as_str().unwrap().to_owned();
    let ours = app
        .create_webhook(json!({"url": receiver.url("/ours")}))
        .await;
    let ours = ours["id"].as_str().unwrap().to_owned();
    app.publish(json!({"type": "a.b", "data": {}, "tenant": "acme"}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    receiver.wait_for(2).await;
    app.wait_for_delivery(&ours, "succeeded").await;
    let (status, listed) = app
        .get(&format!("/v1/tenants/acme/webhooks/{theirs}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let their_delivery = listed["data"][0]["id"].as_str().unwrap().to_owned();
    crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "acme's attempt recorded",
        || async { rows(app, "attempts", "delivery_id", &[&their_delivery]).await == 1 },
    )
    .await;

    let (status, _) = app.delete("/v1/tenants/acme").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(rows(app, "webhooks", "id", &[&theirs]).await, 0);
    assert_eq!(rows(app, "deliveries", "webhook_id", &[&theirs]).await, 0);
    assert_eq!(
        rows(app, "attempts", "delivery_id", &[&their_delivery]).await,
        0
    );
    assert_eq!(
        rows(app, "deliveries", "webhook_id", &[&ours]).await,
        1,
        "another tenant's deliveries stay"
    );
}
