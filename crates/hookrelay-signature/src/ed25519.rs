//! Standard Webhooks asymmetric signatures (`v1a`): Ed25519 over `"<id>.<timestamp>.<body>"`.
//!
//! Keys are written as the specification serializes them: `whsk_` followed by the base64 of the
//! private key, `whpk_` followed by the base64 of the 32-byte public key. A private key is the
//! 32-byte seed of RFC 8032; the 64-byte form (seed then public key) that libsodium, Go and svix
//! write is read too, and its public half must match the seed's. A public key alone can verify
//! but not sign, which is the point of the scheme: receivers never hold anything secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SIGNATURE_LENGTH, Signature, Signer as _, SigningKey, VerifyingKey};

use crate::SecretError;
use crate::secret::LENIENT_BASE64;

/// Prefix of Standard Webhooks private (secret) keys.
pub(crate) const SECRET_KEY_PREFIX: &str = "whsk_";
/// Prefix of Standard Webhooks public keys.
pub(crate) const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// An Ed25519 key: a private key (which also verifies) or a public key alone.
#[derive(Clone)]
pub(crate) enum Key {
    /// Boxed so that a `Secret` stays small; the key is wiped when dropped (`zeroize`).
    Private(Box<SigningKey>),
    Public(VerifyingKey),
}

impl Key {
    /// Parses `whsk_…` or `whpk_…`; `None` when `s` has neither prefix.
    pub(crate) fn parse(s: &str) -> Option<Result<Key, SecretError>> {
        if let Some(encoded) = s.strip_prefix(SECRET_KEY_PREFIX) {
            return Some(parse_private(encoded));
        }
        s.strip_prefix(PUBLIC_KEY_PREFIX).map(parse_public)
    }

    /// Whether this key can sign (it is a private key).
    pub(crate) fn is_private(&self) -> bool {
        matches!(self, Key::Private(_))
    }

    fn verifying_key(&self) -> VerifyingKey {
        match self {
            Key::Private(signing) => signing.verifying_key(),
            Key::Public(verifying) => *verifying,
        }
    }

    /// The public key as `whpk_<base64>`.
    pub(crate) fn public_key_string(&self) -> String {
        let mut s = String::with_capacity(PUBLIC_KEY_PREFIX.len() + 44);
        s.push_str(PUBLIC_KEY_PREFIX);
        STANDARD.encode_string(self.verifying_key().as_bytes(), &mut s);
        s
    }

    /// Appends `v1a,<base64 signature>` of `message`; a public key signs nothing and appends
    /// nothing (returns false).
    pub(crate) fn push_signature(&self, message: &[u8], out: &mut String) -> bool {
        let Key::Private(signing) = self else {
            return false;
        };
        out.push_str("v1a,");
        STANDARD.encode_string(signing.sign(message).to_bytes(), out);
        true
    }

    /// Whether `signature` is this key's signature of `message`. Uses the strict check, which
    /// refuses non-canonical and small-order encodings, so a signature cannot be altered into
    /// another that also verifies. Only public data is involved: nothing here needs to be
    /// constant-time.
    pub(crate) fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.verifying_key()
            .verify_strict(message, signature)
            .is_ok()
    }
}

fn parse_private(encoded: &str) -> Result<Key, SecretError> {
    let bytes = LENIENT_BASE64
        .decode(encoded)
        .map_err(|_| SecretError::InvalidKey)?;
    let (seed, public) = match bytes.len() {
        32 => (&bytes[..], None),
        64 => (&bytes[..32], Some(&bytes[32..])),
        _ => return Err(SecretError::InvalidKey),
    };
    let seed: &[u8; 32] = seed.try_into().map_err(|_| SecretError::InvalidKey)?;
    let signing = SigningKey::from_bytes(seed);
    if public.is_some_and(|public| public != signing.verifying_key().as_bytes()) {
        return Err(SecretError::InvalidKey);
    }
    Ok(Key::Private(Box::new(signing)))
}

fn parse_public(encoded: &str) -> Result<Key, SecretError> {
    let mut bytes = [0u8; 32];
    match LENIENT_BASE64.decode_slice(encoded, &mut bytes) {
        Ok(32) => {}
        _ => return Err(SecretError::InvalidKey),
    }
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| SecretError::InvalidKey)?;
    // A small-order point verifies forged signatures under the lenient check and is never a
    // real key.
    if key.is_weak() {
        return Err(SecretError::InvalidKey);
    }
    Ok(Key::Public(key))
}

