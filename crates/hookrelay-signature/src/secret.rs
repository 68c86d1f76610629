//! Signing secrets and keys: parsing, generation and redacted display.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

use crate::Scheme;
use crate::ed25519;

/// Prefix of Standard Webhooks secrets.
const WHSEC_PREFIX: &str = "whsec_";

/// Standard base64 that accepts missing padding and non-canonical trailing bits, as the
/// reference Standard Webhooks libraries do.
pub(crate) const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A signing key, ready for use with one [`Scheme`]: an HMAC key, or for Standard Webhooks'
/// asymmetric signatures (`v1a`) an Ed25519 private or public key.
///
/// Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct Secret(Key);

#[derive(Clone)]
pub(crate) enum Key {
    Mac(Box<[u8]>),
    Ed25519(ed25519::Key),
}

/// What kind of key a [`Secret`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretKind {
    /// An HMAC-SHA256 key (`whsec_…` for Standard Webhooks, `v1` signatures).
    Hmac,
    /// An Ed25519 private key (`whsk_…`): signs and verifies `v1a` signatures.
    Ed25519Private,
    /// An Ed25519 public key (`whpk_…`): verifies `v1a` signatures only.
    Ed25519Public,
}

impl Secret {
    /// Parses a secret as configured for `scheme`.
    ///
    /// For [`Scheme::StandardWebhooks`] a string starting with `whsk_` is an Ed25519 private key
    /// and one starting with `whpk_` an Ed25519 public key (base64 of the 32-byte seed, or of
    /// the seed and public key; base64 of the 32-byte public key), which sign or verify `v1a`
    /// signatures; any other string is base64 (standard alphabet, padding optional), with or
    /// without the `whsec_` prefix, and the HMAC key for `v1` signatures is the decoded bytes.
    /// For the other schemes the key is the string's UTF-8 bytes verbatim.
    ///
    /// # Errors
    ///
    /// [`SecretError::Empty`] if the key would be empty, [`SecretError::InvalidBase64`] if a
    /// Standard Webhooks secret is not base64, [`SecretError::InvalidKey`] if a `whsk_` or
    /// `whpk_` key is not an Ed25519 key.
    pub fn new(scheme: &Scheme, s: &str) -> Result<Secret, SecretError> {
        let key = match scheme {
            Scheme::StandardWebhooks => {
                if let Some(key) = ed25519::Key::parse(s) {
                    return key.map(|key| Secret(Key::Ed25519(key)));
                }
                let encoded = s.strip_prefix(WHSEC_PREFIX).unwrap_or(s);
                LENIENT_BASE64
                    .decode(encoded)
                    .map_err(|_| SecretError::InvalidBase64)?
            }
            Scheme::HmacSha256 { .. } | Scheme::TimestampedKey { .. } => s.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Secret(Key::Mac(key.into_boxed_slice())))
    }

    /// What kind of key this is.
    pub fn kind(&self) -> SecretKind {
        match &self.0 {
            Key::Mac(_) => SecretKind::Hmac,
            Key::Ed25519(key) if key.is_private() => SecretKind::Ed25519Private,
            Key::Ed25519(_) => SecretKind::Ed25519Public,
        }
    }

    /// For an Ed25519 key, its public key as `whpk_<base64 of the 32 bytes>`: what a receiver
    /// verifies `v1a` signatures with. `None` for an HMAC key.
    pub fn public_key(&self) -> Option<String> {
        match &self.0 {
            Key::Ed25519(key) => Some(key.public_key_string()),
            Key::Mac(_) => None,
        }
    }

    /// The Ed25519 key, if this is one.
    pub(crate) fn ed25519(&self) -> Option<&ed25519::Key> {
        match &self.0 {
            Key::Ed25519(key) => Some(key),
            Key::Mac(_) => None,
        }
    }

    /// The raw HMAC key, if this is one.
    pub(crate) fn mac_key(&self) -> Option<&[u8]> {
        match &self.0 {
            Key::Mac(key) => Some(key),
            Key::Ed25519(_) => None,
        }
    }

