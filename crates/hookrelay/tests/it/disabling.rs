//! Disabled means disabled: a webhook failing for `disable_after_seconds` is disabled by the
//! recorder, one answering 410 at once, and a person can disable one; its pending deliveries are
//! held (still `pending`) until it is enabled again, which sends them. The operator's
//! operational webhook hears of it, signed.

use std::time::Duration;

use hookrelay_signature::{Scheme, Secret, VerifyOptions, verify};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestReceiver, eventually};
use crate::smtp::{Relay, SmtpServer};

backend_tests!(
    a_webhook_failing_past_the_window_is_disabled_and_its_deliveries_held_until_enabled,
    an_endpoint_answering_410_is_disabled_at_once,
    a_webhook_disabled_mid_retry_receives_nothing_until_enabled,
    retry_and_replay_of_a_disabled_webhook_are_refused,
    a_relay_that_is_down_blocks_nothing,
    the_failure_clock_restarts_after_a_success,
);

const OPS_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Settings of a node that disables after 2 s of failures, tells the operational webhook at
/// `ops` and emails through `relay`.
fn operated(ops: &TestReceiver, relay: &str) -> impl FnOnce(&mut hookrelay::Config) + use<> {
    let (url, relay) = (ops.url("/ops"), relay.to_owned());
    move |c| {
        c.disable_after_seconds = 2;
        c.operational_webhook_url = Some(url);
        c.operational_webhook_secret = Some(hookrelay::config::SecretString::new(OPS_SECRET));
        c.smtp_url = Some(hookrelay::config::SecretString::new(relay));
        c.email_from = Some("hookrelay@example.com".to_owned());
    }
}

/// `app`'s database served by a node with [`operated`] settings, its tenant `default` with a
/// contact address.
async fn node(app: &mut TestApp, ops: &TestReceiver, relay: &str) -> TestApp {
    app.stop().await;
    let node = app.spawn_peer(operated(ops, relay)).await;
    let (status, body) = node
        .patch(
            "/v1/tenants/default",
            json!({"contact_email": "owner@acme.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    node
}

async fn webhook(app: &TestApp, id: &str) -> Value {
    let (status, w) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    w
}

/// The operational events received so far, each checked against its signature.
fn operational_events(ops: &TestReceiver) -> Vec<Value> {
    let scheme = Scheme::StandardWebhooks;
    let secret = Secret::new(&scheme, OPS_SECRET).unwrap();
    let now = hookrelay::clock::now_ms() / 1000;
    ops.received()
        .iter()
        .map(|r| {
            verify(
                &scheme,
                std::slice::from_ref(&secret),
                &r.headers,
                &r.body,
                &VerifyOptions::at(now),
            )
            .expect("an operational event is signed with the operational secret");
            r.json()
        })
        .collect()
}

async fn a_webhook_failing_past_the_window_is_disabled_and_its_deliveries_held_until_enabled(
    app: &mut TestApp,
) {
    let ops = TestReceiver::spawn().await;
    let relay = SmtpServer::spawn(Relay::Accepting).await;
    let node = node(app, &ops, &relay.url()).await;
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(500);
    let w = node
        .create_webhook(
            json!({"url": receiver.url("/h"), "retry_schedule": [1, 1, 1, 1, 1, 1, 1, 1]}),
        )
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    node.publish(json!({"type": "a.b", "data": {}})).await;

    eventually(
        Duration::from_secs(15),
        "the webhook is disabled",
        || async { webhook(&node, &id).await["active"] == false },
    )
    .await;
    let w = webhook(&node, &id).await;
    assert_eq!(w["disabled_reason"], "failing");
    assert!(w["disabled_at"].as_str().unwrap().ends_with('Z'), "{w}");
    assert!(w["failing_since"].as_str().unwrap() < w["disabled_at"].as_str().unwrap());
    let attempts = receiver.received().len();
    assert!(
        attempts >= 3,
        "failed for 2 s at one attempt a second: {attempts}"
    );

    let log = node.deliveries(&id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "pending", "nothing is lost: {log:?}");
    assert_eq!(
        log[0]["next_attempt_at"],
        Value::Null,
        "held, not scheduled"
    );

    // The operator hears of it once, signed, with the last error.
    let events = ops.wait_for(1).await;
    assert_eq!(events.len(), 1);
    let disabled = &operational_events(&ops)[0];
    assert_eq!(disabled["type"], "webhook.disabled");
    assert_eq!(disabled["data"]["webhook_id"], id.as_str());
    assert_eq!(disabled["data"]["tenant_id"], "default");
    assert_eq!(disabled["data"]["reason"], "failing");
    assert_eq!(disabled["data"]["url"], receiver.url("/h"));
    assert!(
        disabled["data"]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 500"),
        "{disabled}"
    );

    // Enabled again, the held delivery is sent at once and the failure clock starts afresh.
    receiver.set_status(200);
    let (status, w) = node
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w["disabled_reason"], Value::Null);
    assert_eq!(w["disabled_at"], Value::Null);
    assert_eq!(w["failing_since"], Value::Null, "the clock starts afresh");
    node.wait_for_delivery(&id, "succeeded").await;
    assert!(webhook(&node, &id).await["active"] == true);
    ops.wait_for(2).await;
    let enabled = &operational_events(&ops)[1];
    assert_eq!(enabled["type"], "webhook.enabled");
    assert_eq!(enabled["data"]["webhook_id"], id.as_str());
    node.teardown().await;
}

async fn an_endpoint_answering_410_is_disabled_at_once(app: &mut TestApp) {
    let ops = TestReceiver::spawn().await;
    let relay = SmtpServer::spawn(Relay::Accepting).await;
    let node = node(app, &ops, &relay.url()).await;
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(410);
    let w = node
        .create_webhook(json!({"url": receiver.url("/gone"), "retry_schedule": [1, 1, 1]}))
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    node.publish(json!({"type": "a.b", "data": {}})).await;
    node.publish(json!({"type": "a.b", "data": {}})).await;
    eventually(
        Duration::from_secs(10),
        "the webhook is disabled",
        || async { webhook(&node, &id).await["active"] == false },
    )
    .await;
    assert_eq!(webhook(&node, &id).await["disabled_reason"], "gone");
    ops.wait_for(1).await;
    let disabled = &operational_events(&ops)[0];
    assert_eq!(disabled["data"]["reason"], "gone");
    eventually(Duration::from_secs(10), "the owner is emailed", || async {
        relay.mails().len() == 1
    })
    .await;
    assert!(relay.mails()[0].body().contains("Reason:      gone"));
    assert!(
        node.deliveries(&id)
            .await
            .iter()
            .any(|d| d["status"] == "failed"),
        "a 410 is not retried"
    );
    node.teardown().await;
}

async fn a_webhook_disabled_mid_retry_receives_nothing_until_enabled(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(503);
    let w = app
        .create_webhook(
            json!({"url": receiver.url("/h"), "retry_schedule": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}),
        )
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    app.publish(json!({"type": "a.b", "data": {}})).await;
    receiver.wait_for(2).await;

    let (status, w) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w["disabled_reason"], "manual");
    // An attempt in flight when it was disabled may still land; after that, nothing.
    eventually(Duration::from_secs(5), "the delivery is held", || async {
        app.deliveries(&id).await[0]["next_attempt_at"] == Value::Null
    })
    .await;
    let before = receiver.received().len();
    let log = app.deliveries(&id).await;
    assert_eq!(log[0]["status"], "pending");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        receiver.received().len(),
        before,
        "a disabled webhook receives nothing, though its schedule asks for a retry a second"
    );

    receiver.set_status(200);
    let (status, _) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.wait_for_delivery(&id, "succeeded").await;
}

