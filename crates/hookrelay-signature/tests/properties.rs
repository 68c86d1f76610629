//! Property tests: sign then verify holds for every scheme, and any tampering fails.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hookrelay_signature::{
    Encoding, Scheme, Secret, SignedHeaders, VerifyError, VerifyOptions, WEBHOOK_ID,
    WEBHOOK_TIMESTAMP, sign, verify,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;

/// Failures persist to `proptest-regressions/properties.txt` (relative to the crate root, where
/// `cargo test` runs); commit that file if it appears.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// The schemes whose signature covers a timestamp.
fn timestamped_scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::StandardWebhooks),
        Just(Scheme::TimestampedKey {
            header: "Mave-Signature".into()
        }),
    ]
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::StandardWebhooks),
        (
            prop_oneof![
                Just("X-Mavio-Signature"),
                Just("X-MG-Signature"),
                Just("x-sig")
            ],
            prop_oneof![Just(Encoding::Hex), Just(Encoding::Base64)],
            prop_oneof![Just(""), Just("sha256="), Just("v1=")],
        )
            .prop_map(|(header, encoding, prefix)| Scheme::HmacSha256 {
                header: header.into(),
                encoding,
                prefix: prefix.into(),
            }),
        Just(Scheme::TimestampedKey {
            header: "Mave-Signature".into()
        }),
    ]
}

/// Key material for a secret: raw bytes for Standard Webhooks (written as `whsec_` base64),
/// a non-empty string for the other schemes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyMaterial {
    bytes: Vec<u8>,
    text: String,
}

fn key_material() -> impl Strategy<Value = KeyMaterial> {
    (prop::collection::vec(any::<u8>(), 1..80), "\\PC{1,80}")
        .prop_map(|(bytes, text)| KeyMaterial { bytes, text })
}

