//! API keys: random, shown once, stored only as a SHA-256 hash. A key carries 256 bits of
//! randomness, so a fast hash is enough (no password-hashing work factor is needed) and lets
//! every request be authenticated with one indexed lookup.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of the generated admin key.
pub const ADMIN_PREFIX: &str = "hra_";
/// Prefix of tenant keys.
pub const TENANT_PREFIX: &str = "hrk_";

/// A new key: `prefix` + 43 characters of base64url randomness.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a key.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compares two hashes without an early exit.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hash_stably() {
        let a = generate(TENANT_PREFIX);
        let b = generate(TENANT_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("hrk_") && a.len() == 4 + 43);
        assert!(hashes_equal(&hash(&a), &hash(&a)));
        assert!(!hashes_equal(&hash(&a), &hash(&b)));
    }
}
