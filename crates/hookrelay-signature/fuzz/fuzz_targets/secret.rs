//! `Secret::new` on arbitrary strings, for every scheme: never panics, never leaks the key in
//! `Debug`, and every accepted secret signs and verifies (but a `whpk_` public key, which only
//! verifies, signs nothing).

#![no_main]

use arbitrary::Arbitrary;
use hookrelay_signature::{Encoding, Scheme, Secret, SecretKind, VerifyOptions, sign, verify};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    secret: &'a str,
    hmac_prefix: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let schemes = [
        Scheme::StandardWebhooks,
        Scheme::HmacSha256 {
            header: "X-Signature".into(),
            encoding: Encoding::Hex,
            prefix: input.hmac_prefix.into(),
        },
        Scheme::TimestampedKey {
            header: "Mave-Signature".into(),
        },
    ];
    for scheme in &schemes {
        match Secret::new(scheme, input.secret) {
            Ok(secret) => {
                if !matches!(scheme, Scheme::StandardWebhooks) {
                    assert!(!input.secret.is_empty(), "empty secret accepted");
                }
                assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
                let signs = secret.kind() != SecretKind::Ed25519Public;
                let secrets = [secret];
                let headers = sign(scheme, &secrets, "msg_fuzz", 1_700_000_000, b"{}");
                let opts = VerifyOptions::at(1_700_000_000);
                let verified = verify(scheme, &secrets, &headers, b"{}", &opts);
                assert_eq!(verified.is_ok(), signs, "{scheme:?}: {verified:?}");
            }
            Err(e) => {
                let _ = e.to_string();
                if !matches!(scheme, Scheme::StandardWebhooks) {
                    assert!(input.secret.is_empty(), "non-empty secret rejected: {e}");
                }
            }
        }
    }
});
