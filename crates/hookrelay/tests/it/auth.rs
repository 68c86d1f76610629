//! Keys and tenants: the admin key, tenant keys, and isolation between tenants.

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{ADMIN_KEY, TestApp};

backend_tests!(
    requests_without_a_valid_key_are_unauthorized,
    tenants_are_created_read_listed_updated_and_deleted,
    a_tenant_key_sees_and_changes_only_its_own_webhooks,
    a_tenant_key_cannot_publish_or_manage_tenants,
    the_admin_key_manages_any_tenants_webhooks_under_its_path,
);

async fn requests_without_a_valid_key_are_unauthorized(app: &mut TestApp) {
    for key in [None, Some("hrk_not_a_real_key"), Some("")] {
        let (status, body) = app.call(Method::GET, "/v1/webhooks", key, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let resp = app
        .client
        .get(app.url("/v1/webhooks"))
        .header("Authorization", format!("Basic {ADMIN_KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "health needs no key");
}

async fn tenants_are_created_read_listed_updated_and_deleted(app: &mut TestApp) {
    let (status, t) = app
        .post(
            "/v1/tenants",
            json!({"id": "acme", "name": "Acme Inc", "contact_email": "ops@acme.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["id"], "acme");
    let (status, err) = app.post("/v1/tenants", json!({"id": "acme"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "conflict");
    let (status, err) = app.post("/v1/tenants", json!({"id": "no/slashes"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "id");
    let (status, err) = app
        .post("/v1/tenants", json!({"id": "x", "contact_email": "nope"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "contact_email");

    let (_, list) = app.get("/v1/tenants").await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "default"], "the default tenant always exists");

    let (status, t) = app
        .patch(
            "/v1/tenants/acme",
            json!({"name": "Acme", "contact_email": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["name"], "Acme");
    assert_eq!(t["contact_email"], json!(null));
    let (_, t) = app.get("/v1/tenants/acme").await;
    assert_eq!(t["name"], "Acme");

    let (status, _) = app.delete("/v1/tenants/default").await;
    assert_eq!(status, StatusCode::CONFLICT, "default cannot be deleted");
    let (status, _) = app.delete("/v1/tenants/acme").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/v1/tenants/acme").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.post("/v1/tenants/acme/keys", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_tenant_key_sees_and_changes_only_its_own_webhooks(app: &mut TestApp) {
    let alice = app.create_tenant("alice").await;
    let bob = app.create_tenant("bob").await;
    let app = &*app;
    let call = |key: &str, method: Method, path: &str, body: Option<serde_json::Value>| {
        let key = key.to_owned();
        let path = path.to_owned();
        async move { app.call(method, &path, Some(&key), body).await }
    };
    let (status, a) = call(
        &alice,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "https://alice.example/h"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let a_id = a["id"].as_str().unwrap().to_owned();
    let (_, b) = call(
        &bob,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "https://bob.example/h"})),
    )
    .await;
    let b_id = b["id"].as_str().unwrap().to_owned();

    let (_, list) = call(&alice, Method::GET, "/v1/webhooks", None).await;
    let listed: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [a_id.as_str()]);

    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"description": "mine now"}))),
        (Method::DELETE, None),
    ] {
        let (status, err) = call(
            &alice,
            method.clone(),
            &format!("/v1/webhooks/{b_id}"),
            body,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} another tenant's webhook"
        );
        assert_eq!(err["error"]["code"], "not_found");
    }
    let (status, _) = call(
        &alice,
        Method::GET,
        &format!("/v1/webhooks/{b_id}/deliveries"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, still) = call(&bob, Method::GET, &format!("/v1/webhooks/{b_id}"), None).await;
    assert_eq!(still["description"], "", "bob's webhook is untouched");

    let (_, admin_default) = app.get("/v1/webhooks").await;
    assert_eq!(
        admin_default["data"],
        json!([]),
        "the admin key's /v1/webhooks is the default tenant's"
    );
}

async fn a_tenant_key_cannot_publish_or_manage_tenants(app: &mut TestApp) {
    let key = app.create_tenant("carol").await;
    let forbidden = [
        (
            Method::POST,
            "/v1/events",
            Some(json!({"type": "a.b", "data": {}})),
        ),
        (Method::GET, "/v1/tenants", None),
        (Method::POST, "/v1/tenants", Some(json!({"id": "evil"}))),
        (Method::POST, "/v1/tenants/carol/keys", None),
        (Method::DELETE, "/v1/tenants/carol", None),
        (
            Method::POST,
            "/v1/event-types",
            Some(json!({"name": "a.b"})),
        ),
        (Method::GET, "/v1/tenants/default/webhooks", None),
    ];
    for (method, path, body) in forbidden {
        let (status, err) = app.call(method.clone(), path, Some(&key), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {err}");
        assert_eq!(err["error"]["code"], "forbidden");
    }
    let (status, _) = app
        .call(Method::GET, "/v1/event-types", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "tenants may read the catalog");
    let (_, tenants) = app.get("/v1/tenants").await;
    assert_eq!(
        tenants["data"].as_array().unwrap().len(),
        2,
        "nothing was created"
    );
}

async fn the_admin_key_manages_any_tenants_webhooks_under_its_path(app: &mut TestApp) {
    let dave = app.create_tenant("dave").await;
    let (status, w) = app
        .post(
            "/v1/tenants/dave/webhooks",
            json!({"url": "https://dave.example/h"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    let id = w["id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/v1/tenants/dave/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not the default tenant's");
    let (status, w2) = app
        .patch(
            &format!("/v1/tenants/dave/webhooks/{id}"),
            json!({"description": "by admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w2["description"], "by admin");
    let (_, list) = app
        .call(Method::GET, "/v1/webhooks", Some(&dave), None)
        .await;
    assert_eq!(
        list["data"][0]["description"], "by admin",
        "the tenant sees the admin's change"
    );
    let (status, _) = app.get("/v1/tenants/nobody/webhooks").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete(&format!("/v1/tenants/dave/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
