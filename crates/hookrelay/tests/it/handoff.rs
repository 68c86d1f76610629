//! The publish hand-off: once a webhook's settings are cached from a claim, new deliveries to it
//! go from the publish straight to the dispatcher, written leased. A change to the webhook
//! (here or on another node) reaches the very next delivery; a handed-over delivery whose
//! attempt never finished is sent again after its lease; and every change to a webhook moves
//! its `updated_at` forward, which is what the cache keys on.

use std::time::Duration;

use hookrelay::ids::{TenantId, WebhookId};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestReceiver};

backend_tests!(
    a_changed_webhook_is_used_by_the_next_delivery,
    a_handed_over_delivery_abandoned_in_flight_is_sent_again_after_its_lease,
    every_webhook_update_moves_updated_at_forward,
    many_events_to_one_webhook_are_each_delivered_once,
);

/// Publishes one event to the webhook `id` (its only one) and waits until it is delivered and
/// recorded, so the webhook's settings are cached and the next publishes are handed over.
async fn warm(app: &TestApp, id: &str) {
    app.publish(json!({"type": "a.b", "data": {"warm": true}}))
        .await;
    app.wait_for_delivery(id, "succeeded").await;
}

async fn a_changed_webhook_is_used_by_the_next_delivery(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "headers": {"x-version": "1"}}))
        .await;
    let id = w["id"].as_str().unwrap();
    warm(app, id).await;
    app.publish(json!({"type": "a.b", "data": {"n": 1}})).await;
    assert_eq!(receiver.wait_for(2).await[1].header("x-version"), "1");

    let (status, _) = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"headers": {"x-version": "2"}}),
        )
        .await;
    assert_eq!(status, 200);
    app.publish(json!({"type": "a.b", "data": {"n": 2}})).await;
    assert_eq!(receiver.wait_for(3).await[2].header("x-version"), "2");

    // A URL change moves deliveries to the new endpoint at once.
    let other = TestReceiver::spawn().await;
    let (status, _) = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"url": other.url("/new")}),
        )
        .await;
    assert_eq!(status, 200);
    app.publish(json!({"type": "a.b", "data": {"n": 3}})).await;
    other.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 3, "nothing went to the old URL");
}

async fn a_handed_over_delivery_abandoned_in_flight_is_sent_again_after_its_lease(
    app: &mut TestApp,
) {
    // No grace at shutdown: an attempt in flight is abandoned, as if the process had died.
    app.stop().await;
    let mut node = app
        .spawn_peer(|c| {
            c.lease_seconds = 2;
            c.shutdown_grace_seconds = 0;
        })
        .await;
    let receiver = TestReceiver::spawn().await;
    let w = node
        .create_webhook(json!({"url": receiver.url("/h")}))
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    warm(&node, &id).await;

    receiver.set_delay(Duration::from_secs(60));
    let event = node.publish(json!({"type": "a.b", "data": {"n": 1}})).await;
    receiver.wait_for(2).await;
    node.stop().await;
    receiver.set_delay(Duration::ZERO);
    node.restart().await;

    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].header("webhook-id"), event["id"]);
    crate::helpers::eventually(
        Duration::from_secs(10),
        "the abandoned delivery succeeds on a later attempt",
        || async {
            let list = node.deliveries(&id).await;
            list.iter()
                .any(|d| d["event_id"] == event["id"] && d["status"] == "succeeded")
        },
    )
    .await;
    node.teardown().await;
    app.restart().await;
}

async fn every_webhook_update_moves_updated_at_forward(app: &mut TestApp) {
    let w = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/h"}))
        .await;
    let store = app.store.as_ref().unwrap();
    let tenant = TenantId::default_tenant();
    let id = WebhookId::from_trusted(w["id"].as_str().unwrap());
    let mut webhook = store.get_webhook(&tenant, &id).await.unwrap();
    // Two updates stamped with the same millisecond still get different versions.
    let first = store.update_webhook(&webhook).await.unwrap();
    assert_eq!(first, webhook.updated_at + 1);
    webhook.description = "changed".into();
    let second = store.update_webhook(&webhook).await.unwrap();
    assert_eq!(second, first + 1);
    // A later clock wins as it is.
    webhook.updated_at = second + 1_000;
    assert_eq!(
        store.update_webhook(&webhook).await.unwrap(),
        second + 1_000
    );
    assert_eq!(
        store.get_webhook(&tenant, &id).await.unwrap().updated_at,
        second + 1_000
    );
    // The API answers with the stored value.
    let (status, patched) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"description": "x"}))
        .await;
    assert_eq!(status, 200);
    let (_, read) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(patched["updated_at"], read["updated_at"]);
}

async fn many_events_to_one_webhook_are_each_delivered_once(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let id = w["id"].as_str().unwrap();
    warm(app, id).await;
    // More events at once than the webhook's concurrency limit (32): the hand-off takes what
    // fits and leaves the rest to claims.
    let events: Vec<_> = (0..150)
        .map(|i| json!({"id": format!("evt-{i}"), "type": "a.b", "data": {"i": i}}))
        .collect();
    let (status, body) = app
        .post("/v1/events/batch", json!({"events": events}))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = receiver.wait_for(151).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 151, "each event arrived exactly once");
    crate::helpers::eventually(Duration::from_secs(20), "all are recorded", || async {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let (_, page) = app
                .get(&format!(
                    "/v1/webhooks/{id}/deliveries?limit=250&cursor={cursor}"
                ))
                .await;
            all.extend(page["data"].as_array().unwrap().clone());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        all.len() == 151
            && all
                .iter()
                .all(|d| d["status"] == "succeeded" && d["attempt_count"] == 1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 151, "no duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_changed_on_another_node_is_used_by_this_nodes_next_delivery() {
    let Some(a) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let b = a.spawn_peer(|c| c.deliver = false).await;
    let receiver = TestReceiver::spawn().await;
    let w = a
        .create_webhook(json!({"url": receiver.url("/h"), "headers": {"x-version": "1"}}))
        .await;
    let id = w["id"].as_str().unwrap();
    warm(&a, id).await;
    let (status, _) = b
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"headers": {"x-version": "2"}}),
        )
        .await;
    assert_eq!(status, 200);
    a.publish(json!({"type": "a.b", "data": {}})).await;
    assert_eq!(receiver.wait_for(2).await[1].header("x-version"), "2");
    b.teardown().await;
    a.teardown().await;
}
