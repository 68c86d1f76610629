//! Redis Streams: each delivery is one `XADD <stream> [MAXLEN ~ n] * …` whose fields are the
//! headers HTTP would send (`webhook-id`, `webhook-timestamp`, `webhook-signature` or the
//! scheme's own header, `content-type`, custom headers), named in lower case, then `body`.
//! Redis has written the entry when it answers with its id, so that answer is the
//! acknowledgement.

use std::net::SocketAddr;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

use super::{BrokerUrl, Connection, Rendered, chain, connect_failure};
use crate::delivery::failure::{Failure, FailureKind};
use crate::model::broker_url::Destination;

/// One multiplexed connection: concurrent `XADD`s share it, pipelined.
pub(crate) struct Conn(MultiplexedConnection);

impl Connection for Conn {
    async fn connect(
        addr: SocketAddr,
        url: &BrokerUrl,
        timeout: Duration,
    ) -> Result<Self, Failure> {
        let mut settings = RedisConnectionInfo::default();
        if !url.username.is_empty() {
            settings = settings.set_username(&url.username);
        }
        if let Some(password) = &url.password {
            settings = settings.set_password(password);
        }
        let info = ConnectionAddr::Tcp(addr.ip().to_string(), addr.port())
            .into_connection_info()
            .map_err(|e| failure(&e))?
            .set_redis_settings(settings);
        let client = redis::Client::open(info).map_err(|e| failure(&e))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            // The attempt's own timeout bounds each XADD.
            .set_response_timeout(None);
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map(Conn)
            .map_err(|e| failure(&e))
    }

    async fn publish(&self, url: &BrokerUrl, message: Rendered<'_>) -> Result<String, Failure> {
        let Destination::Redis { stream, maxlen } = &url.destination else {
            unreachable!("a redis connection publishes to redis destinations only");
        };
        let mut cmd = redis::cmd("XADD");
        cmd.arg(stream);
        if let Some(n) = maxlen {
            cmd.arg("MAXLEN").arg("~").arg(*n);
        }
        cmd.arg("*");
        for (name, value) in message.headers {
            // `body` is the payload's field; a custom header of that name cannot replace it.
            if name.as_str() != "body" {
                cmd.arg(name.as_str()).arg(value.as_bytes());
            }
        }
        cmd.arg("body").arg(message.body);
        let mut conn = self.0.clone();
        let id: String = cmd.query_async(&mut conn).await.map_err(|e| failure(&e))?;
        Ok(format!("XADD {stream}: entry {id}"))
    }
}

/// What a Redis error means for the attempt: the server's own error replies (a wrong type,
/// an out-of-memory refusal, a missing permission) are a refusal of this message over a
/// sound connection; anything else is the connection's.
fn failure(e: &redis::RedisError) -> Failure {
    let text = chain(e);
    if e.is_connection_refusal() {
        connect_failure(&text)
    } else if e.is_timeout() {
        Failure::retryable(FailureKind::Timeout, text)
    } else if e.is_io_error() || e.is_connection_dropped() {
        Failure::retryable(FailureKind::Other, text)
    } else {
        Failure::retryable(FailureKind::Rejected, text)
    }
}
