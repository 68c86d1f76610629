//! Standard Webhooks asymmetric signatures (`v1a`, Ed25519): what the specification says of
//! them, and properties of signing and verifying.
//!
//! The specification ("Signature scheme"): the signed content is `{msg_id}.{timestamp}.{payload}`,
//! as for `v1`; the scheme is `ed25519` with a standard key pair; keys are base64, prefixed
//! `whsk_` (secret key) and `whpk_` (public key); signatures are `v1a,<base64>`, in the same
//! space-separated `webhook-signature` header as `v1` signatures. Consumers verify with the
//! `whpk_` key only.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hookrelay_signature::{
    Scheme, Secret, SecretError, SecretKind, VerifyError, VerifyOptions, WEBHOOK_ID,
    WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, generate_signing_key_string, sign, verify,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: i64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/asymmetric.txt",
        ))),
        // Each case signs and verifies; fewer than the default 256 keep the test at seconds.
        cases: 64,
        ..ProptestConfig::default()
    }
}

fn key(text: &str) -> Secret {
    Secret::new(&Scheme::StandardWebhooks, text).expect("a valid key")
}

/// A private key from a seed, and its public key.
fn pair(seed: [u8; 32]) -> (Secret, Secret) {
    let private = key(&generate_signing_key_string(&seed));
    let public = key(&private
        .public_key()
        .expect("an Ed25519 key has a public key"));
    (private, public)
}

fn headers(signature: &str, id: &str, timestamp: i64) -> Vec<(String, String)> {
    vec![
        (WEBHOOK_ID.to_owned(), id.to_owned()),
        (WEBHOOK_TIMESTAMP.to_owned(), timestamp.to_string()),
        (WEBHOOK_SIGNATURE.to_owned(), signature.to_owned()),
    ]
}

fn check(
    keys: &[Secret],
    signature: &str,
    id: &str,
    ts: i64,
    body: &[u8],
) -> Result<(), VerifyError> {
    let opts = VerifyOptions::at(ts);
    verify(
        &Scheme::StandardWebhooks,
        keys,
        &headers(signature, id, ts),
        body,
        &opts,
    )
    .map(|_| ())
}

fn signature(keys: &[Secret], id: &str, ts: i64, body: &[u8]) -> String {
    let signed = sign(&Scheme::StandardWebhooks, keys, id, ts, body);
    signed.get(WEBHOOK_SIGNATURE).unwrap_or_default().to_owned()
}

#[test]
fn keys_are_typed_by_their_prefix() {
    let (private, public) = pair([1; 32]);
    assert_eq!(private.kind(), SecretKind::Ed25519Private);
    assert_eq!(public.kind(), SecretKind::Ed25519Public);
    assert_eq!(key("whsec_aGVsbG8=").kind(), SecretKind::Hmac);
    assert_eq!(key("whsec_aGVsbG8=").public_key(), None);
    let text = public.public_key().unwrap_or_default();
    assert!(text.starts_with("whpk_"), "{text}");
    // base64 of exactly 32 raw bytes.
    assert_eq!(STANDARD.decode(&text[5..]).map(|b| b.len()), Ok(32));
    assert_eq!(private.public_key(), public.public_key());
    for bad in [
        "whsk_",
        "whsk_aGVsbG8=",
        "whpk_aGVsbG8=",
        "whpk_%%%",
        "whsk_ab cd",
    ] {
        assert_eq!(
            Secret::new(&Scheme::StandardWebhooks, bad).err(),
            Some(SecretError::InvalidKey),
            "{bad}"
        );
    }
    let shown = format!("{private:?}");
    assert!(shown.contains("redacted"), "{shown}");
}

/// RFC 8032, test 1 (section 7.1): the seed's public key and its signature of the empty message.
/// Pins that `whsk_` holds the RFC's private key and `whpk_` the RFC's public key.
#[test]
fn keys_are_those_of_rfc_8032() {
    let seed: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .expect("hex")
            .try_into()
            .expect("32 bytes");
    let public = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        .expect("hex");
    let (private, _) = pair(seed);
    assert_eq!(
        private.public_key(),
        Some(format!("whpk_{}", STANDARD.encode(&public)))
    );
}

#[test]
fn a_delivery_signed_with_the_private_key_verifies_with_the_public_key() {
    let (private, public) = pair([2; 32]);
    let sig = signature(std::slice::from_ref(&private), ID, TS, BODY);
    assert!(sig.starts_with("v1a,"), "{sig}");
    assert_eq!(STANDARD.decode(&sig[4..]).map(|b| b.len()), Ok(64));
    // Ed25519 is deterministic: the same input signs the same.
    assert_eq!(sig, signature(std::slice::from_ref(&private), ID, TS, BODY));
    assert_eq!(check(&[public], &sig, ID, TS, BODY), Ok(()));
    // The private key verifies too (it knows its public key).
    assert_eq!(check(&[private], &sig, ID, TS, BODY), Ok(()));
}

#[test]
fn a_public_key_signs_nothing() {
    let (_, public) = pair([3; 32]);
    assert_eq!(signature(&[public], ID, TS, BODY), "");
}

