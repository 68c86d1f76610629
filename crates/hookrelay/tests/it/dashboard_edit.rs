//! Editing a webhook in the dashboard, over HTTP on both backends: the form shows the stored
//! settings (custom header values never), saves through the API's update, shows the API's
//! refusal at its field changing nothing, needs the session's CSRF token, escapes what it
//! shows, and opens no other tenant's webhook.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::dashboard::{csrf, page, post_form, tenant_session};
use crate::helpers::TestApp;

backend_tests!(a_webhook_is_edited_through_the_apis_update_with_refusals_at_their_fields,);

async fn a_webhook_is_edited_through_the_apis_update_with_refusals_at_their_fields(
    app: &mut TestApp,
) {
    let app = &*app;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let w = app
        .create_tenant_webhook(
            "acme",
            json!({"url": "http://127.0.0.1:9/in", "headers": {"X-Token": "tok-secret-42"}}),
        )
        .await;
    let id = w["id"].as_str().unwrap();
    let theirs = app
        .create_tenant_webhook("globex", json!({"url": "http://127.0.0.1:9/globex"}))
        .await;
    let cookie = tenant_session(app, "acme").await;
    let edit = format!("/dashboard/t/acme/webhooks/{id}/edit");
    let (status, html) = page(app, &cookie, &edit).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("http://127.0.0.1:9/in"), "{html}");
    assert!(html.contains("X-Token: (unchanged)"), "{html}");
    assert!(
        !html.contains("tok-secret-42"),
        "a header value is never shown"
    );
    let token = csrf(&html);

    let form = |timeout: &'static str| {
        vec![
            ("_csrf", token.clone()),
            ("url", "http://127.0.0.1:9/moved".to_owned()),
            ("description", "<script>alert(1)</script>".to_owned()),
            ("events", "order.*".to_owned()),
            ("retry_schedule", "5, 60".to_owned()),
            ("timeout_seconds", timeout.to_owned()),
            ("rate_limit_per_second", "".to_owned()),
            ("headers", "X-Token: (unchanged)\nX-Extra: two".to_owned()),
            ("preset", "x-mg".to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let (cookie, edit) = (cookie.clone(), edit.clone());
        async move { send(app, &cookie, &edit, &f).await }
    };

    // The API's refusal, at its field, with what was typed kept; nothing changes.
    for (timeout, message) in [
        ("99", "must be from 1 to 30 seconds"),
        ("soon", "must be a whole number"),
    ] {
        let (status, _, html) = post(form(timeout)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let at = html.find("id=\"timeout_seconds-error\"").expect(&html);
        assert!(
            html[at..].starts_with(&format!(
                "id=\"timeout_seconds-error\" role=\"alert\">{message}"
            )),
            "{html}"
        );
        assert!(
            html.contains("http://127.0.0.1:9/moved"),
            "typed values kept"
        );
        assert!(!html.contains("<script>alert(1)"), "escaped: {html}");
    }
    let mut bad_header = form("7");
    bad_header[7].1 = "no colon here".to_owned();
    let (status, _, html) = post(bad_header).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"headers-error\""), "{html}");
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/webhooks/{id}")).await.1,
        w
    );

    // Without the session's token: refused, nothing changes.
    let mut forged = form("7");
    forged[0].1 = "forged".to_owned();
    assert_eq!(post(forged).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/webhooks/{id}")).await.1,
        w
    );

    let (status, location, _) = post(form("7")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/dashboard/t/acme/webhooks/{id}"));
    let (_, now) = app.get(&format!("/v1/tenants/acme/webhooks/{id}")).await;
    assert_eq!(now["url"], "http://127.0.0.1:9/moved");
    assert_eq!(now["events"], json!(["order.*"]));
    assert_eq!(now["retry_schedule"], json!([5, 60]));
    assert_eq!(now["timeout_seconds"], 7);
    assert_eq!(now["rate_limit_per_second"], json!(null));
    assert_eq!(
        now["headers"],
        json!({"X-Token": "tok-secret-42", "X-Extra": "two"})
    );
    assert_eq!(
        now["signature"],
        json!({"scheme": "hmac-sha256", "header": "X-MG-Signature", "encoding": "hex", "prefix": ""})
    );
    assert_eq!(now["payload_format"], "data");
    assert_eq!(now["active"], false, "the active box was left unticked");
    assert_eq!(now["disabled_reason"], "manual");
    let (_, html) = page(app, &cookie, &format!("/dashboard/t/acme/webhooks/{id}")).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
    let (_, html) = page(app, &cookie, &edit).await;
    assert!(
        html.contains("value=\"x-mg\" selected"),
        "the preset is recognised: {html}"
    );

    // Another tenant's webhook is not found, by either path.
    let theirs = theirs["id"].as_str().unwrap();
    for path in [
        format!("/dashboard/t/acme/webhooks/{theirs}/edit"),
        format!("/dashboard/t/globex/webhooks/{theirs}/edit"),
    ] {
        assert_eq!(
            page(app, &cookie, &path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let f = [
            ("_csrf", token.as_str()),
            ("url", "http://127.0.0.1:9/x"),
            ("timeout_seconds", "5"),
        ];
        assert_eq!(
            post_form(app, &cookie, &path, &f).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        app.get(&format!("/v1/tenants/globex/webhooks/{theirs}"))
            .await
            .1["url"],
        "http://127.0.0.1:9/globex"
    );
}

async fn send(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, String)],
) -> (StatusCode, String, String) {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(app, cookie, path, &form).await
}
