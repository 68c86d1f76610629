//! Standard Webhooks' own test vectors (`tests/vectors/standard-webhooks.json`).

use hookrelay_signature::{
    Scheme, Secret, VerifyError, VerifyOptions, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
    sign, verify,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    secret: String,
    msg_id: String,
    timestamp: i64,
    payload: String,
    expected_signature: Option<String>,
    signature_header: Option<String>,
    valid: bool,
}

impl Vector {
    fn secrets(&self) -> Vec<Secret> {
        match Secret::new(&Scheme::StandardWebhooks, &self.secret) {
            Ok(secret) => vec![secret],
            Err(e) => panic!("{}: secret rejected: {e}", self.name),
        }
    }

    /// The `webhook-signature` value a receiver would get.
    fn signature_header(&self) -> &str {
        match (&self.signature_header, &self.expected_signature) {
            (Some(header), _) | (None, Some(header)) => header,
            (None, None) => panic!("{}: no signature in vector", self.name),
        }
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            (WEBHOOK_ID.to_owned(), self.msg_id.clone()),
            (WEBHOOK_TIMESTAMP.to_owned(), self.timestamp.to_string()),
            (
                WEBHOOK_SIGNATURE.to_owned(),
                self.signature_header().to_owned(),
            ),
        ]
    }
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("vectors/standard-webhooks.json");
    match serde_json::from_str::<File>(text) {
        Ok(file) => file.vectors,
        Err(e) => panic!("vectors file does not parse: {e}"),
    }
}

#[test]
fn the_vector_file_has_the_expected_cases() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 5);
    assert_eq!(vectors.iter().filter(|v| !v.valid).count(), 1);
    assert_eq!(
        vectors
            .iter()
            .filter(|v| v.expected_signature.is_some())
            .count(),
        3
    );
}

#[test]
fn sign_reproduces_every_expected_signature() {
    for v in vectors() {
        let Some(expected) = &v.expected_signature else {
            continue;
        };
        let headers = sign(
            &Scheme::StandardWebhooks,
            &v.secrets(),
            &v.msg_id,
            v.timestamp,
            v.payload.as_bytes(),
        );
        let emitted: Vec<(&str, &str)> = headers.iter().collect();
        let timestamp = v.timestamp.to_string();
        assert_eq!(
            emitted,
            [
                (WEBHOOK_ID, v.msg_id.as_str()),
                (WEBHOOK_TIMESTAMP, timestamp.as_str()),
                (WEBHOOK_SIGNATURE, expected.as_str()),
            ],
            "{}",
            v.name
        );
    }
}

#[test]
fn verify_with_a_frozen_clock_matches_validity() {
    for v in vectors() {
        let opts = VerifyOptions::at(v.timestamp);
        let result = verify(
            &Scheme::StandardWebhooks,
            &v.secrets(),
            &v.headers(),
            v.payload.as_bytes(),
            &opts,
        );
        if v.valid {
            assert_eq!(
                result
                    .as_ref()
                    .map(|ok| (ok.msg_id.as_deref(), ok.timestamp)),
                Ok((Some(v.msg_id.as_str()), Some(v.timestamp))),
                "{}",
                v.name
            );
        } else {
            assert_eq!(result, Err(VerifyError::NoMatchingSignature), "{}", v.name);
        }
    }
}

#[test]
fn verify_without_timestamp_check_matches_validity() {
    for v in vectors() {
        // A clock years later: only the disabled check lets valid vectors through.
        let opts = VerifyOptions::at(v.timestamp + 10 * 365 * 86_400).without_timestamp_check();
        let result = verify(
            &Scheme::StandardWebhooks,
            &v.secrets(),
            &v.headers(),
            v.payload.as_bytes(),
            &opts,
        );
        assert_eq!(result.is_ok(), v.valid, "{}: {result:?}", v.name);
    }
}

#[test]
fn verify_rejects_every_vector_as_stale_after_the_tolerance() {
    for v in vectors() {
        let now = v.timestamp + 301;
        let result = verify(
            &Scheme::StandardWebhooks,
            &v.secrets(),
            &v.headers(),
            v.payload.as_bytes(),
            &VerifyOptions::at(now),
        );
        assert_eq!(
            result,
            Err(VerifyError::TimestampOutOfTolerance {
                timestamp: v.timestamp,
                now
            }),
            "{}",
            v.name
        );
        // 300 s is still inside the tolerance.
        let at_edge = verify(
            &Scheme::StandardWebhooks,
            &v.secrets(),
            &v.headers(),
            v.payload.as_bytes(),
            &VerifyOptions::at(v.timestamp + 300),
        );
        assert_eq!(at_edge.is_ok(), v.valid, "{}", v.name);
    }
}

#[test]
fn verify_rejects_vectors_from_the_future() {
    for v in vectors() {
        let now = v.timestamp - 301;
        let result = verify(
            &Scheme::StandardWebhooks,
            &v.secrets(),
            &v.headers(),
            v.payload.as_bytes(),
            &VerifyOptions::at(now),
        );
        assert!(
            matches!(result, Err(VerifyError::TimestampOutOfTolerance { .. })),
            "{}: {result:?}",
            v.name
        );
    }
}
