//! Destinations beyond HTTP (docs/brokers.md), against the real brokers on 127.0.0.1 (Redis
//! :6379, NATS with JetStream :4222, RabbitMQ :5672, Mosquitto :1883): each broker receives
//! what a webhook's events render to, with the ids and a signature that verifies, and the
//! delivery log shows the attempts succeeded with what the broker acknowledged; a broker that
//! is down or refuses fails with a clear error, is retried, and takes the delivery once it
//! is back or ready; broker URLs are validated naming `url`, private addresses are refused in
//! production (at the API and at delivery time), and a broker's password shows neither in an
//! attempt's error nor in the dashboard. Every test uses names of its own (streams, subjects,
//! exchanges, queues, topics), so tests run in parallel.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use hookrelay_signature::{Scheme, Secret, VerifyOptions, verify};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::backend_tests;
use crate::guard::repoint;
use crate::helpers::{TestApp, eventually};

backend_tests!(
    redis_streams_get_each_event_as_signed_fields,
    a_redis_broker_that_is_down_fails_clearly_and_is_retried_until_it_is_back,
    nats_jetstream_stores_each_event_with_its_headers,
    a_nats_subject_no_stream_captures_is_refused_until_a_stream_does,
    rabbitmq_confirms_each_event_with_its_headers_as_properties,
    an_unroutable_amqp_message_is_retried_until_a_queue_is_bound,
    mqtt_subscribers_get_each_event_with_user_properties,
    an_mqtt_broker_that_is_down_is_retried_until_it_is_back,
    broker_urls_are_checked_naming_url,
    a_brokers_password_shows_neither_in_errors_nor_in_the_dashboard,
);

/// How long a broker test waits for a state: a bound, not a measurement.
const BOUND: Duration = Duration::from_secs(30);

/// A name no other test (or run) uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new()).to_ascii_lowercase()
}

/// Checks a delivered message's Standard Webhooks signature with the webhook's secret, from
/// the headers (or fields, or properties) it carried; answers the signed id.
fn verify_signed(webhook: &Value, headers: &[(String, String)], body: &[u8]) -> String {
    let scheme = Scheme::StandardWebhooks;
    let secret = Secret::new(&scheme, webhook["secret"].as_str().unwrap()).unwrap();
    let now = hookrelay::clock::now_ms() / 1000;
    let verified = verify(
        &scheme,
        &[secret],
        &headers.to_vec(),
        body,
        &VerifyOptions::at(now),
    )
    .unwrap_or_else(|e| panic!("signature verifies: {e}; headers {headers:?}"));
    verified.msg_id.unwrap()
}

