//! MQTT v5: each delivery is a QoS 1 publish to the URL's topic (not retained), carrying the
//! headers HTTP would send as user properties and `content_type: application/json`; it
//! succeeds on the broker's `PUBACK` (also when no one subscribes: the broker took it, as
//! MQTT defines; a reason code of failure is a refusal).
//!
//! rumqttc's client only queues a publish; its event loop writes it, says which packet id it
//! got (`Outgoing::Publish`) and later yields the `PUBACK`. Each connection's task drives
//! that loop and pairs them up: publishes are queued under one lock in the order the loop
//! takes them, so the n-th packet id written belongs to the n-th publish queued; the
//! `PUBACK` of that id answers it. When the loop fails, every waiting publish fails with it
//! and the connection is done (the pool opens another).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, PublishProperties};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use tokio::sync::oneshot;

use super::{BrokerUrl, Connection, Rendered, chain, connect_failure};
use crate::delivery::failure::{Failure, FailureKind};
use crate::model::broker_url::Destination;

/// Requests the client may queue ahead of the event loop.
const REQUEST_CAPACITY: usize = 256;

type Answer = oneshot::Sender<Result<String, Failure>>;

/// Publishes between their queueing and their `PUBACK`.
#[derive(Default)]
struct Waiting {
    /// Queued, not yet written: in the loop's order.
    queued: VecDeque<Answer>,
    /// Written, by packet id.
    sent: HashMap<u16, Answer>,
    /// Why the loop stopped, once it has.
    broken: Option<String>,
}

/// A client, its event loop's task, and the publishes awaiting acknowledgement.
pub(crate) struct Conn {
    client: AsyncClient,
    waiting: Arc<Mutex<Waiting>>,
    /// Held while queueing a waiter and its request, so both queues keep one order.
    order: tokio::sync::Mutex<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(waiting: &Mutex<Waiting>) -> std::sync::MutexGuard<'_, Waiting> {
    waiting.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Connection for Conn {
    async fn connect(
        addr: SocketAddr,
        url: &BrokerUrl,
        timeout: Duration,
    ) -> Result<Self, Failure> {
        let id = format!("hookrelay-{}", ulid::Ulid::new());
        let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_start(true)
            .set_connection_timeout(timeout.as_secs().max(1));
        if !url.username.is_empty() || url.password.is_some() {
            options.set_credentials(
                url.username.clone(),
                url.password.clone().unwrap_or_default(),
            );
        }
        let (client, mut events) = AsyncClient::new(options, REQUEST_CAPACITY);
        // The first poll connects and yields the CONNACK (a refused CONNACK is an error).
        events.poll().await.map_err(|e| first_poll_failure(&e))?;
        let waiting = Arc::new(Mutex::new(Waiting::default()));
        let task = tokio::spawn(drive(events, waiting.clone()));
        Ok(Conn {
            client,
            waiting,
            order: tokio::sync::Mutex::new(()),
            task,
        })
    }

    async fn publish(&self, url: &BrokerUrl, message: Rendered<'_>) -> Result<String, Failure> {
        let Destination::Mqtt { topic } = &url.destination else {
            unreachable!("an mqtt connection publishes to mqtt destinations only");
        };
        let properties = PublishProperties {
            content_type: Some("application/json".to_owned()),
            user_properties: message
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            ..PublishProperties::default()
        };
        let (answer, answered) = oneshot::channel();
        {
            let _order = self.order.lock().await;
            {
                let mut waiting = lock(&self.waiting);
                if let Some(why) = &waiting.broken {
                    return Err(Failure::retryable(FailureKind::Other, why.clone()));
                }
                waiting.queued.push_back(answer);
            }
            let queued = self
                .client
                .publish_with_properties(
                    topic.clone(),
                    QoS::AtLeastOnce,
                    false,
                    message.body,
                    properties,
                )
                .await;
            if let Err(e) = queued {
                lock(&self.waiting).queued.pop_back();
                return Err(Failure::retryable(FailureKind::Other, chain(&e)));
            }
        }
        answered.await.unwrap_or_else(|_| {
            Err(Failure::retryable(
                FailureKind::Other,
                "the connection closed before the PUBACK",
            ))
        })
    }
}

/// Drives the event loop, pairing written publishes with their `PUBACK`s, until it fails.
async fn drive(mut events: EventLoop, waiting: Arc<Mutex<Waiting>>) {
    let why = loop {
        match events.poll().await {
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let mut waiting = lock(&waiting);
                if let Some(answer) = waiting.queued.pop_front() {
                    waiting.sent.insert(pkid, answer);
                }
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                let answer = lock(&waiting).sent.remove(&ack.pkid);
                if let Some(answer) = answer {
                    let _ = answer.send(acknowledged(ack.reason));
                }
            }
            Ok(Event::Incoming(Packet::Disconnect(d))) => {
                break format!("the broker disconnected ({:?})", d.reason_code);
            }
            Ok(_) => {}
            Err(ConnectionError::RequestsDone) => break "closed".to_owned(),
            Err(e) => break format!("connection lost: {}", chain(&e)),
        }
    };
    let mut waiting = lock(&waiting);
    waiting.broken = Some(why.clone());
    let queued = std::mem::take(&mut waiting.queued);
    let sent = std::mem::take(&mut waiting.sent);
    for answer in queued.into_iter().chain(sent.into_values()) {
        let _ = answer.send(Err(Failure::retryable(FailureKind::Other, why.clone())));
    }
}

fn acknowledged(reason: PubAckReason) -> Result<String, Failure> {
    match reason {
        PubAckReason::Success => Ok("PUBACK".to_owned()),
        PubAckReason::NoMatchingSubscribers => Ok("PUBACK (no matching subscribers)".to_owned()),
        refused => Err(Failure::retryable(
            FailureKind::Rejected,
            format!("PUBACK refused the message: {refused:?}"),
        )),
    }
}

/// What the connecting first poll's error means: the address did not take the connection,
/// did not answer in time, or the broker refused the CONNECT.
fn first_poll_failure(e: &ConnectionError) -> Failure {
    let text = chain(e);
    match e {
        ConnectionError::Io(_) => connect_failure(&text),
        ConnectionError::Timeout(_) => Failure::retryable(FailureKind::Timeout, text),
        // The broker answered the CONNECT (bad credentials, not authorised).
        _ => Failure::retryable(FailureKind::Rejected, text),
    }
}
