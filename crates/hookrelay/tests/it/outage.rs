//! PostgreSQL going away under load. Connections killed by the server (`pg_terminate_backend`)
//! are reopened by hookrelay itself; a database cut off for a while (a TCP proxy between
//! hookrelay and PostgreSQL closes every connection and refuses new ones) makes publishes answer
//! 503 with the error JSON, never a 202 that is then lost. Either way every event answered 202
//! arrives, counted by a real receiver; duplicates are reported, and bounded by what can be in
//! flight.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::helpers::{
    ADMIN_KEY, Backend, TestApp, TestReceiver, eventually, postgres_base, test_config,
};

/// Events each test publishes: enough that connections die mid-publish, mid-claim and
/// mid-record, few enough for a few seconds' run.
const EVENTS: usize = 1_000;
const PUBLISHERS: usize = 8;
/// How long every accepted event may take to arrive once the database is back: a bound with a
/// wide margin, well under the lease (35 s), so nothing may wait for one.
const ARRIVAL_BOUND: Duration = Duration::from_secs(10);

/// Publishes events `ev00000`, `ev00001`, … from several tasks as a client would: an event
/// answered 503 is sent again (same id) until accepted. Any other answer is a failure.
struct Load {
    accepted: Arc<Mutex<HashSet<String>>>,
    unavailable: Arc<AtomicUsize>,
    wrong: Arc<Mutex<Vec<String>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(app: &TestApp) -> Load {
        let accepted = Arc::new(Mutex::new(HashSet::new()));
        let unavailable = Arc::new(AtomicUsize::new(0));
        let wrong = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let tasks = (0..PUBLISHERS)
            .map(|_| {
                let (accepted, unavailable, wrong, next) = (
                    accepted.clone(),
                    unavailable.clone(),
                    wrong.clone(),
                    next.clone(),
                );
                let (client, url) = (app.client.clone(), app.url("/v1/events"));
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        if n >= EVENTS {
                            return;
                        }
                        let id = format!("ev{n:05}");
                        loop {
                            match publish(&client, &url, &id).await {
                                (202 | 200, _) => break,
                                (503, body) if body["error"]["code"] == "unavailable" => {
                                    unavailable.fetch_add(1, Ordering::SeqCst);
                                    tokio::time::sleep(Duration::from_millis(50)).await;
                                }
                                (status, body) => {
                                    wrong.lock().unwrap().push(format!("{id}: {status} {body}"));
                                    return;
                                }
                            }
                        }
                        accepted.lock().unwrap().insert(id);
                    }
                })
            })
            .collect();
        Load {
            accepted,
            unavailable,
            wrong,
            tasks,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    fn unavailable(&self) -> usize {
        self.unavailable.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until every event is accepted; the accepted ids.
    async fn finish(self) -> HashSet<String> {
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("every event is accepted once the database is back")
                .unwrap();
        }
        let wrong = self.wrong.lock().unwrap();
        assert!(wrong.is_empty(), "answers other than 202 or 503: {wrong:?}");
        self.accepted.lock().unwrap().clone()
    }
}

