//! A publish matches events against the webhooks a node keeps in memory per tenant
//! (`store/subscriptions.rs`), read again when the tenant's version moved. On PostgreSQL these
//! tests change webhooks through one node and publish through another, which keeps its own
//! copy; SQLite has one process per database, which both changes and publishes. Every change
//! must reach the next publish, and a webhook deleted while publishes run must be left with no
//! delivery.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hookrelay_client::{NewEvent, NewWebhook};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

crate::backend_tests!(
    every_webhook_change_reaches_the_next_publish_on_another_node,
    a_tenant_deleted_and_created_again_gets_only_its_new_webhooks,
    a_webhook_deleted_while_publishes_run_is_left_with_no_delivery,
);

/// A second node that publishes, on PostgreSQL (`None` on SQLite: the app publishes).
async fn publisher(app: &TestApp) -> Option<TestApp> {
    match app.backend {
        Backend::Postgres => Some(app.spawn_peer(|c| c.deliver = false).await),
        Backend::Sqlite => None,
    }
}

/// Publishes one event of `event_type` through `node` and answers the ids of the webhooks it
/// went to.
async fn targets(node: &TestApp, event_type: &str) -> HashSet<String> {
    let published = node
        .publish(json!({"type": event_type, "data": {"n": 1}}))
        .await;
    let id = published["id"].as_str().expect("an event id");
    let (status, body) = node.get(&format!("/v1/events/{id}")).await;
    assert_eq!(status, 200, "{body}");
    let found: HashSet<String> = body["deliveries"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["webhook_id"].as_str().expect("a webhook id").to_owned())
        .collect();
    assert_eq!(
        published["deliveries"].as_u64(),
        Some(found.len() as u64),
        "{published} {body}"
    );
    found
}

/// Changes `webhook` through `app` with a PATCH of `body`.
async fn change(app: &TestApp, webhook: &Value, body: Value) {
    let id = webhook["id"].as_str().expect("an id");
    let (status, answer) = app.patch(&format!("/v1/webhooks/{id}"), body).await;
    assert_eq!(status, 200, "{answer}");
}

fn ids<const N: usize>(list: [&Value; N]) -> HashSet<String> {
    list.iter()
        .map(|w| w["id"].as_str().expect("an id").to_owned())
        .collect()
}

async fn every_webhook_change_reaches_the_next_publish_on_another_node(app: &mut TestApp) {
    // `node` publishes; `app` changes the webhooks, behind its back on PostgreSQL.
    let peer = publisher(app).await;
    let node = peer.as_ref().unwrap_or(app);
    let url = "http://127.0.0.1:9/";
    let exact = app
        .create_webhook(json!({"url": url, "events": ["order.created", "order.paid"]}))
        .await;
    let family = app
        .create_webhook(json!({"url": url, "events": ["order.*"]}))
        .await;
    assert_eq!(targets(node, "order.created").await, ids([&exact, &family]));
    assert_eq!(targets(node, "order.shipped").await, ids([&family]));

    let every = app.create_webhook(json!({"url": url})).await;
    assert_eq!(
        targets(node, "order.created").await,
        ids([&exact, &family, &every])
    );

    change(app, &exact, json!({"events": ["invoice.sent"]})).await;
    assert_eq!(targets(node, "order.created").await, ids([&family, &every]));
    assert_eq!(targets(node, "invoice.sent").await, ids([&exact, &every]));

    change(app, &every, json!({"active": false})).await;
    assert_eq!(targets(node, "invoice.sent").await, ids([&exact]));

    change(app, &family, json!({"filter": {"data.n": {"$gt": 1}}})).await;
    assert_eq!(targets(node, "order.paid").await, HashSet::new());

    let (status, _) = app
        .delete(&format!("/v1/webhooks/{}", exact["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 204);
    assert_eq!(targets(node, "invoice.sent").await, HashSet::new());

    change(app, &every, json!({"active": true})).await;
    assert_eq!(targets(node, "invoice.sent").await, ids([&every]));
    if let Some(peer) = peer {
        peer.teardown().await;
    }
}

async fn a_tenant_deleted_and_created_again_gets_only_its_new_webhooks(app: &mut TestApp) {
    let peer = publisher(app).await;
    let app = &*app;
    let node = peer.as_ref().unwrap_or(app);
    // A webhook of `acme`'s on type `a.b`, through a key of its own.
    let subscribe = |key: String| async move {
        let webhook = NewWebhook {
            events: Some(vec!["a.b".to_owned()]),
            ..NewWebhook::new("http://127.0.0.1:9/")
        };
        let w = app.client_with(&key).create_webhook(&webhook).await;
        w.expect("created").id
    };
    let publish = || node.publish(json!({"type": "a.b", "data": {}, "tenant": "acme"}));
    let old = subscribe(app.create_tenant("acme").await).await;
    assert_eq!(publish().await["deliveries"], 1);

    app.api().delete_tenant("acme").await.expect("deleted");
    let new = subscribe(app.create_tenant("acme").await).await;
    assert_ne!(new, old);

    let published = publish().await;
    assert_eq!(published["deliveries"], 1, "{published}");
    let (status, body) = node
        .get(&format!("/v1/events/{}", published["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"][0]["webhook_id"], new.as_str(), "{body}");
    if let Some(peer) = peer {
        peer.teardown().await;
    }
}

async fn a_webhook_deleted_while_publishes_run_is_left_with_no_delivery(app: &mut TestApp) {
    let peer = publisher(app).await;
    let doomed = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/doomed", "events": ["race.on"]}))
        .await;
    let doomed = doomed["id"].as_str().unwrap().to_owned();
    // Publishes keep running (through the other node on PostgreSQL) until the deletion has
    // answered.
    let stop = Arc::new(AtomicBool::new(false));
    let publishers: Vec<_> = (0..4)
        .map(|_| {
            let client = peer.as_ref().unwrap_or(app).api().clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let event = NewEvent::new("race.on", json!({}));
                let mut published = 0;
                while !stop.load(Ordering::Relaxed) || published < 20 {
                    client.publish(&event).await.expect("published");
                    published += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, _) = app.delete(&format!("/v1/webhooks/{doomed}")).await;
    assert_eq!(status, 204);
    stop.store(true, Ordering::Relaxed);
    for p in publishers {
        p.await.expect("publisher");
    }
    // Every publish committed before the deletion had its deliveries deleted with it; every
    // later one found the webhook gone.
    let sql = format!("SELECT COUNT(*) FROM deliveries WHERE webhook_id = '{doomed}'");
    let left: i64 = match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(app.database_url()).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap()
        }
    };
    assert_eq!(left, 0, "deliveries written for a deleted webhook");
    if let Some(peer) = peer {
        peer.teardown().await;
    }
}
