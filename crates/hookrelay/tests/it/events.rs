//! Publishing: idempotency, type and channel matching, fan-out to several tenants, limits.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver};

backend_tests!(
    publishing_the_same_id_again_answers_the_first_result_and_delivers_once,
    events_reach_webhooks_by_type_pattern_and_channel,
    one_event_fans_out_to_every_named_tenant_and_no_other,
    bad_events_are_refused_and_nothing_is_stored,
    bodies_over_the_limit_get_413,
);

async fn publishing_the_same_id_again_answers_the_first_result_and_delivers_once(
    app: &mut TestApp,
) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let event = json!({"id": "order-42", "type": "order.paid", "data": {"total": 10}});
    let first = app.publish(event.clone()).await;
    assert_eq!(first, json!({"id": "order-42", "deliveries": 1}));
    let (status, again) = app.post("/v1/events", event).await;
    assert_eq!(status, StatusCode::OK, "a repeat answers 200");
    assert_eq!(again, first);
    // Even a repeat with other content creates nothing.
    let (status, again) = app
        .post(
            "/v1/events",
            json!({"id": "order-42", "type": "x.y", "data": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    app.wait_for_delivery(w["id"].as_str().unwrap(), "succeeded")
        .await;
    assert_eq!(app.deliveries(w["id"].as_str().unwrap()).await.len(), 1);
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].header("webhook-id"), "order-42");
}

async fn events_reach_webhooks_by_type_pattern_and_channel(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let make = async |path: &str, body: serde_json::Value| {
        let mut body = body;
        body["url"] = json!(receiver.url(path));
        app.create_webhook(body).await;
    };
    make("/exact", json!({"events": ["meeting.ended"]})).await;
    make("/family", json!({"events": ["meeting.*"]})).await;
    make("/all", json!({})).await;
    make("/star", json!({"events": ["*"]})).await;
    make(
        "/other",
        json!({"events": ["recording.created", "meeting.ended.late"]}),
    )
    .await;
    make("/team", json!({"channels": ["team-a"]})).await;
    make("/paused", json!({"active": false})).await;

    let e = app
        .publish(json!({"type": "meeting.ended", "data": {}}))
        .await;
    assert_eq!(
        e["deliveries"], 4,
        "exact, family, empty and * match; other, team and paused don't"
    );
    let got = receiver.wait_for(4).await;
    let mut paths: Vec<String> = got.iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/all", "/exact", "/family", "/star"]);

    let e = app
        .publish(json!({"type": "meeting.started", "data": {}, "channels": ["team-a"]}))
        .await;
    assert_eq!(
        e["deliveries"], 4,
        "family, all, star and the team-a webhook"
    );
    let got = receiver.wait_for(8).await;
    let mut paths: Vec<String> = got[4..].iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/all", "/family", "/star", "/team"]);

    let e = app
        .publish(json!({"type": "invoice.paid", "data": {}, "channels": ["team-b"]}))
        .await;
    assert_eq!(e["deliveries"], 2, "only the catch-all webhooks");
}

async fn one_event_fans_out_to_every_named_tenant_and_no_other(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    for tenant in ["alice", "bob", "carol"] {
        app.create_tenant(tenant).await;
        let (status, _) = app
            .post(
                &format!("/v1/tenants/{tenant}/webhooks"),
                json!({"url": receiver.url(&format!("/{tenant}"))}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let e = app
        .publish(
            json!({"id": "meeting-7-analyzed", "type": "meeting.analyzed",
                        "data": {"meeting_id": "m7"}, "tenants": ["alice", "bob", "alice"]}),
        )
        .await;
    assert_eq!(e["deliveries"], 2);
    let got = receiver.wait_for(2).await;
    let mut paths: Vec<String> = got.iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/alice", "/bob"]);
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == "meeting-7-analyzed")
    );

    let e = app
        .publish(json!({"type": "meeting.analyzed", "data": {}, "tenant": "carol"}))
        .await;
    assert_eq!(e["deliveries"], 1);
    let e = app
        .publish(json!({"type": "meeting.analyzed", "data": {}}))
        .await;
    assert_eq!(
        e["deliveries"], 0,
        "no tenant named: the default tenant, which has no webhooks"
    );
}

async fn bad_events_are_refused_and_nothing_is_stored(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let cases = [
        (json!({"data": {}}), "type"),
        (json!({"type": "bad type", "data": {}}), "type"),
        (json!({"type": "a.b"}), "data"),
        (json!({"type": "a.b", "data": [1, 2]}), "data"),
        (json!({"type": "a.b", "data": "text"}), "data"),
        (json!({"type": "a.b", "data": {}, "id": "has spaces"}), "id"),
        (
            json!({"type": "a.b", "data": {}, "tenant": "nobody"}),
            "tenant",
        ),
        (
            json!({"type": "a.b", "data": {}, "tenants": ["default", "nobody"]}),
            "tenants",
        ),
        (json!({"type": "a.b", "data": {}, "tenants": []}), "tenants"),
        (
            json!({"type": "a.b", "data": {}, "tenant": "default", "tenants": ["default"]}),
            "tenants",
        ),
        (
            json!({"type": "a.b", "data": {}, "channels": ["no spaces"]}),
            "channels[0]",
        ),
        (json!({"type": "a.b", "data": {}, "extra": 1}), "extra"),
    ];
    for (body, field) in cases {
        let (status, err) = app.post("/v1/events", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
    }
    assert!(app.deliveries(w["id"].as_str().unwrap()).await.is_empty());
    // The refused id with an unknown tenant was not stored: it can still be published.
    let (status, _) = app
        .post(
            "/v1/events",
            json!({"id": "retry-me", "type": "a.b", "data": {}, "tenant": "nobody"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = app
        .publish(json!({"id": "retry-me", "type": "a.b", "data": {}}))
        .await;
    assert_eq!(e["deliveries"], 1);
}

async fn bodies_over_the_limit_get_413(app: &mut TestApp) {
    let big = "x".repeat(1024 * 1024 + 1);
    let (status, err) = app
        .post("/v1/events", json!({"type": "a.b", "data": {"blob": big}}))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err["error"]["code"], "payload_too_large");
    let fits = "x".repeat(1000 * 1000);
    let (status, _) = app
        .post("/v1/events", json!({"type": "a.b", "data": {"blob": fits}}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
