//! Broker destinations: a webhook's `url` may name a message broker instead of an HTTP endpoint
//! (docs/brokers.md): `nats://…/subject`, `amqp://…/exchange?routing_key=…` (or
//! `amqp://…/vhost?exchange=…&routing_key=…`), `redis://…/stream?maxlen=…` and `mqtt://…/topic`.
//!
//! The grammar is deliberately narrower than each broker's own (names of letters, digits and
//! `_ . : -`, the query's keys in one order, no percent-encoding outside a vhost and the
//! credentials), for three reasons: the OpenAPI document's `url` pattern mirrors it exactly
//! (`api/contract/fields.rs`), so the fuzzer's valid URLs are the ones accepted; the `url`
//! crate keeps such text byte for byte, so what the API returns is what was sent; and names
//! a tenant cannot write include the ones that would reach a broker's own machinery (NATS's
//! `$JS.API…` subjects, MQTT's `$SYS/…` topics).
//!
//! Credentials (`user:password@`) are allowed here, unlike in HTTP URLs, because brokers
//! authenticate at connect time; the password is a secret: [`mask_password`] is what logs,
//! notices and the dashboard's listings show.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The brokers a `url` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BrokerKind {
    /// NATS JetStream: publish to a subject, acknowledged by the stream that stores it.
    Nats,
    /// AMQP 0-9-1 (RabbitMQ): publish to an exchange with publisher confirms.
    Amqp,
    /// Redis Streams: `XADD`.
    Redis,
    /// MQTT: a QoS 1 publish, acknowledged by `PUBACK`.
    Mqtt,
}

impl BrokerKind {
    /// The kind a URL's scheme names, if any.
    pub fn of_url(s: &str) -> Option<Self> {
        let scheme = &s[..s.find("://")?];
        match scheme {
            "nats" => Some(Self::Nats),
            "amqp" => Some(Self::Amqp),
            "redis" => Some(Self::Redis),
            "mqtt" => Some(Self::Mqtt),
            _ => None,
        }
    }

    /// The URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Nats => "nats",
            Self::Amqp => "amqp",
            Self::Redis => "redis",
            Self::Mqtt => "mqtt",
        }
    }

    /// The port a URL without one connects to: each broker's registered default.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Nats => 4222,
            Self::Amqp => 5672,
            Self::Redis => 6379,
            Self::Mqtt => 1883,
        }
    }

    /// Whether this build can deliver to the broker (each is a Cargo feature).
    pub fn compiled_in(self) -> bool {
        match self {
            Self::Nats => cfg!(feature = "nats"),
            Self::Amqp => cfg!(feature = "amqp"),
            Self::Redis => cfg!(feature = "redis"),
            Self::Mqtt => cfg!(feature = "mqtt"),
        }
    }
}

/// Where on the broker a delivery goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A NATS subject, which a JetStream stream must capture.
    Nats {
        /// Dot-separated tokens.
        subject: String,
    },
    /// An AMQP exchange (empty: the default exchange, which routes by queue name).
    Amqp {
        /// The virtual host (`/` when the URL names none).
        vhost: String,
        /// The exchange published to.
        exchange: String,
        /// The routing key.
        routing_key: String,
    },
    /// A Redis stream.
    Redis {
        /// The stream's key.
        stream: String,
        /// Approximate trimming (`MAXLEN ~ n`), if asked for.
        maxlen: Option<u64>,
    },
    /// An MQTT topic.
    Mqtt {
        /// `/`-separated levels.
        topic: String,
    },
}

/// A broker URL, parsed: whom to connect to, as whom, and where to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Which broker.
    pub kind: BrokerKind,
    /// The host as written (a name or an IPv4 address).
    pub host: String,
    /// The port, or the broker's default.
    pub port: u16,
    /// The user name, percent-decoded (empty when none).
    pub username: String,
    /// The password, percent-decoded. A secret.
    pub password: Option<String>,
    /// Where to publish.
    pub destination: Destination,
}

/// Characters of a name (subject token, stream, topic level, exchange, routing key).
fn name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')
}

fn names(s: &str) -> bool {
    s.bytes().all(name_char)
}

