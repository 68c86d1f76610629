//! The OpenAPI document: served at /openapi.json, OpenAPI 3.1, and covering every route (every
//! documented operation is routed; routes are only ever registered through the document).

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_KEY, Backend, TestApp};

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_every_documented_route_exists() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let concrete = path
                .replace("{tid}", "default")
                .replace("{id}", "x_missing")
                .replace("{name}", "x.missing");
            if path == "/metrics" {
                // Prometheus text, not JSON.
                let resp = app
                    .client
                    .get(app.url(path))
                    .bearer_auth(ADMIN_KEY)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status().as_u16(), 200, "{method} {path}");
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = app
                .call(m, &concrete, Some(ADMIN_KEY), Some(serde_json::json!({})))
                .await;
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
            assert_ne!(
                body["error"]["message"], "route not found",
                "{method} {path} is documented but not routed"
            );
            assert!(
                status.as_u16() < 500,
                "{method} {path} answered {status}: {body}"
            );
        }
    }
    let expected = [
        "/v1/tenants",
        "/v1/tenants/{tid}",
        "/v1/tenants/{tid}/keys",
        "/v1/events",
        "/v1/events/{id}",
        "/v1/event-types",
        "/v1/event-types/{name}",
        "/v1/webhooks",
        "/v1/webhooks/{id}",
        "/v1/tenants/{tid}/webhooks",
        "/v1/tenants/{tid}/webhooks/{id}",
        "/v1/webhooks/{id}/deliveries",
        "/v1/tenants/{tid}/webhooks/{id}/deliveries",
        "/v1/tenants/{tid}/webhooks/{id}/test",
        "/v1/tenants/{tid}/webhooks/{id}/replay",
        "/v1/tenants/{tid}/webhooks/{id}/stats",
        "/v1/tenants/{tid}/webhooks/{id}/rotate-secret",
        "/v1/deliveries/{id}",
        "/v1/deliveries/{id}/retry",
        "/v1/dashboard-link",
        "/v1/tenants/{tid}/dashboard-link",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ];
    for path in expected {
        assert!(
            paths.contains_key(path),
            "{path} is missing from the document"
        );
    }
    assert!(operations >= 25, "{operations} operations documented");
    let schemas = &doc["components"]["schemas"];
    let properties = |name: &str| -> Vec<String> {
        let schema = &schemas[name];
        // A flattened struct is an `allOf` of its parts.
        let parts = schema["allOf"].as_array().cloned().unwrap_or_default();
        std::iter::once(schema)
            .chain(parts.iter())
            .filter_map(|s| s["properties"].as_object())
            .flat_map(|p| p.keys().cloned())
            .collect()
    };
    let delivery = properties("DeliveryOut");
    assert!(
        delivery.contains(&"attempt_count".to_owned()),
        "{delivery:?}"
    );
    assert!(delivery.contains(&"test".to_owned()), "{delivery:?}");
    assert!(!delivery.contains(&"attempts".to_owned()), "{delivery:?}");
    let detail = properties("DeliveryDetail");
    assert!(detail.contains(&"attempts".to_owned()), "{detail:?}");
    assert!(detail.contains(&"request".to_owned()), "{detail:?}");
    assert!(!detail.contains(&"attempts_log".to_owned()), "{detail:?}");
    for field in ["headers", "body", "url", "attempt"] {
        assert!(
            properties("RequestOut").contains(&field.to_owned()),
            "{field}"
        );
    }
    for field in ["hourly", "daily"] {
        assert!(
            properties("StatsOut").contains(&field.to_owned()),
            "{field}"
        );
    }
    assert!(properties("EventOut").contains(&"deliveries".to_owned()));
    app.stop().await;
}

/// What tests/it/contract.rs fuzzes, stated plainly: where parameters go, which errors each
/// operation declares, and the links between operations.
#[tokio::test]
async fn the_document_declares_query_parameters_error_statuses_and_links() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let place = if path.contains(&format!("{{{name}}}")) {
                    "path"
                } else {
                    "query"
                };
                assert_eq!(p["in"], place, "{method} {path}: {name}");
                if place == "query" {
                    assert!(responses.contains_key("422"), "{method} {path}");
                } else {
                    assert!(
                        p["schema"]["pattern"].is_string(),
                        "{method} {path}: {name}"
                    );
                    assert!(responses.contains_key("404"), "{method} {path}");
                }
            }
            if path == "/openapi.json" || path == "/healthz" {
                continue;
            }
            let public = path == "/readyz";
            assert_eq!(responses.contains_key("401"), !public, "{method} {path}");
            assert!(responses.contains_key("503"), "{method} {path}");
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "422"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path}: {status}"
                    );
                }
            }
        }
    }
    let created = &doc["paths"]["/v1/webhooks"]["post"]["responses"]["201"]["links"];
    assert_eq!(created["GetWebhook"]["operationId"], "get_webhook");
    assert_eq!(
        created["GetWebhook"]["parameters"]["id"],
        "$response.body#/id"
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["WebhookIn"]["additionalProperties"], false);
    assert_eq!(schemas["BatchIn"]["properties"]["events"]["minItems"], 1);
    assert!(schemas["PublishIn"]["example"].is_object());
    app.stop().await;
}
