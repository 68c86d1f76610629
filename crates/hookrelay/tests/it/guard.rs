//! The outbound address guard at delivery time: in production, a webhook whose host resolves to
//! a private or loopback address when the delivery is made (as after DNS rebinding) is refused
//! on the resolved address, permanently, over HTTPS and plain HTTP alike; the CIDR allow-list
//! opens a range; and a TLS failure is recorded as such.

use hookrelay::ids::{TenantId, WebhookId};
use hookrelay::model::WebhookUrl;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver};

backend_tests!(
    in_production_a_host_that_resolves_to_loopback_at_delivery_time_is_refused,
    in_production_a_plain_http_url_stored_behind_the_apis_back_is_refused_too,
    an_allowed_cidr_is_reached_and_a_tls_failure_is_recorded,
);

/// Points a webhook at `url` behind the API's back, as if its DNS answer had changed.
pub(crate) async fn repoint(app: &TestApp, id: &str, url: &str) {
    let store = app.store.as_ref().unwrap();
    let tenant = TenantId::default_tenant();
    let mut webhook = store
        .get_webhook(&tenant, &WebhookId::from_trusted(id))
        .await
        .unwrap();
    webhook.url = WebhookUrl::from_trusted(url.parse().unwrap());
    store.update_webhook(&webhook).await.unwrap();
}

/// A production node's webhook, repointed behind the API's back to `scheme://localhost:<port>`
/// of a fresh receiver: its first delivery fails permanently at the guard and sends nothing.
async fn refused_at_delivery_time(prod: &TestApp, scheme: &str) -> (TestReceiver, String) {
    let receiver = TestReceiver::spawn().await;
    let w = prod
        .create_webhook(json!({"url": "https://hooks.example.com/h", "retry_schedule": [1, 1]}))
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    let port = receiver.address.port();
    repoint(prod, &id, &format!("{scheme}://localhost:{port}/h")).await;
    prod.publish(json!({"type": "a.b", "data": {}})).await;
    let d = prod.wait_for_delivery(&id, "failed").await;
    assert_eq!(
        d["attempt_count"], 1,
        "refused permanently, not retried: {d}"
    );
    let error = d["attempts"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("address not allowed"), "{error}");
    assert!(
        receiver.received().is_empty(),
        "nothing reached the loopback receiver"
    );
    (receiver, id)
}

async fn in_production_a_host_that_resolves_to_loopback_at_delivery_time_is_refused(
    app: &mut TestApp,
) {
    app.stop().await;
    let prod = app.spawn_peer(|c| c.dev = false).await;
    let (receiver, id) = refused_at_delivery_time(&prod, "https").await;
    let id = id.as_str();

    // A literal private address stored behind the API's back is refused too.
    repoint(
        &prod,
        id,
        &format!("https://127.0.0.1:{}/h", receiver.address.port()),
    )
    .await;
    let d2 = prod.publish(json!({"type": "a.b", "data": {}})).await;
    assert_eq!(d2["deliveries"], 1);
    crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "both deliveries fail",
        || async {
            let list = prod.deliveries(id).await;
            list.len() == 2 && list.iter().all(|d| d["status"] == "failed")
        },
    )
    .await;
    assert!(receiver.received().is_empty());
    prod.teardown().await;
    app.restart().await;
}

/// Plain HTTP goes over the host slot's own connections, not the pooled client: the same guard
/// holds there, on the resolved address.
async fn in_production_a_plain_http_url_stored_behind_the_apis_back_is_refused_too(
    app: &mut TestApp,
) {
    app.stop().await;
    let prod = app.spawn_peer(|c| c.dev = false).await;
    refused_at_delivery_time(&prod, "http").await;
    prod.teardown().await;
    app.restart().await;
}

async fn an_allowed_cidr_is_reached_and_a_tls_failure_is_recorded(app: &mut TestApp) {
    app.stop().await;
    let prod = app
        .spawn_peer(|c| {
            c.dev = false;
            c.allowed_cidrs = vec!["127.0.0.0/8".parse().unwrap()];
        })
        .await;
    // The receiver speaks plain HTTP, so the allowed connection fails at the TLS handshake.
    let receiver = TestReceiver::spawn().await;
    let w = prod
        .create_webhook(json!({"url": "https://hooks.example.com/h", "retry_schedule": []}))
        .await;
    let id = w["id"].as_str().unwrap();
    repoint(
        &prod,
        id,
        &format!("https://localhost:{}/h", receiver.address.port()),
    )
    .await;
    prod.publish(json!({"type": "a.b", "data": {}})).await;
    let d = prod.wait_for_delivery(id, "failed").await;
    let error = d["attempts"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("tls"),
        "the allow-list let it connect; TLS then failed: {error}"
    );
    prod.teardown().await;
    app.restart().await;
}
