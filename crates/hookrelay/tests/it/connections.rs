//! Connections to plain-HTTP receivers: kept alive and reused from one delivery to the next, a
//! receiver that closes every connection after answering still gets every delivery on its
//! first attempt, and a connection left unused past `connection_idle_timeout_seconds` is closed
//! by hookrelay (the receiver sees it end), as is the one unused longest when more are unused
//! than `max_idle_connections`. The receiver here is a bare HTTP/1.1 server on a TCP listener, so the test
//! sees every connection the sender opens.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::backend_tests;
use crate::helpers::{TestApp, eventually};

backend_tests!(
    deliveries_to_one_host_reuse_its_connection,
    a_receiver_that_closes_every_connection_still_gets_each_delivery_first_time,
    a_connection_unused_past_the_idle_timeout_is_closed,
    past_max_idle_connections_the_one_unused_longest_is_closed,
);

/// A bare HTTP/1.1 receiver answering 200 to every request.
struct BareReceiver {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    /// Connections hookrelay closed (the receiver read their end).
    closed_by_peer: Arc<AtomicUsize>,
}

impl BareReceiver {
    /// `close_after_each`: close the connection after every answer, without saying so (no
    /// `connection: close`), as a server does whose keep-alive timeout just ran out.
    async fn spawn(close_after_each: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/h", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let closed_by_peer = Arc::new(AtomicUsize::new(0));
        let (conns, reqs, closed) = (
            connections.clone(),
            requests.clone(),
            closed_by_peer.clone(),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::SeqCst);
                let (reqs, closed) = (reqs.clone(), closed.clone());
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    loop {
                        let mut length = 0usize;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            match stream.read_line(&mut line).await {
                                Ok(0) | Err(_) => {
                                    closed.fetch_add(1, Ordering::SeqCst);
                                    return;
                                }
                                Ok(_) => {}
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        if stream.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        reqs.fetch_add(1, Ordering::SeqCst);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if stream.get_mut().write_all(answer).await.is_err() || close_after_each {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url,
            connections,
            requests,
            closed_by_peer,
        }
    }
}

/// Publishes `n` events one after another, each once the last has been received.
async fn publish_one_by_one(app: &TestApp, receiver: &BareReceiver, n: usize) {
    for i in 0..n {
        app.publish(json!({"type": "a.b", "data": {"i": i}})).await;
        eventually(Duration::from_secs(10), "the event arrives", || async {
            receiver.requests.load(Ordering::SeqCst) > i
        })
        .await;
    }
}

async fn deliveries_to_one_host_reuse_its_connection(app: &mut TestApp) {
    let receiver = BareReceiver::spawn(false).await;
    let w = app.create_webhook(json!({"url": receiver.url})).await;
    publish_one_by_one(app, &receiver, 20).await;
    app.wait_all_succeeded(w["id"].as_str().unwrap(), 20).await;
    assert!(
        receiver.connections.load(Ordering::SeqCst) <= 2,
        "twenty deliveries over {} connections",
        receiver.connections.load(Ordering::SeqCst)
    );
}

async fn a_receiver_that_closes_every_connection_still_gets_each_delivery_first_time(
    app: &mut TestApp,
) {
    let receiver = BareReceiver::spawn(true).await;
    let w = app.create_webhook(json!({"url": receiver.url})).await;
    publish_one_by_one(app, &receiver, 10).await;
    let id = w["id"].as_str().unwrap();
    app.wait_all_succeeded(id, 10).await;
    for d in app.deliveries(id).await {
        assert_eq!(d["attempt_count"], 1, "first time: {d}");
    }
    assert_eq!(receiver.requests.load(Ordering::SeqCst), 10);
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 10);
}

async fn a_connection_unused_past_the_idle_timeout_is_closed(app: &mut TestApp) {
    app.stop().await;
    let short = app
        .spawn_peer(|c| c.connection_idle_timeout_seconds = 1)
        .await;
    let receiver = BareReceiver::spawn(false).await;
    let w = short.create_webhook(json!({"url": receiver.url})).await;
    let id = w["id"].as_str().unwrap();
    publish_one_by_one(&short, &receiver, 1).await;
    short.wait_all_succeeded(id, 1).await;
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 1);
    eventually(
        Duration::from_secs(10),
        "hookrelay closes the idle connection",
        || async { receiver.closed_by_peer.load(Ordering::SeqCst) == 1 },
    )
    .await;
    // The next delivery opens a new connection.
    short
        .publish(json!({"type": "a.b", "data": {"i": 1}}))
        .await;
    short.wait_all_succeeded(id, 2).await;
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 2);
    short.teardown().await;
    app.restart().await;
}

async fn past_max_idle_connections_the_one_unused_longest_is_closed(app: &mut TestApp) {
    app.stop().await;
    let small = app.spawn_peer(|c| c.max_idle_connections = 2).await;
    // Three hosts (each receiver its own port), one delivery each, in turn: the third
    // connection put aside closes the first.
    let mut receivers = Vec::new();
    for n in 0..3 {
        let receiver = BareReceiver::spawn(false).await;
        let w = small.create_webhook(json!({"url": receiver.url, "events": [format!("a.{n}")]}));
        let id = w.await["id"].as_str().unwrap().to_owned();
        small
            .publish(json!({"type": format!("a.{n}"), "data": {}}))
            .await;
        small.wait_all_succeeded(&id, 1).await;
        receivers.push((receiver, id));
    }
    eventually(
        Duration::from_secs(10),
        "hookrelay closes the first host's connection",
        || async { receivers[0].0.closed_by_peer.load(Ordering::SeqCst) == 1 },
    )
    .await;
    for (receiver, _) in &receivers[1..] {
        assert_eq!(receiver.closed_by_peer.load(Ordering::SeqCst), 0);
    }
    // The second host's connection is still there to reuse; the first host's is opened anew.
    for (n, expected) in [(1, 1), (0, 2)] {
        let (receiver, id) = &receivers[n];
        small
            .publish(json!({"type": format!("a.{n}"), "data": {}}))
            .await;
        small.wait_all_succeeded(id, 2).await;
        assert_eq!(
            receiver.connections.load(Ordering::SeqCst),
            expected,
            "host {n}"
        );
    }
    small.teardown().await;
    app.restart().await;
}
