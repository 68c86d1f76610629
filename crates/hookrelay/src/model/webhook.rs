//! A webhook's settings, each parsed from API input: retry schedule, timeout, signature
//! scheme, payload format and custom headers (its URL: [`super::webhook_url`]).

use std::collections::BTreeMap;

use hookrelay_signature::{Encoding, Scheme};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Invalid;
pub use super::webhook_url::{UrlPolicy, WebhookUrl};

/// Seconds to wait after each failed attempt; its length is the number of retries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RetrySchedule(Vec<u32>);

impl Default for RetrySchedule {
    /// 30 s, 2 min, 10 min, 1 h, 6 h: the reference documents' schedule.
    fn default() -> Self {
        Self(vec![30, 120, 600, 3600, 21600])
    }
}

impl RetrySchedule {
    /// At most 20 entries, each from 1 s to 7 days.
    pub fn parse(delays: &[i64]) -> Result<Self, Invalid> {
        if delays.len() > 20 {
            return Err(Invalid::new("retry_schedule", "at most 20 retries"));
        }
        delays
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if (1..=7 * 24 * 3600).contains(&d) {
                    Ok(d as u32)
                } else {
                    Err(Invalid::new(
                        format!("retry_schedule[{i}]"),
                        "each delay must be from 1 to 604800 seconds (7 days)",
                    ))
                }
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Wraps a schedule read from storage.
    pub fn from_trusted(delays: Vec<u32>) -> Self {
        Self(delays)
    }

    /// The delays in seconds.
    pub fn delays(&self) -> &[u32] {
        &self.0
    }
}

/// How long one attempt may take: 1 to 30 seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutSeconds(u32);

impl Default for TimeoutSeconds {
    fn default() -> Self {
        Self(10)
    }
}

impl TimeoutSeconds {
    /// Accepts 1..=30.
    pub fn parse(n: i64) -> Result<Self, Invalid> {
        if (1..=30).contains(&n) {
            Ok(Self(n as u32))
        } else {
            Err(Invalid::new(
                "timeout_seconds",
                "must be from 1 to 30 seconds",
            ))
        }
    }

    /// Wraps a timeout read from storage, held to 1..=30.
    pub fn from_trusted(n: i64) -> Self {
        Self(n.clamp(1, 30) as u32)
    }