/// One publish: the status and the JSON body. A hanging publish fails the test.
async fn publish(client: &reqwest::Client, url: &str, id: &str) -> (u16, Value) {
    let answer = client
        .post(url)
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(json!({"id": id, "type": "a.b", "data": {}}).to_string())
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("publish answers (it must not hang)");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Waits (bounded) until every accepted event has arrived; how often each arrived.
async fn all_arrive(receiver: &TestReceiver, accepted: &HashSet<String>) -> HashMap<String, usize> {
    eventually(ARRIVAL_BOUND, "every accepted event arrives", || {
        let counts = arrivals(receiver);
        let all = accepted.iter().all(|id| counts.contains_key(id));
        async move { all }
    })
    .await;
    arrivals(receiver)
}

fn arrivals(receiver: &TestReceiver) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in receiver.received() {
        *counts.entry(r.header("webhook-id").to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Reports duplicates: only attempts sent but not yet recorded when a connection died may be
/// sent again, so never more than the attempts in flight at once.
fn check_duplicates(what: &str, counts: &HashMap<String, usize>, accepted: usize) {
    let duplicated = counts.values().filter(|n| **n > 1).count();
    eprintln!("{what}: {accepted} accepted, {duplicated} arrived more than once");
    let in_flight = test_config("").max_in_flight;
    assert!(
        duplicated <= in_flight,
        "{duplicated} duplicates, more than the {in_flight} attempts that can be in flight"
    );
}

/// A receiver slow enough that attempts are in flight whenever a connection dies, and a webhook
/// to it.
async fn receiver_for(app: &TestApp) -> TestReceiver {
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(Duration::from_millis(5));
    app.create_webhook(json!({"url": receiver.url("/h")})).await;
    receiver
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_killed_under_load_are_reopened_and_every_event_arrives() {
    // Its own application name, so the test kills this app's connections and no other test's.
    let name = format!("hr_kill_{}", uuid::Uuid::new_v4().simple());
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        config.database_url = format!("{}&application_name={name}", config.database_url);
    })
    .await
    else {
        return;
    };
    let receiver = receiver_for(&app).await;
    let admin = sqlx::PgPool::connect(&postgres_base()).await.unwrap();
    let load = Load::start(&app);
    let mut killed = 0;
    for at in [250, 600] {
        eventually(Duration::from_secs(30), "events accepted", || {
            let n = load.accepted();
            async move { n >= at }
        })
        .await;
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&name)
        .fetch_all(&admin)
        .await
        .unwrap();
        killed += ended.len();
    }
    assert!(killed > 0, "the app's connections were found and ended");
    let accepted = load.finish().await;
    assert_eq!(accepted.len(), EVENTS);
    let counts = all_arrive(&receiver, &accepted).await;
    check_duplicates("connections killed", &counts, accepted.len());
    admin.close().await;
    app.teardown().await;
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection closed, new ones
/// refused: nothing listens on its port) and restore (listening on the same port again).
struct Proxy {
    port: u16,
    upstream: String,
    running: Option<(CancellationToken, TaskTracker)>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            upstream,
            running: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        let (accepting, upstream) = (stop.clone(), self.upstream.clone());
        let connections = tasks.clone();
        tasks.spawn(async move {
            loop {
                let mut client = tokio::select! {
                    () = accepting.cancelled() => return,
                    accepted = listener.accept() => accepted.unwrap().0,
                };
                let (stop, upstream) = (accepting.clone(), upstream.clone());
                connections.spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    // Cut: both sockets drop, so both ends see the connection close.
                    tokio::select! {
                        () = stop.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        self.running = Some((stop, tasks));
    }

    /// Closes every connection and stops listening; returns once all are closed.
    async fn cut(&mut self) {
        let (stop, tasks) = self.running.take().expect("running");
        stop.cancel();
        tasks.close();
        tasks.wait().await;
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_off_publishes_answer_503_and_every_accepted_event_arrives_after() {
    let base = url::Url::parse(&postgres_base()).unwrap();
    let upstream = format!(
        "{}:{}",
        base.host_str().unwrap(),
        base.port().unwrap_or(5432)
    );
    let mut proxy = Proxy::start(upstream).await;
    let port = proxy.port;
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        let mut url = url::Url::parse(&config.database_url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        config.database_url = url.to_string();
        config.database_acquire_timeout_seconds = 1;
    })
    .await
    else {
        return;
    };
    let receiver = receiver_for(&app).await;
    let load = Load::start(&app);
    eventually(Duration::from_secs(30), "events accepted", || {
        let n = load.accepted();
        async move { n >= 300 }
    })
    .await;

    proxy.cut().await;
    let client = reqwest::Client::new();
    let (status, body) = publish(&client, &app.url("/v1/events"), "probe").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    // The outage lasts until the publishers have met it many times over.
    let before = load.unavailable();
    eventually(Duration::from_secs(30), "publishers answered 503", || {
        let n = load.unavailable();
        async move { n >= before + PUBLISHERS }
    })
    .await;
    proxy.restore().await;

    let mut accepted = load.finish().await;
    assert_eq!(accepted.len(), EVENTS);
    let (status, body) = publish(&client, &app.url("/v1/events"), "probe").await;
    assert!(matches!(status, 200 | 202), "{status} {body}");
    accepted.insert("probe".to_owned());
    let counts = all_arrive(&receiver, &accepted).await;
    check_duplicates("database cut off", &counts, accepted.len());
    app.teardown().await;
}
