//! A webhook's URL: an HTTP(S) endpoint, or a message broker (`super::broker_url`), parsed
//! from API input with the address rule of the URL policy.

use std::net::IpAddr;

use super::Invalid;
use super::address::is_public;
use super::broker_url::{BrokerKind, BrokerUrl, mask_password};

/// Whether plain-HTTP and private-address URLs are acceptable (development mode) or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlPolicy {
    /// Production: `https` only, no literal private or loopback addresses.
    Production,
    /// Development: `http` and any address.
    Development,
}

/// Whether `s` is `http(s)://host[:port][/path]` with an ASCII host name (its last label
/// starting with a letter) or an IPv4 address, a port up to 65535 and a path of visible
/// ASCII: the document's `url` pattern, checked before the URL parser (which would also take
/// credentials, other hosts, and text it percent-encodes).
fn has_plain_shape(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !path.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
        return false;
    }
    host_port_shape(authority)
}

/// Whether `authority` is `host[:port]` with an ASCII host name (its last label starting with
/// a letter) or an IPv4 address and a port up to 65535: the shape HTTP and broker URLs share.
pub(super) fn host_port_shape(authority: &str) -> bool {
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    // Up to four digits as written (`0080` is 80), or five without a leading zero up to 65535.
    let port_ok = |p: &str| {
        !p.is_empty()
            && digits(p)
            && (p.len() <= 4
                || (p.len() == 5
                    && !p.starts_with('0')
                    && p.parse::<u32>().is_ok_and(|n| n <= 65_535)))
    };
    if port.is_some_and(|p| !port_ok(p)) {
        return false;
    }
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let octet = |o: &str| {
        !o.is_empty()
            && o.len() <= 3
            && digits(o)
            && (o == "0" || !o.starts_with('0'))
            && o.parse::<u16>().is_ok_and(|n| n <= 255)
    };
    let labels: Vec<&str> = host.split('.').collect();
    let ipv4 = labels.len() == 4 && labels.iter().all(|o| octet(o));
    let name = labels.iter().all(|l| label(l))
        && labels
            .last()
            .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()));
    ipv4 || name
}

/// A webhook's target URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses and checks a URL against the policy. The address guard re-checks the resolved IP
    /// at connect time; this early check only gives a clear answer for literal addresses.
    pub fn parse(s: &str, policy: UrlPolicy) -> Result<Self, Invalid> {
        let bad = |msg: &str| Err(Invalid::new("url", msg));
        if s.chars().count() > 2048 {
            return bad("must be at most 2048 characters");
        }
        if let Some(kind) = BrokerKind::of_url(s) {
            return Self::parse_broker(s, kind, policy);
        }
        if !has_plain_shape(s) {
            return bad(
                "must be an absolute http(s) URL such as https://example.com/webhooks: a host name \
                 or IPv4 address, an optional port, then a path of visible ASCII characters",
            );
        }
        let Ok(url) = url::Url::parse(s) else {
            return bad("must be an absolute URL such as https://example.com/webhooks");
        };
        match (url.scheme(), policy) {
            ("https", _) | ("http", UrlPolicy::Development) => {}
            ("http", UrlPolicy::Production) => {
                return bad("must use https (plain http is allowed only in development mode)");
            }
            _ => return bad("must be an http(s) URL"),
        }
        let Some(host) = url.host_str() else {
            return bad("must have a host");
        };
        if !url.username().is_empty() || url.password().is_some() {
            return bad("must not contain credentials; use custom headers instead");
        }
        if policy == UrlPolicy::Production {
            check_public(host.trim_start_matches('[').trim_end_matches(']'))?;
        }
        Ok(Self(url))
    }

    /// A broker URL (`model::broker_url`): its own grammar, credentials allowed, and the same
    /// address rule as HTTP.
    fn parse_broker(s: &str, kind: BrokerKind, policy: UrlPolicy) -> Result<Self, Invalid> {
        let bad = |msg: &str| Err(Invalid::new("url", msg));
        if !kind.compiled_in() {
            return bad(&format!(
                "{}:// destinations are not in this build (Cargo feature `{}`)",
                kind.scheme(),
                kind.scheme()
            ));
        }
        let broker =
            BrokerUrl::parse(s, host_port_shape).map_err(|msg| Invalid::new("url", msg))?;
        let Ok(url) = url::Url::parse(s) else {
            return bad("must be an absolute URL such as redis://broker.example/events");
        };
        if policy == UrlPolicy::Production {
            check_public(&broker.host)?;
        }
        Ok(Self(url))
    }

    /// The broker this URL names, if it is not an HTTP URL.
    pub fn broker(&self) -> Option<BrokerUrl> {
        BrokerKind::of_url(self.0.as_str())?;
        BrokerUrl::parse(self.0.as_str(), host_port_shape).ok()
    }

    /// The URL with its password (a broker's) shown as `***`: for logs, notices and listings.
    pub fn masked(&self) -> std::borrow::Cow<'_, str> {
        mask_password(&self.0)
    }

    /// Wraps a URL read from storage: it was checked against the policy when written (the
    /// address guard checks it again at every attempt).
    pub fn from_trusted(url: url::Url) -> Self {
        Self(url)
    }

    /// The URL.
    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Production's rule for a URL's host as written: no literal private address, no localhost.
