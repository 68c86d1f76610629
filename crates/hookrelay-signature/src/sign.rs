//! Signing outgoing deliveries.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::scheme::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use crate::{Encoding, Scheme, Secret, ed25519, mac};

/// Signs one delivery: returns the headers to send with `body`.
///
/// `secrets` may hold several keys during a rotation. [`Scheme::StandardWebhooks`] emits one
/// signature per secret, space-separated, so receivers holding any one of them accept the
/// request: `v1,<base64>` (HMAC-SHA256) for a `whsec_` secret, `v1a,<base64>` (Ed25519) for a
/// `whsk_` private key; a `whpk_` public key signs nothing. The single-signature schemes sign
/// with `secrets[0]` only. If no secret can sign, the signature header is still present but
/// carries no signature, which no receiver accepts.
///
/// `msg_id` is used only by [`Scheme::StandardWebhooks`]; `timestamp` (unix seconds) by
/// [`Scheme::StandardWebhooks`] and [`Scheme::TimestampedKey`].
pub fn sign(
    scheme: &Scheme,
    secrets: &[Secret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> SignedHeaders {
    let inner = match scheme {
        Scheme::StandardWebhooks => {
            let timestamp = timestamp.to_string();
            let mut signature = String::with_capacity(secrets.len() * 93);
            // Built once, and only when an Ed25519 key signs.
            let mut message = None;
            for secret in secrets {
                let separator = signature.len();
                if !signature.is_empty() {
                    signature.push(' ');
                }
                if let Some(key) = secret.mac_key() {
                    signature.push_str("v1,");
                    let tag = mac::standard_webhooks(key, msg_id, &timestamp, body);
                    STANDARD.encode_string(tag, &mut signature);
                } else if let Some(key) = secret.ed25519() {
                    let message =
                        message.get_or_insert_with(|| ed25519::message(msg_id, &timestamp, body));
                    if !key.push_signature(message, &mut signature) {
                        signature.truncate(separator);
                    }
                }
            }
            Inner::StandardWebhooks {
                id: msg_id.to_owned(),
                timestamp,
                signature,
            }
        }
        Scheme::HmacSha256 {
            header,
            encoding,
            prefix,
        } => {
            let mut value = String::with_capacity(prefix.len() + 2 * mac::TAG_LEN);
            if let Some(key) = secrets.first().and_then(Secret::mac_key) {
                value.push_str(prefix);
                let tag = mac::body(key, body);
                match encoding {
                    Encoding::Hex => mac::push_hex(&mut value, &tag),
                    Encoding::Base64 => STANDARD.encode_string(tag, &mut value),
                }
            }
            Inner::Single {
                name: header.clone(),
                value,
            }
        }
        Scheme::TimestampedKey { header } => {
            let mut value = String::with_capacity(2 * mac::TAG_LEN + 20);
            // Writing to a String cannot fail.
            let _ = write!(value, "t={timestamp}");
            if let Some(key) = secrets.first().and_then(Secret::mac_key) {
                let tag = mac::timestamped_key(&value[2..], key, body);
                value.push_str(", v1=");
                mac::push_hex(&mut value, &tag);
            }
            Inner::Single {
                name: header.clone(),
                value,
            }
        }
    };
    SignedHeaders { inner }
}

/// The headers produced by [`sign`], as `(name, value)` pairs.
///
/// [`Scheme::StandardWebhooks`] yields `webhook-id`, `webhook-timestamp` and
/// `webhook-signature`, in that order; the other schemes yield their one header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    inner: Inner,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Inner {
    StandardWebhooks {
        id: String,
        timestamp: String,
        signature: String,
    },
    Single {
        name: String,
        value: String,
    },
}

/// Iterator over the `(name, value)` pairs of [`SignedHeaders`].
#[derive(Debug, Clone)]
pub struct HeadersIter<'a>(std::iter::Take<std::array::IntoIter<(&'a str, &'a str), 3>>);

impl<'a> Iterator for HeadersIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for HeadersIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for HeadersIter<'_> {}

impl SignedHeaders {
    /// The headers as `(name, value)` pairs.
    pub fn iter(&self) -> HeadersIter<'_> {
        let (pairs, len) = match &self.inner {
            Inner::StandardWebhooks {
                id,
                timestamp,
                signature,
            } => (
                [
                    (WEBHOOK_ID, id.as_str()),
                    (WEBHOOK_TIMESTAMP, timestamp.as_str()),
                    (WEBHOOK_SIGNATURE, signature.as_str()),
                ],
                3,
            ),
            Inner::Single { name, value } => {
                ([(name.as_str(), value.as_str()), ("", ""), ("", "")], 1)
            }
        };
        HeadersIter(pairs.into_iter().take(len))
    }

    /// The value of header `name`, compared ASCII case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for &'a SignedHeaders {
    type Item = (&'a str, &'a str);
    type IntoIter = HeadersIter<'a>;

    fn into_iter(self) -> HeadersIter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_secrets_never_panic_and_carry_no_signature() {
        let schemes = [
            Scheme::StandardWebhooks,
            Scheme::HmacSha256 {
                header: "X-Sig".into(),
                encoding: Encoding::Hex,
                prefix: "sha256=".into(),
            },
            Scheme::TimestampedKey {
                header: "Mave-Signature".into(),
            },
        ];
        let signatures: Vec<String> = schemes
            .iter()
            .map(|s| {
                let headers = sign(s, &[], "msg_1", 42, b"{}");
                headers
                    .iter()
                    .next_back()
                    .map(|(_, v)| v.to_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(signatures, ["", "", "t=42"]);
    }

    #[test]
    fn standard_webhooks_headers_in_order_and_case_insensitive_get() {
        let secret = Secret::new(&Scheme::StandardWebhooks, "whsec_aGVsbG8=");
        let secrets: Vec<Secret> = secret.into_iter().collect();
        let headers = sign(&Scheme::StandardWebhooks, &secrets, "msg_1", -5, b"x");
        let names: Vec<&str> = headers.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE]);
        assert_eq!(headers.get("Webhook-Timestamp"), Some("-5"));
        assert_eq!(headers.get("WEBHOOK-ID"), Some("msg_1"));
        assert_eq!(headers.get("x-other"), None);
        assert_eq!((&headers).into_iter().len(), 3);
    }

    #[test]
    fn rotation_emits_one_signature_per_secret() {
        let scheme = Scheme::StandardWebhooks;
        let secrets: Vec<Secret> = ["whsec_aGVsbG8=", "whsec_d29ybGQ="]
            .iter()
            .filter_map(|s| Secret::new(&scheme, s).ok())
            .collect();
        let headers = sign(&scheme, &secrets, "msg_1", 1, b"x");
        let signature = headers.get(WEBHOOK_SIGNATURE).unwrap_or_default();
        let entries: Vec<&str> = signature.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert!(
            entries
                .iter()
                .all(|e| e.starts_with("v1,") && e.len() == 47)
        );
        assert_ne!(entries[0], entries[1]);
    }
}
