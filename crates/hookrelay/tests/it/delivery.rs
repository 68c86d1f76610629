//! Delivery: what a receiver gets, success, retries by the webhook's schedule, timeouts,
//! refused connections, a schedule run to `failed`, and manual retry.

use std::time::Duration;

use hookrelay_signature::{Scheme, Secret, VerifyOptions, verify};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver, refused_address};

backend_tests!(
    a_successful_delivery_is_signed_and_its_attempt_recorded,
    a_delivery_that_fails_with_500_succeeds_on_retry_with_the_same_event_id,
    an_attempt_that_outlives_the_timeout_fails_as_a_timeout,
    a_refused_connection_is_recorded_and_retried,
    a_delivery_that_keeps_failing_runs_its_schedule_to_failed,
    a_failed_delivery_can_be_retried_by_hand,
    the_delivery_log_filters_by_status_and_type,
);

async fn a_successful_delivery_is_signed_and_its_attempt_recorded(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(
            json!({"url": receiver.url("/hooks"), "headers": {"X-Tenant-Token": "t0k"}}),
        )
        .await;
    let e = app
        .publish(json!({"type": "meeting.ended", "data": {"meeting_id": "m1", "duration": 3600}}))
        .await;
    let got = receiver.wait_for(1).await;
    let r = &got[0];
    assert_eq!(r.path, "/hooks");
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.header("user-agent").starts_with("hookrelay/"));
    assert_eq!(r.header("x-tenant-token"), "t0k");
    assert_eq!(r.header("webhook-id"), e["id"]);
    let body = r.json();
    assert_eq!(body["id"], e["id"]);
    assert_eq!(body["type"], "meeting.ended");
    assert_eq!(body["data"], json!({"meeting_id": "m1", "duration": 3600}));
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));

    let scheme = Scheme::StandardWebhooks;
    let secret = Secret::new(&scheme, w["secret"].as_str().unwrap()).unwrap();
    let now = hookrelay::clock::now_ms() / 1000;
    let verified = verify(
        &scheme,
        &[secret],
        &r.headers,
        &r.body,
        &VerifyOptions::at(now),
    )
    .expect("signature verifies");
    assert_eq!(verified.msg_id.as_deref(), e["id"].as_str());

    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "succeeded")
        .await;
    assert_eq!(d["attempt_count"], 1);
    assert_eq!(d["event_id"], e["id"]);
    assert_eq!(d["next_attempt_at"], json!(null));
    let attempt = &d["attempts"][0];
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["status_code"], 200);
    assert_eq!(attempt["succeeded"], true);
    assert_eq!(attempt["response_body"], "answer 200");
    assert_eq!(attempt["error"], json!(null));
    assert!(attempt["latency_ms"].as_i64().unwrap() >= 0);
}

async fn a_delivery_that_fails_with_500_succeeds_on_retry_with_the_same_event_id(
    app: &mut TestApp,
) {
    let receiver = TestReceiver::spawn().await;
    receiver.script(&[500]);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1, 1]}))
        .await;
    let e = app.publish(json!({"type": "a.b", "data": {"n": 1}})).await;
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "succeeded")
        .await;
    assert_eq!(d["attempt_count"], 2);
    let log = d["attempts"].as_array().unwrap();
    assert_eq!(log[0]["status_code"], 500);
    assert_eq!(log[0]["succeeded"], false);
    assert_eq!(log[0]["response_body"], "answer 500");
    assert_eq!(log[1]["status_code"], 200);
    assert_eq!(log[1]["succeeded"], true);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter().all(|r| r.header("webhook-id") == e["id"]),
        "the id is stable across retries"
    );
    assert_eq!(got[0].body, got[1].body, "the same body on every attempt");
}

async fn an_attempt_that_outlives_the_timeout_fails_as_a_timeout(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(Duration::from_secs(3));
    let w = app
        .create_webhook(
            json!({"url": receiver.url("/slow"), "timeout_seconds": 1, "retry_schedule": []}),
        )
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    let attempt = &d["attempts"][0];
    assert_eq!(attempt["status_code"], json!(null));
    assert!(
        attempt["error"].as_str().unwrap().starts_with("timeout"),
        "{attempt}"
    );
    let latency = attempt["latency_ms"].as_i64().unwrap();
    assert!(
        (1000..3000).contains(&latency),
        "cut off at the timeout: {latency} ms"
    );
}