#[test]
fn rotation_and_mixed_signatures() {
    let (old, old_public) = pair([4; 32]);
    let (new, new_public) = pair([5; 32]);
    let hmac = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let both = signature(&[new.clone(), old.clone()], ID, TS, BODY);
    let entries: Vec<&str> = both.split(' ').collect();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.starts_with("v1a,")));
    // Either public key alone accepts the delivery; each signature is its own key's.
    assert_eq!(
        check(std::slice::from_ref(&old_public), &both, ID, TS, BODY),
        Ok(())
    );
    assert_eq!(
        check(std::slice::from_ref(&new_public), &both, ID, TS, BODY),
        Ok(())
    );
    assert_eq!(
        check(std::slice::from_ref(&old_public), entries[0], ID, TS, BODY),
        Err(VerifyError::NoMatchingSignature)
    );
    assert_eq!(
        check(std::slice::from_ref(&new_public), entries[0], ID, TS, BODY),
        Ok(())
    );
    // v1 and v1a side by side: each receiver checks the entries its keys can.
    let mixed = signature(&[hmac.clone(), new], ID, TS, BODY);
    assert!(
        mixed.starts_with("v1,") && mixed.contains(" v1a,"),
        "{mixed}"
    );
    assert_eq!(
        check(std::slice::from_ref(&hmac), &mixed, ID, TS, BODY),
        Ok(())
    );
    assert_eq!(
        check(std::slice::from_ref(&new_public), &mixed, ID, TS, BODY),
        Ok(())
    );
    assert_eq!(
        check(&[hmac.clone(), old_public.clone()], &mixed, ID, TS, BODY),
        Ok(())
    );
    // An unknown key among known ones does not matter; only unknown keys fail.
    assert_eq!(
        check(&[old_public], &mixed, ID, TS, BODY),
        Err(VerifyError::NoMatchingSignature)
    );
}

#[test]
fn unusable_headers_say_what_is_missing() {
    let (_, public) = pair([6; 32]);
    let malformed = |reason| VerifyError::MalformedHeader {
        header: WEBHOOK_SIGNATURE.to_owned(),
        reason,
    };
    let hmac_only = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert_eq!(
        check(std::slice::from_ref(&public), hmac_only, ID, TS, BODY),
        Err(malformed("no `v1a,<base64>` signature"))
    );
    assert_eq!(
        check(
            std::slice::from_ref(&public),
            "v1a,bm90IGEgc2lnbmF0dXJl v1a,%%",
            ID,
            TS,
            BODY
        ),
        Err(malformed(
            "no v1a signature is the base64 of a 64-byte Ed25519 signature"
        ))
    );
    let hmac = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_eq!(
        check(&[hmac, public], "v2,abc", ID, TS, BODY),
        Err(malformed("no `v1,<base64>` or `v1a,<base64>` signature"))
    );
}

#[test]
fn a_stale_timestamp_fails_before_the_signature_is_checked() {
    let (private, public) = pair([7; 32]);
    let sig = signature(&[private], ID, TS, BODY);
    let opts = VerifyOptions::at(TS + 301);
    assert_eq!(
        verify(
            &Scheme::StandardWebhooks,
            &[public],
            &headers(&sig, ID, TS),
            BODY,
            &opts
        ),
        Err(VerifyError::TimestampOutOfTolerance {
            timestamp: TS,
            now: TS + 301
        })
    );
}

/// A 64-byte signature with every bit flipped in turn never verifies: a strict check that
/// also refuses non-canonical encodings of the same signature.
#[test]
fn every_flipped_bit_of_a_signature_fails() {
    let (private, public) = pair([8; 32]);
    let sig = signature(&[private], ID, TS, BODY);
    let raw = STANDARD.decode(&sig[4..]).expect("base64");
    for bit in 0..raw.len() * 8 {
        let mut flipped = raw.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let tampered = format!("v1a,{}", STANDARD.encode(&flipped));
        assert_eq!(
            check(std::slice::from_ref(&public), &tampered, ID, TS, BODY),
            Err(VerifyError::NoMatchingSignature),
            "bit {bit}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn signed_then_verified(
        seed in any::<[u8; 32]>(),
        id in "[a-zA-Z0-9_]{1,40}",
        ts in 0i64..4_000_000_000,
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let (private, public) = pair(seed);
        let sig = signature(&[private], &id, ts, &body);
        prop_assert_eq!(check(&[public], &sig, &id, ts, &body), Ok(()));
    }

    #[test]
    fn tampering_with_anything_signed_fails(
        seed in any::<[u8; 32]>(),
        other_seed in any::<[u8; 32]>(),
        body in proptest::collection::vec(any::<u8>(), 1..200),
        at in any::<prop::sample::Index>(),
        what in 0..5usize,
    ) {
        prop_assume!(seed != other_seed);
        let (private, public) = pair(seed);
        let sig = signature(&[private], ID, TS, &body);
        let (keys, sig, id, ts, body) = match what {
            // Another key.
            0 => (vec![pair(other_seed).1], sig, ID.to_owned(), TS, body),
            // Another id.
            1 => (vec![public], sig, format!("{ID}x"), TS, body),
            // Another timestamp (within the tolerance).
            2 => (vec![public], sig, ID.to_owned(), TS + 1, body),
            // A changed byte of the body.
            3 => {
                let mut body = body;
                let i = at.index(body.len());
                body[i] ^= 0x01;
                (vec![public], sig, ID.to_owned(), TS, body)
            }
            // Another signature: the same content signed by another key.
            _ => {
                let forged = signature(&[pair(other_seed).0], ID, TS, &body);
                (vec![public], forged, ID.to_owned(), TS, body)
            }
        };
        let opts = VerifyOptions::at(TS);
        prop_assert_eq!(
            verify(&Scheme::StandardWebhooks, &keys, &headers(&sig, &id, ts), &body, &opts),
            Err(VerifyError::NoMatchingSignature)
        );
    }
}
