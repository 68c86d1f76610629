//! Compatibility with the official Standard Webhooks libraries: the PyPI package and the npm
//! package `standardwebhooks`, run as subprocesses through `tests/foreign/official.py` and
//! `tests/foreign/node/official.js` with their clocks frozen.
//!
//! - signatures made by hookrelay-signature verify with both libraries (and tampered, mis-keyed
//!   or stale ones do not);
//! - signatures made by both libraries verify with hookrelay-signature, and are byte for byte
//!   what hookrelay-signature makes;
//! - every vector of `tests/vectors/standard-webhooks.json` passes both ways.
//!
//! The libraries are installed by `scripts/install-test-deps.sh`, never by these tests; without
//! them (or without `python3`/`node`) the tests fail, unless `HOOKRELAY_SKIP_FOREIGN=1`.

mod support;

use hookrelay_signature::{
    Scheme, Secret, VerifyOptions, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
    generate_secret_string, sign, verify,
};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{ALNUM, Rng, TEXT};

#[derive(Clone, Copy, Debug)]
enum Library {
    Python,
    Node,
}

impl Library {
    /// Runs `requests` through the library's driver; `None` when it is not available and
    /// `HOOKRELAY_SKIP_FOREIGN=1`.
    fn run(self, requests: &[Value]) -> Option<Vec<Value>> {
        let foreign = support::foreign_dir();
        let (program, driver, marker, what) = match self {
            Library::Python => (
                "python3",
                foreign.join("official.py"),
                foreign.join(".python/standardwebhooks/__init__.py"),
                "the PyPI package standardwebhooks",
            ),
            Library::Node => (
                "node",
                foreign.join("node/official.js"),
                foreign.join("node/node_modules/standardwebhooks/package.json"),
                "the npm package standardwebhooks",
            ),
        };
        let program = support::interpreter(program)?;
        if !support::installed(&marker, what) {
            return None;
        }
        let mut all = vec![json!({ "op": "version" })];
        all.extend_from_slice(requests);
        let output = support::run_json(program, &[&driver], &json!(all));
        let mut results = output
            .as_array()
            .cloned()
            .expect("the driver prints a JSON list");
        assert_eq!(results.len(), all.len(), "{self:?}: one result per request");
        let version = results.remove(0);
        eprintln!("{what} {}", version["value"]);
        Some(results)
    }
}

/// A Standard Webhooks message.
#[derive(Debug, Clone)]
struct Message {
    label: String,
    secret: String,
    msg_id: String,
    timestamp: i64,
    payload: String,
}

impl Message {
    fn secrets(&self) -> Vec<Secret> {
        vec![Secret::new(&Scheme::StandardWebhooks, &self.secret).expect("test secrets are valid")]
    }

    fn sign_request(&self) -> Value {
        json!({
            "op": "sign",
            "secret": self.secret,
            "msg_id": self.msg_id,
            "timestamp": self.timestamp,
            "payload": self.payload,
        })
    }
}

fn verify_request(secret: &str, headers: &[(String, String)], payload: &str, now: i64) -> Value {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "op": "verify",
        "secret": secret,
        "headers": headers,
        "payload": payload,
        "now": now,
    })
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The spec's vectors, as messages.
#[derive(Debug, Deserialize)]
struct VectorFile {
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
    fn message(&self) -> Message {
        Message {
            label: format!("vector {}", self.name),
            secret: self.secret.clone(),
            msg_id: self.msg_id.clone(),
            timestamp: self.timestamp,
            payload: self.payload.clone(),
        }
    }

    fn headers(&self) -> Vec<(String, String)> {
        let signature = self
            .signature_header
            .as_ref()
            .or(self.expected_signature.as_ref())
            .expect("every vector has a signature");
        owned(&[
            (WEBHOOK_ID, &self.msg_id),
            (WEBHOOK_TIMESTAMP, &self.timestamp.to_string()),
            (WEBHOOK_SIGNATURE, signature),
        ])
    }
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("vectors/standard-webhooks.json");
    let file: VectorFile = serde_json::from_str(text).expect("the vectors file parses");
    assert!(!file.vectors.is_empty());
    file.vectors
}

