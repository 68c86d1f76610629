//! Webhooks: create, read, list, update, delete, and validation that refuses bad input with a
//! clear 422 and changes nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    a_webhook_is_created_with_documented_defaults_and_a_generated_secret,
    webhooks_are_read_listed_in_pages_updated_and_deleted,
    invalid_webhooks_are_refused_naming_the_field_and_nothing_is_stored,
    malformed_requests_get_the_error_json,
);

async fn a_webhook_is_created_with_documented_defaults_and_a_generated_secret(app: &mut TestApp) {
    let w = app
        .create_webhook(json!({"url": "https://example.com/hooks"}))
        .await;
    assert!(w["id"].as_str().unwrap().starts_with("wh_"));
    assert_eq!(w["url"], "https://example.com/hooks");
    assert_eq!(w["description"], "");
    assert_eq!(w["events"], json!([]));
    assert_eq!(w["channels"], json!([]));
    assert_eq!(w["active"], true);
    assert_eq!(w["disabled_reason"], json!(null));
    assert_eq!(w["retry_schedule"], json!([30, 120, 600, 3600, 21600]));
    assert_eq!(w["timeout_seconds"], 10);
    assert_eq!(w["rate_limit_per_second"], json!(null));
    assert_eq!(w["headers"], json!({}));
    assert_eq!(w["signature"], json!({"scheme": "standard-webhooks"}));
    assert_eq!(w["payload_format"], "envelope");
    let secret = w["secret"].as_str().unwrap();
    let raw = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .expect("base64");
    assert_eq!(bytes.len(), 24);
    assert!(w["created_at"].as_str().unwrap().ends_with('Z'));

    let other = app
        .create_webhook(json!({"url": "https://example.com/hooks"}))
        .await;
    assert_ne!(other["secret"], w["secret"], "secrets are random");

    let given = app
        .create_webhook(json!({
            "url": "https://example.com/mg", "secret": "my-own-secret",
            "signature": {"scheme": "hmac-sha256", "header": "X-MG-Signature"},
            "payload_format": "data", "retry_schedule": [60, 300], "timeout_seconds": 5,
            "headers": {"Authorization": "Bearer downstream"}, "channels": ["team-a"],
            "events": ["meeting.*", "recording.created"], "rate_limit_per_second": 50,
        }))
        .await;
    assert_eq!(given["secret"], "my-own-secret");
    assert_eq!(
        given["signature"],
        json!({"scheme": "hmac-sha256", "header": "X-MG-Signature", "encoding": "hex", "prefix": ""})
    );
    assert_eq!(given["retry_schedule"], json!([60, 300]));
    assert_eq!(
        given["headers"],
        json!({"Authorization": "Bearer downstream"})
    );
    assert_eq!(given["rate_limit_per_second"], 50);
}

