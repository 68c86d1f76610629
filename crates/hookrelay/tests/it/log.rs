//! The delivery log as its readers see it: deliveries and their attempts and requests, the
//! log's filters, events with their deliveries, statistics, and the admin's tenant paths.

use std::collections::BTreeSet;
use std::time::Duration;

use hookrelay::clock::{now_ms, rfc3339};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver, eventually};

backend_tests!(
    a_delivery_shows_its_attempts_and_the_request_its_endpoint_received,
    an_event_shows_its_tenants_data_and_deliveries_to_the_admin_only,
    the_delivery_log_takes_until_as_well_as_since,
    stats_over_two_days_come_in_daily_buckets,
    the_admin_tests_replays_and_reads_stats_of_a_tenants_webhook,
);

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// Asserts that `request` (a delivery's `request`) is what `received` got: every header it
/// lists with the same value, and the same body.
fn assert_request_is(request: &Value, received: &crate::helpers::Received) {
    let headers = request["headers"].as_object().unwrap();
    assert!(headers.contains_key("webhook-id"), "{request}");
    for (name, value) in headers {
        assert_eq!(received.header(name), value, "header {name}");
    }
    assert_eq!(
        request["body"].as_str().unwrap().as_bytes(),
        &received.body[..]
    );
    assert_eq!(request["method"], "POST");
}

