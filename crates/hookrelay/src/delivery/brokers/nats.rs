//! NATS JetStream: each delivery is a publish to the URL's subject carrying the headers HTTP
//! would send as NATS headers, plus `Nats-Msg-Id` (the event id, so a stream's duplicate
//! window drops a retry of a message it already stored), and succeeds on the stream's
//! acknowledgement. A subject no stream captures has no responder: that is a refusal, retried
//! like any failure, so creating the stream later lets the delivery through.

use std::net::SocketAddr;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind};
use async_nats::{ConnectErrorKind, ConnectOptions, HeaderMap};

use super::{BrokerUrl, Connection, Rendered, chain, connect_failure};
use crate::delivery::failure::{Failure, FailureKind};
use crate::model::broker_url::Destination;

/// A client and its JetStream context; publishes are multiplexed over its one connection.
pub(crate) struct Conn(jetstream::Context);

impl Connection for Conn {
    async fn connect(
        addr: SocketAddr,
        url: &BrokerUrl,
        timeout: Duration,
    ) -> Result<Self, Failure> {
        let mut options = ConnectOptions::new()
            .name("hookrelay")
            .connection_timeout(timeout)
            // Servers a cluster advertises were not checked by the address guard: only the
            // checked address is used.
            .ignore_discovered_servers()
            // One quiet reconnection after a blip; past that, attempts fail and the pool opens
            // a new connection (the guard checks its address again).
            .max_reconnects(1);
        match (&url.password, url.username.is_empty()) {
            (Some(password), _) => {
                options = options.user_and_password(url.username.clone(), password.clone());
            }
            // `nats://<token>@host`: a user name alone is the server's token.
            (None, false) => options = options.token(url.username.clone()),
            (None, true) => {}
        }
        let client = options
            .connect(format!("nats://{addr}"))
            .await
            .map_err(|e| {
                let text = chain(&e);
                match e.kind() {
                    ConnectErrorKind::TimedOut => Failure::retryable(FailureKind::Timeout, text),
                    ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => {
                        Failure::retryable(FailureKind::Rejected, text)
                    }
                    _ => connect_failure(&text),
                }
            })?;
        let mut context = jetstream::new(client);
        // The attempt's own timeout bounds the wait for the acknowledgement.
        context.set_timeout(Duration::from_secs(60));
        Ok(Conn(context))
    }

    async fn publish(&self, url: &BrokerUrl, message: Rendered<'_>) -> Result<String, Failure> {
        let Destination::Nats { subject } = &url.destination else {
            unreachable!("a nats connection publishes to nats destinations only");
        };
        let mut headers = HeaderMap::new();
        for (name, value) in message.headers {
            if let Ok(value) = value.to_str() {
                headers.insert(name.as_str(), value);
            }
        }
        headers.insert("Nats-Msg-Id", message.id);
        let ack = self
            .0
            .publish_with_headers(subject.clone(), headers, message.body.into())
            .await
            .map_err(|e| failure(&e, subject))?
            .await
            .map_err(|e| failure(&e, subject))?;
        Ok(format!(
            "stream {} seq {}{}",
            ack.stream,
            ack.sequence,
            if ack.duplicate { " (duplicate)" } else { "" }
        ))
    }
}

fn failure(e: &jetstream::context::PublishError, subject: &str) -> Failure {
    match e.kind() {
        PublishErrorKind::StreamNotFound => Failure::retryable(
            FailureKind::Rejected,
            format!("no JetStream stream captures subject {subject} (no responders)"),
        ),
        PublishErrorKind::TimedOut => Failure::retryable(FailureKind::Timeout, chain(e)),
        PublishErrorKind::BrokenPipe => Failure::retryable(FailureKind::Other, chain(e)),
        _ => Failure::retryable(FailureKind::Rejected, chain(e)),
    }
}
