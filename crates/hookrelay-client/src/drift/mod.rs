//! The drift test: the client against `clients/openapi.json`, the document the server's own
//! tests prove it serves.
//!
//! - Every operation in [`ALL`] exists with its method and path; its body and success answers
//!   are the schemas its Rust types are registered for, its error answers `ErrorBody`, and
//!   its query parameters are the document's. Every operation of the document is called
//!   (but `/metrics` and `/openapi.json`).
//! - Every schema of the document, and every inline object or enum inside one, has a Rust
//!   type registered in [`models`], and each type matches: a struct declares exactly the
//!   schema's properties (read from serde's own field list, renames included), reads an
//!   example holding only the required ones, refuses that example less any one of them (a
//!   required property is never an `Option`), and reads an example holding every property
//!   with the document's types; an enum has exactly the document's values; the signature
//!   settings read and write back every `oneOf` branch.

mod document;

use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use document::{Doc, Shape, names, shape};

use crate::models::*;
use crate::operations::{ALL, Verb};
use crate::page::Page;

/// Operations of the document the client does not call: not JSON, or not the API's.
const NOT_CALLED: &[&str] = &["metrics", "openapi_json"];

type Check = Box<dyn Fn(&Doc, &Value) -> Vec<String>>;

/// A Rust type and the schema (by `#/…` pointer) it must match.
struct Model {
    at: String,
    type_id: TypeId,
    check: Check,
}

fn schema(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

fn structure<T: DeserializeOwned + 'static>(at: String) -> Model {
    Model {
        at,
        type_id: TypeId::of::<T>(),
        check: Box::new(check_struct::<T>),
    }
}

fn enumeration<T: DeserializeOwned + 'static>(
    at: String,
    only_here: &'static [&'static str],
) -> Model {
    Model {
        at,
        type_id: TypeId::of::<T>(),
        check: Box::new(move |doc, schema| check_enum::<T>(doc, schema, only_here)),
    }
}

/// Every model the client has, at the schema it stands for.
fn models() -> Vec<Model> {
    let s = schema;
    vec![
        structure::<Health>(s("Health")),
        structure::<ErrorBody>(s("ErrorBody")),
        structure::<ErrorDetail>(s("ErrorDetail")),
        structure::<NewEvent>(s("PublishIn")),
        structure::<NewEvent>(format!("{}/properties/events/items", s("BatchIn"))),
        structure::<Published>(s("PublishOut")),
        structure::<Batch>(s("BatchIn")),
        structure::<BatchResult>(s("BatchOut")),
        structure::<BatchItem>(s("BatchItemOut")),
        structure::<Event>(s("EventOut")),
        structure::<NewTenant>(s("TenantIn")),
        structure::<TenantPatch>(s("TenantPatch")),
        structure::<Tenant>(s("TenantOut")),
        structure::<Page<Tenant>>(s("ListResponse_TenantOut")),
        structure::<TenantKey>(s("KeyOut")),
        structure::<DashboardLink>(s("LinkOut")),
        structure::<NewEventType>(s("EventTypeIn")),
        structure::<EventTypePatch>(s("EventTypePatch")),
        structure::<EventType>(s("EventTypeOut")),
        structure::<Page<EventType>>(s("ListResponse_EventTypeOut")),
        structure::<NewWebhook>(s("WebhookIn")),
        structure::<WebhookPatch>(s("WebhookPatch")),
        structure::<Webhook>(s("WebhookOut")),
        structure::<Page<Webhook>>(s("ListResponse_WebhookOut")),
        Model {
            at: s("SignatureConfig"),
            type_id: TypeId::of::<Signature>(),
            check: Box::new(check_signature),
        },
        enumeration::<SignatureEncoding>(s("SignatureEncoding"), &[]),
        enumeration::<PayloadFormat>(s("PayloadFormat"), &[]),
        enumeration::<Ordering>(s("OrderingMode"), &[]),
        structure::<Delivery>(s("DeliveryOut")),
        structure::<Page<Delivery>>(s("ListResponse_DeliveryOut")),
        structure::<DeliveryDetail>(s("DeliveryDetail")),
        structure::<Attempt>(s("AttemptOut")),
        structure::<SentRequest>(s("RequestOut")),
        structure::<TestSend>(s("TestIn")),
        structure::<TestResult>(s("TestOut")),
        structure::<Replay>(s("ReplayIn")),
        enumeration::<DeliveryStatus>(format!("{}/properties/status", s("ReplayIn")), &["unknown"]),
        structure::<Replayed>(s("ReplayOut")),
        structure::<RotateSecret>(s("RotateIn")),
        structure::<Rotated>(s("RotateOut")),
        structure::<Stats>(s("StatsOut")),
        structure::<DeliveryCounts>(s("DeliveryCounts")),
        structure::<AttemptCounts>(s("AttemptCounts")),
        structure::<Latency>(s("Latency")),
        structure::<HourBucket>(s("HourBucket")),
        structure::<DayBucket>(s("DayBucket")),
    ]
}

