//! Verifying incoming deliveries (the receiver side).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use subtle::{Choice, ConstantTimeEq};

use crate::mac::{self, Tag};
use crate::scheme::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use crate::{Encoding, HeaderLookup, Scheme, Secret, ed25519};

/// The tolerance [`VerifyOptions::at`] uses, as the Standard Webhooks libraries do.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Standard base64 that accepts signatures with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Options for [`verify`]: the current time and how far a signed timestamp may be from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Largest accepted distance, past or future, between the signed timestamp and `now`;
    /// `None` skips the check.
    pub tolerance: Option<Duration>,
    /// The current time, in unix seconds.
    pub now: i64,
}

impl VerifyOptions {
    /// Options for verifying at `now_unix` (unix seconds) with the default tolerance of five
    /// minutes.
    pub fn at(now_unix: i64) -> Self {
        VerifyOptions {
            tolerance: Some(DEFAULT_TOLERANCE),
            now: now_unix,
        }
    }

    /// Accepts timestamps at most `tolerance` (whole seconds) away from `now`.
    pub fn with_tolerance(self, tolerance: Duration) -> Self {
        VerifyOptions {
            tolerance: Some(tolerance),
            ..self
        }
    }

    /// Disables the timestamp check (the timestamp is still signed and must still parse).
    pub fn without_timestamp_check(self) -> Self {
        VerifyOptions {
            tolerance: None,
            ..self
        }
    }
}

/// What a successful [`verify`] learned from the signed headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed message id (`webhook-id`); `None` for schemes that sign no id.
    pub msg_id: Option<String>,
    /// The signed timestamp in unix seconds; `None` for [`Scheme::HmacSha256`].
    pub timestamp: Option<i64>,
}