fn secret(scheme: &Scheme, key: &KeyMaterial) -> Secret {
    let text = match scheme {
        Scheme::StandardWebhooks => format!("whsec_{}", STANDARD.encode(&key.bytes)),
        _ => key.text.clone(),
    };
    match Secret::new(scheme, &text) {
        Ok(secret) => secret,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn same_key(scheme: &Scheme, a: &KeyMaterial, b: &KeyMaterial) -> bool {
    match scheme {
        Scheme::StandardWebhooks => a.bytes == b.bytes,
        _ => a.text == b.text,
    }
}

fn timestamp() -> impl Strategy<Value = i64> {
    -1_000_000_000_000i64..1_000_000_000_000
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

fn msg_id() -> impl Strategy<Value = String> {
    "\\PC{0,40}"
}

fn pairs(headers: &SignedHeaders) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn carries_timestamp(scheme: &Scheme) -> bool {
    !matches!(scheme, Scheme::HmacSha256 { .. })
}

/// The signed headers with the timestamp rewritten to `to` (signature unchanged).
fn retimed(scheme: &Scheme, headers: &SignedHeaders, from: i64, to: i64) -> Vec<(String, String)> {
    let mut out = pairs(headers);
    for (name, value) in &mut out {
        match scheme {
            Scheme::StandardWebhooks if name == WEBHOOK_TIMESTAMP => *value = to.to_string(),
            Scheme::TimestampedKey { .. } => {
                *value = value.replacen(&format!("t={from},"), &format!("t={to},"), 1);
            }
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sign_then_verify_holds(
        scheme in scheme(), key in key_material(), id in msg_id(), ts in timestamp(), body in body(),
        skew in -300i64..=300,
    ) {
        let secrets = [secret(&scheme, &key)];
        let headers = sign(&scheme, &secrets, &id, ts, &body);
        let verified = verify(&scheme, &secrets, &headers, &body, &VerifyOptions::at(ts + skew));
        let verified = match verified {
            Ok(v) => v,
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let expected_id = matches!(scheme, Scheme::StandardWebhooks).then_some(id);
        prop_assert_eq!(verified.msg_id, expected_id);
        prop_assert_eq!(verified.timestamp, carries_timestamp(&scheme).then_some(ts));
        // Owned header pairs work the same as SignedHeaders.
        prop_assert!(verify(&scheme, &secrets, &pairs(&headers), &body, &VerifyOptions::at(ts)).is_ok());
    }

    #[test]
    fn changed_body_byte_fails(
        scheme in scheme(), key in key_material(), ts in timestamp(), body in body(),
        at in any::<Index>(), flip in 1u8..=255,
    ) {
        let secrets = [secret(&scheme, &key)];
        let headers = sign(&scheme, &secrets, "msg_1", ts, &body);
        let mut tampered = body.clone();
        if tampered.is_empty() {
            tampered.push(flip);
        } else {
            let i = at.index(tampered.len());
            tampered[i] ^= flip;
        }
        let result = verify(&scheme, &secrets, &headers, &tampered, &VerifyOptions::at(ts));
        prop_assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn changed_msg_id_fails(key in key_material(), id in msg_id(), other in msg_id(), ts in timestamp(), body in body()) {
        prop_assume!(id != other);
        let scheme = Scheme::StandardWebhooks;
        let secrets = [secret(&scheme, &key)];
        let headers = sign(&scheme, &secrets, &id, ts, &body);
        let mut tampered = pairs(&headers);
        for (name, value) in &mut tampered {
            if name == WEBHOOK_ID {
                value.clone_from(&other);
            }
        }
        let result = verify(&scheme, &secrets, &tampered, &body, &VerifyOptions::at(ts));
        prop_assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn changed_timestamp_fails(
        scheme in timestamped_scheme(), key in key_material(), ts in timestamp(), body in body(),
        delta in 1i64..=300, later in any::<bool>(),
    ) {
        let secrets = [secret(&scheme, &key)];
        let headers = sign(&scheme, &secrets, "msg_1", ts, &body);
        let other = if later { ts + delta } else { ts - delta };
        let tampered = retimed(&scheme, &headers, ts, other);
        prop_assert_ne!(&tampered, &pairs(&headers));
        // Within tolerance, so only the signature can reject it.
        let result = verify(&scheme, &secrets, &tampered, &body, &VerifyOptions::at(ts));
        prop_assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn wrong_secret_fails(
        scheme in scheme(), key in key_material(), wrong in key_material(), id in msg_id(),
        ts in timestamp(), body in body(),
    ) {
        prop_assume!(!same_key(&scheme, &key, &wrong));
        let headers = sign(&scheme, &[secret(&scheme, &key)], &id, ts, &body);
        let result = verify(&scheme, &[secret(&scheme, &wrong)], &headers, &body, &VerifyOptions::at(ts));
        prop_assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn rotated_secrets_each_verify(
        key_a in key_material(), key_b in key_material(), ts in timestamp(), body in body(),
    ) {
        let scheme = Scheme::StandardWebhooks;
        let (a, b) = (secret(&scheme, &key_a), secret(&scheme, &key_b));
        let headers = sign(&scheme, &[a.clone(), b.clone()], "msg_1", ts, &body);
        for one in [a, b] {
            prop_assert!(verify(&scheme, &[one], &headers, &body, &VerifyOptions::at(ts)).is_ok());
        }
    }

    #[test]
    fn stale_or_future_timestamp_fails(
        scheme in scheme(), key in key_material(), ts in timestamp(), body in body(),
        tolerance in 0u64..100_000, beyond in 1i64..1_000_000, past in any::<bool>(),
    ) {
        let secrets = [secret(&scheme, &key)];
        let headers = sign(&scheme, &secrets, "msg_1", ts, &body);
        let distance = i64::try_from(tolerance).unwrap_or(i64::MAX) + beyond;
        let now = if past { ts + distance } else { ts - distance };
        let opts = VerifyOptions::at(now).with_tolerance(Duration::from_secs(tolerance));
        let result = verify(&scheme, &secrets, &headers, &body, &opts);
        if carries_timestamp(&scheme) {
            prop_assert_eq!(result, Err(VerifyError::TimestampOutOfTolerance { timestamp: ts, now }));
            prop_assert!(verify(&scheme, &secrets, &headers, &body, &opts.without_timestamp_check()).is_ok());
        } else {
            prop_assert!(result.is_ok());
        }
    }

    #[test]
    fn verify_never_panics_on_arbitrary_headers(
        scheme in scheme(), key in key_material(),
        headers in prop::collection::vec(
            (
                prop_oneof![
                    Just("webhook-id".to_owned()), Just("webhook-timestamp".to_owned()),
                    Just("webhook-signature".to_owned()), Just("X-Mavio-Signature".to_owned()),
                    Just("x-mg-signature".to_owned()), Just("x-sig".to_owned()),
                    Just("Mave-Signature".to_owned()), "\\PC{0,20}",
                ],
                prop_oneof![
                    ".*",
                    "(v1,|v2,|t=|v1=|sha256=| |,|-|=|[0-9]{1,25}|[0-9a-fA-F]{1,70}|[A-Za-z0-9+/]{1,50}|\\PC)*",
                ],
            ),
            0..6,
        ),
        body in body(), now in any::<i64>(), tolerance in any::<Option<u64>>(),
    ) {
        let secrets = [secret(&scheme, &key)];
        let opts = VerifyOptions { tolerance: tolerance.map(Duration::from_secs), now };
        // Must return (Ok or Err) without panicking; rendering the error must not panic either.
        if let Err(e) = verify(&scheme, &secrets, &headers, &body, &opts) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn secret_parsing_never_panics(s in ".*", scheme in scheme()) {
        if let Err(e) = Secret::new(&scheme, &s) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