    /// The timeout in seconds.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// How a signature's bytes are written in a header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    /// Lowercase hexadecimal.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

fn default_hmac_header() -> String {
    "X-Webhook-Signature".to_owned()
}

fn default_timestamped_header() -> String {
    "Webhook-Signature".to_owned()
}

/// How deliveries are signed. README.md ("Wire formats") shows the settings that common
/// receivers expect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub enum SignatureConfig {
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`.
    #[default]
    StandardWebhooks,
    /// Standard Webhooks' asymmetric signatures: the same headers with
    /// `webhook-signature: v1a,<base64>`, an Ed25519 signature by a `whsk_` private key that
    /// hookrelay keeps; receivers verify with the webhook's `public_key` (`whpk_…`).
    #[serde(rename = "standard-webhooks-v1a")]
    StandardWebhooksV1a,
    /// HMAC-SHA256 of the raw body, keyed with the secret's bytes, in one header.
    HmacSha256 {
        /// Header name, e.g. `X-Mavio-Signature`.
        #[serde(default = "default_hmac_header")]
        header: String,
        /// `hex` or `base64`.
        #[serde(default)]
        encoding: SignatureEncoding,
        /// Text before the signature, e.g. `sha256=`.
        #[serde(default)]
        prefix: String,
    },
    /// `t=<unix>, v1=<hex>`, HMAC-SHA256 of the raw body keyed with `"<t>.<secret>"`.
    TimestampedKey {
        /// Header name, e.g. `Mave-Signature`.
        #[serde(default = "default_timestamped_header")]
        header: String,
    },
}

impl SignatureConfig {
    /// Checks header names and prefix.
    pub fn validate(&self) -> Result<(), Invalid> {
        let header = match self {
            Self::StandardWebhooks | Self::StandardWebhooksV1a => return Ok(()),
            Self::HmacSha256 { header, prefix, .. } => {
                if prefix.len() > 64
                    || !prefix.is_ascii()
                    || http::HeaderValue::from_str(prefix).is_err()
                {
                    return Err(Invalid::new(
                        "signature.prefix",
                        "must be at most 64 printable ASCII characters",
                    ));
                }
                header
            }
            Self::TimestampedKey { header } => header,
        };
        check_header_name(header, "signature.header")?;
        if RESERVED_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
            return Err(Invalid::new(
                "signature.header",
                format!("{header} is set by hookrelay itself"),
            ));
        }
        Ok(())
    }

    /// Whether deliveries are signed with an Ed25519 key pair (`v1a`) rather than a shared
    /// secret: the webhook's secret is then a private key, never shown.
    pub fn is_asymmetric(&self) -> bool {
        matches!(self, Self::StandardWebhooksV1a)
    }

    /// Whether deliveries carry a list of signatures, so that a rotated-out key can keep
    /// signing beside the new one for a while.
    pub fn carries_several_signatures(&self) -> bool {
        matches!(self, Self::StandardWebhooks | Self::StandardWebhooksV1a)
    }

    /// The signing crate's scheme. Both Standard Webhooks variants are the crate's one
    /// `StandardWebhooks` scheme, where the key (`whsec_` or `whsk_`) chooses `v1` or `v1a`.
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::StandardWebhooks | Self::StandardWebhooksV1a => Scheme::StandardWebhooks,
            Self::HmacSha256 {
                header,
                encoding,
                prefix,
            } => Scheme::HmacSha256 {
                header: header.clone(),
                encoding: match encoding {
                    SignatureEncoding::Hex => Encoding::Hex,
                    SignatureEncoding::Base64 => Encoding::Base64,
                },
                prefix: prefix.clone(),
            },
            Self::TimestampedKey { header } => Scheme::TimestampedKey {
                header: header.clone(),
            },
        }
    }
}

/// The body a delivery carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadFormat {
    /// `{"id","type","created_at","data"}` (Standard Webhooks; document 000).
    #[default]
    Envelope,
    /// `{"event","timestamp","data"}`, printed exactly as JavaScript's `JSON.stringify` (document 001).
    EventTimestamp,
    /// `{"id","object":"event","data","type","created"}` with unix seconds (documents 002/003).
    ObjectEvent,
    /// The event's data alone (document 004); the event id travels in `webhook-id`.
    Data,
}

impl PayloadFormat {
    /// The name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Envelope => "envelope",
            Self::EventTimestamp => "event-timestamp",
            Self::ObjectEvent => "object-event",
            Self::Data => "data",
        }
    }

    /// Parses a stored name; unknown names fall back to the default envelope.
    pub fn from_stored(s: &str) -> Self {
        match s {
            "event-timestamp" => Self::EventTimestamp,
            "object-event" => Self::ObjectEvent,
            "data" => Self::Data,
            _ => Self::Envelope,
        }
    }
}

/// Headers hookrelay sets itself, which a webhook's custom headers may not replace (in lower
/// case; the OpenAPI document states the same list).
pub const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

fn check_header_name(name: &str, field: &str) -> Result<(), Invalid> {
    http::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| {
            Invalid::new(
                field,
                format!("{} is not a valid header name", super::excerpt(name)),
            )
        })
}

/// Extra headers sent with every delivery of a webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomHeaders(BTreeMap<String, String>);

impl CustomHeaders {
    /// At most 32 valid headers, none of them one hookrelay sets itself.
    pub fn parse(headers: BTreeMap<String, String>) -> Result<Self, Invalid> {
        if headers.len() > 32 {
            return Err(Invalid::new("headers", "at most 32 custom headers"));
        }
        for (name, value) in &headers {
            let field = format!("headers.{name}");
            check_header_name(name, &field)?;
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(Invalid::new(
                    field,
                    format!("{name} is set by hookrelay itself"),
                ));
            }
            // `HeaderValue` also takes bytes past ASCII (obs-text); the API promises ASCII.
            if value.len() > 4096
                || !value.is_ascii()
                || http::HeaderValue::from_str(value).is_err()
            {
                return Err(Invalid::new(
                    field,
                    "must be at most 4096 visible ASCII characters",
                ));
            }
        }
        Ok(Self(headers))
    }

    /// Wraps headers read from storage.
    pub fn from_trusted(headers: BTreeMap<String, String>) -> Self {
        Self(headers)
    }

    /// The headers by name.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedules_are_bounded() {
        assert!(RetrySchedule::parse(&[1, 604_800]).is_ok());
        assert!(RetrySchedule::parse(&[]).is_ok());
        assert_eq!(
            RetrySchedule::parse(&[5, 0]).unwrap_err().field,
            "retry_schedule[1]"
        );
        assert!(RetrySchedule::parse(&[604_801]).is_err());
        assert!(RetrySchedule::parse(&[1; 21]).is_err());
    }

    #[test]
    fn timeouts_are_bounded() {
        assert!(TimeoutSeconds::parse(0).is_err());
        assert!(TimeoutSeconds::parse(31).is_err());
        assert_eq!(TimeoutSeconds::parse(30).map(TimeoutSeconds::get), Ok(30));
    }

    #[test]
    fn signature_configs_read_as_documented() {
        let mg: SignatureConfig = serde_json::from_str(
            r#"{"scheme":"hmac-sha256","header":"X-MG-Signature","encoding":"hex"}"#,
        )
        .expect("parses");
        assert!(mg.validate().is_ok());
        let bad: SignatureConfig =
            serde_json::from_str(r#"{"scheme":"timestamped-key","header":"webhook-id"}"#)
                .expect("parses");
        assert_eq!(bad.validate().unwrap_err().field, "signature.header");
    }

    #[test]
    fn custom_headers_cannot_replace_ours() {
        let mut h = BTreeMap::new();
        h.insert("Authorization".to_owned(), "Bearer x".to_owned());
        assert!(CustomHeaders::parse(h.clone()).is_ok());
        h.insert("Content-Type".to_owned(), "text/plain".to_owned());
        assert_eq!(
            CustomHeaders::parse(h).unwrap_err().field,
            "headers.Content-Type"
        );
    }
}