fn check_struct<T: DeserializeOwned>(doc: &Doc, schema: &Value) -> Vec<String> {
    let Some(Shape::Struct(fields)) = shape::<T>() else {
        return vec!["is not a struct".into()];
    };
    let (properties, required) = doc.object(schema);
    let mut problems = Vec::new();
    for field in fields.iter().filter(|f| !properties.contains_key(**f)) {
        problems.push(format!(
            "declares `{field}`, which the schema does not have"
        ));
    }
    for property in properties.keys().filter(|p| !fields.contains(&p.as_str())) {
        problems.push(format!("lacks the schema's `{property}`"));
    }
    let minimal = doc.example(schema, false);
    if let Err(e) = serde_json::from_value::<T>(minimal.clone()) {
        problems.push(format!(
            "cannot read {minimal}, which has every required property: {e}"
        ));
    }
    for name in &required {
        let mut without = minimal.clone();
        without.as_object_mut().map(|o| o.remove(name));
        if serde_json::from_value::<T>(without).is_ok() {
            problems.push(format!(
                "`{name}` is required by the schema but optional here"
            ));
        }
    }
    let full = doc.example(schema, true);
    if let Err(e) = serde_json::from_value::<T>(full.clone()) {
        problems.push(format!("cannot read {full}, which has every property: {e}"));
    }
    problems
}

/// The values of the enum `schema` is, or holds in a `oneOf` branch.
fn enum_values(doc: &Doc, schema: &Value) -> BTreeSet<String> {
    let schema = doc.resolve(schema);
    let branches = schema["oneOf"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![schema.clone()]);
    branches
        .iter()
        .flat_map(|b| names(&doc.resolve(b)["enum"]).collect::<Vec<_>>())
        .collect()
}

fn check_enum<T: DeserializeOwned>(doc: &Doc, schema: &Value, only_here: &[&str]) -> Vec<String> {
    let Some(Shape::Enum(variants)) = shape::<T>() else {
        return vec!["is not an enum".into()];
    };
    let ours: BTreeSet<String> = variants
        .iter()
        .filter(|v| !only_here.contains(v))
        .map(|v| v.to_string())
        .collect();
    let theirs = enum_values(doc, schema);
    if ours == theirs {
        Vec::new()
    } else {
        vec![format!("has the values {ours:?}, the schema {theirs:?}")]
    }
}

/// Every signature setting the client can write, each field set. The match keeps it whole:
/// a new variant does not compile until it is listed here.
fn every_signature() -> Vec<Signature> {
    let all = vec![
        Signature::StandardWebhooks,
        Signature::StandardWebhooksV1a,
        Signature::HmacSha256 {
            header: Some("X-Sig".into()),
            encoding: Some(SignatureEncoding::Base64),
            prefix: Some("sha256=".into()),
        },
        Signature::TimestampedKey {
            header: Some("X-Sig".into()),
        },
    ];
    for s in &all {
        match s {
            Signature::StandardWebhooks
            | Signature::StandardWebhooksV1a
            | Signature::HmacSha256 { .. }
            | Signature::TimestampedKey { .. } => {}
        }
    }
    all
}

