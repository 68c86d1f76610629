//! The webhook page's test panel, over HTTP on both backends: the catalog's example (escaped)
//! in the textarea, an edited payload sent through the API's test send to a real receiver, its
//! result shown after the redirect, a payload that is not JSON refused at its field, the CSRF
//! token required, and no other tenant's webhook reachable.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::dashboard::{csrf, page, post_form, tenant_session};
use crate::helpers::{TestApp, TestReceiver};

backend_tests!(a_test_send_from_the_page_reaches_the_receiver_and_shows_its_result,);

async fn a_test_send_from_the_page_reaches_the_receiver_and_shows_its_result(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(201);
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let (status, body) = app
        .post(
            "/v1/event-types",
            json!({"name": "order.created", "description": "An order",
                   "example": {"note": "</textarea><script>alert(1)</script>"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let w = app
        .create_tenant_webhook("acme", json!({"url": receiver.url("/in")}))
        .await;
    let id = w["id"].as_str().unwrap();
    let theirs = app
        .create_tenant_webhook("globex", json!({"url": receiver.url("/globex")}))
        .await;
    let cookie = tenant_session(app, "acme").await;
    let base = format!("/dashboard/t/acme/webhooks/{id}");
    let (status, html) = page(app, &cookie, &format!("{base}?test_type=order.created")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the example, escaped: {html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    let token = csrf(&html);
    let test = format!("{base}/test");

    let (status, _, html) = post_form(
        app,
        &cookie,
        &test,
        &[
            ("_csrf", &token),
            ("event_type", "order.created"),
            ("data", "{not json"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("id=\"test-data-error\" role=\"alert\">must be JSON"),
        "{html}"
    );
    assert!(html.contains("{not json"), "the typed payload is kept");
    let (status, _, _) = post_form(
        app,
        &cookie,
        &test,
        &[
            ("_csrf", "forged"),
            ("event_type", "order.created"),
            ("data", "{}"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(receiver.received().is_empty(), "nothing was sent");

    let (status, location, _) = post_form(
        app,
        &cookie,
        &test,
        &[
            ("_csrf", &token),
            ("event_type", "order.created"),
            ("data", r#"{"edited": true}"#),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.starts_with(&format!("{base}?test=dlv_")),
        "{location}"
    );
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].json()["data"], json!({"edited": true}));
    assert_eq!(got[0].json()["type"], "order.created");
    let (status, html) = page(app, &cookie, &location).await;
    assert_eq!(status, StatusCode::OK);
    let at = html.find("id=\"test-result\"").expect(&html);
    assert!(html[at..].contains("succeeded"), "{html}");
    assert!(html[at..].contains("HTTP 201"), "{html}");
    assert!(
        html[at..].contains("answer 201"),
        "the response excerpt: {html}"
    );

    // Another tenant's webhook: not found, and nothing is sent.
    let theirs = theirs["id"].as_str().unwrap();
    for path in [
        format!("/dashboard/t/acme/webhooks/{theirs}/test"),
        format!("/dashboard/t/globex/webhooks/{theirs}/test"),
    ] {
        let f = [
            ("_csrf", token.as_str()),
            ("event_type", "order.created"),
            ("data", "{}"),
        ];
        assert_eq!(
            post_form(app, &cookie, &path, &f).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(receiver.received().len(), 1);
}
