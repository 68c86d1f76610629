//! The signature schemes hookrelay can produce and check.

/// Name of the Standard Webhooks message id header.
pub const WEBHOOK_ID: &str = "webhook-id";
/// Name of the Standard Webhooks timestamp header (unix seconds).
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Name of the Standard Webhooks signature header.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// How a raw HMAC is written into a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Lowercase hexadecimal (64 characters for HMAC-SHA256).
    Hex,
    /// Standard base64 with padding (44 characters for HMAC-SHA256).
    Base64,
}

/// A way of signing a webhook request, as a receiver expects it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// [Standard Webhooks](https://www.standardwebhooks.com/): headers `webhook-id`,
    /// `webhook-timestamp` and `webhook-signature` (a space-separated list, any entry may
    /// match) over `"<id>.<timestamp>.<body>"`: `v1,<base64>`, HMAC-SHA256 with the key
    /// `base64-decode(secret without "whsec_")`, or, with an Ed25519 key (`whsk_…` to sign,
    /// `whpk_…` to verify), `v1a,<base64>`, its Ed25519 signature. The key's prefix chooses,
    /// as the specification intends.
    StandardWebhooks,
    /// HMAC-SHA256 of the raw body, keyed with the secret's UTF-8 bytes verbatim, written to
    /// `header` as `prefix` followed by the encoded MAC (e.g. `X-Webhook-Signature: sha256=<hex>`).
    /// Carries no timestamp.
    HmacSha256 {
        /// Header carrying the signature, e.g. `X-Mavio-Signature`.
        header: String,
        /// How the MAC is written.
        encoding: Encoding,
        /// Literal text before the MAC, e.g. `sha256=`; may be empty.
        prefix: String,
    },
    /// A header `t=<unix seconds>, v1=<hex>` (space after the comma), where the MAC is
    /// HMAC-SHA256 of the raw body keyed with the UTF-8 string `"<t>.<secret>"`.
    TimestampedKey {
        /// Header carrying the signature, e.g. `Mave-Signature`.
        header: String,
    },
}