/// `SignatureConfig` is a `oneOf` on `scheme`: each branch must read and write back
/// unchanged, and each setting the client writes must be one of the branches.
fn check_signature(doc: &Doc, schema: &Value) -> Vec<String> {
    let branches = schema["oneOf"].as_array().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    for branch in &branches {
        for full in [false, true] {
            let example = doc.example(branch, full);
            match serde_json::from_value::<Signature>(example.clone()) {
                Ok(read) => {
                    let written = serde_json::to_value(&read).unwrap_or_default();
                    if written != example {
                        problems.push(format!("reads {example} but writes {written}"));
                    }
                }
                Err(e) => problems.push(format!("cannot read {example}: {e}")),
            }
        }
    }
    for signature in every_signature() {
        let written = serde_json::to_value(&signature).unwrap_or_default();
        let fits = branches.iter().any(|b| {
            let (properties, _) = doc.object(b);
            enum_values(doc, &b["properties"]["scheme"])
                .contains(written["scheme"].as_str().unwrap_or(""))
                && written
                    .as_object()
                    .is_some_and(|w| w.keys().all(|k| properties.contains_key(k)))
        });
        if !fits {
            problems.push(format!("writes {written}, which no branch allows"));
        }
    }
    problems
}

/// Each model checked against the schema at its pointer, and every schema and inline object
/// or enum of the document covered by a model.
fn model_problems(doc: &Doc, models: &[Model]) -> Vec<String> {
    let registered: BTreeSet<&str> = models.iter().map(|m| m.at.as_str()).collect();
    let mut problems = Vec::new();
    for model in models {
        let schema = doc.at(&model.at);
        if schema.is_null() {
            problems.push(format!("{}: no such schema", model.at));
            continue;
        }
        problems.extend(
            (model.check)(doc, schema)
                .into_iter()
                .map(|p| format!("{}: {p}", model.at)),
        );
        // Inline objects and enums in its properties need models of their own.
        let (properties, _) = doc.object(schema);
        for (name, property) in &properties {
            let at = format!("{}/properties/{name}", model.at);
            let candidates = [
                (at.clone(), property),
                (format!("{at}/items"), &property["items"]),
            ];
            for (at, s) in candidates {
                let inline_object = s.get("properties").is_some();
                let inline_enum = s.get("enum").is_some()
                    || s["oneOf"]
                        .as_array()
                        .is_some_and(|b| b.iter().any(|b| b.get("enum").is_some()));
                if (inline_object || inline_enum) && !registered.contains(at.as_str()) {
                    problems.push(format!("{at}: no Rust type is checked against it"));
                }
            }
        }
    }
    for name in doc.0["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(n, _)| n)
    {
        if !registered.contains(schema(name).as_str()) {
            problems.push(format!(
                "{}: no Rust type is checked against it",
                schema(name)
            ));
        }
    }
    problems
}

fn method(verb: Verb) -> &'static str {
    match verb {
        Verb::Get => "get",
        Verb::Post => "post",
        Verb::Patch => "patch",
        Verb::Delete => "delete",
    }
}

/// The `$ref` a body schema names, directly or as the non-null branch of a `oneOf`.
fn body_ref(schema: &Value) -> Option<&str> {
    schema.get("$ref").and_then(Value::as_str).or_else(|| {
        schema["oneOf"]
            .as_array()?
            .iter()
            .find_map(|b| b.get("$ref").and_then(Value::as_str))
    })
}

