//! Bad input, settled: whatever a client sends, a refusal is a 4xx with the error JSON, the same
//! on both backends, naming the field, quoting at most an excerpt of what was sent, and changing
//! nothing. (Found by a fuzzer: NULs made PostgreSQL answer 500, path decoding answered plain
//! text, serde's wording leaked, and `data` no receiver could parse was accepted.)

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{ADMIN_KEY, TestApp, TestReceiver};

backend_tests!(
    text_with_a_nul_is_a_422_naming_the_field_and_stores_nothing,
    a_nul_inside_event_data_is_stored_and_read_back,
    ids_in_the_path_that_cannot_exist_are_a_404_in_the_error_json,
    messages_are_written_for_people_and_quote_a_bounded_excerpt,
    data_that_other_parsers_refuse_is_a_422_on_data,
    an_invalid_cursor_is_a_422_naming_cursor,
    a_repeated_event_id_with_other_content_is_a_409_and_changes_nothing,
    the_default_tenant_was_not_created_in_1970,
);

/// Sends `body` exactly as given (JSON that `serde_json::Value` cannot hold, or not JSON).
async fn send_raw(app: &TestApp, method: reqwest::Method, path: &str, body: &str) -> Raw {
    let resp = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(ADMIN_KEY)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.expect("body");
    Raw {
        status,
        content_type,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

struct Raw {
    status: StatusCode,
    content_type: String,
    body: Value,
}

/// Asserts the error JSON with `status`, `code` and (when given) `field`; answers the message.
fn assert_error(
    (status, body): &(StatusCode, Value),
    want: StatusCode,
    code: &str,
    field: Option<&str>,
) -> String {
    assert_eq!(*status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    if let Some(field) = field {
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    body["error"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

async fn text_with_a_nul_is_a_422_naming_the_field_and_stores_nothing(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let nul = "a\u{0}b";
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let refused = "validation_failed";

    let r = app
        .post("/v1/tenants", json!({"id": "t1", "name": nul}))
        .await;
    assert_error(&r, unprocessable, refused, Some("name"));
    let r = app
        .post(
            "/v1/tenants",
            json!({"id": "t1", "contact_email": format!("ops@{nul}.example")}),
        )
        .await;
    assert_error(&r, unprocessable, refused, Some("contact_email"));
    let r = app.patch("/v1/tenants/default", json!({"name": nul})).await;
    assert_error(&r, unprocessable, refused, Some("name"));

    let r = app
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url("/h"), "description": nul}),
        )
        .await;
    assert_error(&r, unprocessable, refused, Some("description"));

    let r = app
        .post(
            "/v1/event-types",
            json!({"name": "order.paid", "description": nul}),
        )
        .await;
    assert_error(&r, unprocessable, refused, Some("description"));

    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let wid = w["id"].as_str().unwrap();
    let r = app.get("/v1/webhooks?cursor=wh_%00").await;
    assert_error(&r, unprocessable, refused, Some("cursor"));
    let r = app
        .get(&format!("/v1/webhooks/{wid}/deliveries?event_type=a%00b"))
        .await;
    assert_error(&r, unprocessable, refused, Some("event_type"));

    // Nothing was stored or changed.
    let (_, tenants) = app.get("/v1/tenants").await;
    let ids: Vec<&str> = tenants["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default"]);
    let (_, default) = app.get("/v1/tenants/default").await;
    assert_eq!(default["name"], "Default");
    let (_, types) = app.get("/v1/event-types").await;
    assert_eq!(types["data"], json!([]));
    let (_, hooks) = app.get("/v1/webhooks").await;
    assert_eq!(hooks["data"].as_array().unwrap().len(), 1);
}

async fn a_nul_inside_event_data_is_stored_and_read_back(app: &mut TestApp) {
    // In `data` a NUL stays the six characters `\u0000` of JSON text, which every backend
    // stores; it is the receiver's JSON parser that decodes it.
    let data = json!({"s": "a\u{0}b"});
    let published = app
        .publish(json!({"type": "order.paid", "data": data}))
        .await;
    let (status, event) = app
        .get(&format!("/v1/events/{}", published["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["data"], data);
}

async fn ids_in_the_path_that_cannot_exist_are_a_404_in_the_error_json(app: &mut TestApp) {
    for path in [
        "/v1/webhooks/%FF",
        "/v1/webhooks/wh_%00",
        "/v1/tenants/a%00b",
        "/v1/tenants/%FF/webhooks",
        "/v1/events/evt_%00",
        "/v1/event-types/a%00b",
        "/v1/deliveries/dlv_%00",
    ] {
        let r = send_raw(app, reqwest::Method::GET, path, "").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(
            r.content_type.starts_with("application/json"),
            "{path}: {}",
            r.content_type
        );
        assert_eq!(r.body["error"]["code"], "not_found", "{path}: {}", r.body);
    }
    let r = send_raw(app, reqwest::Method::PATCH, "/v1/webhooks/%FF", "{}").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_found");
}

async fn messages_are_written_for_people_and_quote_a_bounded_excerpt(app: &mut TestApp) {
    for body in ["[]", "\"x\"", "1", "null"] {
        let r = send_raw(app, reqwest::Method::POST, "/v1/events", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(
            r.body["error"]["message"], "the request body must be a JSON object",
            "{body}"
        );
    }
    let long = "x".repeat(10_000);
    let r = app
        .post(
            "/v1/events",
            json!({"type": format!("{long}!"), "data": {}}),
        )
        .await;
    let message = assert_error(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("type"),
    );
    assert!(message.len() < 300, "{message}");
    assert!(message.contains('…'), "{message}");
    // A long string where a number belongs: serde's message quotes it, cut short.
    let r = app
        .post(
            "/v1/webhooks",
            json!({"url": "https://example.com", "timeout_seconds": long}),
        )
        .await;
    let message = assert_error(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("timeout_seconds"),
    );
    assert!(message.len() < 300, "{message}");
    let r = app.get(&format!("/v1/webhooks?limit={long}")).await;
    let message = assert_error(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        None,
    );
    assert!(message.len() < 300, "{message}");
}

async fn data_that_other_parsers_refuse_is_a_422_on_data(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    for data in [
        r#"{"s":"\ud800"}"#.to_owned(),
        r#"{"\udfff":1}"#.to_owned(),
        r#"{"n":1e400}"#.to_owned(),
        format!(r#"{{"deep":{}}}"#, nested(64)),
        format!(r#"{{"deep":{}}}"#, nested(100_000)),
    ] {
        let body = format!(r#"{{"type":"order.paid","data":{data}}}"#);
        let r = send_raw(app, reqwest::Method::POST, "/v1/events", &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {}",
            &data[..data.len().min(40)],
            r.body
        );
        assert_eq!(r.body["error"]["field"], "data", "{}", r.body);
        let batch = format!(r#"{{"events":[{body}]}}"#);
        let r = send_raw(app, reqwest::Method::POST, "/v1/events/batch", &batch).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["data"][0]["status"], 422, "{}", r.body);
        assert_eq!(r.body["data"][0]["error"]["field"], "events[0].data");
    }
    // The documented depth itself, a surrogate pair and a large double are fine.
    let body = format!(
        r#"{{"type":"order.paid","data":{{"deep":{},"s":"\ud83d\ude00","n":1.7e308}}}}"#,
        nested(63)
    );
    let r = send_raw(app, reqwest::Method::POST, "/v1/events", &body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    // Only that one event was stored.
    let wid = w["id"].as_str().unwrap();
    app.wait_for_delivery(wid, "succeeded").await;
    assert_eq!(app.deliveries(wid).await.len(), 1);
}

async fn an_invalid_cursor_is_a_422_naming_cursor(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    app.create_webhook(json!({"url": receiver.url("/h2")}))
        .await;
    let wid = w["id"].as_str().unwrap();
    let injection = "%27%20OR%201%3D1--";
    for path in [
        "/v1/webhooks?cursor=abc".to_owned(),
        format!("/v1/webhooks?cursor={injection}"),
        "/v1/webhooks?cursor=dlv_01JDZ3V6Q9X8Y7W6V5T4S3R2Q1".to_owned(),
        format!("/v1/tenants?cursor={injection}"),
        format!("/v1/event-types?cursor={injection}"),
        format!("/v1/webhooks/{wid}/deliveries?cursor=abc"),
    ] {
        let r = app.get(&path).await;
        assert_error(
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("cursor"),
        );
    }
    // The cursor a list hands out is still accepted.
    let (status, first) = app.get("/v1/webhooks?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (status, second) = app
        .get(&format!("/v1/webhooks?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_ne!(second["data"][0]["id"], first["data"][0]["id"]);
    let (status, _) = app.get("/v1/tenants?cursor=abc").await;
    assert_eq!(status, StatusCode::OK, "a tenant id is a tenant cursor");
}

async fn a_repeated_event_id_with_other_content_is_a_409_and_changes_nothing(app: &mut TestApp) {
    app.create_tenant("acme").await;
    let event = json!({"id": "order-7", "type": "order.paid", "data": {"a": 1, "b": [2]}});
    let first = app.publish(event.clone()).await;
    // The same content, even spaced and ordered differently, is the same event.
    let r = send_raw(
        app,
        reqwest::Method::POST,
        "/v1/events",
        r#"{ "data": {"b": [ 2 ], "a": 1}, "type": "order.paid", "id": "order-7" }"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, first);
    for (changed, what) in [
        (
            json!({"id": "order-7", "type": "order.paid", "data": {"a": 2, "b": [2]}}),
            "data",
        ),
        (
            json!({"id": "order-7", "type": "order.refunded", "data": {"a": 1, "b": [2]}}),
            "type",
        ),
        (
            json!({"id": "order-7", "type": "order.paid", "tenant": "acme", "data": {"a": 1, "b": [2]}}),
            "tenants",
        ),
    ] {
        let r = app.post("/v1/events", changed).await;
        let message = assert_error(&r, StatusCode::CONFLICT, "conflict", None);
        assert!(message.contains(what), "{message}");
        assert!(message.contains("order-7"), "{message}");
    }
    let (status, batch) = app
        .post(
            "/v1/events/batch",
            json!({"events": [
                event,
                {"id": "order-7", "type": "order.paid", "data": {}},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    assert_eq!(batch["data"][0]["status"], 200, "{batch}");
    assert_eq!(batch["data"][1]["status"], 409, "{batch}");
    assert_eq!(batch["data"][1]["error"]["code"], "conflict", "{batch}");
    let (_, stored) = app.get("/v1/events/order-7").await;
    assert_eq!(stored["data"], json!({"a": 1, "b": [2]}));
    assert_eq!(stored["type"], "order.paid");
    assert_eq!(stored["tenants"], json!(["default"]));
}

async fn the_default_tenant_was_not_created_in_1970(app: &mut TestApp) {
    let (status, tenant) = app.get("/v1/tenants/default").await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    let created = tenant["created_at"].as_str().unwrap();
    assert!(created >= "2026", "{created}");
    assert!(tenant["updated_at"].as_str().unwrap() >= created);
}