async fn webhooks_are_read_listed_in_pages_updated_and_deleted(app: &mut TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let w = app
            .create_webhook(json!({"url": format!("https://example.com/{i}")}))
            .await;
        ids.push(w["id"].as_str().unwrap().to_owned());
    }
    let (status, one) = app.get(&format!("/v1/webhooks/{}", ids[2])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["url"], "https://example.com/2");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/webhooks?limit=2&cursor={c}"),
            None => "/v1/webhooks?limit=2".to_owned(),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|w| w["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen, ids,
        "pages cover every webhook once, in creation order"
    );

    let (status, updated) = app
        .patch(
            &format!("/v1/webhooks/{}", ids[0]),
            json!({"description": "billing", "events": ["invoice.paid"], "active": false,
                   "rate_limit_per_second": 10, "timeout_seconds": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["description"], "billing");
    assert_eq!(updated["events"], json!(["invoice.paid"]));
    assert_eq!(updated["active"], false);
    assert_eq!(
        updated["url"], "https://example.com/0",
        "absent fields keep their value"
    );
    let (_, updated) = app
        .patch(
            &format!("/v1/webhooks/{}", ids[0]),
            json!({"rate_limit_per_second": null}),
        )
        .await;
    assert_eq!(
        updated["rate_limit_per_second"],
        json!(null),
        "null clears a nullable field"
    );
    assert_eq!(updated["timeout_seconds"], 30);
    let (_, reread) = app.get(&format!("/v1/webhooks/{}", ids[0])).await;
    assert_eq!(reread, updated, "the update is stored");

    let (status, _) = app.delete(&format!("/v1/webhooks/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&format!("/v1/webhooks/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.delete(&format!("/v1/webhooks/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .patch("/v1/webhooks/wh_nope", json!({"description": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn invalid_webhooks_are_refused_naming_the_field_and_nothing_is_stored(app: &mut TestApp) {
    let existing = app
        .create_webhook(json!({"url": "https://example.com/keep"}))
        .await;
    let cases = [
        (json!({}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "ftp://example.com/x"}), "url"),
        (
            json!({"url": "https://example.com", "events": ["ok.name", "bad name"]}),
            "events[1]",
        ),
        (
            json!({"url": "https://example.com", "events": ["a.*.b"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://example.com", "retry_schedule": [30, 0]}),
            "retry_schedule[1]",
        ),
        (
            json!({"url": "https://example.com", "retry_schedule": [604801]}),
            "retry_schedule[0]",
        ),
        (
            json!({"url": "https://example.com", "retry_schedule": vec![1; 21]}),
            "retry_schedule",
        ),
        (
            json!({"url": "https://example.com", "timeout_seconds": 0}),
            "timeout_seconds",
        ),
        (
            json!({"url": "https://example.com", "timeout_seconds": 31}),
            "timeout_seconds",
        ),
        (
            json!({"url": "https://example.com", "secret": "not base64!"}),
            "secret",
        ),
        // Any text keys an HMAC, but no database-stored text holds a NUL.
        (
            json!({"url": "https://example.com", "secret": "key\0",
                   "signature": {"scheme": "hmac-sha256", "header": "X-Sig"}}),
            "secret",
        ),
        (
            json!({"url": "https://example.com", "headers": {"Content-Type": "text/plain"}}),
            "headers.Content-Type",
        ),
        (
            json!({"url": "https://example.com", "channels": ["has space"]}),
            "channels[0]",
        ),
        (
            json!({"url": "https://example.com", "rate_limit_per_second": 0}),
            "rate_limit_per_second",
        ),
        (
            json!({"url": "https://example.com", "signature": {"scheme": "hmac-sha256", "header": "bad header"}}),
            "signature.header",
        ),
        (
            json!({"url": "https://example.com", "payload_format": "xml"}),
            "payload_format",
        ),
        (
            json!({"url": "https://example.com", "colour": "blue"}),
            "colour",
        ),
        (json!({"url": 42}), "url"),
    ];
    for (body, field) in cases {
        let (status, err) = app.post("/v1/webhooks", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(err["error"]["code"], "validation_failed", "{err}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    }
    let id = existing["id"].as_str().unwrap();
    let (status, err) = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"url": "https://ok.example", "timeout_seconds": 99}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "timeout_seconds");
    let (_, list) = app.get("/v1/webhooks").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    assert_eq!(
        list["data"][0], existing,
        "the refused update changed nothing"
    );
}

async fn malformed_requests_get_the_error_json(app: &mut TestApp) {
    let resp = app
        .client
        .post(app.url("/v1/webhooks"))
        .bearer_auth(crate::helpers::ADMIN_KEY)
        .body("{\"url\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    let (status, body) = app.get("/v1/webhooks?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "limit");
    let (status, body) = app.get("/v1/webhooks?limit=abc").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.get("/v1/no-such-route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            "/v1/webhooks",
            Some(crate::helpers::ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn production_mode_refuses_plain_http_and_private_targets() {
    let mut app = TestApp::spawn_with(Backend::Sqlite, |c| c.dev = false)
        .await
        .unwrap();
    for url in [
        "http://example.com/hooks",
        "https://127.0.0.1/hooks",
        "https://10.0.0.8/x",
        "https://localhost/x",
    ] {
        let (status, err) = app.post("/v1/webhooks", json!({"url": url})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(err["error"]["field"], "url");
    }
    app.create_webhook(json!({"url": "https://example.com/hooks"}))
        .await;
    app.stop().await;
}