fn operation_problems(doc: &Doc, models: &[Model]) -> Vec<String> {
    let type_at: BTreeMap<&str, TypeId> =
        models.iter().map(|m| (m.at.as_str(), m.type_id)).collect();
    let unit = TypeId::of::<()>();
    let expect_type = |what: &str, schema: Option<&Value>, ours: TypeId| -> Option<String> {
        match schema {
            None if ours == unit => None,
            None => Some(format!(
                "{what}: the document has none, the client sends or reads one"
            )),
            Some(s) => match body_ref(s) {
                Some(at) if type_at.get(at) == Some(&ours) => None,
                Some(at) => Some(format!(
                    "{what}: the document's is {at}, not the client's type"
                )),
                None => Some(format!("{what}: the document's schema is not a named one")),
            },
        }
    };
    let mut problems = Vec::new();
    let mut called = BTreeSet::new();
    for op in ALL {
        let (verb, path) = (method(op.verb()), op.path());
        called.insert((verb, path));
        let operation = &doc.0["paths"][path][verb];
        if !operation.is_object() {
            problems.push(format!(
                "{} {path}: not in the document",
                verb.to_uppercase()
            ));
            continue;
        }
        let id = operation["operationId"].as_str().unwrap_or(path);
        let json = |v: &'_ Value| v.pointer("/content/application~1json/schema").cloned();
        let body = json(&operation["requestBody"]);
        problems.extend(expect_type(
            &format!("{id}'s body"),
            body.as_ref(),
            op.request(),
        ));
        for (status, answer) in operation["responses"].as_object().into_iter().flatten() {
            let answer = json(answer);
            if status.starts_with('2') {
                problems.extend(expect_type(
                    &format!("{id}'s {status}"),
                    answer.as_ref(),
                    op.response(),
                ));
            } else if answer.as_ref().and_then(body_ref) != Some(schema("ErrorBody").as_str()) {
                problems.push(format!(
                    "{id}'s {status} is not ErrorBody, as the client reads errors"
                ));
            }
        }
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let query: BTreeSet<&str> = parameters
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let ours: BTreeSet<&str> = op.query().iter().copied().collect();
        if query != ours {
            problems.push(format!(
                "{id}'s query: the document's {query:?}, the client's {ours:?}"
            ));
        }
        if let Some(status) = parameters
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == "status")
        {
            problems.extend(
                check_enum::<DeliveryStatus>(doc, &status["schema"], &["unknown"])
                    .into_iter()
                    .map(|p| format!("{id}'s ?status: {p}")),
            );
        }
    }
    for (path, item) in doc.0["paths"].as_object().into_iter().flatten() {
        for (verb, operation) in item.as_object().into_iter().flatten() {
            let id = operation["operationId"].as_str().unwrap_or_default();
            if !called.contains(&(verb.as_str(), path.as_str())) && !NOT_CALLED.contains(&id) {
                problems.push(format!(
                    "{} {path} ({id}): the client does not call it",
                    verb.to_uppercase()
                ));
            }
        }
    }
    problems
}

fn assert_none(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "the client has drifted from clients/openapi.json:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_operation_the_client_calls_is_the_documents() {
    let doc = Doc::load();
    assert_none(operation_problems(&doc, &models()));
}

#[test]
fn every_model_matches_its_schema_in_the_document() {
    let doc = Doc::load();
    assert_none(model_problems(&doc, &models()));
}

/// The check bites: a renamed property, a property made required, a new enum value, a moved
/// path and a changed answer type are each caught.
#[test]
fn the_drift_check_fails_when_the_document_changes() {
    type Change = (&'static str, fn(&mut Value));
    let changes: [Change; 5] = [
        ("renamed WebhookOut.url", |d| {
            let out = &mut d["components"]["schemas"]["WebhookOut"];
            let url = out["properties"]
                .as_object_mut()
                .and_then(|p| p.remove("url"))
                .unwrap_or_default();
            out["properties"]["endpoint"] = url;
            out["required"] = json!(["id", "endpoint"]);
        }),
        ("made TenantIn.name required", |d| {
            d["components"]["schemas"]["TenantIn"]["required"] = json!(["id", "name"]);
        }),
        ("a new payload format", |d| {
            d["components"]["schemas"]["PayloadFormat"]["enum"] = json!([
                "envelope",
                "event-timestamp",
                "object-event",
                "data",
                "cloudevents"
            ]);
        }),
        ("moved the publish path", |d| {
            let paths = d["paths"].as_object_mut().expect("paths");
            let publish = paths.remove("/v1/events").unwrap_or_default();
            paths.insert("/v1/messages".into(), publish);
        }),
        ("a list answering another schema", |d| {
            d["paths"]["/v1/tenants"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] =
                json!({"$ref": "#/components/schemas/ListResponse_WebhookOut"});
        }),
    ];
    for (what, change) in changes {
        let mut doc = Doc::load();
        change(&mut doc.0);
        let models = models();
        let problems = [
            operation_problems(&doc, &models),
            model_problems(&doc, &models),
        ]
        .concat();
        assert!(!problems.is_empty(), "{what} went unnoticed");
    }
}
