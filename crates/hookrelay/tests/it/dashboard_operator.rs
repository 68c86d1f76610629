//! The operator's pages, over HTTP on both backends: the system at a glance (queue depth,
//! the last hour's deliveries, failing and disabled webhooks) and the event-type catalog
//! (add and edit through the API's code, refusals at their fields, hostile text escaped), each
//! closed to tenant sessions and each form needing the session's CSRF token.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::dashboard::{csrf, operator_session, page, post_form, tenant_session};
use crate::helpers::{TestApp, TestReceiver, eventually};

backend_tests!(
    the_operator_sees_the_system_at_a_glance,
    the_operator_edits_the_event_type_catalog,
);

async fn the_operator_sees_the_system_at_a_glance(app: &mut TestApp) {
    let app = &*app;
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(500);
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let failing = app
        .create_tenant_webhook(
            "acme",
            json!({"url": receiver.url("/failing"), "retry_schedule": [3600]}),
        )
        .await;
    let off = app
        .create_tenant_webhook(
            "globex",
            json!({"url": receiver.url("/off"), "active": false}),
        )
        .await;
    app.publish(json!({"type": "order.created", "tenant": "acme", "data": {}}))
        .await;
    let deliveries = format!(
        "/v1/tenants/acme/webhooks/{}/deliveries",
        failing["id"].as_str().unwrap()
    );
    eventually(
        Duration::from_secs(20),
        "a failed first attempt",
        || async { app.get(&deliveries).await.1["data"][0]["attempt_count"] == 1 },
    )
    .await;

    let tenant = tenant_session(app, "acme").await;
    assert_eq!(
        page(app, &tenant, "/dashboard/system").await.0,
        StatusCode::NOT_FOUND
    );
    let cookie = operator_session(app).await;
    let (status, html) = page(app, &cookie, "/dashboard/system").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"due\">0<"), "{html}");
    assert!(
        html.contains("id=\"scheduled\">1<"),
        "retried in an hour: {html}"
    );
    assert!(html.contains("nothing is waiting"), "{html}");
    assert!(html.contains("1 deliveries created"), "{html}");
    assert!(html.contains("1 pending"), "{html}");
    let at = html.find("id=\"failing\"").expect(&html);
    let failing_id = failing["id"].as_str().unwrap();
    assert!(
        html[at..].contains(&format!("/dashboard/t/acme/webhooks/{failing_id}")),
        "{html}"
    );
    let at = html.find("id=\"disabled\"").expect(&html);
    let off_id = off["id"].as_str().unwrap();
    assert!(
        html[at..].contains(&format!("/dashboard/t/globex/webhooks/{off_id}")),
        "{html}"
    );
    assert!(html[at..].contains("manual"), "{html}");
}

async fn the_operator_edits_the_event_type_catalog(app: &mut TestApp) {
    let app = &*app;
    app.create_tenant("acme").await;
    let cookie = operator_session(app).await;
    let (status, html) = page(app, &cookie, "/dashboard/event-types").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The catalog is empty"), "{html}");
    let token = csrf(&html);
    let add = |name: &'static str, example: &'static str| {
        let (cookie, token) = (cookie.clone(), token.clone());
        async move {
            let form = [
                ("_csrf", token.as_str()),
                ("name", name),
                ("description", "<img src=x onerror=alert(1)>"),
                ("example", example),
                ("schema", r#"{"type": "object", "required": ["id"]}"#),
            ];
            post_form(app, &cookie, "/dashboard/event-types", &form).await
        }
    };
    for (name, example, field, message) in [
        ("Not A Name", r#"{"id": 1}"#, "name", ""),
        ("order.paid", "{oops", "example", "must be JSON"),
        ("order.paid", "{}", "example", ""),
    ] {
        let (status, _, html) = add(name, example).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name} {example}: {html}"
        );
        let tag = format!("id=\"{field}-error\" role=\"alert\">{message}");
        assert!(html.contains(&tag), "{tag}: {html}");
        assert!(!html.contains("<img src=x"), "escaped: {html}");
    }
    assert_eq!(
        app.get("/v1/event-types/order.paid").await.0,
        StatusCode::NOT_FOUND
    );
    let forged = [("_csrf", "forged"), ("name", "order.paid")];
    let (status, _, _) = post_form(app, &cookie, "/dashboard/event-types", &forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, location, _) = add("order.paid", r#"{"id": 7}"#).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/dashboard/event-types/order.paid");
    let (_, stored) = app.get("/v1/event-types/order.paid").await;
    assert_eq!(stored["example"], json!({"id": 7}));
    assert_eq!(stored["description"], "<img src=x onerror=alert(1)>");
    let (_, html) = page(app, &cookie, "/dashboard/event-types").await;
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img src=x"), "{html}");

    // Editing: the schema still rejects an example without an id, at its field.
    let edit = "/dashboard/event-types/order.paid";
    let (status, html) = page(app, &cookie, edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("&quot;id&quot;: 7") || html.contains("\"id\": 7"),
        "{html}"
    );
    let form = |example: &'static str| {
        [
            ("_csrf", token.clone()),
            ("description", "Paid in full".to_owned()),
            ("example", example.to_owned()),
            (
                "schema",
                r#"{"type": "object", "required": ["id"]}"#.to_owned(),
            ),
        ]
    };
    let send = |f: [(&'static str, String); 4]| {
        let cookie = cookie.clone();
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(app, &cookie, edit, &f).await
        }
    };
    let (status, _, html) = send(form(r#"{"other": 1}"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"example-error\""), "{html}");
    assert_eq!(app.get("/v1/event-types/order.paid").await.1, stored);
    let (status, location, _) = send(form(r#"{"id": 8}"#)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, edit);
    let (_, now) = app.get("/v1/event-types/order.paid").await;
    assert_eq!(now["description"], "Paid in full");
    assert_eq!(now["example"], json!({"id": 8}));

    // Tenants reach none of it.
    let tenant = tenant_session(app, "acme").await;
    let (_, own) = page(app, &tenant, "/dashboard/t/acme/webhooks").await;
    for path in ["/dashboard/event-types", edit] {
        assert_eq!(
            page(app, &tenant, path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let f = [
            ("_csrf", csrf(&own)),
            ("name", "x.y".to_owned()),
            ("description", "hijacked".to_owned()),
        ];
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            post_form(app, &tenant, path, &f).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        app.get("/v1/event-types/order.paid").await.1["description"],
        "Paid in full"
    );
}
