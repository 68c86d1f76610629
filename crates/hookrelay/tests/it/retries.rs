//! Retries that listen to the receiver: a `429`/`503` with `Retry-After` is retried when it asks
//! (bounded by the webhook's schedule), never more often than the schedule allows; a `410 Gone`
//! is not retried at all, and its outcome says so; `retry_jitter` spreads the schedule's steps.
//! Waits are read from the delivery's own record (`next_attempt_at` against the attempt's end),
//! never timed.

use std::time::Duration;

use hookrelay::delivery::guard::AddressPolicy;
use hookrelay::delivery::schedule::Verdict;
use hookrelay::delivery::send::{Message, Outcome};
use hookrelay::delivery::{Sender, Target};
use hookrelay::ids::WebhookId;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver, eventually, pooling};

backend_tests!(
    a_503_with_retry_after_is_retried_when_asked_not_after_the_step,
    a_retry_after_in_seconds_replaces_the_step,
    a_retry_after_date_is_bounded_by_the_longest_step,
    retry_after_is_ignored_on_other_statuses,
    retry_after_never_adds_attempts,
    a_410_gone_fails_the_delivery_without_a_retry,
    an_outcome_carries_gone_and_the_retry_after_asked_for,
    retry_jitter_spreads_the_steps,
);

/// Once the webhook's only delivery is pending after `attempts` attempts: how long after its
/// last attempt ended the next one is due, in ms, as recorded.
async fn recorded_wait_ms(app: &TestApp, webhook_id: &str, attempts: u64) -> i64 {
    let found = std::sync::Mutex::new(Value::Null);
    eventually(
        Duration::from_secs(20),
        "the attempt is recorded",
        || async {
            let Some(d) = app.deliveries(webhook_id).await.into_iter().next() else {
                return false;
            };
            let (_, detail) = app
                .get(&format!("/v1/deliveries/{}", d["id"].as_str().unwrap()))
                .await;
            let recorded = detail["attempt_count"] == attempts && detail["status"] == "pending";
            *found.lock().unwrap() = detail;
            recorded
        },
    )
    .await;
    wait_after_attempt(&found.into_inner().unwrap(), attempts)
}

/// How long after attempt `number` of `delivery` (its detail) ended the next one is due, in ms.
fn wait_after_attempt(delivery: &Value, number: u64) -> i64 {
    let attempt = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attempt"] == number)
        .unwrap_or_else(|| panic!("attempt {number} in {delivery}"));
    let ended = ms(&attempt["started_at"]) + attempt["latency_ms"].as_i64().unwrap();
    ms(&delivery["next_attempt_at"]) - ended
}

fn ms(time: &Value) -> i64 {
    hookrelay::clock::parse_rfc3339(time.as_str().unwrap()).unwrap()
}

async fn a_503_with_retry_after_is_retried_when_asked_not_after_the_step(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_header("retry-after", "1");
    receiver.script(&[503]);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [3600]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    // The step is an hour: only the receiver's one second gets the retry in before the wait's end.
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "succeeded")
        .await;
    assert_eq!(d["attempt_count"], 2, "{d}");
    assert_eq!(d["attempts"][0]["status_code"], 503);
}

async fn a_retry_after_in_seconds_replaces_the_step(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(503);
    receiver.set_header("retry-after", "120");
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1, 600]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let waited = recorded_wait_ms(app, w["id"].as_str().unwrap(), 1).await;
    assert_eq!(waited, 120_000, "longer than this step, within the longest");
}

async fn a_retry_after_date_is_bounded_by_the_longest_step(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(429);
    receiver.set_header("retry-after", "Fri, 31 Dec 2100 23:59:59 GMT");
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [2, 45, 3]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let waited = recorded_wait_ms(app, w["id"].as_str().unwrap(), 1).await;
    assert_eq!(waited, 45_000, "the schedule's longest step, not 2100");
}

async fn retry_after_is_ignored_on_other_statuses(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(500);
    receiver.set_header("retry-after", "120");
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [7, 600]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let waited = recorded_wait_ms(app, w["id"].as_str().unwrap(), 1).await;
    assert_eq!(waited, 7_000, "a 500 follows the schedule");
}

