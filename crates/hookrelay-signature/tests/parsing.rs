//! Edge cases of header parsing in `verify`.

use std::time::Duration;

use hookrelay_signature::{
    Encoding, Scheme, Secret, Verified, VerifyError, VerifyOptions, WEBHOOK_ID, WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP, sign, verify,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: i64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const VALID: &str = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const DECOY: &str = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

fn secrets(scheme: &Scheme, values: &[&str]) -> Vec<Secret> {
    values
        .iter()
        .map(|s| match Secret::new(scheme, s) {
            Ok(secret) => secret,
            Err(e) => panic!("{s:?}: {e}"),
        })
        .collect()
}

fn standard(signature: &str) -> Result<Verified, VerifyError> {
    standard_with(&[
        (WEBHOOK_ID, ID),
        (WEBHOOK_TIMESTAMP, "1614265330"),
        (WEBHOOK_SIGNATURE, signature),
    ])
}

fn standard_with(headers: &[(&str, &str)]) -> Result<Verified, VerifyError> {
    let scheme = Scheme::StandardWebhooks;
    verify(
        &scheme,
        &secrets(&scheme, &[SECRET]),
        &headers,
        BODY,
        &VerifyOptions::at(TS),
    )
}

fn malformed(header: &str, reason: &'static str) -> VerifyError {
    VerifyError::MalformedHeader {
        header: header.to_owned(),
        reason,
    }
}

fn malformed_reason(result: Result<Verified, VerifyError>) -> (String, &'static str) {
    match result {
        Err(VerifyError::MalformedHeader { header, reason }) => (header, reason),
        other => panic!("expected MalformedHeader, got {other:?}"),
    }
}

#[test]
fn standard_valid_signature_among_decoys_and_extra_spaces() {
    let ok = Ok(Verified {
        msg_id: Some(ID.to_owned()),
        timestamp: Some(TS),
    });
    assert_eq!(standard(&format!("v1,{VALID}")), ok);
    assert_eq!(standard(&format!("v1,{DECOY} v1,{DECOY} v1,{VALID}")), ok);
    assert_eq!(standard(&format!("  v1,{DECOY}   v1,{VALID}  ")), ok);
    // Garbage entries do not hide a valid one.
    assert_eq!(standard(&format!("garbage v1,!!! v1,{VALID}")), ok);
    // Padding is optional.
    assert_eq!(standard(&format!("v1,{}", VALID.trim_end_matches('='))), ok);
}

#[test]
fn standard_v2_entries_are_ignored() {
    assert_eq!(
        standard(&format!("v2,{VALID} v1,{VALID}")).map(|v| v.timestamp),
        Ok(Some(TS))
    );
    assert_eq!(
        standard(&format!("v2,{VALID} v1,{DECOY}")),
        Err(VerifyError::NoMatchingSignature)
    );
    // A correct MAC labelled with another version does not count.
    assert_eq!(
        standard(&format!("v2,{VALID} v1a,{VALID} V1,{VALID}")),
        Err(malformed(WEBHOOK_SIGNATURE, "no `v1,<base64>` signature"))
    );
}

#[test]
fn standard_missing_headers_are_named() {
    let sig = format!("v1,{VALID}");
    let all = [
        (WEBHOOK_ID, ID),
        (WEBHOOK_TIMESTAMP, "1614265330"),
        (WEBHOOK_SIGNATURE, sig.as_str()),
    ];
    for missing in [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE] {
        let headers: Vec<(&str, &str)> =
            all.iter().copied().filter(|(n, _)| *n != missing).collect();
        assert_eq!(
            standard_with(&headers),
            Err(VerifyError::MissingHeader(missing.to_owned())),
            "{missing}"
        );
    }
    // Names are matched case-insensitively.
    let upper = [
        ("Webhook-Id", ID),
        ("WEBHOOK-TIMESTAMP", "1614265330"),
        ("Webhook-Signature", sig.as_str()),
    ];
    assert!(standard_with(&upper).is_ok());
}

#[test]
fn standard_malformed_timestamps() {
    let sig = format!("v1,{VALID}");
    for bad in [
        "",
        "abc",
        "1614265330.0",
        "1e9",
        "99999999999999999999999",
        " 1614265330",
        "١٢٣",
    ] {
        let headers = [
            (WEBHOOK_ID, ID),
            (WEBHOOK_TIMESTAMP, bad),
            (WEBHOOK_SIGNATURE, sig.as_str()),
        ];
        assert_eq!(
            standard_with(&headers),
            Err(malformed(
                WEBHOOK_TIMESTAMP,
                "not an integer unix timestamp"
            )),
            "{bad:?}"
        );
    }
}

#[test]
fn standard_malformed_signatures() {
    for bad in ["", " ", "v1", "garbage", "v2"] {
        assert_eq!(
            standard(bad),
            Err(malformed(WEBHOOK_SIGNATURE, "no `v1,<base64>` signature")),
            "{bad:?}"
        );
    }
    // Present but not base64 of 32 bytes: bad characters, too short, too long, empty.
    let long = format!("{VALID}AAAA");
    for bad in [
        "v1,!!!!",
        "v1,aGVsbG8=",
        "v1,",
        &format!("v1,{long}"),
        "v1,ümlaut",
    ] {
        let (header, reason) = malformed_reason(standard(bad));
        assert_eq!(header, WEBHOOK_SIGNATURE);
        assert!(reason.contains("base64"), "{bad:?}: {reason}");
    }
}

#[test]
fn verify_accepts_any_of_several_secrets_and_rejects_none() {
    let scheme = Scheme::StandardWebhooks;
    let headers = [
        (WEBHOOK_ID, ID),
        (WEBHOOK_TIMESTAMP, "1614265330"),
        (WEBHOOK_SIGNATURE, &format!("v1,{VALID}")),
    ];
    let opts = VerifyOptions::at(TS);
    let rotated = secrets(&scheme, &["whsec_aGVsbG8=", SECRET]);
    assert!(verify(&scheme, &rotated, &headers, BODY, &opts).is_ok());
    assert_eq!(
        verify(&scheme, &[], &headers, BODY, &opts),
        Err(VerifyError::NoMatchingSignature)
    );
}

fn mavio() -> Scheme {
    Scheme::HmacSha256 {
        header: "X-Webhook-Signature".into(),
        encoding: Encoding::Hex,
        prefix: "sha256=".into(),
    }
}

fn hmac_verify(headers: &[(&str, &str)]) -> Result<Verified, VerifyError> {
    let scheme = mavio();
    verify(
        &scheme,
        &secrets(&scheme, &["s3cret"]),
        &headers,
        BODY,
        &VerifyOptions::at(0),
    )
}

#[test]
fn hmac_sha256_parsing() {
    let scheme = mavio();
    let signed = sign(&scheme, &secrets(&scheme, &["s3cret"]), "", 0, BODY);
    let value = signed
        .get("x-webhook-signature")
        .unwrap_or_default()
        .to_owned();
    let ok = Ok(Verified {
        msg_id: None,
        timestamp: None,
    });
    assert_eq!(hmac_verify(&[("X-Webhook-Signature", &value)]), ok);
    assert_eq!(
        hmac_verify(&[(
            "x-webhook-signature",
            &value.to_uppercase().replace("SHA256=", "sha256=")
        )]),
        ok
    );
    assert_eq!(
        hmac_verify(&[("Other", &value)]),
        Err(VerifyError::MissingHeader("X-Webhook-Signature".to_owned()))
    );
    let hex = &value["sha256=".len()..];
    let (header, reason) = malformed_reason(hmac_verify(&[("X-Webhook-Signature", hex)]));
    assert_eq!(
        (header.as_str(), reason),
        (
            "X-Webhook-Signature",
            "does not start with the configured prefix"
        )
    );
    for bad in [
        "sha256=",
        "sha256=abc",
        &value[..value.len() - 1],
        &format!("{value}00"),
        "sha256=zz",
        "sha256=é",
    ] {
        let (_, reason) = malformed_reason(hmac_verify(&[("X-Webhook-Signature", bad)]));
        assert_eq!(reason, "not the hex of a 32-byte HMAC-SHA256", "{bad:?}");
    }
    let wrong = format!("sha256={}", "0".repeat(64));
    assert_eq!(
        hmac_verify(&[("X-Webhook-Signature", &wrong)]),
        Err(VerifyError::NoMatchingSignature)
    );
}

fn mave() -> Scheme {
    Scheme::TimestampedKey {
        header: "Mave-Signature".into(),
    }
}

fn mave_verify(value: &str, opts: &VerifyOptions) -> Result<Verified, VerifyError> {
    let scheme = mave();
    verify(
        &scheme,
        &secrets(&scheme, &["mave"]),
        &[("Mave-Signature", value)],
        BODY,
        opts,
    )
}

fn mave_v1(t: i64) -> String {
    let scheme = mave();
    let signed = sign(&scheme, &secrets(&scheme, &["mave"]), "", t, BODY);
    let value = signed.get("Mave-Signature").unwrap_or_default();
    value
        .split_once("v1=")
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

#[test]
fn timestamped_key_parsing() {
    let t = 1_700_000_000;
    let v1 = mave_v1(t);
    let opts = VerifyOptions::at(t);
    let ok = Ok(Verified {
        msg_id: None,
        timestamp: Some(t),
    });
    assert_eq!(mave_verify(&format!("t={t}, v1={v1}"), &opts), ok);
    assert_eq!(mave_verify(&format!("t={t},v1={v1}"), &opts), ok);
    assert_eq!(
        mave_verify(
            &format!("v1={}, t={t}, v0=ab, v1={v1}", "1".repeat(64)),
            &opts
        ),
        ok
    );
    assert_eq!(mave_verify(&format!(" t={t} ,  junk, v1={v1} "), &opts), ok);

    let cases: [(String, &str); 7] = [
        (format!("v1={v1}"), "no `t=<unix timestamp>` field"),
        (format!("t={t}, t={t}, v1={v1}"), "more than one `t=` field"),
        (
            format!("t=abc, v1={v1}"),
            "`t=` is not an integer unix timestamp",
        ),
        (
            format!("t=, v1={v1}"),
            "`t=` is not an integer unix timestamp",
        ),
        (
            format!("t=99999999999999999999, v1={v1}"),
            "`t=` is not an integer unix timestamp",
        ),
        (format!("t={t}, v0={v1}"), "no `v1=<hex>` signature"),
        (
            format!("t={t}, v1={}", &v1[1..]),
            "no v1 signature is the hex of a 32-byte HMAC-SHA256",
        ),
    ];
    for (value, want) in cases {
        let (header, got) = malformed_reason(mave_verify(&value, &opts));
        assert_eq!(
            (header.as_str(), got),
            ("Mave-Signature", want),
            "{value:?}"
        );
    }
    assert_eq!(
        mave_verify(
            &format!("t={}, v1={v1}", t + 1),
            &opts.without_timestamp_check()
        ),
        Err(VerifyError::NoMatchingSignature)
    );
}

#[test]
fn timestamped_key_tolerance() {
    let t = 1_700_000_000;
    let value = format!("t={t}, v1={}", mave_v1(t));
    let stale = VerifyOptions::at(t + 61).with_tolerance(Duration::from_secs(60));
    assert_eq!(
        mave_verify(&value, &stale),
        Err(VerifyError::TimestampOutOfTolerance {
            timestamp: t,
            now: t + 61
        })
    );
    assert!(
        mave_verify(
            &value,
            &VerifyOptions::at(t + 60).with_tolerance(Duration::from_secs(60))
        )
        .is_ok()
    );
    assert!(mave_verify(&value, &stale.without_timestamp_check()).is_ok());
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let t = i64::MIN;
    let value = format!("t={t}, v1={}", mave_v1(t));
    let result = mave_verify(&value, &VerifyOptions::at(i64::MAX));
    assert_eq!(
        result,
        Err(VerifyError::TimestampOutOfTolerance {
            timestamp: t,
            now: i64::MAX
        })
    );
    assert!(
        mave_verify(
            &value,
            &VerifyOptions::at(i64::MAX).without_timestamp_check()
        )
        .is_ok()
    );
    let shown = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(shown.contains("in the past"), "{shown}");
}

#[test]
fn error_messages_are_readable() {
    let cases = [
        (
            VerifyError::MissingHeader("webhook-id".into()),
            "missing header `webhook-id`",
        ),
        (
            malformed("webhook-timestamp", "not an integer unix timestamp"),
            "malformed header `webhook-timestamp`: not an integer unix timestamp",
        ),
        (
            VerifyError::TimestampOutOfTolerance {
                timestamp: 100,
                now: 401,
            },
            "signed timestamp 100 is 301 s in the past (now is 401), outside the allowed tolerance",
        ),
        (
            VerifyError::TimestampOutOfTolerance {
                timestamp: 500,
                now: 100,
            },
            "signed timestamp 500 is 400 s in the future (now is 100), outside the allowed tolerance",
        ),
        (
            VerifyError::NoMatchingSignature,
            "no signature matches: wrong secret, or the body, id or timestamp was altered",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
        let _: &dyn std::error::Error = &error;
    }
}
