//! The constraints each body field's parser enforces, as JSON Schema: patterns, lengths,
//! ranges and counts, merged into the components utoipa derived. Each pattern names the parser
//! it mirrors; the tests in [`super`] hold a few of them against their parsers.

use serde_json::{Value, json};

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
/// A host name or IPv4 address and an optional port, as URLs of every scheme take them.
macro_rules! host_port {
    () => {
        "(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    };
}

/// A broker URL's optional `user[:password]@`: unreserved characters and `%XX` escapes.
macro_rules! userinfo {
    () => {
        "(([A-Za-z0-9._~!$&'()*+,-]|%[0-9A-Fa-f]{2})*(:([A-Za-z0-9._~!$&'()*+,-]|%[0-9A-Fa-f]{2})*)?@)?"
    };
}

/// An absolute http(s) URL (a host name or IPv4 address, a port, a path of visible ASCII) or
/// a broker URL as `model::broker_url` reads them: `nats://…/subject`, `redis://…/stream`
/// with an optional `?maxlen=`, `mqtt://…/topic`, `amqp://…/exchange?routing_key=…` or
/// `amqp://…/vhost?exchange=…&routing_key=…` (`WebhookUrl::parse`; production also wants
/// https and a public address).
pub const URL: &str = concat!(
    "^(https?://",
    host_port!(),
    "(/[!-~]*)?",
    "|nats://",
    userinfo!(),
    host_port!(),
    "/[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*",
    "|redis://",
    userinfo!(),
    host_port!(),
    "/[A-Za-z0-9_.:-]+(\\?maxlen=[1-9][0-9]{0,8})?",
    "|mqtt://",
    userinfo!(),
    host_port!(),
    "/[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)*",
    "|amqp://",
    userinfo!(),
    host_port!(),
    "/(([A-Za-z0-9_.:-]|%[0-9A-Fa-f]{2})*\\?exchange=[A-Za-z0-9_.:-]{0,255}(&routing_key=[A-Za-z0-9_.:-]{0,255})?",
    "|[A-Za-z0-9_.:-]{0,255}(\\?routing_key=[A-Za-z0-9_.:-]{0,255})?)",
    ")$"
);
/// An HTTP header name (RFC 9110 token).
pub const HEADER_NAME: &str = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// An HTTP header value: visible ASCII, spaces and tabs.
pub const HEADER_VALUE: &str = "^[\\t -~]*$";

/// What the document says of a webhook's `filter` (docs/filters.md is the full reference).
const FILTER: &str = "Only events whose content holds this filter are delivered (docs/filters.md). \
Each key is a path: `type`, `tenant` (the delivery's own tenant), `channels` (a list), `data`, or \
`data.<key>.<key>…` (a key of digits also indexes an array); every key must hold. Its value is a \
bare value (equality) or an object of operators, all of which must hold: `$eq`, `$ne`, `$gt`, \
`$gte`, `$lt`, `$lte` (a number or a string; other types never order), `$in`, `$nin` (an array), \
`$exists` (a boolean), `$not` (a condition). `$and` and `$or` (non-empty arrays of filters) and \
`$not` (a filter) combine filters. Equality is deep and numbers equal by value; on an array, a \
condition holds if it holds for any element; a missing path holds only `$ne`, `$nin` and \
`$exists: false`. At most 8 KiB as compact JSON, 8 levels deep and 64 conditions; a refusal's \
`field` names the part at fault (e.g. `filter.$or[1].data.amount.$gt`). `{}` and null mean no \
filter; in a PATCH, null removes it.";

/// A webhook's `ordering_key`: a path as filters write them, without NUL (`FieldPath::parse`).
pub const ORDERING_KEY: &str = "^(type|tenant|channels|data(\\.[^.\\u0000]+)*)$";

/// A generated id: its prefix and a ULID as generated (`is_well_formed`).
pub fn generated(prefix: &str) -> String {
    format!("^{prefix}[0-7][0-9A-HJKMNP-TV-Z]{{25}}$")
}

/// Adds the constraints to the document's components.
pub fn constrain(value: &mut Value) {
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
}

fn header_name() -> Value {
    json!({ "pattern": HEADER_NAME, "not": { "enum": crate::model::webhook::RESERVED_HEADERS } })
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
        (
            "filter",
            json!({
                "type": ["object", "null"],
                "description": FILTER,
                "examples": [{"data.amount": {"$gte": 100}, "data.currency": {"$in": ["EUR", "USD"]}}]
            }),
        ),
        (
            "secret",
            json!({ "pattern": NO_NUL, "minLength": 1, "maxLength": 512 }),
        ),
        (
            "ordering_key",
            json!({
                "pattern": ORDERING_KEY,
                "maxLength": 256,
                "description": "With `\"ordering\": \"fifo\"` only: deliveries are ordered per \
                    value at this path of the event (`type`, `tenant`, `channels`, `data` or \
                    `data.<key>…`, as filters write paths), so unrelated values do not wait for \
                    each other; null or absent: one order for the whole webhook (docs/ordering.md).",
                "examples": ["data.meeting_id"]
            }),
        ),
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
            json!({ "pattern": NO_NUL, "minLength": 1, "maxLength": 512 }),
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