/// The vectors' messages and random ones (random `whsec_` secrets, ids, timestamps and UTF-8
/// payloads; the libraries take payloads as text).
fn messages() -> Vec<Message> {
    let mut rng = Rng::from_env();
    let mut messages: Vec<Message> = vectors()
        .iter()
        .filter(|v| v.valid)
        .map(Vector::message)
        .collect();
    for i in 0..30 {
        let random: [u8; 24] = rng.bytes(24).try_into().expect("24 bytes");
        let id_len = 1 + rng.below(40);
        let payload_len = rng.below(400);
        messages.push(Message {
            label: format!("random #{i}"),
            secret: generate_secret_string(&random),
            msg_id: format!("msg_{}", rng.string(ALNUM, id_len)),
            timestamp: 1_000_000_000 + (rng.next_u64() % 3_000_000_000) as i64,
            payload: rng.string(TEXT, payload_len),
        });
    }
    messages
}

/// Requests whose verdict must be `accept`, with a label each.
type Expectations = Vec<(String, Value, bool)>;

fn hookrelay_signed(messages: &[Message]) -> Expectations {
    let mut out = Vec::new();
    for m in messages {
        let headers = sign(
            &Scheme::StandardWebhooks,
            &m.secrets(),
            &m.msg_id,
            m.timestamp,
            m.payload.as_bytes(),
        );
        let headers: Vec<(String, String)> = owned(&headers.iter().collect::<Vec<_>>());
        let ts = m.timestamp;
        let mut expect = |what: &str, secret: &str, payload: &str, now: i64, accept: bool| {
            let request = verify_request(secret, &headers, payload, now);
            out.push((format!("{}: {what}", m.label), request, accept));
        };
        expect("genuine", &m.secret, &m.payload, ts + 5, true);
        expect("300 s old", &m.secret, &m.payload, ts + 300, true);
        expect("301 s old", &m.secret, &m.payload, ts + 301, false);
        expect(
            "301 s in the future",
            &m.secret,
            &m.payload,
            ts - 301,
            false,
        );
        expect("tampered", &m.secret, &format!("{} ", m.payload), ts, false);
        let wrong = generate_secret_string(&[0x42; 24]);
        expect("wrong secret", &wrong, &m.payload, ts, false);
    }
    out
}

