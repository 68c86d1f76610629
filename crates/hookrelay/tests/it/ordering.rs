//! Ordered delivery (docs/ordering.md): a fifo webhook's deliveries reach a real receiver
//! strictly in publish order per key, through random failures and a head that fails several
//! times, on both backends, with two PostgreSQL nodes delivering at once, and across a `kill -9`
//! of the real binary and its restart; a blocked key holds back only its own queue, through a
//! disable and enable; `failed` releases the next, and a manual retry or a replay re-queues at
//! the tail; the fields are read back, patched and refused naming the field.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::crash::Node;
use crate::dashboard::{csrf, page, post_form, tenant_session};
use crate::helpers::{ADMIN_KEY, Backend, ScratchDatabase, TestApp, eventually};

backend_tests!(
    a_fifo_webhook_delivers_each_key_in_publish_order_through_failures,
    a_blocked_key_holds_back_only_its_own_queue_through_disable_and_enable,
    failed_releases_the_next_and_retry_and_replay_join_the_tail,
    ordering_fields_are_read_back_patched_and_refused_naming_the_field,
    the_dashboard_shows_the_order_and_sets_it_with_refusals_at_the_field,
);

/// How long a whole stream may take to arrive: a bound, not a measurement.
const BOUND: Duration = Duration::from_secs(90);

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Arrival {
    event: String,
    key: String,
    n: u64,
    ok: bool,
}

#[derive(Default)]
struct Script {
    /// Percent of requests answered 500, chosen by a hash of (event, attempt).
    fail_percent: u64,
    /// Events answered 500 this many more times.
    stubborn: HashMap<String, u32>,
    /// Keys answered 500 every time.
    refused_keys: Vec<String>,
}

#[derive(Default)]
struct State {
    arrivals: Vec<Arrival>,
    attempts: HashMap<String, u64>,
    script: Script,
}

/// A receiver that records which event of which key arrived, in arrival order, and answers
/// as scripted.
#[derive(Clone)]
struct OrderReceiver {
    base: String,
    state: Arc<Mutex<State>>,
}

fn hash(text: &str) -> u64 {
    // FNV-1a: stable, so a run's failures are the same every time.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl OrderReceiver {
    async fn spawn(script: Script) -> OrderReceiver {
        let state = Arc::new(Mutex::new(State {
            script,
            ..State::default()
        }));
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let state = shared.clone();
            async move {
                let body: Value = serde_json::from_slice(&body).unwrap();
                let event = body["id"].as_str().unwrap().to_owned();
                let key = body["data"]["key"].as_str().unwrap().to_owned();
                let n = body["data"]["n"].as_u64().unwrap();
                let mut state = state.lock().unwrap();
                let attempt = {
                    let a = state.attempts.entry(event.clone()).or_default();
                    *a += 1;
                    *a
                };
                let script = &mut state.script;
                let ok = if let Some(left) = script.stubborn.get_mut(&event)
                    && *left > 0
                {
                    *left -= 1;
                    false
                } else {
                    !script.refused_keys.contains(&key)
                        && hash(&format!("{event}/{attempt}")) % 100 >= script.fail_percent
                };
                state.arrivals.push(Arrival { event, key, n, ok });
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OrderReceiver { base, state }
    }

    fn url(&self) -> String {
        format!("{}/ordered", self.base)
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.state.lock().unwrap().arrivals.clone()
    }

    fn set_refused_keys(&self, keys: &[&str]) {
        self.state.lock().unwrap().script.refused_keys =
            keys.iter().map(|k| (*k).to_owned()).collect();
    }

    /// Waits until every event of `counts` (key → how many) has arrived with a success.
    async fn wait_for_all(&self, counts: &BTreeMap<String, u64>) {
        let total: u64 = counts.values().sum();
        eventually(BOUND, "every event arrives with a success", || async {
            let mut done: HashMap<(String, u64), ()> = HashMap::new();
            for a in self.arrivals().into_iter().filter(|a| a.ok) {
                done.insert((a.key, a.n), ());
            }
            done.len() as u64 == total
        })
        .await;
    }
}

/// The order holds: per key, no request for event `n` arrived before event `n - 1` had
/// arrived and been answered with a success, and every event arrived with a success. A
/// receiver request is recorded as it arrives, under one lock, so arrival order is exact.
fn assert_in_order(arrivals: &[Arrival], counts: &BTreeMap<String, u64>) {
    let mut succeeded: HashMap<&str, Option<u64>> = HashMap::new();
    for a in arrivals {
        let done = succeeded.entry(&a.key).or_default();
        let allowed = done.map_or(0, |n| n + 1);
        assert!(
            a.n <= allowed,
            "{}: event {} arrived while {} had not succeeded (arrivals: {:?})",
            a.key,
            a.n,
            allowed,
            arrivals
                .iter()
                .filter(|x| x.key == a.key)
                .map(|x| (x.n, x.ok))
                .collect::<Vec<_>>()
        );
        if a.ok && a.n == allowed {
            *done = Some(a.n);
        }
    }
    for (key, count) in counts {
        assert_eq!(
            succeeded.get(key.as_str()).copied().flatten(),
            Some(count - 1),
            "{key}: every event succeeded, the last being {}",
            count - 1
        );
    }
}

/// Events `<key>-<n>` for each key, interleaved across keys, in publish order.
fn stream(keys: &[&str], per_key: u64) -> Vec<Value> {
    (0..per_key)
        .flat_map(|n| {
            keys.iter().map(move |key| {
                json!({"id": format!("{key}-{n}"), "type": "meeting.updated",
                       "data": {"key": key, "n": n}})
            })
        })
        .collect()
}

/// Publishes `events` in batches of 50 through `app`, in order.
async fn publish_in_batches(app: &TestApp, events: &[Value]) {
    for batch in events.chunks(50) {
        let (status, body) = app.post("/v1/events/batch", json!({"events": batch})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == 202),
            "{body}"
        );
    }
}

