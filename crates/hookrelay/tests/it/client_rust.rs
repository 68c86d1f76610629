//! The Rust client (`crates/hookrelay-client`) against the real server: every resource through
//! its typed calls, lists paged through `next_cursor`, errors carrying the API's error JSON,
//! tenant keys, and publish retries through a proxy that loses answers, which must never
//! store an event twice.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use hookrelay_client::{
    Client, DeliveryFilter, DeliveryStatus, Error, NewEvent, NewEventType, NewTenant, NewWebhook,
    Replay, RetryPolicy, RotateSecret, Signature, TestSend, WebhookPatch,
};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{ADMIN_KEY, TestApp, TestReceiver};

backend_tests!(
    the_rust_client_manages_a_webhook_and_reads_its_deliveries,
    a_publish_retried_after_lost_answers_is_stored_once,
    lists_are_paged_through_next_cursor_to_the_end,
    an_api_error_carries_the_error_json_and_the_status,
    a_tenant_key_sees_only_its_own_tenant,
);

/// What a [`Proxy`] does with the next request.
#[derive(Clone, Copy)]
enum Step {
    /// Answer this status (and `Retry-After: 0`) without forwarding.
    Refuse(u16),
    /// Forward, throw the server's answer away, and answer this status: the server did the
    /// work but the caller cannot know.
    LoseAnswer(u16),
}

/// One request the proxy saw, and what the server answered it (when forwarded).
struct Seen {
    path: String,
    body: Bytes,
    upstream: Option<u16>,
}

/// An HTTP proxy on 127.0.0.1 in front of the app that follows a script for the next requests,
/// then forwards everything.
struct Proxy {
    address: SocketAddr,
    script: Arc<Mutex<VecDeque<Step>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    async fn spawn(app: &TestApp) -> Proxy {
        let script = Arc::new(Mutex::new(VecDeque::<Step>::new()));
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let (upstream, http) = (app.url(""), app.client.clone());
        let (script_, seen_) = (script.clone(), seen.clone());
        let router = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (script, seen, http) = (script_.clone(), seen_.clone(), http.clone());
                let url = format!("{upstream}{uri}");
                async move {
                    let step = script.lock().unwrap().pop_front();
                    let mut record = Seen {
                        path: uri.path().to_owned(),
                        body: body.clone(),
                        upstream: None,
                    };
                    if let Some(Step::Refuse(status)) = step {
                        seen.lock().unwrap().push(record);
                        return answer(status, Bytes::new(), true);
                    }
                    let mut request = http.request(method, url).body(body);
                    for name in ["authorization", "content-type"] {
                        if let Some(value) = headers.get(name) {
                            request = request.header(name, value.as_bytes());
                        }
                    }
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    let bytes = response.bytes().await.unwrap();
                    record.upstream = Some(status);
                    seen.lock().unwrap().push(record);
                    match step {
                        Some(Step::LoseAnswer(status)) => answer(status, Bytes::new(), true),
                        _ => answer(status, bytes, false),
                    }
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Proxy {
            address,
            script,
            seen,
        }
    }

    fn script(&self, steps: &[Step]) {
        self.script.lock().unwrap().extend(steps);
    }

    /// A client through the proxy that retries quickly.
    fn client(&self, key: &str, retry: RetryPolicy) -> Client {
        Client::builder(&format!("http://{}", self.address), key)
            .retry(retry)
            .build()
            .unwrap()
    }

    /// The requests seen for `path`: each body's JSON and the server's status.
    fn seen(&self, path: &str) -> Vec<(Value, Option<u16>)> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.path == path)
            .map(|s| (serde_json::from_slice(&s.body).unwrap(), s.upstream))
            .collect()
    }
}

fn answer(status: u16, body: Bytes, retry_after: bool) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if retry_after {
        response
            .headers_mut()
            .insert("retry-after", "0".parse().unwrap());
    }
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base_delay: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(50),
    }
}

