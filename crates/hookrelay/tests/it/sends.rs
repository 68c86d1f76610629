//! Test sends, per-webhook statistics and replay of past deliveries.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver, refused_address};

backend_tests!(
    a_test_send_delivers_the_types_example_now_and_answers_the_result,
    stats_count_deliveries_and_attempts_with_latency_and_hourly_buckets,
    replay_queues_past_deliveries_again_with_their_event_ids,
);

async fn a_test_send_delivers_the_types_example_now_and_answers_the_result(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    app.post(
        "/v1/event-types",
        json!({"name": "meeting.ended", "example": {"meeting_id": "example-1"}}),
    )
    .await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "active": false}))
        .await;
    let id = w["id"].as_str().unwrap();
    let (status, out) = app
        .post(
            &format!("/v1/webhooks/{id}/test"),
            json!({"event_type": "meeting.ended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["succeeded"], true);
    assert_eq!(out["status_code"], 200);
    assert_eq!(out["response_body"], "answer 200");
    let got = receiver.received();
    assert_eq!(got.len(), 1, "sent at once, even to an inactive webhook");
    assert_eq!(got[0].json()["data"], json!({"meeting_id": "example-1"}));
    assert_eq!(got[0].header("webhook-id"), out["event_id"]);
    let log = app.deliveries(id).await;
    assert_eq!(log.len(), 1, "a test send is logged: {log:?}");
    assert_eq!(log[0]["id"], out["delivery_id"]);
    assert_eq!(log[0]["event_id"], out["event_id"]);
    assert_eq!(log[0]["event_type"], "meeting.ended");
    assert_eq!(log[0]["test"], true);
    assert_eq!(log[0]["status"], "succeeded");
    assert_eq!(log[0]["attempt_count"], 1);
    assert_eq!(log[0]["next_attempt_at"], json!(null));
    let (_, d) = app
        .get(&format!(
            "/v1/deliveries/{}",
            out["delivery_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(d["attempts"][0]["status_code"], 200);
    assert_eq!(d["attempts"][0]["latency_ms"], out["latency_ms"]);
    assert_eq!(
        d["request"]["body"].as_str().unwrap().as_bytes(),
        &got[0].body[..],
        "{d}"
    );
    let (_, event) = app
        .get(&format!("/v1/events/{}", out["event_id"].as_str().unwrap()))
        .await;
    assert_eq!(event["tenants"], json!(["default"]));
    assert_eq!(event["deliveries"][0]["id"], out["delivery_id"]);
    assert_eq!(event["deliveries"][0]["test"], true);

    receiver.set_status(500);
    let (_, out) = app
        .post(
            &format!("/v1/webhooks/{id}/test"),
            json!({"event_type": "other.type"}),
        )
        .await;
    assert_eq!(out["succeeded"], false);
    assert_eq!(out["status_code"], 500);
    let log = app.deliveries(id).await;
    assert_eq!(log[0]["id"], out["delivery_id"], "newest first");
    assert_eq!(log[0]["status"], "failed", "a failed test is not retried");
    assert_eq!(log[0]["test"], true);
    // Replay refuses a disabled webhook; enabled, it still leaves test sends alone.
    let (status, _) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, replayed) = app
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replayed}");
    assert_eq!(replayed["requeued"], 0, "test sends are not replayed");
    assert_eq!(
        receiver.received()[1].json()["data"],
        json!({}),
        "no example: empty data"
    );

    let down = app
        .create_webhook(json!({"url": format!("http://{}/h", refused_address().await)}))
        .await;
    let (_, out) = app
        .post(
            &format!("/v1/webhooks/{}/test", down["id"].as_str().unwrap()),
            json!({"event_type": "a.b"}),
        )
        .await;
    assert_eq!(out["error"], "connection refused");
    let (status, err) = app
        .post(
            &format!("/v1/webhooks/{id}/test"),
            json!({"event_type": "bad name"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "event_type");
    let (status, _) = app
        .post("/v1/webhooks/wh_missing/test", json!({"event_type": "a.b"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn stats_count_deliveries_and_attempts_with_latency_and_hourly_buckets(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.script(&[500, 500]);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1]}))
        .await;
    let id = w["id"].as_str().unwrap();
    for i in 0..4 {
        app.publish(json!({"type": "a.b", "data": {"i": i}})).await;
    }
    crate::helpers::eventually(
        std::time::Duration::from_secs(15),
        "all four succeed",
        || async {
            let list = app.deliveries(id).await;
            list.len() == 4 && list.iter().all(|d| d["status"] == "succeeded")
        },
    )
    .await;
    let (status, stats) = app
        .get(&format!("/v1/webhooks/{id}/stats?window=24h"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(
        stats["deliveries"],
        json!({"pending": 0, "succeeded": 4, "failed": 0, "total": 4})
    );
    assert_eq!(
        stats["attempts"],
        json!({"total": 6, "succeeded": 4, "failed": 2})
    );
    let rate = stats["success_rate"].as_f64().unwrap();
    assert!((rate - 4.0 / 6.0).abs() < 1e-9, "{rate}");
    let latency = &stats["latency_ms"];
    assert!(latency["p50"].as_i64().unwrap() <= latency["p99"].as_i64().unwrap());
    assert!(latency["p99"].as_i64().unwrap() <= latency["max"].as_i64().unwrap());
    let hourly = stats["hourly"].as_array().unwrap();
    let total: u64 = hourly.iter().map(|h| h["attempts"].as_u64().unwrap()).sum();
    assert_eq!(total, 6);
    assert_eq!(stats["sampled"], false);

    let (_, empty) = app.get(&format!("/v1/webhooks/{id}/stats?window=1h")).await;
    assert_eq!(empty["attempts"]["total"], 6, "all within the last hour");
    let other = app
        .create_webhook(json!({"url": receiver.url("/quiet")}))
        .await;
    let (_, quiet) = app
        .get(&format!(
            "/v1/webhooks/{}/stats",
            other["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(quiet["success_rate"], json!(null));
    assert_eq!(quiet["latency_ms"], json!(null));
    for window in ["90d", "5%C3%A4"] {
        let (status, err) = app
            .get(&format!("/v1/webhooks/{id}/stats?window={window}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{window}");
        assert_eq!(err["error"]["field"], "window");
    }
}

async fn replay_queues_past_deliveries_again_with_their_event_ids(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(500);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    let id = w["id"].as_str().unwrap();
    let start = hookrelay::clock::rfc3339(hookrelay::clock::now_ms() - 1000);
    for i in 0..3 {
        app.publish(json!({"id": format!("r{i}"), "type": "a.b", "data": {}}))
            .await;
    }
    crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "all three fail",
        || async {
            let list = app.deliveries(id).await;
            list.len() == 3 && list.iter().all(|d| d["status"] == "failed")
        },
    )
    .await;
    receiver.set_status(200);
    let (status, out) = app
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            json!({"since": start, "status": "failed"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{out}");
    assert_eq!(out["requeued"], 3);
    crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "all three succeed",
        || async {
            app.deliveries(id)
                .await
                .iter()
                .all(|d| d["status"] == "succeeded")
        },
    )
    .await;
    let mut replayed: Vec<String> = receiver.received()[3..]
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    replayed.sort();
    assert_eq!(replayed, ["r0", "r1", "r2"]);

    let (_, none) = app
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            json!({"since": start, "status": "failed"}),
        )
        .await;
    assert_eq!(none["requeued"], 0, "nothing failed any more");
    // A window that ends before it starts is empty: nothing to queue, and no error.
    let (status, empty) = app
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            json!({"since": start, "until": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{empty}");
    assert_eq!(empty["requeued"], 0, "{empty}");
    for (body, field) in [
        (json!({}), "since"),
        (json!({"since": "yesterday"}), "since"),
        (json!({"since": start, "until": "tomorrow"}), "until"),
        (json!({"since": start, "status": "lost"}), "status"),
    ] {
        let (status, err) = app.post(&format!("/v1/webhooks/{id}/replay"), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["error"]["field"], field);
    }
}