fn counts(keys: &[&str], per_key: u64) -> BTreeMap<String, u64> {
    keys.iter().map(|k| ((*k).to_owned(), per_key)).collect()
}

async fn fifo_webhook(app: &TestApp, url: &str, schedule: Value) -> String {
    let w = app
        .create_webhook(
            json!({"url": url, "ordering": "fifo", "ordering_key": "data.key",
                               "retry_schedule": schedule}),
        )
        .await;
    assert_eq!(w["ordering"], "fifo");
    assert_eq!(w["ordering_key"], "data.key");
    w["id"].as_str().unwrap().to_owned()
}

async fn a_fifo_webhook_delivers_each_key_in_publish_order_through_failures(app: &mut TestApp) {
    let keys = ["k1", "k2", "k3", "k4", "k5"];
    let per_key = 60;
    let mut script = Script {
        fail_percent: 12,
        ..Script::default()
    };
    // The head of k3 fails three times before it gets through.
    script.stubborn.insert("k3-0".to_owned(), 3);
    let receiver = OrderReceiver::spawn(script).await;
    fifo_webhook(app, &receiver.url(), json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])).await;
    publish_in_batches(app, &stream(&keys, per_key)).await;
    let counts = counts(&keys, per_key);
    receiver.wait_for_all(&counts).await;
    let arrivals = receiver.arrivals();
    assert_in_order(&arrivals, &counts);
    assert!(
        arrivals.iter().filter(|a| !a.ok).count() > 10,
        "failures were injected"
    );
    let k3_head: Vec<bool> = (arrivals.iter())
        .filter(|a| a.event == "k3-0")
        .map(|a| a.ok)
        .collect();
    assert_eq!(k3_head[..4], [false, false, false, true]);
}

