//! Payload filters (docs/filters.md), through the API on both backends: every operator decides
//! a publish's deliveries both ways, paths reach into the data and the event's own fields,
//! refusals name the part at fault and change nothing, a filter is set, kept, replaced and
//! cleared by PATCH and survives a restart, and a real receiver gets exactly the events its
//! filter accepts while an unfiltered webhook gets them all. The dashboard shows a filter and
//! edits it.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::dashboard::{csrf, page, post_form, tenant_session};
use crate::helpers::{TestApp, TestReceiver};

backend_tests!(
    every_operator_decides_whether_a_published_event_goes_to_the_webhook,
    a_filter_sees_the_deliverys_own_tenant_and_the_events_type_and_channels,
    invalid_filters_are_refused_naming_the_part_at_fault_and_nothing_changes,
    a_filter_is_set_kept_replaced_and_cleared_and_survives_a_restart,
    a_filtered_webhook_receives_exactly_the_events_its_filter_accepts,
    the_dashboard_shows_a_filter_escaped_and_edits_it_with_refusals_at_the_field,
);

/// The data most cases are published with.
fn order() -> Value {
    json!({
        "amount": 150, "price": 9.5, "currency": "EUR", "paid": true, "note": null,
        "customer": {"name": "Ada", "address": {"city": "Paris"}},
        "tags": ["vip", "new"], "items": [{"sku": "a1"}, {"sku": "b2"}]
    })
}

