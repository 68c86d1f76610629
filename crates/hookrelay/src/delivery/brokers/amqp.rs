//! AMQP 0-9-1 (RabbitMQ): each delivery is a persistent, mandatory `basic.publish` to the
//! URL's exchange and routing key on a channel in confirm mode; it succeeds when the broker
//! confirms it. The headers HTTP would send travel as the message's `headers` table (long
//! strings), the event id also as `message_id`, the timestamp as `timestamp` and
//! `content_type` is `application/json`. A message no queue takes is returned by the broker
//! (it is mandatory): a refusal, retried, so binding a queue later lets it through; so is a
//! missing exchange, which closes the channel (a new one is opened for the next attempt).

use std::net::SocketAddr;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{BasicProperties, Channel, Confirmation, Connection as AmqpConnection};
use lapin::{ConnectionProperties, ErrorKind};

use super::{BrokerUrl, Connection, Rendered, chain, connect_failure};
use crate::delivery::failure::{Failure, FailureKind};
use crate::model::broker_url::Destination;

/// AMQP's persistent delivery mode: a durable queue keeps the message across broker restarts.
const PERSISTENT: u8 = 2;

/// One connection and the confirm-mode channel its publishes share (confirms are matched to
/// publishes by delivery tag, so concurrent publishes need no channel of their own).
pub(crate) struct Conn {
    connection: AmqpConnection,
    channel: tokio::sync::Mutex<Option<Channel>>,
}

impl Connection for Conn {
    async fn connect(
        addr: SocketAddr,
        url: &BrokerUrl,
        timeout: Duration,
    ) -> Result<Self, Failure> {
        let Destination::Amqp { vhost, .. } = &url.destination else {
            unreachable!("an amqp connection serves amqp destinations only");
        };
        let userinfo = if url.username.is_empty() {
            // RabbitMQ's own default account (which it accepts from loopback only).
            AMQPUserInfo::default()
        } else {
            AMQPUserInfo {
                username: url.username.clone(),
                password: url.password.clone().unwrap_or_default(),
            }
        };
        let uri = AMQPUri {
            scheme: AMQPScheme::AMQP,
            authority: AMQPAuthority {
                userinfo,
                host: addr.ip().to_string(),
                port: addr.port(),
            },
            vhost: vhost.clone(),
            query: AMQPQueryString {
                connection_timeout: Some(timeout.as_millis() as u64),
                ..AMQPQueryString::default()
            },
        };
        let connection = AmqpConnection::connect_uri(uri, ConnectionProperties::default())
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::IOError(_) => connect_failure(&chain(&e)),
                // A refused login or vhost: the broker answered.
                _ => Failure::retryable(FailureKind::Rejected, chain(&e)),
            })?;
        Ok(Conn {
            connection,
            channel: tokio::sync::Mutex::new(None),
        })
    }

    async fn publish(&self, url: &BrokerUrl, message: Rendered<'_>) -> Result<String, Failure> {
        let Destination::Amqp {
            exchange,
            routing_key,
            ..
        } = &url.destination
        else {
            unreachable!("an amqp connection publishes to amqp destinations only");
        };
        let channel = self.channel().await?;
        let mut headers = FieldTable::default();
        for (name, value) in message.headers {
            headers.insert(
                ShortString::from(name.as_str()),
                AMQPValue::LongString(LongString::from(value.as_bytes())),
            );
        }
        let properties = BasicProperties::default()
            .with_content_type(ShortString::from("application/json"))
            .with_message_id(ShortString::from(message.id))
            .with_timestamp(message.timestamp.max(0) as u64)
            .with_delivery_mode(PERSISTENT)
            .with_headers(headers);
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let confirm = channel
            .basic_publish(
                ShortString::from(exchange.as_str()),
                ShortString::from(routing_key.as_str()),
                options,
                &message.body,
                properties,
            )
            .await
            .map_err(|e| self.failure(&e))?
            .await
            .map_err(|e| self.failure(&e))?;
        let shown = if exchange.is_empty() {
            "the default exchange"
        } else {
            exchange.as_str()
        };
        match confirm {
            Confirmation::Ack(None) => {
                Ok(format!("confirmed by {shown}, routing key {routing_key:?}"))
            }
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                Err(Failure::retryable(
                    FailureKind::Rejected,
                    format!(
                        "returned unroutable: {shown} has no queue bound for routing key \
                         {routing_key:?} ({} {})",
                        returned.reply_code,
                        returned.reply_text.as_str()
                    ),
                ))
            }
            Confirmation::Nack(None) => Err(Failure::retryable(
                FailureKind::Rejected,
                "the broker did not take the message (negative acknowledgement)",
            )),
            Confirmation::NotRequested => Err(Failure::retryable(
                FailureKind::Other,
                "the channel was not in confirm mode",
            )),
        }
    }
}

impl Conn {
    /// The shared channel, opened (in confirm mode) if there is none or it was closed.
    async fn channel(&self) -> Result<Channel, Failure> {
        let mut slot = self.channel.lock().await;
        if let Some(channel) = &*slot
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|e| self.failure(&e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.failure(&e))?;
        *slot = Some(channel.clone());
        Ok(channel)
    }

    /// A channel-level error (the broker closed the channel: no such exchange, access
    /// refused) over a live connection is a refusal of this message; anything else breaks
    /// the connection.
    fn failure(&self, e: &lapin::Error) -> Failure {
        let text = chain(e);
        if self.connection.status().connected()
            && matches!(
                e.kind(),
                ErrorKind::ProtocolError(_) | ErrorKind::InvalidChannelState(..)
            )
        {
            Failure::retryable(FailureKind::Rejected, text)
        } else {
            Failure::retryable(FailureKind::Other, text)
        }
    }
}
