//! A webhook's secret as the API takes and shows it: checked against the webhook's signature
//! scheme (a shared secret for the HMAC schemes, an Ed25519 private key for `v1a`), generated
//! when none is given, and for `v1a` shown only as its public key.

use hookrelay_signature::{
    Scheme, Secret, SecretKind, generate_secret_string, generate_signing_key_string,
};
use rand::RngCore;

use super::ApiError;
use crate::model::SignatureConfig;

/// The `whpk_` public key of a stored `whsk_` private key.
pub(crate) fn public_key(private_key: &str) -> Option<String> {
    Secret::new(&Scheme::StandardWebhooks, private_key)
        .ok()
        .and_then(|key| key.public_key())
}

pub(super) fn check_secret(secret: &str, signature: &SignatureConfig) -> Result<(), ApiError> {
    // An HMAC scheme takes any text as its key, but PostgreSQL stores none with a NUL.
    crate::model::check_text(secret, "secret")?;
    if secret.chars().count() > 512 {
        return Err(ApiError::invalid(
            "secret",
            "must be at most 512 characters",
        ));
    }
    let kind = Secret::new(&signature.scheme(), secret)
        .map(|key| key.kind())
        .map_err(|e| {
            ApiError::invalid(
                "secret",
                format!(
                    "is not valid for the {} scheme: {e}",
                    scheme_name(signature)
                ),
            )
        })?;
    // The crate reads whsec_ and whsk_ under one scheme; a webhook holds the kind its own
    // scheme names, so that a private key is never shown as a `secret`, nor a shared secret
    // taken for a key pair.
    match (signature.is_asymmetric(), kind) {
        (true, SecretKind::Ed25519Private) | (false, SecretKind::Hmac) => Ok(()),
        (true, _) => Err(ApiError::invalid(
            "secret",
            "the standard-webhooks-v1a scheme takes an Ed25519 private key: \"whsk_\" followed by \
             the base64 of its 32 bytes (or omit it to have a key pair generated)",
        )),
        (false, _) => Err(ApiError::invalid(
            "secret",
            format!(
                "the {} scheme takes a shared secret, not an Ed25519 key; for Ed25519 use the \
                 standard-webhooks-v1a scheme",
                scheme_name(signature)
            ),
        )),
    }
}

pub(super) fn scheme_name(signature: &SignatureConfig) -> &'static str {
    match signature {
        SignatureConfig::StandardWebhooks => "standard-webhooks",
        SignatureConfig::StandardWebhooksV1a => "standard-webhooks-v1a",
        SignatureConfig::HmacSha256 { .. } => "hmac-sha256",
        SignatureConfig::TimestampedKey { .. } => "timestamped-key",
    }
}

/// A new random secret for `signature`: `whsec_` + base64 of 24 random bytes, or for
/// `standard-webhooks-v1a` an Ed25519 private key, `whsk_` + base64 of a random 32-byte seed.
pub fn new_secret(signature: &SignatureConfig) -> String {
    if signature.is_asymmetric() {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        return generate_signing_key_string(&seed);
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    generate_secret_string(&bytes)
}