async fn a_refused_connection_is_recorded_and_retried(app: &mut TestApp) {
    let address = refused_address().await;
    let w = app
        .create_webhook(json!({"url": format!("http://{address}/h"), "retry_schedule": [1]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    let log = d["attempts"].as_array().unwrap();
    assert_eq!(log.len(), 2, "one retry, as scheduled");
    for attempt in log {
        assert_eq!(attempt["error"], "connection refused", "{attempt}");
        assert_eq!(attempt["status_code"], json!(null));
    }
}

async fn a_delivery_that_keeps_failing_runs_its_schedule_to_failed(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(503);
    let w = app
        .create_webhook(json!({"url": receiver.url("/down"), "retry_schedule": [1, 2]}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let first = receiver.wait_for(1).await.len();
    assert_eq!(first, 1);
    let pending = app.deliveries(w["id"].as_str().unwrap()).await;
    assert_eq!(pending[0]["status"], "pending");
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(d["attempt_count"], 3, "the first attempt and two retries");
    assert_eq!(d["next_attempt_at"], json!(null));
    let log = d["attempts"].as_array().unwrap();
    let starts: Vec<i64> = log
        .iter()
        .map(|a| hookrelay::clock::parse_rfc3339(a["started_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(
        starts[1] - starts[0] >= 1000,
        "waited 1 s before the first retry: {starts:?}"
    );
    assert!(
        starts[2] - starts[1] >= 2000,
        "waited 2 s before the second: {starts:?}"
    );
    assert_eq!(receiver.received().len(), 3);
}

async fn a_failed_delivery_can_be_retried_by_hand(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.script(&[500]);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    let id = d["id"].as_str().unwrap();
    let (status, queued) = app
        .post(&format!("/v1/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["status"], "pending");
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "succeeded")
        .await;
    assert_eq!(d["attempt_count"], 2);
    let (status, _) = app
        .post("/v1/deliveries/dlv_missing/retry", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let key = app.create_tenant("mallory").await;
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            &format!("/v1/deliveries/{id}/retry"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's delivery does not exist for mallory"
    );
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/deliveries/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn the_delivery_log_filters_by_status_and_type(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    let id = w["id"].as_str().unwrap();
    receiver.script(&[500]);
    app.publish(json!({"type": "first.kind", "data": {}})).await;
    receiver.wait_for(1).await;
    app.publish(json!({"type": "second.kind", "data": {}}))
        .await;
    receiver.wait_for(2).await;
    crate::helpers::eventually(
        Duration::from_secs(10),
        "both deliveries settle",
        || async {
            app.deliveries(id)
                .await
                .iter()
                .all(|d| d["status"] != "pending")
        },
    )
    .await;
    let (_, failed) = app
        .get(&format!("/v1/webhooks/{id}/deliveries?status=failed"))
        .await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 1);
    assert_eq!(failed["data"][0]["event_type"], "first.kind");
    let (_, second) = app
        .get(&format!(
            "/v1/webhooks/{id}/deliveries?event_type=second.kind"
        ))
        .await;
    assert_eq!(second["data"][0]["status"], "succeeded");
    let (_, all) = app
        .get(&format!("/v1/webhooks/{id}/deliveries?limit=1"))
        .await;
    assert_eq!(all["data"][0]["event_type"], "second.kind", "newest first");
    let cursor = all["next_cursor"].as_str().unwrap();
    let (_, older) = app
        .get(&format!(
            "/v1/webhooks/{id}/deliveries?limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(older["data"][0]["event_type"], "first.kind");
    let (_, none) = app
        .get(&format!(
            "/v1/webhooks/{id}/deliveries?since=2999-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(none["data"], json!([]));
    let (status, err) = app
        .get(&format!("/v1/webhooks/{id}/deliveries?status=lost"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "status");
    let (status, err) = app
        .get(&format!("/v1/webhooks/{id}/deliveries?since=yesterday"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "since");
}