/// Sets the webhook's filter, publishes `data` as `order.paid` on channel `eu`, and answers
/// how many deliveries the publish made (the webhook is the tenant's only one).
async fn deliveries_with(app: &TestApp, webhook: &str, filter: &Value, data: &Value) -> u64 {
    let (status, body) = app
        .patch(
            &format!("/v1/webhooks/{webhook}"),
            json!({"filter": filter}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}: {body}");
    assert_eq!(&body["filter"], filter);
    let event = app
        .publish(json!({"type": "order.paid", "channels": ["eu"], "data": data}))
        .await;
    event["deliveries"].as_u64().unwrap()
}

async fn every_operator_decides_whether_a_published_event_goes_to_the_webhook(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/filtered")}))
        .await;
    let id = w["id"].as_str().unwrap();
    // (filter, whether `order()` passes it): each operator matching and not matching.
    let cases = [
        // Bare values and $eq, deep and by numeric value.
        (json!({"data.currency": "EUR"}), true),
        (json!({"data.currency": "USD"}), false),
        (json!({"data.amount": {"$eq": 150.0}}), true),
        (json!({"data.amount": {"$eq": "150"}}), false),
        (
            json!({"data.customer": {"address": {"city": "Paris"}, "name": "Ada"}}),
            true,
        ),
        (json!({"data.customer": {"name": "Ada"}}), false),
        (json!({"data.note": null}), true),
        (json!({"data.missing": null}), false),
        // $ne, which holds for a missing path.
        (json!({"data.currency": {"$ne": "USD"}}), true),
        (json!({"data.currency": {"$ne": "EUR"}}), false),
        (json!({"data.missing": {"$ne": "EUR"}}), true),
        // Ordering, and type mismatches that are simply false.
        (json!({"data.amount": {"$gt": 100}}), true),
        (json!({"data.amount": {"$gt": 150}}), false),
        (json!({"data.amount": {"$gte": 150}}), true),
        (json!({"data.amount": {"$gte": 150.5}}), false),
        (json!({"data.price": {"$lt": 10}}), true),
        (json!({"data.price": {"$lt": 9.5}}), false),
        (json!({"data.price": {"$lte": 9.5}}), true),
        (json!({"data.price": {"$lte": 9}}), false),
        (json!({"data.currency": {"$gte": "EUR", "$lt": "F"}}), true),
        (json!({"data.currency": {"$gt": 1}}), false),
        (json!({"data.amount": {"$gt": "1"}}), false),
        (json!({"data.paid": {"$gte": 0}}), false),
        (json!({"data.missing": {"$lt": 1}}), false),
        // Membership, arrays by element.
        (json!({"data.currency": {"$in": ["EUR", "USD"]}}), true),
        (json!({"data.currency": {"$in": ["GBP"]}}), false),
        (json!({"data.tags": {"$in": ["vip"]}}), true),
        (json!({"data.currency": {"$nin": ["GBP"]}}), true),
        (json!({"data.currency": {"$nin": ["EUR", "USD"]}}), false),
        (json!({"data.tags": {"$nin": ["new"]}}), false),
        (json!({"data.missing": {"$nin": ["EUR"]}}), true),
        (json!({"data.tags": "vip"}), true),
        (json!({"data.tags": ["new", "vip"]}), false),
        // Existence.
        (json!({"data.note": {"$exists": true}}), true),
        (json!({"data.missing": {"$exists": true}}), false),
        (json!({"data.missing": {"$exists": false}}), true),
        (json!({"data.amount": {"$exists": false}}), false),
        // Nested paths and array indexes.
        (json!({"data.customer.address.city": "Paris"}), true),
        (json!({"data.customer.address.city": "Lyon"}), false),
        (json!({"data.items.1.sku": "b2"}), true),
        (json!({"data.items.2.sku": {"$exists": true}}), false),
        // Combinators, at the top and inside a condition.
        (
            json!({"data.amount": {"$gte": 100}, "data.currency": {"$in": ["EUR", "USD"]}}),
            true,
        ),
        (
            json!({"data.amount": {"$gte": 100}, "data.currency": "USD"}),
            false,
        ),
        (
            json!({"$and": [{"data.paid": true}, {"data.amount": {"$lt": 200}}]}),
            true,
        ),
        (
            json!({"$and": [{"data.paid": true}, {"data.amount": {"$lt": 100}}]}),
            false,
        ),
        (
            json!({"$or": [{"data.amount": 1}, {"data.tags": "new"}]}),
            true,
        ),
        (
            json!({"$or": [{"data.amount": 1}, {"data.tags": "old"}]}),
            false,
        ),
        (json!({"$not": {"data.currency": "USD"}}), true),
        (json!({"$not": {"data.currency": "EUR"}}), false),
        (json!({"data.amount": {"$not": {"$gt": 200}}}), true),
        (json!({"data.amount": {"$not": {"$gt": 100}}}), false),
    ];
    let mut expected = 0;
    for (filter, passes) in &cases {
        let n = deliveries_with(app, id, filter, &order()).await;
        assert_eq!(n, u64::from(*passes), "{filter}");
        expected += u64::from(*passes);
    }
    assert_eq!(app.deliveries(id).await.len() as u64, expected);
}

async fn a_filter_sees_the_deliverys_own_tenant_and_the_events_type_and_channels(
    app: &mut TestApp,
) {
    let receiver = TestReceiver::spawn().await;
    app.create_tenant("acme").await;
    let hook = |filter: Value| json!({"url": receiver.url("/t"), "filter": filter});
    // One webhook in each tenant, each wanting events for acme: only acme's holds, since a
    // filter sees the tenant of its own delivery, never the event's other tenants.
    let ours = app.create_webhook(hook(json!({"tenant": "acme"}))).await;
    let (status, theirs) = app
        .post("/v1/tenants/acme/webhooks", hook(json!({"tenant": "acme"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let event = app
        .publish(json!({"type": "a.b", "tenants": ["default", "acme"], "data": {}}))
        .await;
    let (_, detail) = app
        .get(&format!("/v1/events/{}", event["id"].as_str().unwrap()))
        .await;
    let went: Vec<&Value> = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["webhook_id"])
        .collect();
    assert_eq!(went, [&theirs["id"]], "{detail}");
    app.delete(&format!("/v1/webhooks/{}", ours["id"].as_str().unwrap()))
        .await;

    let w = app.create_webhook(json!({"url": receiver.url("/t")})).await;
    let id = w["id"].as_str().unwrap();
    for (filter, passes) in [
        (json!({"type": "order.paid"}), true),
        (json!({"type": "order.created"}), false),
        (
            json!({"type": {"$in": ["order.created", "order.paid"]}}),
            true,
        ),
        (json!({"type": {"$gte": "order.q"}}), false),
        (json!({"tenant": "default"}), true),
        (json!({"tenant": {"$ne": "default"}}), false),
        (json!({"channels": "eu"}), true),
        (json!({"channels": "us"}), false),
        (json!({"channels": {"$nin": ["us", "test"]}}), true),
        (json!({"channels": ["eu"]}), true),
        (json!({"channels": []}), false),
    ] {
        let n = deliveries_with(app, id, &filter, &order()).await;
        assert_eq!(n, u64::from(passes), "{filter}");
    }
}

async fn invalid_filters_are_refused_naming_the_part_at_fault_and_nothing_changes(
    app: &mut TestApp,
) {
    let mut too_deep = json!({"type": "a"});
    for _ in 0..8 {
        too_deep = json!({"$not": too_deep});
    }
    let too_many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("data.k{i}"), json!(i))).collect();
    let cases = [
        (json!("data.amount > 5"), "filter", "must be an object"),
        (json!([{"type": "a"}]), "filter", "must be an object"),
        (
            json!({"data.amount": {"$gtx": 5}}),
            "filter.data.amount.$gtx",
            "not an operator",
        ),
        (
            json!({"data.c": {"$in": "EUR"}}),
            "filter.data.c.$in",
            "array of values",
        ),
        (
            json!({"$or": [{"type": "a"}, {"data.c": {"$nin": 1}}]}),
            "filter.$or[1].data.c.$nin",
            "array of values",
        ),
        (
            json!({"payload.amount": 5}),
            "filter.payload.amount",
            "not a path",
        ),
        (
            json!({"data..amount": 5}),
            "filter.data..amount",
            "not a path",
        ),
        (
            json!({"data.a": {"$gt": [1]}}),
            "filter.data.a.$gt",
            "number or a string",
        ),
        (
            json!({"data.a": {"$exists": "yes"}}),
            "filter.data.a.$exists",
            "true or false",
        ),
        (
            json!({"$nor": [{"type": "a"}]}),
            "filter.$nor",
            "not a combinator",
        ),
        (json!({"$and": []}), "filter.$and", "non-empty array"),
        (
            json!({"data.a": {"$eq": 1, "b": 1}}),
            "filter.data.a.b",
            "mixes a key",
        ),
        (
            too_deep,
            "filter.$not.$not.$not.$not.$not.$not.$not.$not",
            "at most 8 levels deep",
        ),
        (
            Value::Object(too_many),
            "filter.data.k64",
            "at most 64 conditions",
        ),
        (
            json!({"data.s": "x".repeat(9000)}),
            "filter",
            "at most 8192",
        ),
    ];
    let before = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/in", "filter": {"type": "kept"}}))
        .await;
    let path = format!("/v1/webhooks/{}", before["id"].as_str().unwrap());
    for (filter, field, words) in cases {
        for (status, body) in [
            app.post(
                "/v1/webhooks",
                json!({"url": "http://127.0.0.1:9/x", "filter": filter}),
            )
            .await,
            app.patch(&path, json!({"filter": filter, "description": "changed"}))
                .await,
        ] {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{filter}: {body}");
            assert_eq!(body["error"]["code"], "validation_failed", "{body}");
            assert_eq!(body["error"]["field"], field, "{filter}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(words), "{filter}: {message}");
        }
    }
    let (_, list) = app.get("/v1/webhooks").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "nothing created");
    assert_eq!(app.get(&path).await.1, before, "nothing changed");
}

async fn a_filter_is_set_kept_replaced_and_cleared_and_survives_a_restart(app: &mut TestApp) {
    let filter = json!({"data.amount": {"$gte": 100}, "data.currency": {"$in": ["EUR", "USD"]}});
    let w = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/in", "filter": filter}))
        .await;
    assert_eq!(w["filter"], filter);
    let path = format!("/v1/webhooks/{}", w["id"].as_str().unwrap());
    let plain = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/plain"}))
        .await;
    assert_eq!(plain["filter"], json!(null));
    let (_, list) = app.get("/v1/webhooks").await;
    let filters: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["filter"])
        .collect();
    assert!(
        filters.contains(&&filter) && filters.contains(&&json!(null)),
        "{list}"
    );

    // Another field changes; the filter stays.
    let (status, kept) = app.patch(&path, json!({"description": "billing"})).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["filter"], filter);

    app.restart().await;
    assert_eq!(app.get(&path).await.1["filter"], filter);
    let publish = |amount: u32| json!({"type": "a", "data": {"amount": amount, "currency": "EUR"}});
    // The plain webhook takes both, the filtered one only the second.
    assert_eq!(app.publish(publish(99)).await["deliveries"], 1);
    assert_eq!(app.publish(publish(100)).await["deliveries"], 2);

    let replaced = json!({"$or": [{"data.amount": {"$lt": 10}}, {"type": "b"}]});
    let (_, now) = app.patch(&path, json!({"filter": replaced})).await;
    assert_eq!(now["filter"], replaced);
    assert_eq!(app.publish(publish(5)).await["deliveries"], 2);
    assert_eq!(app.publish(publish(100)).await["deliveries"], 1);

    // null clears it, and so does the empty filter, which holds for every event.
    let (_, cleared) = app.patch(&path, json!({"filter": null})).await;
    assert_eq!(cleared["filter"], json!(null));
    assert_eq!(app.publish(publish(100)).await["deliveries"], 2);
    app.patch(&path, json!({"filter": {"type": "b"}})).await;
    let (_, empty) = app.patch(&path, json!({"filter": {}})).await;
    assert_eq!(empty["filter"], json!(null));
    app.restart().await;
    assert_eq!(app.get(&path).await.1["filter"], json!(null));
    assert_eq!(app.publish(publish(1)).await["deliveries"], 2);
}