/// Decodes a `v1a` entry's base64 into a signature (64 bytes).
pub(crate) fn decode_signature(s: &str, engine: &impl base64::Engine) -> Option<Signature> {
    // One spare byte, so that a longer input fails instead of being cut.
    let mut bytes = [0u8; SIGNATURE_LENGTH + 1];
    match engine.decode_slice(s, &mut bytes) {
        Ok(SIGNATURE_LENGTH) => {
            let exact: &[u8; SIGNATURE_LENGTH] = bytes[..SIGNATURE_LENGTH].try_into().ok()?;
            Some(Signature::from_bytes(exact))
        }
        _ => None,
    }
}

/// The signed content, `"<id>.<timestamp>.<body>"`: Ed25519 hashes the message twice, so it
/// needs it whole rather than in pieces.
pub(crate) fn message(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    message.extend_from_slice(id.as_bytes());
    message.push(b'.');
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    message
}

/// Formats a private key made from fresh random bytes: `"whsk_"` followed by the standard
/// base64 of the 32-byte seed. [`public_key_string`](crate::Secret::public_key) gives its
/// public key.
///
/// The caller supplies the randomness, which must come from a cryptographically secure source.
pub fn generate_signing_key_string(seed: &[u8; 32]) -> String {
    let mut s = String::with_capacity(SECRET_KEY_PREFIX.len() + 44);
    s.push_str(SECRET_KEY_PREFIX);
    STANDARD.encode_string(seed, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(seed: u8) -> Key {
        match Key::parse(&generate_signing_key_string(&[seed; 32])) {
            Some(Ok(key)) => key,
            _ => panic!("a generated key parses"),
        }
    }

    #[test]
    fn only_prefixed_keys_are_ed25519() {
        assert!(Key::parse("whsec_aGVsbG8=").is_none());
        assert!(Key::parse("aGVsbG8=").is_none());
        assert!(matches!(
            Key::parse("whsk_"),
            Some(Err(SecretError::InvalidKey))
        ));
        assert!(matches!(
            Key::parse("whpk_"),
            Some(Err(SecretError::InvalidKey))
        ));
    }

    #[test]
    fn private_keys_read_as_seed_or_seed_and_public_key() {
        let key = private(7);
        assert!(key.is_private());
        let public = key.verifying_key().to_bytes();
        let mut long = [7u8; 64];
        long[32..].copy_from_slice(&public);
        let long = format!("whsk_{}", STANDARD.encode(long));
        assert!(matches!(Key::parse(&long), Some(Ok(Key::Private(_)))));
        // A 64-byte key whose public half is not the seed's.
        let wrong = format!("whsk_{}", STANDARD.encode([7u8; 64]));
        assert!(matches!(
            Key::parse(&wrong),
            Some(Err(SecretError::InvalidKey))
        ));
        for bad in ["whsk_!!", "whsk_aGVsbG8=", "whsk_ whatever"] {
            assert!(
                matches!(Key::parse(bad), Some(Err(SecretError::InvalidKey))),
                "{bad}"
            );
        }
    }

    #[test]
    fn public_keys_round_trip_and_weak_keys_are_refused() {
        let text = private(9).public_key_string();
        assert!(text.starts_with("whpk_") && text.len() == 5 + 44, "{text}");
        let public = Key::parse(&text);
        assert!(matches!(&public, Some(Ok(Key::Public(_)))));
        assert_eq!(
            public.and_then(Result::ok).map(|k| k.public_key_string()),
            Some(text)
        );
        // The identity point has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = format!("whpk_{}", STANDARD.encode(identity));
        assert!(matches!(
            Key::parse(&weak),
            Some(Err(SecretError::InvalidKey))
        ));
        let short = format!("whpk_{}", STANDARD.encode([1u8; 31]));
        assert!(matches!(
            Key::parse(&short),
            Some(Err(SecretError::InvalidKey))
        ));
    }

    #[test]
    fn a_public_key_cannot_sign() {
        let Some(Ok(public)) = Key::parse(&private(3).public_key_string()) else {
            panic!("public key parses");
        };
        let mut out = String::new();
        assert!(!public.push_signature(b"m", &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn signatures_decode_only_at_their_length() {
        let engine = STANDARD;
        assert!(decode_signature(&engine.encode([1u8; 64]), &engine).is_some());
        assert!(decode_signature(&engine.encode([1u8; 63]), &engine).is_none());
        assert!(decode_signature(&engine.encode([1u8; 65]), &engine).is_none());
        assert!(decode_signature("not base64!", &engine).is_none());
    }
}