/// Two PostgreSQL nodes deliver one fifo webhook at once, publishes alternating between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_nodes_keep_each_key_in_order() {
    let Some(mut first) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let mut second = first.spawn_peer(|_| {}).await;
    let keys = ["a", "b", "c", "d"];
    let per_key = 50;
    let mut script = Script {
        fail_percent: 12,
        ..Script::default()
    };
    script.stubborn.insert("b-3".to_owned(), 3);
    let receiver = OrderReceiver::spawn(script).await;
    fifo_webhook(
        &first,
        &receiver.url(),
        json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
    )
    .await;
    for (i, batch) in stream(&keys, per_key).chunks(20).enumerate() {
        let node = if i % 2 == 0 { &first } else { &second };
        let (status, body) = node
            .post("/v1/events/batch", json!({"events": batch}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let counts = counts(&keys, per_key);
    receiver.wait_for_all(&counts).await;
    assert_in_order(&receiver.arrivals(), &counts);
    second.stop().await;
    first.stop().await;
    first.teardown().await;
}

async fn a_blocked_key_holds_back_only_its_own_queue_through_disable_and_enable(app: &mut TestApp) {
    let receiver = OrderReceiver::spawn(Script::default()).await;
    receiver.set_refused_keys(&["a"]);
    let id = fifo_webhook(app, &receiver.url(), json!([3600])).await;
    let events = vec![
        json!({"id": "a-0", "type": "t", "data": {"key": "a", "n": 0}}),
        json!({"id": "a-1", "type": "t", "data": {"key": "a", "n": 1}}),
        json!({"id": "b-0", "type": "t", "data": {"key": "b", "n": 0}}),
        json!({"id": "b-1", "type": "t", "data": {"key": "b", "n": 1}}),
        json!({"id": "b-2", "type": "t", "data": {"key": "b", "n": 2}}),
    ];
    for event in &events {
        app.publish(event.clone()).await;
    }
    // b's queue goes through while a's head is failing.
    eventually(BOUND, "b's three events and a's head arrive", || async {
        let got = receiver.arrivals();
        got.iter().filter(|a| a.key == "b" && a.ok).count() == 3
            && got.iter().any(|a| a.event == "a-0")
    })
    .await;
    let by_event = |list: Vec<Value>| -> HashMap<String, Value> {
        list.into_iter()
            .map(|d| (d["event_id"].as_str().unwrap().to_owned(), d))
            .collect()
    };
    let log = by_event(app.deliveries(&id).await);
    assert_eq!(log["a-0"]["status"], "pending");
    assert_eq!(log["a-0"]["attempt_count"], 1);
    assert!(
        log["a-0"]["next_attempt_at"].is_string(),
        "a retry is scheduled"
    );
    assert_eq!(log["a-1"]["status"], "pending");
    assert_eq!(
        log["a-1"]["next_attempt_at"],
        Value::Null,
        "waits behind a-0"
    );
    // A manual retry of a waiting delivery keeps its place.
    let a1 = log["a-1"]["id"].as_str().unwrap();
    let (status, body) = app
        .post(&format!("/v1/deliveries/{a1}/retry"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["next_attempt_at"], Value::Null);

    // Disabled, then enabled once the endpoint takes a again: the head goes at once (not at
    // its retry's time), then the one behind it.
    let (status, _) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": false}))
        .await;
    assert_eq!(status, StatusCode::OK);
    receiver.set_refused_keys(&[]);
    let (status, _) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let counts = BTreeMap::from([("a".to_owned(), 2), ("b".to_owned(), 3)]);
    receiver.wait_for_all(&counts).await;
    let arrivals = receiver.arrivals();
    assert_in_order(&arrivals, &counts);
    let a: Vec<(u64, bool)> = (arrivals.iter())
        .filter(|x| x.key == "a")
        .map(|x| (x.n, x.ok))
        .collect();
    assert_eq!(a, [(0, false), (0, true), (1, true)]);
}

async fn failed_releases_the_next_and_retry_and_replay_join_the_tail(app: &mut TestApp) {
    let mut script = Script::default();
    script.stubborn.insert("e-0".to_owned(), 1);
    let receiver = OrderReceiver::spawn(script).await;
    // One queue for the webhook; one attempt each, so e-0's failure is final.
    let w = app
        .create_webhook(json!({"url": receiver.url(), "ordering": "fifo", "retry_schedule": []}))
        .await;
    let id = w["id"].as_str().unwrap().to_owned();
    assert_eq!(w["ordering_key"], Value::Null);
    for n in 0..3 {
        app.publish(json!({"id": format!("e-{n}"), "type": "t", "data": {"key": "e", "n": n}}))
            .await;
    }
    let seen = |n: usize| {
        let receiver = receiver.clone();
        async move { receiver.arrivals().len() >= n }
    };
    eventually(BOUND, "e-0 fails, then e-1 and e-2 arrive", || seen(3)).await;
    let e0 = (app.deliveries(&id).await.into_iter())
        .find(|d| d["event_id"] == "e-0")
        .unwrap();
    eventually(BOUND, "e-0 has failed", || async {
        let d = app
            .api()
            .get_delivery(e0["id"].as_str().unwrap())
            .await
            .unwrap();
        d.status.as_str() == "failed"
    })
    .await;
    // A manual retry puts e-0 at the tail of the (now empty) queue: due at once.
    let (status, body) = app
        .post(
            &format!("/v1/deliveries/{}/retry", e0["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    eventually(BOUND, "e-0 arrives again", || seen(4)).await;
    eventually(BOUND, "every delivery has finished", || async {
        app.deliveries(&id)
            .await
            .iter()
            .all(|d| d["status"] == "succeeded")
    })
    .await;
    // A replay queues all three again in publish order.
    let (status, body) = app
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["requeued"], 3, "{body}");
    eventually(BOUND, "the replay arrives", || seen(7)).await;
    let order: Vec<(String, bool)> = (receiver.arrivals().into_iter())
        .map(|a| (a.event, a.ok))
        .collect();
    let expected: Vec<(String, bool)> = [
        ("e-0", false),
        ("e-1", true),
        ("e-2", true),
        ("e-0", true),
        ("e-0", true),
        ("e-1", true),
        ("e-2", true),
    ]
    .into_iter()
    .map(|(e, ok)| (e.to_owned(), ok))
    .collect();
    assert_eq!(order, expected);
}

async fn ordering_fields_are_read_back_patched_and_refused_naming_the_field(app: &mut TestApp) {
    let plain = app
        .create_webhook(json!({"url": "https://example.com/a"}))
        .await;
    assert_eq!(plain["ordering"], "none");
    assert_eq!(plain["ordering_key"], Value::Null);
    let id = plain["id"].as_str().unwrap();
    let path = format!("/v1/webhooks/{id}");
    let (status, body) = app
        .patch(
            &path,
            json!({"ordering": "fifo", "ordering_key": "data.meeting_id"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["ordering"], &body["ordering_key"]),
        (&json!("fifo"), &json!("data.meeting_id"))
    );
    let (_, read) = app.get(&path).await;
    assert_eq!(read["ordering_key"], "data.meeting_id");
    // null: one queue for the whole webhook; "none" drops the path.
    let (_, body) = app.patch(&path, json!({"ordering_key": null})).await;
    assert_eq!(
        (&body["ordering"], &body["ordering_key"]),
        (&json!("fifo"), &Value::Null)
    );
    let (_, body) = app.patch(&path, json!({"ordering_key": "type"})).await;
    assert_eq!(body["ordering_key"], "type");
    let (_, body) = app.patch(&path, json!({"ordering": "none"})).await;
    assert_eq!(
        (&body["ordering"], &body["ordering_key"]),
        (&json!("none"), &Value::Null)
    );

    let refusals = [
        (json!({"ordering": "lifo"}), "ordering"),
        (
            json!({"ordering": "fifo", "ordering_key": "meeting_id"}),
            "ordering_key",
        ),
        (
            json!({"ordering": "fifo", "ordering_key": "data..id"}),
            "ordering_key",
        ),
        (
            json!({"ordering": "fifo", "ordering_key": "data.a\u{0}b"}),
            "ordering_key",
        ),
        (
            json!({"ordering": "fifo", "ordering_key": 7}),
            "ordering_key",
        ),
        (json!({"ordering_key": "data.id"}), "ordering_key"),
    ];
    let before = app.get("/v1/webhooks").await.1;
    for (body, field) in &refusals {
        let mut create = body.clone();
        create["url"] = json!("https://example.com/b");
        let (status, answer) = app.post("/v1/webhooks", create).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], *field, "{body}: {answer}");
        let (status, answer) = app.patch(&path, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], *field, "{body}: {answer}");
    }
    assert_eq!(app.get("/v1/webhooks").await.1, before, "nothing changed");
}

/// Publishes `<key>-<n>` for each key, one task per key publishing its events one after
/// another (each answered before the next is sent, so publish order is defined), trying an
/// event again (same id) until the node that is up accepts it.
fn publish_per_key(
    base: Arc<Mutex<String>>,
    keys: &[&'static str],
    per_key: u64,
    accepted: Arc<Mutex<u64>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::new();
    keys.iter()
        .map(|key| {
            let (client, base, accepted, key) =
                (client.clone(), base.clone(), accepted.clone(), *key);
            tokio::spawn(async move {
                for n in 0..per_key {
                    let body = json!({"id": format!("{key}-{n}"), "type": "t",
                                      "data": {"key": key, "n": n}});
                    loop {
                        let url = format!("{}/v1/events", base.lock().unwrap());
                        let sent = client
                            .post(url)
                            .bearer_auth(ADMIN_KEY)
                            .header("content-type", "application/json")
                            .body(body.to_string())
                            .timeout(Duration::from_secs(5))
                            .send()
                            .await;
                        match sent.map(|r| r.status()) {
                            Ok(StatusCode::ACCEPTED) => {
                                *accepted.lock().unwrap() += 1;
                                break;
                            }
                            // A refusal is a bug; only an unreachable or dying node is tried again.
                            Ok(status) if status.is_client_error() => panic!("{key}-{n}: {status}"),
                            _ => {}
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect()
}

/// `kill -9` of the real binary mid-stream, then a restart on the same database: each key's
/// order holds across it (the head that was in flight may arrive twice, nothing overtakes it).
async fn a_killed_process_keeps_each_key_in_order(backend: Backend) {
    let Some(database) = ScratchDatabase::create(backend).await else {
        return;
    };
    let node = Node::start(database.url());
    let mut script = Script {
        fail_percent: 10,
        ..Script::default()
    };
    script.stubborn.insert("y-5".to_owned(), 2);
    let receiver = OrderReceiver::spawn(script).await;
    let client = reqwest::Client::new();
    let created = client
        .post(node.url("/v1/webhooks"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(
            json!({"url": receiver.url(), "ordering": "fifo", "ordering_key": "data.key",
                   "retry_schedule": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let keys = ["x", "y", "z", "w"];
    let per_key = 75;
    let base = Arc::new(Mutex::new(node.url("")));
    let accepted = Arc::new(Mutex::new(0));
    let tasks = publish_per_key(base.clone(), &keys, per_key, accepted.clone());
    eventually(BOUND, "a third of the stream is accepted", || async {
        *accepted.lock().unwrap() >= 100 && receiver.arrivals().len() >= 40
    })
    .await;
    node.kill();
    let restarted = Node::start(database.url());
    *base.lock().unwrap() = restarted.url("");
    for task in tasks {
        tokio::time::timeout(BOUND, task)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "publishing stalled at {} accepted",
                    *accepted.lock().unwrap()
                )
            })
            .unwrap();
    }
    let counts = counts(&keys, per_key);
    receiver.wait_for_all(&counts).await;
    assert_in_order(&receiver.arrivals(), &counts);
    restarted.kill();
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_keeps_each_key_in_order_on_sqlite() {
    a_killed_process_keeps_each_key_in_order(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_keeps_each_key_in_order_on_postgres() {
    a_killed_process_keeps_each_key_in_order(Backend::Postgres).await;
}

async fn the_dashboard_shows_the_order_and_sets_it_with_refusals_at_the_field(app: &mut TestApp) {
    let app = &*app;
    app.create_tenant("acme").await;
    let (_, w) = app
        .post(
            "/v1/tenants/acme/webhooks",
            json!({"url": "http://127.0.0.1:9/in"}),
        )
        .await;
    let id = w["id"].as_str().unwrap();
    let cookie = tenant_session(app, "acme").await;
    let shown = format!("/dashboard/t/acme/webhooks/{id}");
    let (_, html) = page(app, &cookie, &shown).await;
    assert!(html.contains("none: as soon as possible"), "{html}");
    let edit = format!("{shown}/edit");
    let (_, html) = page(app, &cookie, &edit).await;
    assert!(
        html.contains("name=\"ordering\"") && html.contains("name=\"ordering_key\""),
        "{html}"
    );
    let token = csrf(&html);
    let send = |key: &'static str| {
        let (cookie, edit, token) = (cookie.clone(), edit.clone(), token.clone());
        async move {
            let form = [
                ("_csrf", token.as_str()),
                ("url", "http://127.0.0.1:9/in"),
                ("ordering", "fifo"),
                ("ordering_key", key),
                ("retry_schedule", "30"),
                ("timeout_seconds", "10"),
                ("active", "true"),
            ];
            post_form(app, &cookie, &edit, &form).await
        }
    };
    let (status, _, html) = send("meeting_id").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let at = html.find("id=\"ordering_key-error\"").expect(&html);
    assert!(html[at..].contains("is not a path"), "{html}");
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/webhooks/{id}")).await.1["ordering"],
        "none"
    );
    let (status, _, _) = send("data.meeting_id").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, read) = app.get(&format!("/v1/tenants/acme/webhooks/{id}")).await;
    assert_eq!(
        (&read["ordering"], &read["ordering_key"]),
        (&json!("fifo"), &json!("data.meeting_id"))
    );
    let (_, html) = page(app, &cookie, &shown).await;
    assert!(html.contains("fifo per data.meeting_id"), "{html}");
}