async fn retry_and_replay_of_a_disabled_webhook_are_refused(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(400);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let d = app.wait_for_delivery(&id, "failed").await;
    let (status, _) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": false}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app
        .post(
            &format!("/v1/deliveries/{}/retry", d["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("enable"),
        "{body}"
    );
    let (status, body) = app
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        app.deliveries(&id).await[0]["status"],
        "failed",
        "nothing changed"
    );
}

/// With two delivering nodes on PostgreSQL, a failing webhook is disabled once: one
/// `webhook.disabled` event and one email.
#[tokio::test]
async fn with_two_nodes_a_webhook_is_disabled_once() {
    let ops = TestReceiver::spawn().await;
    let relay = SmtpServer::spawn(Relay::Accepting).await;
    let Some(mut app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let a = node(&mut app, &ops, &relay.url()).await;
    let b = a.spawn_peer(operated(&ops, &relay.url())).await;
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(500);
    let w = a
        .create_webhook(
            json!({"url": receiver.url("/h"), "retry_schedule": [1, 1, 1, 1, 1, 1, 1, 1]}),
        )
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    for i in 0..20 {
        a.publish(json!({"type": "a.b", "data": {"i": i}})).await;
    }
    eventually(
        Duration::from_secs(15),
        "the webhook is disabled",
        || async { webhook(&a, &id).await["active"] == false },
    )
    .await;
    ops.wait_for(1).await;
    eventually(Duration::from_secs(10), "the owner is emailed", || async {
        !relay.mails().is_empty()
    })
    .await;
    // Both nodes keep recording; give a second disable every chance to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let events = operational_events(&ops);
    assert_eq!(
        events.len(),
        1,
        "one webhook.disabled, not one per node: {events:?}"
    );
    assert_eq!(relay.mails().len(), 1, "one email, not one per node");
    assert_eq!(
        a.deliveries(&id)
            .await
            .iter()
            .filter(|d| d["status"] == "pending")
            .count(),
        20,
        "every delivery held"
    );
    b.teardown().await;
    a.teardown().await;
    app.teardown().await;
}

/// With the SMTP relay down, disabling still happens, and delivery to other webhooks goes on.
async fn a_relay_that_is_down_blocks_nothing(app: &mut TestApp) {
    let ops = TestReceiver::spawn().await;
    let down = crate::helpers::refused_address().await;
    let node = node(app, &ops, &format!("smtp://{down}")).await;
    let failing = TestReceiver::spawn().await;
    failing.set_status(500);
    let healthy = TestReceiver::spawn().await;
    let w = node
        .create_webhook(json!({"url": failing.url("/f"), "events": ["bad.*"], "retry_schedule": [1, 1, 1, 1, 1, 1]}))
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    let h = node
        .create_webhook(json!({"url": healthy.url("/ok"), "events": ["good.*"]}))
        .await;
    node.publish(json!({"type": "bad.one", "data": {}})).await;
    eventually(
        Duration::from_secs(15),
        "the webhook is disabled",
        || async { webhook(&node, &id).await["active"] == false },
    )
    .await;
    for i in 0..5 {
        node.publish(json!({"type": "good.one", "data": {"i": i}}))
            .await;
    }
    healthy.wait_for(5).await;
    let log = node.deliveries(h["id"].as_str().unwrap()).await;
    assert_eq!(log.len(), 5);
    ops.wait_for(1).await;
    node.teardown().await;
}

/// The clock runs from the first failure after the last success, recorded batch by batch.
async fn the_failure_clock_restarts_after_a_success(app: &mut TestApp) {
    use hookrelay::ids::{AttemptId, DeliveryId, WebhookId};
    use hookrelay::store::{Attempt, AttemptRecord, AttemptResult, DeliveryStatus, FailurePolicy};

    let w = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/h"}))
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    let store = app.store.clone().unwrap();
    let policy = FailurePolicy {
        disable_after_ms: 60_000,
        operations_tenant: None,
    };
    let now = hookrelay::clock::now_ms();
    let record = |at: i64, succeeded: bool| AttemptRecord {
        delivery_id: DeliveryId::generate(),
        webhook_id: WebhookId::from_trusted(id.clone()),
        attempt: Attempt {
            id: AttemptId::generate(),
            attempt: 1,
            result: AttemptResult {
                started_at: at,
                latency_ms: 1,
                status_code: Some(if succeeded { 200 } else { 500 }),
                response_body: None,
                error: None,
                succeeded,
            },
        },
        gone: false,
        status: DeliveryStatus::Pending,
        next_attempt_at: None,
        ordering_key: None,
    };
    let since = |w: &Value| w["failing_since"].as_str().map(str::to_owned);
    let at = |ms: i64| Some(hookrelay::clock::rfc3339(ms));
    let record_one = |at: i64, succeeded: bool| {
        let (store, policy, r) = (store.clone(), policy.clone(), record(at, succeeded));
        async move { store.record_attempts(&[r], &policy).await.unwrap() }
    };

    assert!(record_one(now - 50_000, true).await.is_empty());
    assert_eq!(since(&webhook(app, &id).await), None);
    // Failing: the clock runs from the first failure.
    assert!(record_one(now - 45_000, false).await.is_empty());
    assert!(record_one(now - 44_000, false).await.is_empty());
    assert_eq!(since(&webhook(app, &id).await), at(now - 45_000));
    // A success stops it; failures after it start it afresh, in one batch as across batches.
    assert!(record_one(now - 40_000, true).await.is_empty());
    assert_eq!(since(&webhook(app, &id).await), None);
    let batch = [record(now - 6_000, true), record(now - 5_000, false)];
    assert!(
        store
            .record_attempts(&batch, &policy)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(record_one(now, false).await.is_empty());
    let w = webhook(app, &id).await;
    assert_eq!(
        (w["active"].clone(), since(&w)),
        (json!(true), at(now - 5_000))
    );
    // With a window shorter than the 5 s it has been failing, the next failure disables it,
    // once.
    let short = FailurePolicy {
        disable_after_ms: 4_000,
        ..policy.clone()
    };
    let disabled = store
        .record_attempts(&[record(now, false)], &short)
        .await
        .unwrap();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].webhook_id.as_str(), id);
    let again = store
        .record_attempts(&[record(now, false)], &short)
        .await
        .unwrap();
    assert!(again.is_empty(), "disabled once");
    assert_eq!(webhook(app, &id).await["active"], false);
}
