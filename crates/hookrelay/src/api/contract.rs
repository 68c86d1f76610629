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
//! Written once here rather than on each of ~40 annotations, where one would be forgotten. The
//! result is plain JSON: utoipa's own `Link` would serialize `operationId` as `operation_id`.

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

/// A tenant id: 1 to 64 of `[A-Za-z0-9_-]` (`TenantId::parse`).
pub const TENANT_ID: &str = "^[A-Za-z0-9_-]{1,64}$";
/// An event type name: dot-separated segments of `[A-Za-z0-9_-]`, at most 128 characters
/// (`EventTypeName::parse`; the length is a separate `maxLength`).
pub const EVENT_TYPE_NAME: &str = "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$";
/// An event id: generated `evt_…` or the publisher's own, 1 to 255 of `[A-Za-z0-9_.:-]`.
pub const EVENT_ID: &str = "^[A-Za-z0-9_.:-]{1,255}$";
/// A webhook's event pattern: `*`, a name, or `prefix.*` (`EventFilter::parse`).
pub const EVENT_PATTERN: &str = "^(\\*|[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(\\.\\*)?)$";
/// A channel: 1 to 128 of `[A-Za-z0-9_.:-]` (`Channel::parse_list`).
pub const CHANNEL: &str = "^[A-Za-z0-9_.:-]{1,128}$";
/// Text without a NUL (`model::check_text`).
pub const NO_NUL: &str = "^[^\\u0000]*$";
/// A display name: no NUL, and something besides spaces, tabs and line breaks.
pub const NAME_TEXT: &str = "^[^\\u0000]*[^\\u0000\\t\\n\\r ][^\\u0000]*$";
/// A contact email as checked: an `@`, no space or control character.
pub const EMAIL: &str = "^[^\\u0000-\\u0020\\u007f]*@[^\\u0000-\\u0020\\u007f]*$";
/// An absolute http(s) URL: a host name or IPv4 address, a port, a path of visible ASCII
/// (`WebhookUrl::parse`; production also wants https and a public address).
pub const URL: &str = "^https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:[0-9]{1,4})?(/[!-~]*)?$";
/// An HTTP header name (RFC 9110 token).
pub const HEADER_NAME: &str = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// An HTTP header value: visible ASCII, spaces and tabs.
pub const HEADER_VALUE: &str = "^[\\t -~]*$";
/// Headers hookrelay sets itself (`model::webhook::RESERVED_HEADERS`), in the case the
/// document can state.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// A generated id: its prefix and a ULID as generated (`is_well_formed`).
fn generated(prefix: &str) -> String {
    format!("^{prefix}[0-7][0-9A-HJKMNP-TV-Z]{{25}}$")
}

/// A link from a create's answer to an operation that uses what it created.
struct Link {
    /// The creating operation.
    from: &'static str,
    /// Its success status.
    status: &'static str,
    /// The target operation's id in CamelCase.
    name: &'static str,
    /// The target's parameters, as runtime expressions.
    parameters: &'static [(&'static str, &'static str)],
}

/// Shorthand for a [`Link`] in the table below.
const fn link(
    from: &'static str,
    status: &'static str,
    name: &'static str,
    parameters: &'static [(&'static str, &'static str)],
) -> Link {
    Link {
        from,
        status,
        name,
        parameters,
    }
}

