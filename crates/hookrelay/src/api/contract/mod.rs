//! What the OpenAPI document states beyond each handler's own annotation, so that it is the
//! exact contract of the server (a fuzzer holds the server to it in the test suite):
//! - the error statuses every operation can answer, from the operation's shape: 401 where a key
//!   is required, 403 where only the admin key will do, 400/413/422 where there is a body, 422
//!   where there are query parameters, 404 where an id is in the path, 503 where the database
//!   is read; each with the error schema;
//! - the exact shape of every path parameter (ids and event type names);
//! - links from each create to the operations that use the id it answers, so a stateful client
//!   (or fuzzer) can chain create → read → change → delete.
//!
//! - the constraints of every body field ([`fields`]).
//!
//! Written once here (links in [`links`]) rather than on each of ~40 annotations, where one
//! would be forgotten. The result is plain JSON, which the server serves as it is.

mod fields;
mod links;

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

use fields::{EVENT_ID, EVENT_TYPE_NAME, TENANT_ID, generated};

/// Completes `doc` as described in the module documentation.
pub fn complete(doc: &OpenApi) -> Value {
    let mut value = serde_json::to_value(doc).expect("an OpenAPI document serializes");
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if let Some(operation) = operation.as_object_mut() {
                    complete_operation(path, method, operation);
                }
            }
        }
    }
    links::add(&mut value);
    fields::constrain(&mut value);
    value
}

fn complete_operation(path: &str, method: &str, operation: &mut Map<String, Value>) {
    let public = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().all(|r| r.as_object().is_some_and(Map::is_empty)));
    let params: Vec<(String, String)> = operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                    (text("in"), text("name"))
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(ps) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for p in ps.iter_mut().filter(|p| p["in"] == "path") {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            p["schema"] = path_schema(path, &name);
        }
    }
    let has_body = operation.contains_key("requestBody");
    let mut add = |status: &str, description: &str| {
        let responses = operation
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        let response = responses
            .entry(status)
            .or_insert_with(|| json!({ "description": description }));
        if response.get("content").is_none() {
            response["content"] = json!({
                "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } }
            });
        }
    };
    // The document itself and liveness read nothing that can fail.
    if matches!(path, "/openapi.json" | "/healthz") {
        return;
    }
    add(
        "503",
        "The database is unavailable; nothing changed, and the request may be retried",
    );
    if !public {
        add("401", "No key, or not a valid key");
    }
    if needs_admin(path, method) {
        add("403", "A tenant key cannot do this: it needs the admin key");
    }
    if has_body {
        add("400", "The body is not JSON, or not a JSON object");
        add("413", "The body is larger than the server's limit");
        add("422", "A field is invalid: `field` names it");
    }
    if params.iter().any(|(at, _)| at == "query") {
        add("422", "A query parameter is invalid: `field` names it");
    }
    if params.iter().any(|(at, _)| at == "path") {
        add("404", "No such object (or it belongs to another tenant)");
    }
}

/// Admin-only operations: tenants and everything under them, events, catalog changes and the
/// metrics (the extractors `Admin` and `PathTenant` enforce the same).
fn needs_admin(path: &str, method: &str) -> bool {
    path.starts_with("/v1/tenants")
        || path.starts_with("/v1/events")
        || path == "/metrics"
        || (path.starts_with("/v1/event-types") && method != "get")
}

/// The schema of path parameter `name` of `path`.
fn path_schema(path: &str, name: &str) -> Value {
    let pattern = match name {
        "tid" => TENANT_ID.to_owned(),
        "name" => {
            return json!({ "type": "string", "pattern": EVENT_TYPE_NAME, "maxLength": 128 });
        }
        _ if path.starts_with("/v1/deliveries") => generated("dlv_"),
        _ if path.starts_with("/v1/events") => EVENT_ID.to_owned(),
        _ => generated("wh_"),
    };
    json!({ "type": "string", "pattern": pattern })
}

#[cfg(test)]
mod tests {
    use super::fields::*;
    use super::*;
    use crate::ids::{TenantId, WebhookId};
    use crate::model::EventTypeName;

    fn matches(pattern: &str, s: &str) -> bool {
        jsonschema::is_valid(&json!({ "type": "string", "pattern": pattern }), &json!(s))
    }

    #[test]
    fn patterns_accept_exactly_what_the_parsers_accept() {
        for s in [
            "default",
            "a",
            "A-b_9",
            "",
            "a b",
            "é",
            "a.b",
            &"x".repeat(64),
            &"x".repeat(65),
        ] {
            assert_eq!(matches(TENANT_ID, s), TenantId::parse(s).is_ok(), "{s:?}");
        }
        for s in [
            "a", "a.b", "a..b", ".a", "a.", "a-b_c.D9", "a b", "*", "a.*",
        ] {
            assert_eq!(
                matches(EVENT_TYPE_NAME, s),
                EventTypeName::parse(s, "x").is_ok(),
                "{s:?}"
            );
        }
        // Development mode: the pattern cannot know production's address rule.
        for s in [
            "https://a.example/x",
            "http://127.0.0.1:3000/h?k=1",
            "http://u@a/",
            "nats://127.0.0.1:4222/orders.created",
            "nats://tok@n.example/a-b.c_d",
            "nats://n.example/a..b",
            "nats://n.example/a.*",
            "nats://n.example/$SYS.x",
            "nats://n.example",
            "redis://:p%40ss@127.0.0.1/s:1?maxlen=10",
            "redis://r.example/s?maxlen=0",
            "redis://r.example/s?maxlen=1234567890",
            "redis://r.example/s?x=1",
            "redis://r.example/",
            "mqtt://m.example/a/b.c",
            "mqtt://m.example/a//b",
            "mqtt://m.example/a/+",
            "mqtt://u:p%zz@m.example/a",
            "amqp://guest:guest@127.0.0.1:5672/ex?routing_key=k.1",
            "amqp://q.example/",
            "amqp://q.example/%2F?exchange=&routing_key=q",
            "amqp://q.example/v?exchange=x&routing_key=k&y=1",
            "amqp://q.example/x?routing_key=k&exchange=y",
            "amqp://q.example/x%2F?routing_key=k",
            &format!("amqp://q.example/{}", "x".repeat(255)),
            &format!("amqp://q.example/{}", "x".repeat(256)),
            "AMQP://q.example/x",
            "amqp://a:b:c@q.example/x",
            "nats://[::1]/s",
        ] {
            assert_eq!(
                matches(URL, s),
                crate::model::WebhookUrl::parse(s, crate::model::UrlPolicy::Development).is_ok(),
                "{s:?}"
            );
        }
        let id = WebhookId::generate();
        for s in [
            id.as_str(),
            &id.as_str().to_lowercase(),
            "wh_81JDZ3V6Q9X8Y7W6V5T4S3R2Q1",
            "wh_01JDZ3V6Q9X8Y7W6V5T4S3R2QU",
            "wh_01JDZ3V6Q9X8Y7W6V5T4S3R2Q",
            "dlv_01JDZ3V6Q9X8Y7W6V5T4S3R2Q1",
        ] {
            assert_eq!(
                matches(&generated("wh_"), s),
                WebhookId::is_well_formed(s),
                "{s:?}"
            );
        }
    }
}