async fn the_rust_client_manages_a_webhook_and_reads_its_deliveries(app: &mut TestApp) {
    let api = app.api();
    let receiver = TestReceiver::spawn().await;
    api.create_event_type(&NewEventType {
        name: "order.paid".into(),
        description: Some("An order was paid.".into()),
        example: Some(json!({"order_id": 1})),
        schema: None,
    })
    .await
    .unwrap();
    let created = api
        .create_webhook(&NewWebhook {
            events: Some(vec!["order.*".into()]),
            retry_schedule: Some(vec![1]),
            rate_limit_per_second: Some(50),
            filter: Some(json!({"data.order_id": {"$gte": 5}})),
            ..NewWebhook::new(receiver.url("/hooks"))
        })
        .await
        .unwrap();
    assert!(created.id.starts_with("wh_"), "{created:?}");
    assert_eq!(created.signature, Signature::StandardWebhooks);
    assert!(created.secret.as_deref().unwrap().starts_with("whsec_"));
    assert_eq!(created.filter, Some(json!({"data.order_id": {"$gte": 5}})));
    assert_eq!(api.get_webhook(&created.id).await.unwrap(), created);

    // Its filter holds back an event it does not match.
    let filtered = api
        .publish(&NewEvent::new("order.paid", json!({"order_id": 1})))
        .await
        .unwrap();
    assert_eq!(filtered.deliveries, 0);

    // A patch's Some(None) clears what null clears.
    let patched = api
        .update_webhook(
            &created.id,
            &WebhookPatch {
                description: Some("orders".into()),
                rate_limit_per_second: Some(None),
                filter: Some(None),
                ..WebhookPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.description, "orders");
    assert_eq!(patched.rate_limit_per_second, None);
    assert_eq!(patched.filter, None);

    let published = api
        .publish(&NewEvent::new("order.paid", json!({"order_id": 7})))
        .await
        .unwrap();
    assert!(published.id.starts_with("evt_"), "{published:?}");
    assert_eq!(published.deliveries, 1);
    let delivered = app.wait_for_delivery(&created.id, "succeeded").await;
    let detail = api
        .get_delivery(delivered["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(detail.event_id, published.id);
    assert_eq!(detail.attempts.len(), 1);
    assert_eq!(detail.attempts[0].status_code, Some(200));
    assert_eq!(
        detail.request.as_ref().unwrap().body.as_bytes(),
        &receiver.received()[0].body[..]
    );
    let event = api.get_event(&published.id).await.unwrap();
    assert_eq!(event.data, json!({"order_id": 7}));
    assert_eq!(event.deliveries[0].id, detail.id);

    let test = api
        .test_webhook(
            &created.id,
            &TestSend {
                event_type: "order.paid".into(),
            },
        )
        .await
        .unwrap();
    assert!(test.succeeded, "{test:?}");
    let retried = api.retry_delivery(&detail.id).await.unwrap();
    assert_eq!(retried.status, DeliveryStatus::Pending);
    let replayed = api
        .replay(
            &created.id,
            &Replay {
                since: "2020-01-01T00:00:00Z".into(),
                until: None,
                status: Some(DeliveryStatus::Failed),
            },
        )
        .await
        .unwrap();
    assert_eq!(replayed.requeued, 0);
    let stats = api.webhook_stats(&created.id, Some("1h")).await.unwrap();
    assert_eq!(stats.window, "1h");
    assert!(stats.attempts.total >= 1, "{stats:?}");

    let rotated = api
        .rotate_secret(&created.id, &RotateSecret::default())
        .await
        .unwrap();
    assert_ne!(rotated.secret, created.secret);
    api.delete_webhook(&created.id).await.unwrap();
    assert_eq!(
        api.get_webhook(&created.id).await.unwrap_err().code(),
        Some("not_found")
    );
    assert_eq!(api.ready().await.unwrap().status, "ok");
}

/// A publish whose answers are lost (the server stored the event, the caller saw a 502 or a
/// 503) or refused with a 429 is sent again with the same event id, and the server keeps one
/// event with one delivery.
async fn a_publish_retried_after_lost_answers_is_stored_once(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let webhook = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let proxy = Proxy::spawn(app).await;
    proxy.script(&[
        Step::Refuse(429),
        Step::LoseAnswer(502),
        Step::LoseAnswer(503),
    ]);
    let client = proxy.client(ADMIN_KEY, quick_retries());

    let published = client
        .publish(&NewEvent::new("order.paid", json!({"n": 1})))
        .await
        .unwrap();

    let tries = proxy.seen("/v1/events");
    assert_eq!(tries.len(), 4, "a 429, two lost answers, then the answer");
    let ids: BTreeSet<&str> = tries
        .iter()
        .map(|(b, _)| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([published.id.as_str()]),
        "every try carried one id"
    );
    let upstream: Vec<Option<u16>> = tries.iter().map(|(_, s)| *s).collect();
    assert_eq!(upstream, [None, Some(202), Some(200), Some(200)]);
    assert_eq!(published.deliveries, 1);
    app.wait_for_delivery(webhook["id"].as_str().unwrap(), "succeeded")
        .await;
    let event = app.api().get_event(&published.id).await.unwrap();
    assert_eq!(event.deliveries.len(), 1);
    assert_eq!(receiver.received().len(), 1);

    // A batch is retried the same way: each event keeps the id it was given before the first
    // try, and the events stored are the two published.
    proxy.script(&[Step::LoseAnswer(503)]);
    let batch = client
        .publish_batch(&[
            NewEvent::new("order.paid", json!({"n": 2})),
            NewEvent {
                id: Some("mine-3".into()),
                ..NewEvent::new("order.paid", json!({"n": 3}))
            },
        ])
        .await
        .unwrap();
    let statuses: Vec<u16> = batch.data.iter().map(|i| i.status).collect();
    assert_eq!(
        statuses,
        [200, 200],
        "the retry found both stored: {batch:?}"
    );
    let tries = proxy.seen("/v1/events/batch");
    assert_eq!(tries.len(), 2);
    assert_eq!(tries[0].0, tries[1].0, "the retry sent the same batch");
    assert_eq!(tries[0].0["events"][1]["id"], "mine-3");
    assert_eq!(
        app.deliveries(webhook["id"].as_str().unwrap()).await.len(),
        3
    );

    // A create is not safe to repeat: a 503 is the caller's to handle, after one try.
    proxy.script(&[Step::Refuse(503)]);
    let refused = client
        .create_webhook(&NewWebhook::new(receiver.url("/other")))
        .await
        .unwrap_err();
    assert_eq!(
        refused.status(),
        Some(reqwest::StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(proxy.seen("/v1/webhooks").len(), 1);
}

async fn lists_are_paged_through_next_cursor_to_the_end(app: &mut TestApp) {
    let api = app.api();
    let receiver = TestReceiver::spawn().await;
    let mut created = BTreeSet::new();
    for i in 0..5 {
        let w = api
            .create_webhook(&NewWebhook::new(receiver.url(&format!("/{i}"))))
            .await
            .unwrap();
        created.insert(w.id);
    }
    let mut pages = api.list_webhooks().limit(2);
    let mut sizes = Vec::new();
    let mut seen = BTreeSet::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        sizes.push(page.len());
        seen.extend(page.into_iter().map(|w| w.id));
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, created);
    // Item by item across page boundaries, and all at once.
    let mut items = api.list_webhooks().limit(2);
    let mut one_by_one = BTreeSet::new();
    while let Some(w) = items.next().await.unwrap() {
        one_by_one.insert(w.id);
    }
    assert_eq!(one_by_one, created);
    assert_eq!(api.list_webhooks().limit(3).all().await.unwrap().len(), 5);

    // The delivery log, filtered: three events for one webhook, read two to a page.
    let target = created.first().unwrap();
    api.update_webhook(
        target,
        &WebhookPatch {
            events: Some(vec!["only.this".into()]),
            ..WebhookPatch::default()
        },
    )
    .await
    .unwrap();
    for n in 0..3 {
        api.publish(&NewEvent::new("only.this", json!({"n": n})))
            .await
            .unwrap();
    }
    let filter = DeliveryFilter {
        event_type: Some("only.this".into()),
        limit: Some(2),
        ..DeliveryFilter::default()
    };
    let log = api.list_deliveries(target, &filter).all().await.unwrap();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|d| d.webhook_id == *target && d.event_type == "only.this")
    );
    let none = DeliveryFilter {
        event_type: Some("other.type".into()),
        ..DeliveryFilter::default()
    };
    assert!(
        api.list_deliveries(target, &none)
            .all()
            .await
            .unwrap()
            .is_empty()
    );

    let tenants = api.list_tenants().all().await.unwrap();
    assert!(tenants.iter().any(|t| t.id == "default"), "{tenants:?}");
    for name in ["a.one", "a.two", "a.three"] {
        api.create_event_type(&NewEventType {
            name: name.into(),
            ..NewEventType::default()
        })
        .await
        .unwrap();
    }
    let mut types = api.list_event_types().limit(2);
    let mut names = BTreeSet::new();
    while let Some(t) = types.next().await.unwrap() {
        names.insert(t.name);
    }
    assert!(
        names.is_superset(&BTreeSet::from([
            "a.one".into(),
            "a.two".into(),
            "a.three".into()
        ])),
        "{names:?}"
    );
}

async fn an_api_error_carries_the_error_json_and_the_status(app: &mut TestApp) {
    let api = app.api();
    let refused = api
        .create_webhook(&NewWebhook::new("ftp://example.com/hooks"))
        .await
        .unwrap_err();
    let Error::Api { status, detail } = &refused else {
        panic!("not the API's error: {refused:?}");
    };
    assert_eq!(*status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(detail.code, "validation_failed");
    assert_eq!(detail.field.as_deref(), Some("url"));
    assert!(!detail.message.is_empty());
    assert!(refused.to_string().contains("(field `url`)"), "{refused}");
    assert!(
        api.list_webhooks().all().await.unwrap().is_empty(),
        "nothing was stored"
    );

    let missing = api
        .get_delivery("dlv_00000000000000000000000000")
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(reqwest::StatusCode::NOT_FOUND));
    assert_eq!(missing.code(), Some("not_found"));

    let stranger = app.client_with("hra_not_a_key");
    let denied = stranger.list_webhooks().next_page().await.unwrap_err();
    assert_eq!(denied.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
    // The key is never in what a client or its errors print.
    assert!(!format!("{stranger:?} {denied} {denied:?}").contains("hra_not_a_key"));
}

async fn a_tenant_key_sees_only_its_own_tenant(app: &mut TestApp) {
    let admin = app.api();
    let receiver = TestReceiver::spawn().await;
    admin
        .create_tenant(&NewTenant {
            contact_email: Some("ops@acme.example".into()),
            ..NewTenant::new("acme")
        })
        .await
        .unwrap();
    let key = admin.create_tenant_key("acme").await.unwrap();
    assert_eq!(key.tenant_id, "acme");
    assert!(
        !format!("{key:?}").contains(&key.key),
        "Debug hides the key"
    );
    let acme = app.client_with(&key.key);

    let theirs = acme
        .create_webhook(&NewWebhook::new(receiver.url("/acme")))
        .await
        .unwrap();
    let ours = admin
        .create_webhook(&NewWebhook::new(receiver.url("/default")))
        .await
        .unwrap();
    let listed = webhook_ids(&acme).await;
    assert_eq!(listed, [theirs.id.as_str()]);
    assert_eq!(
        acme.get_webhook(&ours.id).await.unwrap_err().code(),
        Some("not_found")
    );

    // The admin reaches the tenant's webhooks through the tenant's paths.
    let scoped = admin.in_tenant("acme");
    assert_eq!(scoped.get_webhook(&theirs.id).await.unwrap().id, theirs.id);
    let all = webhook_ids(&scoped).await;
    assert_eq!(all, [theirs.id.as_str()]);
    assert_eq!(
        admin.get_webhook(&theirs.id).await.unwrap_err().code(),
        Some("not_found")
    );

    admin
        .publish(&NewEvent {
            tenant: Some("acme".into()),
            ..NewEvent::new("a.b", json!({}))
        })
        .await
        .unwrap();
    let delivered = acme
        .list_deliveries(&theirs.id, &DeliveryFilter::default())
        .all()
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    let through_admin = scoped
        .list_deliveries(&theirs.id, &DeliveryFilter::default())
        .all()
        .await
        .unwrap();
    assert_eq!(through_admin.len(), 1);
    assert_eq!(through_admin[0].id, delivered[0].id);

    // What only the admin may do is refused to the tenant with 403.
    let forbidden = acme
        .publish(&NewEvent::new("a.b", json!({})))
        .await
        .unwrap_err();
    assert_eq!(forbidden.status(), Some(reqwest::StatusCode::FORBIDDEN));
    let link = acme.create_dashboard_link().await.unwrap();
    assert!(link.url.contains("/dashboard/login?token="), "{link:?}");
    assert!(admin.create_tenant_dashboard_link("acme").await.is_ok());
    let tenant = admin.get_tenant("acme").await.unwrap();
    assert_eq!(tenant.contact_email.as_deref(), Some("ops@acme.example"));
}

/// The ids of every webhook `client` can list, through all its pages.
async fn webhook_ids(client: &hookrelay_client::Client) -> Vec<String> {
    let webhooks = client.list_webhooks().all().await.unwrap();
    webhooks.into_iter().map(|w| w.id).collect()
}