/// The operations each create links to.
const LINKS: &[Link] = &[
    link(
        "create_tenant",
        "201",
        "GetTenant",
        &[("tid", "$response.body#/id")],
    ),
    link(
        "create_tenant",
        "201",
        "UpdateTenant",
        &[("tid", "$response.body#/id")],
    ),
    link(
        "create_tenant",
        "201",
        "DeleteTenant",
        &[("tid", "$response.body#/id")],
    ),
    link(
        "create_tenant",
        "201",
        "CreateKey",
        &[("tid", "$response.body#/id")],
    ),
    link(
        "create_tenant",
        "201",
        "ListTenantWebhooks",
        &[("tid", "$response.body#/id")],
    ),
    link(
        "create_tenant",
        "201",
        "CreateTenantWebhook",
        &[("tid", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "GetWebhook",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "UpdateWebhook",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "DeleteWebhook",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "ListDeliveries",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "WebhookStats",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "TestWebhook",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "Replay",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_webhook",
        "201",
        "RotateSecret",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create_tenant_webhook",
        "201",
        "GetTenantWebhook",
        TENANT_WEBHOOK,
    ),
    link(
        "create_tenant_webhook",
        "201",
        "UpdateTenantWebhook",
        TENANT_WEBHOOK,
    ),
    link(
        "create_tenant_webhook",
        "201",
        "DeleteTenantWebhook",
        TENANT_WEBHOOK,
    ),
    link(
        "create_tenant_webhook",
        "201",
        "ListTenantDeliveries",
        TENANT_WEBHOOK,
    ),
    link(
        "create_tenant_webhook",
        "201",
        "TenantWebhookStats",
        TENANT_WEBHOOK,
    ),
    link(
        "create_tenant_webhook",
        "201",
        "TestTenantWebhook",
        TENANT_WEBHOOK,
    ),
    link(
        "create_tenant_webhook",
        "201",
        "ReplayTenant",
        TENANT_WEBHOOK,
    ),
    link(
        "create_tenant_webhook",
        "201",
        "RotateTenantSecret",
        TENANT_WEBHOOK,
    ),
    link(
        "create_event_type",
        "201",
        "GetEventType",
        &[("name", "$response.body#/name")],
    ),
    link(
        "create_event_type",
        "201",
        "UpdateEventType",
        &[("name", "$response.body#/name")],
    ),
    link(
        "create_event_type",
        "201",
        "DeleteEventType",
        &[("name", "$response.body#/name")],
    ),
    link(
        "publish",
        "202",
        "GetEvent",
        &[("id", "$response.body#/id")],
    ),
    link(
        "test_webhook",
        "200",
        "GetDelivery",
        &[("id", "$response.body#/delivery_id")],
    ),
    link(
        "test_webhook",
        "200",
        "RetryDelivery",
        &[("id", "$response.body#/delivery_id")],
    ),
    link(
        "test_tenant_webhook",
        "200",
        "GetDelivery",
        &[("id", "$response.body#/delivery_id")],
    ),
];

const TENANT_WEBHOOK: &[(&str, &str)] =
    &[("tid", "$request.path.tid"), ("id", "$response.body#/id")];

/// `GetTenant` → `get_tenant`: link names are the target's operation id in CamelCase.
fn operation_id_of(link: &str) -> String {
    let mut out = String::with_capacity(link.len() + 4);
    for (i, c) in link.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

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
    add_links(&mut value);
    for (component, property, rule) in field_rules() {
        let schema = &mut value["components"]["schemas"][component];
        merge(&mut schema["properties"][property], rule);
    }
    let schemas = &mut value["components"]["schemas"];
    // utoipa inlines the item type of a generic list; referring to it instead gives lists the
    // item's constraints too.
    if let Some(map) = schemas.as_object_mut() {
        let names: Vec<String> = map.keys().cloned().collect();
        for name in names {
            if let Some(item) = name.strip_prefix("ListResponse_")
                && map.contains_key(item)
            {
                map[&name]["properties"]["data"]["items"] =
                    json!({ "$ref": format!("#/components/schemas/{item}") });
            }
        }
    }
    // `tenant` and `tenants` are exclusive.
    schemas["PublishIn"]["not"] = json!({
        "required": ["tenant", "tenants"],
        "properties": { "tenant": { "type": "string" }, "tenants": { "type": "array" } }
    });
    // A batch refuses an event that is not `PublishIn`-shaped in its own 422 entry, so the
    // request itself only needs each event to be an object of the right fields.
    schemas["BatchIn"]["properties"]["events"]["items"] = json!({
        "type": "object",
        "required": ["type", "data"],
        "additionalProperties": false,
        "properties": {
            "id": { "type": ["string", "null"] },
            "type": { "type": "string" },
            "data": {},
            "tenant": { "type": ["string", "null"] },
            "tenants": { "type": ["array", "null"], "items": { "type": "string" } },
            "channels": { "type": ["array", "null"], "items": { "type": "string" } }
        }
    });
    if let Some(variants) = schemas["SignatureConfig"]["oneOf"].as_array_mut() {
        for variant in variants {
            if variant["properties"].get("header").is_some() {
                merge(&mut variant["properties"]["header"], header_name());
            }
            if variant["properties"].get("prefix").is_some() {
                merge(
                    &mut variant["properties"]["prefix"],
                    json!({ "pattern": HEADER_VALUE, "maxLength": 64 }),
                );
            }
        }
    }
    value
}

fn header_name() -> Value {
    json!({ "pattern": HEADER_NAME, "not": { "enum": RESERVED_HEADERS } })
}

/// Merges `rule`'s keys into `schema`, recursing into objects (`items`); a null removes the key.
fn merge(schema: &mut Value, rule: Value) {
    match (schema, rule) {
        (Value::Object(schema), Value::Object(rule)) => {
            for (key, value) in rule {
                if value.is_null() {
                    schema.remove(&key);
                } else {
                    merge(schema.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        (schema, rule) => *schema = rule,
    }
}

/// The constraints each body field's parser enforces: (component, property, constraints).
fn field_rules() -> Vec<(&'static str, &'static str, Value)> {
    let name = || json!({ "pattern": EVENT_TYPE_NAME, "maxLength": 128 });
    let text = |max: u32| json!({ "pattern": NO_NUL, "maxLength": max });
    let any = || json!({ "type": null, "description": "Any JSON value." });
    let json_schema = || json!({ "type": ["object", "boolean", "null"] });
    let tenant_fields = [
        ("name", json!({ "pattern": NAME_TEXT, "maxLength": 200 })),
        (
            "contact_email",
            json!({ "pattern": EMAIL, "maxLength": 254 }),
        ),
    ];
    let webhook_fields = [
        ("url", json!({ "pattern": URL, "maxLength": 2048 })),
        ("description", text(1000)),
        (
            "events",
            json!({ "maxItems": 256, "items": { "pattern": EVENT_PATTERN, "maxLength": 128 } }),
        ),
        (
            "channels",
            json!({ "maxItems": 64, "items": { "pattern": CHANNEL } }),
        ),
        ("secret", json!({ "minLength": 1, "maxLength": 512 })),
        (
            "retry_schedule",
            json!({ "maxItems": 20, "items": { "minimum": 1, "maximum": 604_800 } }),
        ),
        ("timeout_seconds", json!({ "minimum": 1, "maximum": 30 })),
        (
            "rate_limit_per_second",
            json!({ "minimum": 1, "maximum": 100_000 }),
        ),
        (
            "headers",
            json!({
                "maxProperties": 32,
                "propertyNames": header_name(),
                "additionalProperties": { "pattern": HEADER_VALUE, "maxLength": 4096 }
            }),
        ),
    ];
    let mut rules = vec![
        ("TenantIn", "id", json!({ "pattern": TENANT_ID })),
        ("EventTypeIn", "name", name()),
        ("EventTypeIn", "description", text(1000)),
        ("EventTypeIn", "example", any()),
        ("EventTypeIn", "schema", json_schema()),
        ("EventTypePatch", "description", text(1000)),
        ("EventTypePatch", "example", any()),
        ("EventTypePatch", "schema", json_schema()),
        ("EventTypeOut", "example", any()),
        ("EventTypeOut", "schema", json_schema()),
        ("PublishIn", "id", json!({ "pattern": EVENT_ID })),
        ("PublishIn", "type", name()),
        ("PublishIn", "tenant", json!({ "pattern": TENANT_ID })),
        (
            "PublishIn",
            "tenants",
            json!({ "minItems": 1, "maxItems": 1000, "items": { "pattern": TENANT_ID } }),
        ),
        (
            "PublishIn",
            "channels",
            json!({ "maxItems": 64, "items": { "pattern": CHANNEL } }),
        ),
        (
            "BatchIn",
            "events",
            json!({ "minItems": 1, "maxItems": 1000 }),
        ),
        ("TestIn", "event_type", name()),
        ("ReplayIn", "since", json!({ "format": "date-time" })),
        ("ReplayIn", "until", json!({ "format": "date-time" })),
        (
            "RotateIn",
            "secret",
            json!({ "minLength": 1, "maxLength": 512 }),
        ),
    ];
    for (field, rule) in tenant_fields {
        rules.push(("TenantIn", field, rule.clone()));
        rules.push(("TenantPatch", field, rule));
    }
    for (field, rule) in webhook_fields {
        rules.push(("WebhookIn", field, rule.clone()));
        rules.push(("WebhookPatch", field, rule));
    }
    rules
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
    if path == "/openapi.json" {
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

/// Admin-only operations: tenants and everything under them, events, and catalog changes
/// (the extractors `Admin` and `PathTenant` enforce the same).
fn needs_admin(path: &str, method: &str) -> bool {
    path.starts_with("/v1/tenants")
        || path.starts_with("/v1/events")
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

fn add_links(doc: &mut Value) {
    let mut by_id: Vec<(String, String, String)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if let Some(id) = operation["operationId"].as_str() {
                    by_id.push((id.to_owned(), path.clone(), method.clone()));
                }
            }
        }
    }
    let find = |id: &str| by_id.iter().find(|(op, _, _)| op == id).cloned();
    for Link {
        from,
        status,
        name,
        parameters,
    } in LINKS
    {
        let (Some((_, path, method)), Some(_)) = (find(from), find(&operation_id_of(name))) else {
            panic!("link {from} → {name}: an operation is missing");
        };
        let parameters: Map<String, Value> = parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        doc["paths"][&path][&method]["responses"][*status]["links"][*name] = json!({
            "operationId": operation_id_of(name),
            "parameters": parameters,
        });
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn link_names_are_operation_ids() {
        assert_eq!(operation_id_of("GetTenant"), "get_tenant");
        assert_eq!(operation_id_of("RetryDelivery"), "retry_delivery");
    }
}
