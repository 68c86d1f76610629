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
    a_batch_publishes_every_valid_event_and_refuses_each_bad_one_by_itself,
    concurrent_publishes_are_all_stored_and_delivered_exactly_as_answered,
    concurrent_batches_sharing_one_commit_each_get_their_own_results,
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
    // A repeat with other content is a conflict, and creates nothing either.
    let (status, body) = app
        .post(
            "/v1/events",
            json!({"id": "order-42", "type": "x.y", "data": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
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

async fn a_batch_publishes_every_valid_event_and_refuses_each_bad_one_by_itself(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "events": ["batch.*"]}))
        .await;
    app.publish(json!({"id": "seen-before", "type": "batch.a", "data": {}}))
        .await;
    let (status, out) = app
        .post(
            "/v1/events/batch",
            json!({"events": [
                {"id": "b1", "type": "batch.a", "data": {"n": 1}},
                {"id": "b2", "type": "not valid", "data": {}},
                {"id": "seen-before", "type": "batch.a", "data": {}},
                {"id": "b3", "type": "batch.b", "data": {"n": 3}, "tenant": "nobody"},
                {"id": "b4", "type": "other.kind", "data": {}},
                {"id": "b1", "type": "batch.a", "data": {"n": 1}},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let data = out["data"].as_array().unwrap();
    assert_eq!(data.len(), 6);
    assert_eq!(data[0], json!({"status": 202, "id": "b1", "deliveries": 1}));
    assert_eq!(data[1]["status"], 422);
    assert_eq!(data[1]["error"]["field"], "events[1].type");
    assert_eq!(
        data[2],
        json!({"status": 200, "id": "seen-before", "deliveries": 1})
    );
    assert_eq!(data[3]["status"], 422);
    assert_eq!(data[3]["error"]["field"], "events[3].tenant");
    assert_eq!(data[4], json!({"status": 202, "id": "b4", "deliveries": 0}));
    assert_eq!(
        data[5],
        json!({"status": 200, "id": "b1", "deliveries": 1}),
        "a repeat within the batch"
    );
    let got = receiver.wait_for(2).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["b1", "seen-before"]);
    crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "two deliveries settle",
        || async {
            let list = app.deliveries(w["id"].as_str().unwrap()).await;
            list.len() == 2 && list.iter().all(|d| d["status"] == "succeeded")
        },
    )
    .await;

    let (status, err) = app.post("/v1/events/batch", json!({"events": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "events");
    let too_many: Vec<_> = (0..1001)
        .map(|_| json!({"type": "a.b", "data": {}}))
        .collect();
    let (status, _) = app
        .post("/v1/events/batch", json!({"events": too_many}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn concurrent_publishes_are_all_stored_and_delivered_exactly_as_answered(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    // Many publishes in flight at once share commits; each must still be answered only for
    // what was stored, and a repeated id must never deliver twice. A repeat carries the same
    // content (other content under a known id is a 409).
    let app = &*app;
    let tasks = (0..200).map(|i| async move {
        let id = format!("c{}", i % 150);
        app.post(
            "/v1/events",
            json!({"id": id, "type": "a.b", "data": {"i": i % 150}}),
        )
        .await
    });
    let answers = futures_util::future::join_all(tasks).await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    let repeats = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(
        (created, repeats),
        (150, 50),
        "every id published exactly once"
    );
    let got = receiver.wait_for(150).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 150);
    crate::helpers::eventually(
        std::time::Duration::from_secs(20),
        "all succeed",
        || async {
            let (_, page) = app
                .get(&format!(
                    "/v1/webhooks/{}/deliveries?status=succeeded&limit=250",
                    w["id"].as_str().unwrap()
                ))
                .await;
            page["data"].as_array().unwrap().len() == 150
        },
    )
    .await;
    assert_eq!(
        receiver.received().len(),
        150,
        "nothing was delivered twice"
    );
}

async fn concurrent_batches_sharing_one_commit_each_get_their_own_results(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    app.create_webhook(json!({"url": receiver.url("/h"), "events": ["batch.*"]}))
        .await;
    // Eight batches at once (grouped into shared transactions by the writer); each names the
    // same "shared" id, which exactly one of them publishes.
    let batches = (0..8).map(|b| {
        let mut events: Vec<_> = (0..40)
            .map(
                |i| json!({"id": format!("b{b}-{i}"), "type": "batch.x", "data": {"b": b, "i": i}}),
            )
            .collect();
        events.insert(
            b % 40,
            json!({"id": "shared", "type": "batch.x", "data": {}}),
        );
        events.push(
            json!({"id": format!("bad-{b}"), "type": "batch.x", "data": {}, "tenant": "nobody"}),
        );
        app.post("/v1/events/batch", json!({"events": events}))
    });
    let answers = futures_util::future::join_all(batches).await;
    let mut shared_created = 0;
    for (b, (status, out)) in answers.iter().enumerate() {
        assert_eq!(*status, StatusCode::OK, "{out}");
        let data = out["data"].as_array().unwrap();
        assert_eq!(data.len(), 42);
        for (i, item) in data.iter().enumerate() {
            if i == b % 40 {
                assert_eq!(item["id"], "shared");
                assert_eq!(item["deliveries"], 1);
                shared_created += usize::from(item["status"] == 202);
                assert!(item["status"] == 202 || item["status"] == 200, "{item}");
            } else if i == 41 {
                assert_eq!(item["status"], 422, "{item}");
            } else {
                let n = if i < b % 40 { i } else { i - 1 };
                assert_eq!(item["id"], format!("b{b}-{n}"));
                assert_eq!(item["status"], 202, "{item}");
                assert_eq!(item["deliveries"], 1);
            }
        }
    }
    assert_eq!(
        shared_created, 1,
        "exactly one batch published the shared id"
    );
    receiver.wait_for(8 * 40 + 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        receiver.received().len(),
        8 * 40 + 1,
        "each event delivered once"
    );
}
