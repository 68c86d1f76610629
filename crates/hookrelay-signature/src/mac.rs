//! The HMAC-SHA256 computations behind every scheme, shared by signing and verification.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Length in bytes of an HMAC-SHA256 tag.
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 tag.
pub(crate) type Tag = [u8; TAG_LEN];

/// SHA-256 block size: HMAC keys up to this length are used as-is, longer ones are hashed.
const BLOCK_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

fn keyed(key: &[u8]) -> HmacSha256 {
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn finish(mac: HmacSha256) -> Tag {
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of the raw body.
pub(crate) fn body(key: &[u8], body: &[u8]) -> Tag {
    let mut mac = keyed(key);
    mac.update(body);
    finish(mac)
}

/// Standard Webhooks: HMAC-SHA256 over `"<id>.<timestamp>.<body>"`, fed in pieces.
pub(crate) fn standard_webhooks(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Tag {
    let mut mac = keyed(key);
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    finish(mac)
}

/// HMAC-SHA256 of the raw body keyed with `"<timestamp>.<secret>"`, without allocating the key:
/// per RFC 2104 a key longer than a block is replaced by its hash, which we stream.
pub(crate) fn timestamped_key(timestamp: &str, secret: &[u8], body: &[u8]) -> Tag {
    let parts: [&[u8]; 3] = [timestamp.as_bytes(), b".", secret];
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut mac = if len <= BLOCK_LEN {
        let mut key = [0u8; BLOCK_LEN];
        let mut at = 0;
        for part in parts {
            key[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        keyed(&key[..len])
    } else {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update(part);
        }
        keyed(&hash.finalize())
    };
    mac.update(body);
    finish(mac)
}

/// Appends `tag` as lowercase hex.
pub(crate) fn push_hex(out: &mut String, tag: &Tag) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in tag {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamped_key_matches_naive_key_at_every_length() {
        let body = b"{\"id\":1}";
        for secret_len in 0..100 {
            let secret = vec![b'k'; secret_len];
            let naive_key = [b"1700000000.".as_slice(), &secret].concat();
            assert_eq!(
                timestamped_key("1700000000", &secret, body),
                super::body(&naive_key, body),
                "secret length {secret_len}"
            );
        }
    }

    #[test]
    fn hex_is_lowercase() {
        let mut tag = [0u8; TAG_LEN];
        tag[0] = 0xAB;
        tag[31] = 0x0F;
        let mut s = String::new();
        push_hex(&mut s, &tag);
        assert_eq!(s.len(), 64);
        assert!(s.starts_with("ab00"));
        assert!(s.ends_with("000f"));
    }
}