/// Whether `s` is characters of `ok` and `%XX` escapes.
fn escaped(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else if ok(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn userinfo_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'.' | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'-'
        )
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// AMQP short strings (exchange, routing key) are at most 255 bytes.
const SHORT_STR: usize = 255;

impl BrokerUrl {
    /// Parses `s`, a URL whose scheme [`BrokerKind::of_url`] recognised; `Err` says what is
    /// wrong, for the `url` field's message. `host_port` checks `host[:port]` as HTTP URLs'
    /// are checked.
    pub fn parse(s: &str, host_port: impl Fn(&str) -> bool) -> Result<Self, String> {
        let kind = BrokerKind::of_url(s).ok_or("is not a broker URL")?;
        let rest = &s[kind.scheme().len() + 3..];
        let what = match kind {
            BrokerKind::Nats => "subject",
            BrokerKind::Amqp => "exchange",
            BrokerKind::Redis => "stream",
            BrokerKind::Mqtt => "topic",
        };
        let Some(slash) = rest.find('/') else {
            return Err(format!(
                "must name a {what} after the host, as in {}://host:{}/<{what}>",
                kind.scheme(),
                kind.default_port()
            ));
        };
        let (authority, path_query) = rest.split_at(slash);
        let (userinfo, host_port_text) = match authority.split_once('@') {
            Some((userinfo, hp)) => (Some(userinfo), hp),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (String::new(), None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                if !escaped(user, userinfo_char)
                    || !password.is_none_or(|p| escaped(p, userinfo_char))
                {
                    return Err("credentials must be letters, digits, `._~!$&'()*+,-` and %XX escapes, as user:password@".to_owned());
                }
                (decode(user), password.map(decode))
            }
        };
        if !host_port(host_port_text) {
            return Err(
                "must have a host name or IPv4 address and an optional port (up to 65535)"
                    .to_owned(),
            );
        }
        let (host, port) = match host_port_text.split_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "port out of range")?),
            None => (host_port_text, kind.default_port()),
        };
        let path = &path_query[1..];
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let destination = match kind {
            BrokerKind::Nats => {
                no_query(query, "nats")?;
                if path.is_empty()
                    || !path.split('.').all(|t| {
                        !t.is_empty()
                            && t.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    })
                {
                    return Err("the subject must be dot-separated tokens of letters, digits, `_` and `-` (no wildcards)".to_owned());
                }
                Destination::Nats {
                    subject: path.to_owned(),
                }
            }
            BrokerKind::Redis => {
                if path.is_empty() || !names(path) {
                    return Err(
                        "the stream must be a key of letters, digits, `_`, `.`, `:` and `-`"
                            .to_owned(),
                    );
                }
                let maxlen = match query {
                    None => None,
                    Some(q) => Some(parse_maxlen(q)?),
                };
                Destination::Redis {
                    stream: path.to_owned(),
                    maxlen,
                }
            }
            BrokerKind::Mqtt => {
                no_query(query, "mqtt")?;
                if path
                    .split('/')
                    .any(|level| level.is_empty() || !names(level))
                {
                    return Err("the topic must be `/`-separated levels of letters, digits, `_`, `.`, `:` and `-` (no wildcards)".to_owned());
                }
                Destination::Mqtt {
                    topic: path.to_owned(),
                }
            }
            BrokerKind::Amqp => amqp_destination(path, query)?,
        };
        Ok(Self {
            kind,
            host: host.to_owned(),
            port,
            username,
            password,
            destination,
        })
    }
}

fn no_query(query: Option<&str>, scheme: &str) -> Result<(), String> {
    match query {
        None => Ok(()),
        Some(_) => Err(format!("{scheme}:// URLs take no query")),
    }
}

fn parse_maxlen(q: &str) -> Result<u64, String> {
    let bad = || "the only query is ?maxlen=<n>, n from 1 to 999999999".to_owned();
    let n = q.strip_prefix("maxlen=").ok_or_else(bad)?;
    if n.is_empty() || n.len() > 9 || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    n.parse().map_err(|_| bad())
}

/// `/<vhost>?exchange=<x>[&routing_key=<k>]` or `/<exchange>[?routing_key=<k>]`.
fn amqp_destination(path: &str, query: Option<&str>) -> Result<Destination, String> {
    let key = |k: &str| -> Result<String, String> {
        if k.len() > SHORT_STR || !names(k) {
            return Err(
                "the routing key must be at most 255 letters, digits, `_`, `.`, `:` and `-`"
                    .to_owned(),
            );
        }
        Ok(k.to_owned())
    };
    let exchange = |x: &str| -> Result<String, String> {
        if x.len() > SHORT_STR || !names(x) {
            return Err(
                "the exchange must be at most 255 letters, digits, `_`, `.`, `:` and `-`"
                    .to_owned(),
            );
        }
        Ok(x.to_owned())
    };
    let bad_query = || {
        "the query is ?exchange=<x>&routing_key=<k> (after a vhost) or ?routing_key=<k> (after an exchange), in that order".to_owned()
    };
    match query {
        Some(q) if q.starts_with("exchange=") => {
            let q = &q["exchange=".len()..];
            let (x, k) = match q.split_once('&') {
                Some((x, rest)) => (
                    x,
                    Some(rest.strip_prefix("routing_key=").ok_or_else(bad_query)?),
                ),
                None => (q, None),
            };
            if !escaped(path, name_char) {
                return Err("the vhost must be letters, digits, `_`, `.`, `:`, `-` and %XX escapes (%2F for /)".to_owned());
            }
            let vhost = decode(path);
            Ok(Destination::Amqp {
                vhost: if vhost.is_empty() {
                    "/".to_owned()
                } else {
                    vhost
                },
                exchange: exchange(x)?,
                routing_key: k.map(key).transpose()?.unwrap_or_default(),
            })
        }
        Some(q) => {
            let k = q.strip_prefix("routing_key=").ok_or_else(bad_query)?;
            Ok(Destination::Amqp {
                vhost: "/".to_owned(),
                exchange: exchange(path)?,
                routing_key: key(k)?,
            })
        }
        None => Ok(Destination::Amqp {
            vhost: "/".to_owned(),
            exchange: exchange(path)?,
            routing_key: String::new(),
        }),
    }
}