async fn retry_after_never_adds_attempts(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(503);
    receiver.set_header("retry-after", "1");
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(
        d["attempt_count"], 2,
        "the first attempt and the schedule's one retry"
    );
    assert_eq!(d["next_attempt_at"], Value::Null);
    assert_eq!(receiver.received().len(), 2);
}

async fn a_410_gone_fails_the_delivery_without_a_retry(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(410);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1, 1]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(d["attempt_count"], 1, "not retried: {d}");
    assert_eq!(d["next_attempt_at"], Value::Null);
    assert_eq!(d["attempts"][0]["status_code"], 410);
    assert_eq!(receiver.received().len(), 1);
}

/// One attempt, made by the worker's own `Sender`, to the webhook `id` as stored.
async fn attempt_once(app: &TestApp, id: &str) -> Outcome {
    let store = app.store.as_ref().unwrap();
    let webhook = store
        .webhooks_by_id(&[WebhookId::from_trusted(id)])
        .await
        .unwrap()
        .pop()
        .unwrap();
    let policy = AddressPolicy {
        allow_all: true,
        allowed: Vec::new(),
        allowed_only: false,
    };
    let message = Message {
        id: "evt_outcome",
        event_type: "a.b",
        created_at: hookrelay::clock::now_ms(),
        data: "{}",
    };
    let tls = hookrelay::delivery::tls::client_config(&[]).unwrap();
    let sender = Sender::new(policy, &tls, pooling()).unwrap();
    sender.attempt(&Target::new(webhook), message).await
}

async fn an_outcome_carries_gone_and_the_retry_after_asked_for(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_header("retry-after", "120");
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let id = w["id"].as_str().unwrap();

    receiver.script(&[410, 503, 500]);
    let gone = attempt_once(app, id).await;
    assert!(
        gone.gone && !gone.retryable && !gone.result.succeeded,
        "{gone:?}"
    );
    assert_eq!(gone.verdict(), Verdict::Permanent);
    assert_eq!(gone.retry_after, None);

    let unavailable = attempt_once(app, id).await;
    assert!(
        !unavailable.gone && unavailable.retryable,
        "{unavailable:?}"
    );
    let asked = Some(Duration::from_secs(120));
    assert_eq!(unavailable.retry_after, asked);
    assert_eq!(
        unavailable.verdict(),
        Verdict::Retryable { retry_after: asked }
    );

    let failed = attempt_once(app, id).await;
    assert!(!failed.gone && failed.retryable, "{failed:?}");
    assert_eq!(failed.retry_after, None, "read only on a 429 or 503");
}

/// Twelve deliveries that failed together, with `retry_jitter = 0.5`: each waits within half its
/// step either way, and they do not all wait the same.
async fn retry_jitter_spreads_the_steps(app: &mut TestApp) {
    // The suite's apps retry at exact steps; this one spreads them.
    app.stop().await;
    let app = TestApp::spawn_with(app.backend, |c| c.retry_jitter = 0.5)
        .await
        .unwrap();
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(500);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1000]}))
        .await;
    let id = w["id"].as_str().unwrap();
    for i in 0..12 {
        app.publish(json!({"type": "a.b", "data": {"i": i}})).await;
    }
    eventually(
        Duration::from_secs(20),
        "every first attempt is recorded",
        || async {
            let list = app.deliveries(id).await;
            list.len() == 12 && list.iter().all(|d| d["attempt_count"] == 1)
        },
    )
    .await;
    let mut waits = Vec::new();
    for d in app.deliveries(id).await {
        let (_, detail) = app
            .get(&format!("/v1/deliveries/{}", d["id"].as_str().unwrap()))
            .await;
        waits.push(wait_after_attempt(&detail, 1));
    }
    for wait in &waits {
        assert!((500_000..=1_500_000).contains(wait), "{waits:?}");
    }
    waits.sort_unstable();
    waits.dedup();
    assert!(
        waits.len() > 1,
        "twelve draws from a second-wide range differ: {waits:?}"
    );
    app.teardown().await;
}