async fn a_filtered_webhook_receives_exactly_the_events_its_filter_accepts(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let filter = json!({"data.amount": {"$gte": 100}, "data.currency": {"$in": ["EUR", "USD"]}});
    let filtered = app
        .create_webhook(json!({"url": receiver.url("/filtered"), "filter": filter}))
        .await;
    let all = app
        .create_webhook(json!({"url": receiver.url("/all")}))
        .await;
    let events = [
        (150, "EUR", true),
        (99, "EUR", false),
        (100, "USD", true),
        (500, "GBP", false),
        (1000, "EUR", true),
        (5, "JPY", false),
    ];
    let mut accepted = BTreeSet::new();
    for (i, (amount, currency, passes)) in events.iter().enumerate() {
        let id = format!("evt_order_{i}");
        let event = app
            .publish(json!({"id": id, "type": "order.paid",
                "data": {"amount": amount, "currency": currency}}))
            .await;
        assert_eq!(event["deliveries"], if *passes { 2 } else { 1 }, "{event}");
        if *passes {
            accepted.insert(id);
        }
    }
    let received = receiver.wait_for(events.len() + accepted.len()).await;
    let ids_at = |path: &str| -> Vec<String> {
        received
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let at_filtered = ids_at("/filtered");
    assert_eq!(at_filtered.len(), accepted.len(), "{at_filtered:?}");
    assert_eq!(at_filtered.into_iter().collect::<BTreeSet<_>>(), accepted);
    assert_eq!(ids_at("/all").len(), events.len());
    // The logs agree: a delivery exists only where the filter let the event through.
    for (webhook, n) in [(&filtered, accepted.len()), (&all, events.len())] {
        let id = webhook["id"].as_str().unwrap();
        assert_eq!(app.deliveries(id).await.len(), n);
    }
}

async fn the_dashboard_shows_a_filter_escaped_and_edits_it_with_refusals_at_the_field(
    app: &mut TestApp,
) {
    let app = &*app;
    app.create_tenant("acme").await;
    let filter = json!({"data.note": "</pre><script>alert(1)</script>"});
    let (_, w) = app
        .post(
            "/v1/tenants/acme/webhooks",
            json!({"url": "http://127.0.0.1:9/in", "filter": filter}),
        )
        .await;
    let id = w["id"].as_str().unwrap();
    let api = format!("/v1/tenants/acme/webhooks/{id}");
    let cookie = tenant_session(app, "acme").await;
    let shown = format!("/dashboard/t/acme/webhooks/{id}");
    let (status, html) = page(app, &cookie, &shown).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(
            "<pre id=\"filter\">{\n  &quot;data.note&quot;: &quot;&lt;/pre&gt;&lt;script&gt;"
        ),
        "pretty and escaped: {html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");

    let edit = format!("{shown}/edit");
    let (_, html) = page(app, &cookie, &edit).await;
    assert!(html.contains("name=\"filter\""), "{html}");
    assert!(
        html.contains("&lt;/pre&gt;&lt;script&gt;alert(1)"),
        "the stored filter fills the field: {html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
    let token = csrf(&html);
    let form = |filter: &str| {
        [
            ("_csrf", token.clone()),
            ("url", "http://127.0.0.1:9/in".to_owned()),
            ("filter", filter.to_owned()),
            ("retry_schedule", "30".to_owned()),
            ("timeout_seconds", "10".to_owned()),
            ("active", "true".to_owned()),
        ]
    };
    let send = |filter: &'static str| {
        let (cookie, edit, form) = (cookie.clone(), edit.clone(), form(filter));
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(app, &cookie, &edit, &form).await
        }
    };
    // The API's refusal at the field, what was typed kept, nothing changed.
    for (typed, message) in [
        (r#"{"data.amount": {"$gtx": 5}}"#, "is not an operator"),
        ("{not json", "is not JSON"),
    ] {
        let (status, _, html) = send(typed).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let at = html.find("id=\"filter-error\"").expect(&html);
        assert!(html[at..].contains(message), "{html}");
        assert!(
            html.contains("{not json") || html.contains("$gtx"),
            "typed kept: {html}"
        );
        assert_eq!(app.get(&api).await.1["filter"], filter);
    }
    let (status, location, _) = send(r#"{"data.amount": {"$gte": 100}}"#).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, shown);
    assert_eq!(
        app.get(&api).await.1["filter"],
        json!({"data.amount": {"$gte": 100}})
    );
    // An empty field removes it.
    let (status, _, _) = send("  ").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&api).await.1["filter"], json!(null));
    let (_, html) = page(app, &cookie, &shown).await;
    assert!(html.contains("none: every event"), "{html}");
}