/// Publishes `n` events of type `broker.test` with `{"n": i}`; answers their ids in order.
async fn publish_events(app: &TestApp, n: u64) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let e = app
            .publish(json!({"type": "broker.test", "data": {"n": i}}))
            .await;
        assert_eq!(e["deliveries"], 1, "{e}");
        ids.push(e["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Checks a delivered envelope body against the event it carries; answers `data.n`.
fn check_envelope(body: &[u8], id: &str) -> u64 {
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["id"], id, "{body}");
    assert_eq!(body["type"], "broker.test");
    body["data"]["n"].as_u64().unwrap()
}

/// Deletes a webhook, so that a test's next webhook alone gets the next events.
async fn delete_webhook(app: &TestApp, id: &str) {
    let (status, body) = app.delete(&format!("/v1/webhooks/{id}")).await;
    assert!(status.is_success(), "{body}");
}

/// Creates a webhook to `url` retried every second (ten times), so that a test sees a failed
/// attempt retried soon; answers it.
async fn create_retried_webhook(app: &TestApp, url: String) -> Value {
    app.create_webhook(json!({
        "url": url,
        "retry_schedule": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    }))
    .await
}

/// Checks that the events a consumer saw, as `(data.n, signed id)`, are `events`, each once.
fn assert_each_once(mut seen: Vec<(u64, String)>, events: &[String]) {
    seen.sort();
    let in_order: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
    assert_eq!(in_order, events, "every event arrived once");
}

/// Waits until one of the webhook's deliveries has failed an attempt and waits for a retry.
async fn wait_until_one_is_retried(app: &TestApp, webhook: &str) {
    eventually(BOUND, "a failed delivery waiting for its retry", || async {
        let list = app.deliveries(webhook).await;
        list.iter()
            .any(|d| d["status"] == "pending" && d["attempt_count"].as_i64() >= Some(1))
    })
    .await;
}

/// Publishes `n` events (to the webhook alone) and waits until each delivery succeeded; answers
/// the events' ids in order and what the broker acknowledged for each delivery.
async fn publish_acknowledged(app: &TestApp, webhook: &str, n: u64) -> (Vec<String>, Vec<String>) {
    let events = publish_events(app, n).await;
    let acks = all_succeeded(app, webhook, n as usize)
        .await
        .iter()
        .map(|d| {
            d["attempts"][0]["response_body"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (events, acks)
}

/// Waits until the webhook's every delivery succeeded; answers them with their attempts.
pub async fn all_succeeded(app: &TestApp, webhook: &str, n: usize) -> Vec<Value> {
    let list = app.wait_all_succeeded(webhook, n).await;
    let mut detailed = Vec::new();
    for d in list {
        let (status, detail) = app
            .get(&format!("/v1/deliveries/{}", d["id"].as_str().unwrap()))
            .await;
        assert_eq!(status, StatusCode::OK);
        let attempts = detail["attempts"].as_array().unwrap();
        let attempt = attempts.last().unwrap();
        assert_eq!(attempt["succeeded"], true, "{detail}");
        assert_eq!(
            attempt["status_code"],
            Value::Null,
            "a broker has no status: {detail}"
        );
        detailed.push(detail);
    }
    detailed
}

/// Waits until the webhook's only delivery has a failed attempt; answers that attempt's error.
pub async fn first_failure(app: &TestApp, webhook: &str) -> String {
    let error = Mutex::new(None);
    eventually(BOUND, "a failed attempt", || async {
        let list = app.deliveries(webhook).await;
        let Some(d) = list.first() else { return false };
        let (_, detail) = app
            .get(&format!("/v1/deliveries/{}", d["id"].as_str().unwrap()))
            .await;
        let failed = detail["attempts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["succeeded"] == false).cloned());
        match failed {
            Some(a) => {
                *error.lock().unwrap() = Some(a["error"].as_str().unwrap_or_default().to_owned());
                true
            }
            None => false,
        }
    })
    .await;
    error.into_inner().unwrap().unwrap()
}

/// A TCP proxy on 127.0.0.1 in front of a broker, that a test closes (the broker is then
/// down: connections are refused and open ones cut) and opens again on the same port.
pub struct Proxy {
    pub port: u16,
    upstream: SocketAddr,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            upstream,
            task: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let task = tokio::spawn(async move {
            // Dropped with the task: closing the proxy cuts every connection through it.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    pub async fn close(&self) {
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    pub async fn open(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

// Redis Streams.

const REDIS: &str = "redis://127.0.0.1:6379/";

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("Redis on 127.0.0.1:6379")
}

/// A stream's entries, each as its fields in order.
async fn xrange(stream: &str) -> Vec<Vec<(String, Vec<u8>)>> {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut redis().await)
        .await
        .unwrap();
    reply
        .ids
        .into_iter()
        .map(|entry| {
            entry
                .map
                .into_iter()
                .map(|(k, v)| match v {
                    redis::Value::BulkString(b) => (k, b),
                    other => panic!("field {k} is {other:?}"),
                })
                .collect()
        })
        .collect()
}

async fn drop_stream(stream: &str) {
    let _: () = redis::cmd("DEL")
        .arg(stream)
        .query_async(&mut redis().await)
        .await
        .unwrap();
}

/// An entry's fields but `body` as text, and its body.
fn split_body(fields: Vec<(String, Vec<u8>)>) -> (Vec<(String, String)>, Vec<u8>) {
    let mut body = None;
    let mut headers = Vec::new();
    for (k, v) in fields {
        if k == "body" {
            body = Some(v);
        } else {
            headers.push((k, String::from_utf8(v).unwrap()));
        }
    }
    (headers, body.expect("a body field"))
}

async fn redis_streams_get_each_event_as_signed_fields(app: &mut TestApp) {
    let stream = unique("hookrelay-it");
    let w = app
        .create_webhook(json!({
            "url": format!("redis://127.0.0.1:6379/{stream}?maxlen=1000"),
            "headers": {"X-Tenant-Ref": "acme"},
        }))
        .await;
    assert_eq!(
        w["url"],
        format!("redis://127.0.0.1:6379/{stream}?maxlen=1000"),
        "the URL reads back as written"
    );
    let id = w["id"].as_str().unwrap();
    let (events, acks) = publish_acknowledged(app, id, 3).await;
    for ack in acks {
        assert!(ack.starts_with(&format!("XADD {stream}: entry ")), "{ack}");
    }
    let entries = xrange(&stream).await;
    assert_eq!(entries.len(), 3, "one entry per event");
    let mut seen = Vec::new();
    for fields in entries {
        let (headers, body) = split_body(fields);
        let signed = verify_signed(&w, &headers, &body);
        let field = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("field {name} in {headers:?}"))
        };
        assert_eq!(field("webhook-id"), signed);
        assert_eq!(field("content-type"), "application/json");
        assert_eq!(field("x-tenant-ref"), "acme");
        let n = check_envelope(&body, &signed);
        seen.push((n, signed));
    }
    assert_each_once(seen, &events);

    // A test send goes the same way and answers with the broker's acknowledgement.
    let (status, sent) = app
        .post(
            &format!("/v1/webhooks/{id}/test"),
            json!({"event_type": "broker.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["succeeded"], true, "{sent}");
    assert_eq!(xrange(&stream).await.len(), 4);
    drop_stream(&stream).await;
}

async fn a_redis_broker_that_is_down_fails_clearly_and_is_retried_until_it_is_back(
    app: &mut TestApp,
) {
    let proxy = Proxy::start("127.0.0.1:6379".parse().unwrap()).await;
    proxy.close().await;
    let stream = unique("hookrelay-down");
    let w = create_retried_webhook(app, format!("redis://127.0.0.1:{}/{stream}", proxy.port)).await;
    let id = w["id"].as_str().unwrap();
    let events = publish_events(app, 1).await;
    let error = first_failure(app, id).await;
    assert!(
        error.starts_with(&format!("redis 127.0.0.1:{}: connect", proxy.port)),
        "a clear error naming the broker: {error}"
    );
    let d = &app.deliveries(id).await[0];
    assert_eq!(d["status"], "pending", "retried: {d}");

    proxy.open().await;
    let deliveries = all_succeeded(app, id, 1).await;
    assert!(deliveries[0]["attempt_count"].as_i64().unwrap() >= 2);
    let entries = xrange(&stream).await;
    assert_eq!(entries.len(), 1);
    let (headers, body) = split_body(entries.into_iter().next().unwrap());
    assert_eq!(verify_signed(&w, &headers, &body), events[0]);

    // Cut again while connected: the pooled connection breaks, the next attempt reconnects.
    proxy.close().await;
    publish_events(app, 1).await;
    wait_until_one_is_retried(app, id).await;
    proxy.open().await;
    all_succeeded(app, id, 2).await;
    assert_eq!(xrange(&stream).await.len(), 2);
    proxy.close().await;
    drop_stream(&stream).await;
}

// NATS JetStream.

async fn jetstream() -> async_nats::jetstream::Context {
    let client = async_nats::connect("127.0.0.1:4222")
        .await
        .expect("NATS on 127.0.0.1:4222");
    async_nats::jetstream::new(client)
}

async fn create_stream(
    js: &async_nats::jetstream::Context,
    name: &str,
    subject: &str,
) -> async_nats::jetstream::stream::Stream {
    js.create_stream(async_nats::jetstream::stream::Config {
        name: name.to_owned(),
        subjects: vec![subject.to_owned()],
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A stored message's headers (first value of each) and payload.
async fn stored(
    stream: &async_nats::jetstream::stream::Stream,
    sequence: u64,
) -> (Vec<(String, String)>, Vec<u8>) {
    let m = stream.get_raw_message(sequence).await.unwrap();
    let headers = m
        .headers
        .iter()
        .map(|(name, values)| (name.to_string(), values[0].as_str().to_owned()))
        .collect();
    (headers, m.payload.to_vec())
}

async fn nats_jetstream_stores_each_event_with_its_headers(app: &mut TestApp) {
    let name = unique("hookrelay-it").replace('-', "_");
    let subject = format!("hookrelay.it.{name}");
    let js = jetstream().await;
    let stream = create_stream(&js, &name, &subject).await;
    let w = app
        .create_webhook(json!({"url": format!("nats://127.0.0.1:4222/{subject}")}))
        .await;
    let id = w["id"].as_str().unwrap();
    let (events, acks) = publish_acknowledged(app, id, 3).await;
    for ack in acks {
        assert!(ack.starts_with(&format!("stream {name} seq ")), "{ack}");
    }
    let mut seen = Vec::new();
    for sequence in 1..=3 {
        let (headers, body) = stored(&stream, sequence).await;
        let signed = verify_signed(&w, &headers, &body);
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            header("Nats-Msg-Id").as_deref(),
            Some(signed.as_str()),
            "{headers:?}"
        );
        assert_eq!(header("webhook-id").as_deref(), Some(signed.as_str()));
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        seen.push((check_envelope(&body, &signed), signed));
    }
    assert_each_once(seen, &events);
    js.delete_stream(&name).await.unwrap();
}

async fn a_nats_subject_no_stream_captures_is_refused_until_a_stream_does(app: &mut TestApp) {
    let name = unique("hookrelay-late").replace('-', "_");
    let subject = format!("hookrelay.late.{name}");
    let w = create_retried_webhook(app, format!("nats://127.0.0.1:4222/{subject}")).await;
    let id = w["id"].as_str().unwrap();
    let events = publish_events(app, 1).await;
    let error = first_failure(app, id).await;
    assert_eq!(
        error,
        format!(
            "nats 127.0.0.1:4222: no JetStream stream captures subject {subject} (no responders)"
        )
    );
    assert_eq!(app.deliveries(id).await[0]["status"], "pending", "retried");

    let js = jetstream().await;
    let stream = create_stream(&js, &name, &subject).await;
    all_succeeded(app, id, 1).await;
    let (headers, body) = stored(&stream, 1).await;
    assert_eq!(verify_signed(&w, &headers, &body), events[0]);
    js.delete_stream(&name).await.unwrap();
}

// RabbitMQ.

/// A test's own RabbitMQ connection: its exclusive queues (and so the auto-delete exchanges
/// bound to them) go when it closes.
struct Rabbit {
    _connection: lapin::Connection,
    channel: lapin::Channel,
}

async fn rabbitmq() -> Rabbit {
    let connection = lapin::Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("RabbitMQ on 127.0.0.1:5672");
    let channel = connection.create_channel().await.unwrap();
    Rabbit {
        _connection: connection,
        channel,
    }
}

/// Declares a direct exchange that goes with its last queue.
async fn declare_exchange(channel: &lapin::Channel, exchange: &str) {
    channel
        .exchange_declare(
            exchange.into(),
            lapin::ExchangeKind::Direct,
            lapin::options::ExchangeDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
}

/// Declares a queue (deleted when the test's connection closes) bound to `exchange` by `key`.
async fn bind_queue(channel: &lapin::Channel, queue: &str, exchange: &str, key: &str) {
    channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            lapin::options::QueueBindOptions::default(),
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
}

/// The next message in `queue` (waiting for it): its header table as text, body, message id.
async fn next_message(
    channel: &lapin::Channel,
    queue: &str,
) -> (Vec<(String, String)>, Vec<u8>, String) {
    let got = Mutex::new(None);
    eventually(BOUND, "a message in the queue", || async {
        let m = channel
            .basic_get(
                queue.into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap();
        let found = m.is_some();
        *got.lock().unwrap() = m;
        found
    })
    .await;
    let m = got.into_inner().unwrap().unwrap().delivery;
    let properties = &m.properties;
    assert_eq!(
        properties.content_type().as_ref().map(|c| c.as_str()),
        Some("application/json")
    );
    assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
    let headers = properties
        .headers()
        .as_ref()
        .expect("a header table")
        .inner()
        .iter()
        .map(|(k, v)| match v {
            lapin::types::AMQPValue::LongString(s) => (
                k.as_str().to_owned(),
                String::from_utf8(s.as_bytes().to_vec()).unwrap(),
            ),
            other => panic!("header {k:?} is {other:?}"),
        })
        .collect();
    let message_id = properties
        .message_id()
        .as_ref()
        .unwrap()
        .as_str()
        .to_owned();
    (headers, m.data, message_id)
}

async fn rabbitmq_confirms_each_event_with_its_headers_as_properties(app: &mut TestApp) {
    let exchange = unique("hookrelay-it");
    let queue = unique("hookrelay-it-q");
    let rabbit = rabbitmq().await;
    let channel = &rabbit.channel;
    declare_exchange(channel, &exchange).await;
    bind_queue(channel, &queue, &exchange, "invoices.paid").await;
    let w = app
        .create_webhook(json!({
            "url": format!("amqp://guest:guest@127.0.0.1:5672/{exchange}?routing_key=invoices.paid"),
        }))
        .await;
    let id = w["id"].as_str().unwrap();
    let (events, acks) = publish_acknowledged(app, id, 3).await;
    for ack in acks {
        assert_eq!(
            ack,
            format!("confirmed by {exchange}, routing key \"invoices.paid\"")
        );
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (headers, body, message_id) = next_message(channel, &queue).await;
        let signed = verify_signed(&w, &headers, &body);
        assert_eq!(message_id, signed);
        seen.push((check_envelope(&body, &signed), signed));
    }
    assert_each_once(seen, &events);
    delete_webhook(app, id).await;

    // The long form: vhost in the path, the default exchange, a queue's name as the key.
    let w = app
        .create_webhook(json!({
            "url": format!("amqp://guest:guest@127.0.0.1:5672/%2F?exchange=&routing_key={queue}"),
        }))
        .await;
    let events = publish_events(app, 1).await;
    all_succeeded(app, w["id"].as_str().unwrap(), 1).await;
    let (headers, body, _) = next_message(channel, &queue).await;
    assert_eq!(verify_signed(&w, &headers, &body), events[0]);
}

async fn an_unroutable_amqp_message_is_retried_until_a_queue_is_bound(app: &mut TestApp) {
    let exchange = unique("hookrelay-late");
    let queue = unique("hookrelay-late-q");
    let rabbit = rabbitmq().await;
    let channel = &rabbit.channel;
    declare_exchange(channel, &exchange).await;
    // Bound elsewhere only: a message for `late` has no queue.
    bind_queue(channel, &unique("hookrelay-keep"), &exchange, "elsewhere").await;
    let w = create_retried_webhook(
        app,
        format!("amqp://guest:guest@127.0.0.1/{exchange}?routing_key=late"),
    )
    .await;
    let id = w["id"].as_str().unwrap();
    let events = publish_events(app, 1).await;
    let error = first_failure(app, id).await;
    assert_eq!(
        error,
        format!(
            "amqp 127.0.0.1:5672: returned unroutable: {exchange} has no queue bound for routing \
             key \"late\" (312 NO_ROUTE)"
        )
    );
    assert_eq!(app.deliveries(id).await[0]["status"], "pending", "retried");

    bind_queue(channel, &queue, &exchange, "late").await;
    all_succeeded(app, id, 1).await;
    let (headers, body, _) = next_message(channel, &queue).await;
    assert_eq!(verify_signed(&w, &headers, &body), events[0]);
    delete_webhook(app, id).await;

    // A missing exchange closes the channel: a refusal too, and the next attempt opens another.
    let missing = unique("hookrelay-missing");
    let w = create_retried_webhook(
        app,
        format!("amqp://guest:guest@127.0.0.1/{missing}?routing_key=k"),
    )
    .await;
    let id = w["id"].as_str().unwrap();
    publish_events(app, 1).await;
    let error = first_failure(app, id).await;
    assert!(
        error.contains("NOT_FOUND") && error.contains(&missing),
        "{error}"
    );
    declare_exchange(channel, &missing).await;
    bind_queue(channel, &unique("hookrelay-found"), &missing, "k").await;
    all_succeeded(app, id, 1).await;
}

// MQTT.

/// One message an MQTT subscriber got.
struct MqttMessage {
    topic: String,
    properties: Vec<(String, String)>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// An MQTT v5 subscriber: its client (kept, so the subscription lasts) and the messages it got.
struct Subscriber {
    _client: rumqttc::v5::AsyncClient,
    messages: tokio::sync::mpsc::UnboundedReceiver<MqttMessage>,
}

impl Subscriber {
    /// The next message (waiting for it, bounded).
    async fn next(&mut self) -> MqttMessage {
        tokio::time::timeout(BOUND, self.messages.recv())
            .await
            .unwrap()
            .unwrap()
    }
}

/// An MQTT v5 subscriber to `topic` (QoS 1), subscribed when this returns.
async fn subscribe(port: u16, topic: &str) -> Subscriber {
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};
    let options = MqttOptions::new(unique("hookrelay-sub"), "127.0.0.1", port);
    let (client, mut events) = AsyncClient::new(options, 16);
    client
        .subscribe(topic, rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        match events.poll().await.expect("Mosquitto on 127.0.0.1:1883") {
            Event::Incoming(Packet::SubAck(_)) => break,
            _ => continue,
        }
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                let properties = p.properties.unwrap_or_default();
                let _ = tx.send(MqttMessage {
                    topic: String::from_utf8(p.topic.to_vec()).unwrap(),
                    properties: properties.user_properties,
                    content_type: properties.content_type,
                    body: p.payload.to_vec(),
                });
            }
        }
    });
    Subscriber {
        _client: client,
        messages: rx,
    }
}

async fn mqtt_subscribers_get_each_event_with_user_properties(app: &mut TestApp) {
    let topic = format!("hookrelay/it/{}", unique("t"));
    let mut subscriber = subscribe(1883, &topic).await;
    let w = app
        .create_webhook(json!({"url": format!("mqtt://127.0.0.1:1883/{topic}")}))
        .await;
    let id = w["id"].as_str().unwrap();
    let (events, acks) = publish_acknowledged(app, id, 3).await;
    for ack in acks {
        assert_eq!(ack, "PUBACK");
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let m = subscriber.next().await;
        assert_eq!(m.topic, topic);
        assert_eq!(m.content_type.as_deref(), Some("application/json"));
        let signed = verify_signed(&w, &m.properties, &m.body);
        seen.push((check_envelope(&m.body, &signed), signed));
    }
    assert_each_once(seen, &events);
}

async fn an_mqtt_broker_that_is_down_is_retried_until_it_is_back(app: &mut TestApp) {
    let proxy = Proxy::start("127.0.0.1:1883".parse().unwrap()).await;
    let topic = format!("hookrelay/down/{}", unique("t"));
    let mut subscriber = subscribe(1883, &topic).await;
    let w = create_retried_webhook(app, format!("mqtt://127.0.0.1:{}/{topic}", proxy.port)).await;
    let id = w["id"].as_str().unwrap();
    // Connected first, then cut: the pooled connection's loop fails and the pool reconnects.
    publish_events(app, 1).await;
    all_succeeded(app, id, 1).await;
    proxy.close().await;
    let events = publish_events(app, 1).await;
    wait_until_one_is_retried(app, id).await;
    let error = first_failure(app, id).await;
    assert!(
        error.starts_with(&format!("mqtt 127.0.0.1:{}: ", proxy.port)),
        "{error}"
    );
    proxy.open().await;
    all_succeeded(app, id, 2).await;
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let m = subscriber.next().await;
        bodies.push(verify_signed(&w, &m.properties, &m.body));
    }
    assert!(bodies.contains(&events[0]), "{bodies:?}");
    proxy.close().await;
}

// What every broker shares: URL checks, the address guard, secrets.

async fn broker_urls_are_checked_naming_url(app: &mut TestApp) {
    for bad in [
        "nats://127.0.0.1:4222",
        "nats://127.0.0.1/orders.*",
        "nats://127.0.0.1/$JS.API.STREAM.DELETE.x",
        "redis://127.0.0.1/s?maxlen=0",
        "redis://127.0.0.1/s?count=1",
        "mqtt://127.0.0.1/a/+/b",
        "mqtt://127.0.0.1/$SYS/broker",
        "amqp://127.0.0.1/ex?routing_key=k&exchange=x",
        "amqp://u:p@w@127.0.0.1/ex",
        "kafka://127.0.0.1/topic",
    ] {
        let (status, body) = app.post("/v1/webhooks", json!({ "url": bad })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "url", "{bad}: {body}");
    }
    // PATCH checks the same way.
    let w = app
        .create_webhook(json!({"url": "mqtt://127.0.0.1:1883/a/b"}))
        .await;
    let (status, body) = app
        .patch(
            &format!("/v1/webhooks/{}", w["id"].as_str().unwrap()),
            json!({"url": "mqtt://127.0.0.1/a/#"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "url");
    delete_webhook(app, w["id"].as_str().unwrap()).await;

    // Production: no private address, at the API nor (for a name that resolves to one) at
    // delivery time.
    app.stop().await;
    let prod = app.spawn_peer(|c| c.dev = false).await;
    for private in [
        "redis://127.0.0.1:6379/s",
        "nats://localhost/s",
        "amqp://guest:guest@10.1.2.3/ex",
        "mqtt://192.168.1.10/t",
    ] {
        let (status, body) = prod.post("/v1/webhooks", json!({ "url": private })).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{private}: {body}"
        );
        assert_eq!(body["error"]["field"], "url");
    }
    let stream = unique("hookrelay-guard");
    let w = prod
        .create_webhook(json!({
            "url": format!("redis://redis.example.com/{stream}"),
            "retry_schedule": [1, 1],
        }))
        .await;
    let id = w["id"].as_str().unwrap();
    repoint(&prod, id, &format!("redis://localhost:6379/{stream}")).await;
    publish_events(&prod, 1).await;
    let d = prod.wait_for_delivery(id, "failed").await;
    assert_eq!(d["attempt_count"], 1, "refused for good, not retried: {d}");
    assert_eq!(d["request"]["method"], "PUBLISH");
    let error = d["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("address not allowed"), "{error}");
    assert!(xrange(&stream).await.is_empty(), "nothing reached Redis");
    prod.teardown().await;
    app.restart().await;
}

async fn a_brokers_password_shows_neither_in_errors_nor_in_the_dashboard(app: &mut TestApp) {
    let password = "n0t-the-s3cret";
    let url = format!("amqp://guest:{password}@127.0.0.1:5672/amq.direct?routing_key=nowhere");
    let w = app
        .create_webhook(json!({"url": url, "retry_schedule": [1, 1, 1, 1, 1, 1, 1, 1]}))
        .await;
    let id = w["id"].as_str().unwrap();
    // The API returns the URL as written, like the secret: its owner's own settings.
    assert_eq!(w["url"], url);
    publish_events(app, 1).await;
    let error = first_failure(app, id).await;
    assert!(error.starts_with("amqp 127.0.0.1:5672: "), "{error}");
    assert!(!error.contains(password), "{error}");

    let cookie = crate::dashboard::tenant_session(app, "default").await;
    for path in [
        "/dashboard/t/default/webhooks".to_owned(),
        format!("/dashboard/t/default/webhooks/{id}"),
    ] {
        let (status, html) = crate::dashboard::page(app, &cookie, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains(password), "{path} shows the password");
        assert!(
            html.contains("amqp://guest:***@127.0.0.1:5672/amq.direct"),
            "{path}"
        );
    }
}