async fn a_delivery_shows_its_attempts_and_the_request_its_endpoint_received(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.script(&[500]);
    let w = app
        .create_webhook(json!({
            "url": receiver.url("/hooks?src=hr"),
            "retry_schedule": [1],
            "headers": {"X-Tenant-Token": "t0k"},
        }))
        .await;
    let id = w["id"].as_str().unwrap();
    app.publish(json!({"type": "meeting.ended", "data": {"meeting_id": "m1", "n": 1.0}}))
        .await;
    let d = app.wait_for_delivery(id, "succeeded").await;
    assert_eq!(
        keys(&d),
        BTreeSet::from([
            "id",
            "webhook_id",
            "event_id",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "test",
            "created_at",
            "updated_at",
            "attempts",
            "request",
        ])
    );
    assert_eq!(d["attempt_count"], 2);
    assert_eq!(d["test"], false);
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        keys(&attempts[0]),
        BTreeSet::from([
            "id",
            "attempt",
            "started_at",
            "latency_ms",
            "status_code",
            "response_body",
            "error",
            "succeeded",
        ])
    );
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[1]["status_code"], 200);

    let request = &d["request"];
    assert_eq!(request["attempt"], 2, "the latest attempt's request");
    assert_eq!(request["url"], w["url"]);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_request_is(request, &received[1]);
    assert_eq!(request["headers"]["x-tenant-token"], "t0k");
    assert!(request["headers"]["webhook-signature"].is_string());
    assert!(
        !d.to_string().contains(w["secret"].as_str().unwrap()),
        "the secret is never shown: {d}"
    );

    let list = app.deliveries(id).await;
    assert_eq!(
        keys(&list[0]),
        &keys(&d) - &BTreeSet::from(["attempts", "request"]),
        "the log lists deliveries without their attempts"
    );

    // Another wire format: the request is rendered by the same code that sent it.
    let mave = app
        .create_webhook(json!({
            "url": receiver.url("/mave"),
            "signature": {"scheme": "timestamped-key", "header": "Mave-Signature"},
            "payload_format": "object-event",
        }))
        .await;
    let mave_id = mave["id"].as_str().unwrap();
    app.publish(json!({"type": "a.b", "data": {"x": [1, 2]}}))
        .await;
    let d = app.wait_for_delivery(mave_id, "succeeded").await;
    let sent = receiver
        .wait_for(4)
        .await
        .into_iter()
        .find(|r| r.path == "/mave")
        .unwrap();
    assert_request_is(&d["request"], &sent);
    assert!(d["request"]["headers"]["mave-signature"].is_string());
    assert!(!d.to_string().contains(mave["secret"].as_str().unwrap()));

    // Re-rendered on read: it follows the webhook's current settings.
    let (status, _) = app
        .patch(
            &format!("/v1/webhooks/{mave_id}"),
            json!({"headers": {"X-Added": "later"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, again) = app
        .get(&format!("/v1/deliveries/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(again["request"]["headers"]["x-added"], "later");
    assert_eq!(again["request"]["body"], d["request"]["body"]);
}

async fn an_event_shows_its_tenants_data_and_deliveries_to_the_admin_only(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let alice_key = app.create_tenant("alice").await;
    app.create_tenant("bob").await;
    let mut hooks = Vec::new();
    for (tenant, events) in [
        ("alice", json!([])),
        ("bob", json!([])),
        ("bob", json!(["x.*"])),
    ] {
        let (status, w) = app
            .post(
                &format!("/v1/tenants/{tenant}/webhooks"),
                json!({"url": receiver.url(&format!("/{tenant}")), "events": events}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{w}");
        hooks.push(w["id"].as_str().unwrap().to_owned());
    }
    let unrelated = app.create_webhook(json!({"url": receiver.url("/d")})).await;
    let data = r#"{"meeting_id":"m1","n":1.0}"#;
    let body = format!(
        r#"{{"id":"evt-shared-1","type":"meeting.ended","tenants":["alice","bob"],"channels":["eu"],"data":{data}}}"#
    );
    let resp = app
        .client
        .post(app.url("/v1/events"))
        .bearer_auth(crate::helpers::ADMIN_KEY)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    // A later event to the same webhooks is not one of this event's deliveries.
    app.publish(json!({"type": "meeting.ended", "tenants": ["alice", "bob"], "data": {}}))
        .await;
    receiver.wait_for(4).await;

    let (status, event) = app.get("/v1/events/evt-shared-1").await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["id"], "evt-shared-1");
    assert_eq!(event["type"], "meeting.ended");
    assert_eq!(event["tenants"], json!(["alice", "bob"]));
    assert_eq!(event["channels"], json!(["eu"]));
    assert_eq!(event["data"], serde_json::from_str::<Value>(data).unwrap());
    assert!(event["created_at"].as_str().unwrap().ends_with('Z'));
    let deliveries = event["deliveries"].as_array().unwrap();
    let mut to: Vec<&str> = deliveries
        .iter()
        .map(|d| d["webhook_id"].as_str().unwrap())
        .collect();
    to.sort_unstable();
    let mut expected = vec![hooks[0].as_str(), hooks[1].as_str()];
    expected.sort_unstable();
    assert_eq!(to, expected, "alice's and bob's matching webhooks only");
    assert!(
        deliveries.iter().all(|d| d["event_id"] == "evt-shared-1"
            && d["test"] == false
            && d["attempt_count"].is_u64()),
        "{event}"
    );
    assert!(!to.contains(&unrelated["id"].as_str().unwrap()));

    let (status, err) = app
        .call(
            Method::GET,
            "/v1/events/evt-shared-1",
            Some(&alice_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert!(err["error"]["code"].is_string());
    let (status, err) = app.get("/v1/events/evt-missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(err["error"]["message"].is_string());
}

async fn the_delivery_log_takes_until_as_well_as_since(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let id = w["id"].as_str().unwrap();
    app.publish(json!({"type": "first.kind", "data": {}})).await;
    // Every event created so far is before `mid`; every later one at or after it.
    let mid = now_ms() + 1;
    eventually(Duration::from_secs(1), "the clock passes mid", || async {
        now_ms() >= mid
    })
    .await;
    app.publish(json!({"type": "second.kind", "data": {}}))
        .await;
    let at = rfc3339(mid);
    let types = async |query: String| -> Vec<String> {
        let (status, body) = app
            .get(&format!("/v1/webhooks/{id}/deliveries?{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["event_type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(types(format!("until={at}")).await, ["first.kind"]);
    assert_eq!(types(format!("since={at}")).await, ["second.kind"]);
    let before = rfc3339(mid - 60_000);
    assert_eq!(
        types(format!("since={before}&until={at}")).await,
        ["first.kind"]
    );
    let after = rfc3339(mid + 60_000);
    assert_eq!(
        types(format!("until={after}")).await,
        ["second.kind", "first.kind"]
    );
    // A window that ends before it starts is empty, not an error.
    for query in [
        format!("since={at}&until={before}"),
        format!("since={at}&until={at}"),
    ] {
        assert!(types(query).await.is_empty());
    }
    let (status, err) = app
        .get(&format!("/v1/webhooks/{id}/deliveries?until=tomorrow"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "until", "{err}");
}

async fn stats_over_two_days_come_in_daily_buckets(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.script(&[500]);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1]}))
        .await;
    let id = w["id"].as_str().unwrap();
    app.publish(json!({"type": "a.b", "data": {}})).await;
    app.wait_for_delivery(id, "succeeded").await;
    for (window, bucketed) in [("7d", "daily"), ("30d", "daily"), ("49h", "daily")] {
        let (status, stats) = app
            .get(&format!("/v1/webhooks/{id}/stats?window={window}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{stats}");
        assert!(stats.get("hourly").is_none(), "{window}: {stats}");
        let days = stats[bucketed].as_array().unwrap();
        // Both attempts fall within one or two UTC days (around midnight).
        assert!((1..=2).contains(&days.len()), "{stats}");
        let total: u64 = days.iter().map(|d| d["attempts"].as_u64().unwrap()).sum();
        let failed: u64 = days.iter().map(|d| d["failed"].as_u64().unwrap()).sum();
        assert_eq!((total, failed), (2, 1), "{stats}");
        for day in days {
            assert!(
                day["day"].as_str().unwrap().ends_with("T00:00:00.000Z"),
                "{day}"
            );
        }
    }
    for window in ["48h", "2d", "1h"] {
        let (_, stats) = app
            .get(&format!("/v1/webhooks/{id}/stats?window={window}"))
            .await;
        assert!(stats.get("daily").is_none(), "{window}: {stats}");
        let hours = stats["hourly"].as_array().unwrap();
        let total: u64 = hours.iter().map(|h| h["attempts"].as_u64().unwrap()).sum();
        assert_eq!(total, 2, "{window}: {stats}");
    }
}

async fn the_admin_tests_replays_and_reads_stats_of_a_tenants_webhook(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let acme_key = app.create_tenant("acme").await;
    let (_, w) = app
        .post(
            "/v1/tenants/acme/webhooks",
            json!({"url": receiver.url("/acme"), "retry_schedule": []}),
        )
        .await;
    let id = w["id"].as_str().unwrap();
    let base = format!("/v1/tenants/acme/webhooks/{id}");
    let start = rfc3339(now_ms() - 1000);

    let (status, test) = app
        .post(&format!("{base}/test"), json!({"event_type": "a.b"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["succeeded"], true);
    app.publish(json!({"type": "a.b", "tenant": "acme", "data": {}}))
        .await;
    receiver.wait_for(2).await;
    eventually(
        Duration::from_secs(10),
        "the published delivery succeeds",
        || async {
            let (_, log) = app.get(&format!("{base}/deliveries")).await;
            log["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "succeeded")
        },
    )
    .await;
    let (_, log) = app.get(&format!("{base}/deliveries")).await;
    let marks: Vec<&Value> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["test"])
        .collect();
    assert_eq!(marks, [&json!(false), &json!(true)], "newest first: {log}");

    let (status, replayed) = app
        .post(&format!("{base}/replay"), json!({"since": start}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replayed}");
    assert_eq!(replayed["requeued"], 1, "the test send is not replayed");
    receiver.wait_for(3).await;

    let (status, stats) = app.get(&format!("{base}/stats?window=7d")).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["webhook_id"], w["id"]);
    assert!(stats["daily"].is_array(), "{stats}");

    for suffix in ["test", "replay"] {
        let (status, err) = app
            .call(
                Method::POST,
                &format!("{base}/{suffix}"),
                Some(&acme_key),
                Some(json!({"event_type": "a.b", "since": start})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{suffix}: {err}");
    }
    let (status, _) = app
        .call(Method::GET, &format!("{base}/stats"), Some(&acme_key), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            &format!("/v1/tenants/default/webhooks/{id}/test"),
            json!({"event_type": "a.b"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's webhook");
    let (status, _) = app
        .get(&format!("/v1/tenants/nobody/webhooks/{id}/stats"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