    #[cfg(test)]
    fn key(&self) -> &[u8] {
        self.mac_key().unwrap_or_default()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a string is not a usable [`Secret`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret (after removing any `whsec_` prefix and decoding) is empty.
    Empty,
    /// A Standard Webhooks secret is not valid standard base64.
    InvalidBase64,
    /// A `whsk_` or `whpk_` key is not the base64 of an Ed25519 private or public key.
    InvalidKey,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretError::Empty => "the webhook secret is empty",
            SecretError::InvalidBase64 => {
                "the webhook secret is not valid base64 (expected \"whsec_\" followed by standard base64)"
            }
            SecretError::InvalidKey => {
                "the key is not an Ed25519 key (expected \"whsk_\" followed by the base64 of a 32-byte private key, or \"whpk_\" followed by the base64 of a 32-byte public key)"
            }
        })
    }
}

impl std::error::Error for SecretError {}

/// Formats fresh random bytes as a Standard Webhooks secret: `"whsec_"` followed by their
/// standard base64 (32 characters).
///
/// The caller supplies the randomness, which must come from a cryptographically secure source.
pub fn generate_secret_string(random: &[u8; 24]) -> String {
    let mut s = String::with_capacity(WHSEC_PREFIX.len() + 32);
    s.push_str(WHSEC_PREFIX);
    STANDARD.encode_string(random, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_scheme() -> Scheme {
        Scheme::HmacSha256 {
            header: "X-Sig".into(),
            encoding: crate::Encoding::Hex,
            prefix: String::new(),
        }
    }

    #[test]
    fn standard_webhooks_prefix_and_padding_are_optional() {
        let scheme = Scheme::StandardWebhooks;
        for s in ["whsec_aGVsbG8=", "aGVsbG8=", "whsec_aGVsbG8", "aGVsbG8"] {
            assert_eq!(
                Secret::new(&scheme, s).map(|k| k.key().to_vec()),
                Ok(b"hello".to_vec()),
                "{s}"
            );
        }
    }

    #[test]
    fn standard_webhooks_rejects_bad_or_empty_secrets() {
        let scheme = Scheme::StandardWebhooks;
        assert_eq!(Secret::new(&scheme, "").err(), Some(SecretError::Empty));
        assert_eq!(
            Secret::new(&scheme, "whsec_").err(),
            Some(SecretError::Empty)
        );
        for bad in ["whsec_!!!!", "a", "whsec_ab=c", "ümlaut", "whsec_aGVs bG8="] {
            assert_eq!(
                Secret::new(&scheme, bad).err(),
                Some(SecretError::InvalidBase64),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_schemes_use_bytes_verbatim() {
        let secret = Secret::new(&hmac_scheme(), "whsec_aGVsbG8=").map(|k| k.key().to_vec());
        assert_eq!(secret, Ok(b"whsec_aGVsbG8=".to_vec()));
        assert_eq!(
            Secret::new(&hmac_scheme(), "").err(),
            Some(SecretError::Empty)
        );
        let header = "Mave-Signature".to_owned();
        let timestamped = Scheme::TimestampedKey { header };
        assert_eq!(
            Secret::new(&timestamped, "é").map(|k| k.key().to_vec()),
            Ok("é".as_bytes().to_vec())
        );
    }

    #[test]
    fn debug_does_not_leak() {
        let secret = Secret::new(&hmac_scheme(), "super-secret-value").ok();
        let shown = format!("{secret:?}");
        assert!(!shown.contains("super"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn generated_secret_round_trips() {
        let random = [7u8; 24];
        let s = generate_secret_string(&random);
        assert_eq!(s, "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH");
        let key = Secret::new(&Scheme::StandardWebhooks, &s).map(|k| k.key().to_vec());
        assert_eq!(key, Ok(random.to_vec()));
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            SecretError::Empty.to_string(),
            "the webhook secret is empty"
        );
        assert!(SecretError::InvalidBase64.to_string().contains("base64"));
    }
}