/// Why a request failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent (or not valid UTF-8).
    MissingHeader(String),
    /// A header is present but cannot be parsed.
    MalformedHeader {
        /// The header's name.
        header: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is further from `now` than the tolerance allows.
    TimestampOutOfTolerance {
        /// The signed timestamp (unix seconds).
        timestamp: i64,
        /// The verifier's current time (unix seconds).
        now: i64,
    },
    /// No signature in the request matches any of the secrets.
    NoMatchingSignature,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::MissingHeader(header) => write!(f, "missing header `{header}`"),
            VerifyError::MalformedHeader { header, reason } => {
                write!(f, "malformed header `{header}`: {reason}")
            }
            VerifyError::TimestampOutOfTolerance { timestamp, now } => {
                let (distance, direction) = if timestamp <= now {
                    (now.abs_diff(*timestamp), "in the past")
                } else {
                    (timestamp.abs_diff(*now), "in the future")
                };
                write!(
                    f,
                    "signed timestamp {timestamp} is {distance} s {direction} (now is {now}), \
                     outside the allowed tolerance"
                )
            }
            VerifyError::NoMatchingSignature => f.write_str(
                "no signature matches: wrong secret, or the body, id or timestamp was altered",
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Checks that a request was signed with one of `secrets` under `scheme`.
///
/// Any of several secrets may match (rotation), and for schemes that carry a list of
/// signatures any entry may match: for Standard Webhooks, a `v1` entry (HMAC-SHA256) checked
/// with the `whsec_` secrets, or a `v1a` entry (Ed25519) checked with the `whpk_` or `whsk_`
/// keys; other versions are ignored. MACs are compared in constant time. Never panics,
/// whatever the headers hold.
///
/// # Errors
///
/// [`VerifyError::MissingHeader`] or [`VerifyError::MalformedHeader`] when the signature
/// headers are absent or unparseable, [`VerifyError::TimestampOutOfTolerance`] when the signed
/// timestamp is too far from `opts.now` (checked before the signature), and
/// [`VerifyError::NoMatchingSignature`] otherwise.
pub fn verify(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &impl HeaderLookup,
    body: &[u8],
    opts: &VerifyOptions,
) -> Result<Verified, VerifyError> {
    match scheme {
        Scheme::StandardWebhooks => {
            let id = required(headers, WEBHOOK_ID)?;
            let raw_timestamp = required(headers, WEBHOOK_TIMESTAMP)?;
            let signature = required(headers, WEBHOOK_SIGNATURE)?;
            let timestamp = parse_timestamp(raw_timestamp)
                .ok_or_else(|| malformed(WEBHOOK_TIMESTAMP, "not an integer unix timestamp"))?;
            check_tolerance(timestamp, opts)?;
            standard_webhooks(secrets, id, raw_timestamp, signature, body)?;
            Ok(Verified {
                msg_id: Some(id.to_owned()),
                timestamp: Some(timestamp),
            })
        }
        Scheme::HmacSha256 {
            header,
            encoding,
            prefix,
        } => {
            let value = required(headers, header)?;
            let encoded = value
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| malformed(header, "does not start with the configured prefix"))?;
            let expected = expected_tags(secrets, |key| mac::body(key, body));
            let (decode, undecodable): (fn(&str) -> Option<Tag>, _) = match encoding {
                Encoding::Hex => (decode_hex, "not the hex of a 32-byte HMAC-SHA256"),
                Encoding::Base64 => (decode_base64, "not the base64 of a 32-byte HMAC-SHA256"),
            };
            let reasons = Reasons {
                none: "empty",
                undecodable,
            };
            match_any(header, std::iter::once(encoded), decode, &expected, reasons)?;
            Ok(Verified {
                msg_id: None,
                timestamp: None,
            })
        }
        Scheme::TimestampedKey { header } => {
            let value = required(headers, header)?;
            let fields = || {
                value
                    .split(',')
                    .filter_map(|field| field.trim().split_once('='))
            };
            let mut t_values = fields().filter(|(key, _)| *key == "t").map(|(_, v)| v);
            let raw_timestamp = match (t_values.next(), t_values.next()) {
                (Some(t), None) => t,
                (None, _) => return Err(malformed(header, "no `t=<unix timestamp>` field")),
                (Some(_), Some(_)) => return Err(malformed(header, "more than one `t=` field")),
            };
            let timestamp = parse_timestamp(raw_timestamp)
                .ok_or_else(|| malformed(header, "`t=` is not an integer unix timestamp"))?;
            check_tolerance(timestamp, opts)?;
            let expected = expected_tags(secrets, |key| {
                mac::timestamped_key(raw_timestamp, key, body)
            });
            let v1 = fields().filter(|(key, _)| *key == "v1").map(|(_, v)| v);
            let reasons = Reasons {
                none: "no `v1=<hex>` signature",
                undecodable: "no v1 signature is the hex of a 32-byte HMAC-SHA256",
            };
            match_any(header, v1, decode_hex, &expected, reasons)?;
            Ok(Verified {
                msg_id: None,
                timestamp: Some(timestamp),
            })
        }
    }
}

fn required<'h>(headers: &'h impl HeaderLookup, name: &str) -> Result<&'h str, VerifyError> {
    headers
        .header(name)
        .ok_or_else(|| VerifyError::MissingHeader(name.to_owned()))
}

fn malformed(header: &str, reason: &'static str) -> VerifyError {
    VerifyError::MalformedHeader {
        header: header.to_owned(),
        reason,
    }
}

fn parse_timestamp(s: &str) -> Option<i64> {
    s.parse().ok()
}

fn check_tolerance(timestamp: i64, opts: &VerifyOptions) -> Result<(), VerifyError> {
    match opts.tolerance {
        Some(tolerance) if opts.now.abs_diff(timestamp) > tolerance.as_secs() => {
            Err(VerifyError::TimestampOutOfTolerance {
                timestamp,
                now: opts.now,
            })
        }
        _ => Ok(()),
    }
}

fn expected_tags(secrets: &[Secret], compute: impl Fn(&[u8]) -> Tag) -> Vec<Tag> {
    secrets
        .iter()
        .filter_map(Secret::mac_key)
        .map(compute)
        .collect()
}