/// (The delivery guard checks the addresses a name resolves to at every connection.)
fn check_public(host: &str) -> Result<(), Invalid> {
    if let Ok(ip) = host.parse::<IpAddr>()
        && !is_public(ip)
    {
        return Err(Invalid::new(
            "url",
            "must not point at a private, loopback or link-local address",
        ));
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(Invalid::new("url", "must not point at localhost"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_urls_must_be_https_and_public() {
        let prod = UrlPolicy::Production;
        assert!(WebhookUrl::parse("https://example.com/hooks", prod).is_ok());
        for bad in [
            "http://example.com/hooks",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://[::1]/x",
            "https://localhost/x",
            "https://LocalHost./x",
            "https://api.localhost/x",
            "ftp://example.com",
            "not a url",
            "https://user:pw@example.com/",
            "redis://127.0.0.1/s",
            "nats://localhost:4222/s",
            "amqp://u:p@10.0.0.1/x",
            "mqtt://[::1]/t",
        ] {
            let err = WebhookUrl::parse(bad, prod).unwrap_err();
            assert_eq!(err.field, "url", "{bad}");
        }
        assert!(WebhookUrl::parse("http://127.0.0.1:3000/x", UrlPolicy::Development).is_ok());
        // Brokers: the same address rule, credentials allowed, plain TCP (docs/brokers.md).
        assert!(WebhookUrl::parse("amqp://app:pw@mq.example/ev", prod).is_ok());
        assert!(WebhookUrl::parse("redis://127.0.0.1/s", UrlPolicy::Development).is_ok());
    }

    #[test]
    fn urls_have_the_documented_shape() {
        let dev = UrlPolicy::Development;
        for good in [
            "http://a",
            "https://hooks.acme.example/in?k=1",
            "http://127.0.0.1:3000/x",
            "http://127.0.0.1:65535/x",
            "http://localhost:9/h",
            "https://x-1.y2.z/a%20b",
        ] {
            assert!(WebhookUrl::parse(good, dev).is_ok(), "{good}");
        }
        for bad in [
            "",
            "HTTP://a",
            "http://a*",
            "http://1.2.3",
            "http://256.1.1.1/",
            "http://01.1.1.1/",
            "http://-a.b/",
            "http://a.9/",
            "http://[::1]/",
            "http://a:99999/",
            "http://a:65536/",
            "http://a:08080/",
            "http://a?x",
            "http://u@a/",
            "https://x.example/\u{202e}",
            "http://a/b c",
        ] {
            assert!(WebhookUrl::parse(bad, dev).is_err(), "{bad}");
        }
    }
}