/// Signatures made by hookrelay-signature verify with `library`; tampered, mis-keyed, stale
/// and future ones do not.
fn check_hookrelay_signatures_verify_with(library: Library) {
    let mut expectations = hookrelay_signed(&messages());
    // Rotation: signed with two secrets, verified by a receiver knowing either one.
    let (old, new) = (
        generate_secret_string(&[1; 24]),
        generate_secret_string(&[2; 24]),
    );
    let both: Vec<Secret> = [&old, &new]
        .iter()
        .map(|s| Secret::new(&Scheme::StandardWebhooks, s).expect("valid"))
        .collect();
    let payload = r#"{"type":"rotation.test"}"#;
    let headers = sign(
        &Scheme::StandardWebhooks,
        &both,
        "msg_rot",
        1_700_000_000,
        payload.as_bytes(),
    );
    let headers = owned(&headers.iter().collect::<Vec<_>>());
    for (name, secret) in [("old", &old), ("new", &new)] {
        let request = verify_request(secret, &headers, payload, 1_700_000_000);
        expectations.push((
            format!("rotation, receiver knows the {name} secret"),
            request,
            true,
        ));
    }

    let requests: Vec<Value> = expectations.iter().map(|(_, r, _)| r.clone()).collect();
    let Some(results) = library.run(&requests) else {
        return;
    };
    let wrong: Vec<String> = expectations
        .iter()
        .zip(&results)
        .filter(|((_, _, accept), result)| result["ok"].as_bool() != Some(*accept))
        .map(|((label, _, accept), result)| format!("{label}: expected ok={accept}, got {result}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{library:?}: {} of {} verdicts wrong:\n{}",
        wrong.len(),
        results.len(),
        wrong.join("\n")
    );
}

/// Signatures made by `library` verify with hookrelay-signature and equal its own.
fn check_library_signatures_verify_with_hookrelay(library: Library) {
    let messages = messages();
    let requests: Vec<Value> = messages.iter().map(Message::sign_request).collect();
    let Some(results) = library.run(&requests) else {
        return;
    };
    for (m, result) in messages.iter().zip(&results) {
        let signature = result["value"]
            .as_str()
            .unwrap_or_else(|| panic!("{library:?} could not sign {}: {result}", m.label));
        let ts = m.timestamp.to_string();
        let headers = [
            (WEBHOOK_ID, m.msg_id.as_str()),
            (WEBHOOK_TIMESTAMP, ts.as_str()),
            (WEBHOOK_SIGNATURE, signature),
        ];
        let body = m.payload.as_bytes();
        let verified = verify(
            &Scheme::StandardWebhooks,
            &m.secrets(),
            &headers,
            body,
            &VerifyOptions::at(m.timestamp),
        );
        assert!(verified.is_ok(), "{library:?}, {}: {verified:?}", m.label);
        let ours = sign(
            &Scheme::StandardWebhooks,
            &m.secrets(),
            &m.msg_id,
            m.timestamp,
            body,
        );
        assert_eq!(ours.get(WEBHOOK_SIGNATURE), Some(signature), "{}", m.label);
    }
}

/// Every vector, both ways: the library signs each one as expected, accepts or rejects each
/// as its `valid` says (as hookrelay-signature does), and accepts hookrelay's signature of it.
fn check_vectors_with(library: Library) {
    let vectors = vectors();
    let mut expectations: Vec<(String, Value, Value)> = Vec::new();
    for v in &vectors {
        let m = v.message();
        if let Some(expected) = &v.expected_signature {
            expectations.push((
                format!("{}: sign", v.name),
                m.sign_request(),
                json!(expected),
            ));
        }
        let request = verify_request(&v.secret, &v.headers(), &v.payload, v.timestamp);
        expectations.push((format!("{}: verify", v.name), request, json!(v.valid)));
        // hookrelay-signature agrees on the same request.
        let ours = verify(
            &Scheme::StandardWebhooks,
            &m.secrets(),
            &v.headers(),
            v.payload.as_bytes(),
            &VerifyOptions::at(v.timestamp),
        );
        assert_eq!(ours.is_ok(), v.valid, "{}: {ours:?}", v.name);
        // hookrelay's signature of the vector's message is accepted (valid vectors only: the
        // invalid one has the same message as a valid one and a tampered signature).
        if v.valid {
            let headers = sign(
                &Scheme::StandardWebhooks,
                &m.secrets(),
                &m.msg_id,
                m.timestamp,
                m.payload.as_bytes(),
            );
            let headers = owned(&headers.iter().collect::<Vec<_>>());
            let request = verify_request(&v.secret, &headers, &v.payload, v.timestamp);
            let label = format!("{}: verify hookrelay's signature", v.name);
            expectations.push((label, request, json!(true)));
        }
    }
    let requests: Vec<Value> = expectations.iter().map(|(_, r, _)| r.clone()).collect();
    let Some(results) = library.run(&requests) else {
        return;
    };
    for ((label, request, want), result) in expectations.iter().zip(&results) {
        let got = if request["op"] == "sign" {
            result["value"].clone()
        } else {
            result["ok"].clone()
        };
        assert_eq!(&got, want, "{library:?}, {label}: {result}");
    }
}

#[test]
fn hookrelay_signatures_verify_with_the_official_python_library() {
    check_hookrelay_signatures_verify_with(Library::Python);
}

#[test]
fn hookrelay_signatures_verify_with_the_official_node_library() {
    check_hookrelay_signatures_verify_with(Library::Node);
}

#[test]
fn official_python_signatures_verify_with_hookrelay() {
    check_library_signatures_verify_with_hookrelay(Library::Python);
}

#[test]
fn official_node_signatures_verify_with_hookrelay() {
    check_library_signatures_verify_with_hookrelay(Library::Node);
}

#[test]
fn every_vector_passes_both_ways_with_the_official_python_library() {
    check_vectors_with(Library::Python);
}

#[test]
fn every_vector_passes_both_ways_with_the_official_node_library() {
    check_vectors_with(Library::Node);
}