/// [`mask_password`] of URL text (text that is no URL is returned as it is).
pub fn mask_password_text(url: &str) -> Cow<'_, str> {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.password().is_some() => {
            Cow::Owned(mask_password(&parsed).into_owned())
        }
        _ => Cow::Borrowed(url),
    }
}

/// `url` with its password (if any) shown as `***`: what logs, notices and listings show.
pub fn mask_password(url: &url::Url) -> Cow<'_, str> {
    if url.password().is_none() {
        return Cow::Borrowed(url.as_str());
    }
    let mut masked = url.clone();
    // Only fails for URLs that cannot have credentials, and this one has them.
    let _ = masked.set_password(Some("***"));
    Cow::Owned(masked.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::webhook_url::host_port_shape;

    fn parse(s: &str) -> Result<BrokerUrl, String> {
        BrokerUrl::parse(s, host_port_shape)
    }

    #[test]
    fn each_broker_reads_its_destination_and_credentials() {
        let nats = parse("nats://tok@nats.example/orders.created").unwrap();
        assert_eq!((nats.host.as_str(), nats.port), ("nats.example", 4222));
        assert_eq!(nats.username, "tok");
        assert_eq!(nats.password, None);
        assert_eq!(
            nats.destination,
            Destination::Nats {
                subject: "orders.created".into()
            }
        );
        let redis = parse("redis://:p%40ss@127.0.0.1:6380/hooks:out?maxlen=10000").unwrap();
        assert_eq!(redis.port, 6380);
        assert_eq!(redis.password.as_deref(), Some("p@ss"));
        assert_eq!(
            redis.destination,
            Destination::Redis {
                stream: "hooks:out".into(),
                maxlen: Some(10_000)
            }
        );
        let mqtt = parse("mqtt://broker.example:8883/tenants/acme/events").unwrap();
        assert_eq!(
            mqtt.destination,
            Destination::Mqtt {
                topic: "tenants/acme/events".into()
            }
        );
    }

    #[test]
    fn amqp_takes_an_exchange_path_or_a_vhost_with_the_exchange_in_the_query() {
        let short = parse("amqp://u:p@mq.example/events?routing_key=invoices.paid").unwrap();
        assert_eq!(
            short.destination,
            Destination::Amqp {
                vhost: "/".into(),
                exchange: "events".into(),
                routing_key: "invoices.paid".into()
            }
        );
        let long = parse("amqp://mq.example/prod%2Feu?exchange=&routing_key=q1").unwrap();
        assert_eq!(
            long.destination,
            Destination::Amqp {
                vhost: "prod/eu".into(),
                exchange: String::new(),
                routing_key: "q1".into()
            }
        );
        let default_vhost = parse("amqp://mq.example/?exchange=x").unwrap();
        assert!(
            matches!(default_vhost.destination, Destination::Amqp { ref vhost, .. } if vhost == "/")
        );
    }

    #[test]
    fn names_outside_the_grammar_are_refused() {
        for bad in [
            "nats://h",
            "nats://h/",
            "nats://h/a..b",
            "nats://h/a.*",
            "nats://h/a.>",
            "nats://h/$JS.API.STREAM.DELETE.x",
            "nats://h/a?x=1",
            "redis://h/",
            "redis://h/s?maxlen=0",
            "redis://h/s?maxlen=01",
            "redis://h/s?maxlen=1000000000",
            "redis://h/s?count=5",
            "redis://h/a b",
            "mqtt://h/a/+/b",
            "mqtt://h/a/#",
            "mqtt://h/$SYS/x",
            "mqtt://h/a//b",
            "mqtt://h/a/",
            "amqp://h/x?exchange=y&routing_key=k&z=1",
            "amqp://h/x?routing_key=k&exchange=y",
            "amqp://h/x%2F?routing_key=k",
            "amqp://h/v%zz?exchange=x",
            "amqp://h/x?routing_key=a%20b",
            "nats://u@v@h/s",
            "nats://u:p w@h/s",
            "nats://h:99999/s",
            "nats://[::1]/s",
            "nats://h/s#frag",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let long = format!("amqp://h/{}", "x".repeat(256));
        assert!(parse(&long).is_err());
    }

    #[test]
    fn masking_hides_the_password_alone() {
        let url = url::Url::parse("amqp://app:s3cret@mq.example:5672/ev?routing_key=k").unwrap();
        assert_eq!(
            mask_password(&url),
            "amqp://app:***@mq.example:5672/ev?routing_key=k"
        );
        let plain = url::Url::parse("https://example.com/hooks").unwrap();
        assert_eq!(mask_password(&plain), "https://example.com/hooks");
    }
}