/// Checks a Standard Webhooks signature list: `v1` entries against the HMAC secrets, `v1a`
/// entries against the Ed25519 keys. Which versions are looked at depends on the keys held, so
/// that a receiver with only `whsec_` secrets reads the header exactly as before `v1a`.
fn standard_webhooks(
    secrets: &[Secret],
    id: &str,
    raw_timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<(), VerifyError> {
    let entries = |wanted: &'static str| {
        signature
            .split(' ')
            .filter_map(|entry| entry.split_once(','))
            .filter(move |(version, _)| *version == wanted)
            .map(|(_, sig)| sig)
    };
    let keys: Vec<&ed25519::Key> = secrets.iter().filter_map(Secret::ed25519).collect();
    let hmac = keys.len() < secrets.len() || secrets.is_empty();
    let mut tally = Tally::default();
    if hmac {
        let expected = expected_tags(secrets, |key| {
            mac::standard_webhooks(key, id, raw_timestamp, body)
        });
        if tally.any(entries("v1"), decode_base64, |tag| {
            matches_tag(&expected, tag)
        }) {
            return Ok(());
        }
    }
    if !keys.is_empty() {
        let message = ed25519::message(id, raw_timestamp, body);
        let decode = |s: &str| ed25519::decode_signature(s, &BASE64);
        let verifies = |sig: &_| keys.iter().any(|key| key.verifies(&message, sig));
        if tally.any(entries("v1a"), decode, verifies) {
            return Ok(());
        }
    }
    let reasons = match (hmac, !keys.is_empty()) {
        (true, false) => Reasons {
            none: "no `v1,<base64>` signature",
            undecodable: "no v1 signature is the base64 of a 32-byte HMAC-SHA256",
        },
        (false, _) => Reasons {
            none: "no `v1a,<base64>` signature",
            undecodable: "no v1a signature is the base64 of a 64-byte Ed25519 signature",
        },
        (true, true) => Reasons {
            none: "no `v1,<base64>` or `v1a,<base64>` signature",
            undecodable: "no v1 or v1a signature decodes (base64 of a 32-byte HMAC-SHA256 or a 64-byte Ed25519 signature)",
        },
    };
    Err(tally.error(WEBHOOK_SIGNATURE, reasons))
}

/// Whether `tag` is one of `expected`, compared in constant time.
fn matches_tag(expected: &[Tag], tag: &Tag) -> bool {
    let matched = expected
        .iter()
        .fold(Choice::from(0), |acc, want| acc | want.ct_eq(tag));
    bool::from(matched)
}

fn decode_hex(s: &str) -> Option<Tag> {
    let mut tag = [0u8; mac::TAG_LEN];
    hex::decode_to_slice(s, &mut tag).ok().map(|()| tag)
}

fn decode_base64(s: &str) -> Option<Tag> {
    let mut tag = [0u8; mac::TAG_LEN];
    match BASE64.decode_slice(s, &mut tag) {
        Ok(mac::TAG_LEN) => Some(tag),
        _ => None,
    }
}

/// Error reasons for a signature header with no usable candidate.
struct Reasons {
    /// There is no candidate at all.
    none: &'static str,
    /// No candidate decodes to a tag.
    undecodable: &'static str,
}

/// Succeeds if any candidate decodes to one of the `expected` tags (compared in constant time).
fn match_any<'a>(
    header: &str,
    candidates: impl Iterator<Item = &'a str>,
    decode: fn(&str) -> Option<Tag>,
    expected: &[Tag],
    reasons: Reasons,
) -> Result<(), VerifyError> {
    let mut tally = Tally::default();
    if tally.any(candidates, decode, |tag| matches_tag(expected, tag)) {
        return Ok(());
    }
    Err(tally.error(header, reasons))
}

/// What a search through the candidate signatures met, to say why none matched.
#[derive(Default)]
struct Tally {
    /// There was at least one candidate.
    seen: bool,
    /// At least one candidate decoded.
    decoded: bool,
}

impl Tally {
    /// Whether any candidate decodes to a signature that `matches`.
    fn any<'a, T>(
        &mut self,
        candidates: impl Iterator<Item = &'a str>,
        decode: impl Fn(&str) -> Option<T>,
        matches: impl Fn(&T) -> bool,
    ) -> bool {
        for candidate in candidates {
            self.seen = true;
            let Some(signature) = decode(candidate) else {
                continue;
            };
            self.decoded = true;
            if matches(&signature) {
                return true;
            }
        }
        false
    }

    fn error(&self, header: &str, reasons: Reasons) -> VerifyError {
        match (self.seen, self.decoded) {
            (false, _) => malformed(header, reasons.none),
            (true, false) => malformed(header, reasons.undecodable),
            (true, true) => VerifyError::NoMatchingSignature,
        }
    }
}
