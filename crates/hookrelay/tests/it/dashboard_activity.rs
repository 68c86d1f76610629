//! The webhook page's activity, over HTTP on both backends: the chart (24 hours, 7 and 30
//! days) and latency, the delivery log filtered by status, event type and time (hostile
//! filter values escaped), and "replay failed since…" through the API's replay, with its
//! refusal at its field, its CSRF token, and no other tenant's webhook reachable.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::dashboard::{csrf, page, post_form, tenant_session};
use crate::helpers::{TestApp, TestReceiver, eventually};

backend_tests!(the_webhook_page_charts_filters_and_replays_failed_deliveries,);

async fn statuses(app: &TestApp, id: &str) -> Vec<String> {
    let (_, body) = app
        .get(&format!("/v1/tenants/acme/webhooks/{id}/deliveries"))
        .await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_webhook_page_charts_filters_and_replays_failed_deliveries(app: &mut TestApp) {
    let app = &*app;
    let receiver = TestReceiver::spawn().await;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let w = app
        .create_tenant_webhook(
            "acme",
            json!({"url": receiver.url("/in"), "retry_schedule": []}),
        )
        .await;
    let id = w["id"].as_str().unwrap();
    let theirs = app
        .create_tenant_webhook("globex", json!({"url": receiver.url("/globex")}))
        .await;
    receiver.set_status(500);
    for _ in 0..2 {
        app.publish(json!({"type": "order.created", "tenant": "acme", "data": {}}))
            .await;
    }
    eventually(Duration::from_secs(20), "two failures", || async {
        statuses(app, id).await == ["failed", "failed"]
    })
    .await;
    receiver.set_status(200);
    app.publish(json!({"type": "user.created", "tenant": "acme", "data": {}}))
        .await;
    eventually(Duration::from_secs(20), "one success", || async {
        statuses(app, id).await.contains(&"succeeded".to_owned())
    })
    .await;

    let cookie = tenant_session(app, "acme").await;
    let base = format!("/dashboard/t/acme/webhooks/{id}");
    let (status, html) = page(app, &cookie, &base).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<svg class=\"chart\" id=\"chart\""), "{html}");
    assert!(html.contains("data-succeeded=\"1\""), "{html}");
    assert!(html.contains("data-failed=\"2\""), "{html}");
    let at = html.find("id=\"latency\"").unwrap();
    assert!(html[at..].contains("p99"), "{html}");
    assert_eq!(html.matches("data-status=").count(), 3);
    assert!(html.contains("data-window=\"24h\""), "{html}");
    // Per UTC day over 7 and 30 days, chosen with links; the same attempts, today's bar.
    for window in ["7d", "30d"] {
        assert!(html.contains(&format!("href=\"{base}?window={window}#activity\"")));
        let (status, html) = page(app, &cookie, &format!("{base}?window={window}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains(&format!("data-window=\"{window}\"")),
            "{html}"
        );
        assert!(html.contains("data-succeeded=\"1\""), "{html}");
        assert!(html.contains("data-failed=\"2\""), "{html}");
        assert!(html.contains("Success, last "), "{html}");
        assert!(!html.contains("id=\"chart-cut\""), "{html}");
    }

    let (_, html) = page(
        app,
        &cookie,
        &format!("{base}?status=failed&event_type=order.created&period=1h"),
    )
    .await;
    assert_eq!(html.matches("data-status=\"failed\"").count(), 2, "{html}");
    assert!(!html.contains("data-status=\"succeeded\""), "{html}");
    let (_, html) = page(app, &cookie, &format!("{base}?event_type=user.created")).await;
    assert_eq!(html.matches("data-status=").count(), 1, "{html}");
    let (status, html) = page(
        app,
        &cookie,
        &format!("{base}?event_type=%22%3E%3Cscript%3Ealert(1)%3C/script%3E"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
    let token = csrf(&html);

    // Replay: a time that is not RFC 3339 is refused at its field; a forged form changes nothing.
    let replay = format!("{base}/replay");
    let (status, _, html) = post_form(
        app,
        &cookie,
        &replay,
        &[("_csrf", &token), ("since", "yesterday")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("id=\"since-error\" role=\"alert\">must be an RFC 3339 time"),
        "{html}"
    );
    assert!(html.contains("value=\"yesterday\""), "{html}");
    let since = "2000-01-01T00:00:00Z";
    let (status, _, _) = post_form(
        app,
        &cookie,
        &replay,
        &[("_csrf", "forged"), ("since", since)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let theirs = theirs["id"].as_str().unwrap();
    for path in [
        format!("/dashboard/t/acme/webhooks/{theirs}/replay"),
        format!("/dashboard/t/globex/webhooks/{theirs}/replay"),
    ] {
        let f = [("_csrf", token.as_str()), ("since", since)];
        assert_eq!(
            post_form(app, &cookie, &path, &f).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(receiver.received().len(), 3, "nothing replayed yet");

    let (status, location, _) = post_form(
        app,
        &cookie,
        &replay,
        &[("_csrf", &token), ("since", since)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("{base}?replayed=2#replay"));
    let (_, html) = page(app, &cookie, &location).await;
    assert!(html.contains("2 failed deliveries queued again."), "{html}");
    eventually(
        Duration::from_secs(20),
        "the replayed deliveries succeed",
        || async { statuses(app, id).await == ["succeeded", "succeeded", "succeeded"] },
    )
    .await;
    assert_eq!(receiver.received().len(), 5);
}
