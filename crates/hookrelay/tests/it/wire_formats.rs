//! Wire formats: for each reference document in `seeds/` (DESIGN.md, "The reference documents"), a
//! webhook configured as README's "Wire formats" table says produces deliveries that a receiver
//! doing exactly what that document says (its header, its signed bytes, its encoding, its
//! comparison) accepts, and rejects once the secret or one body byte is wrong. Where a document
//! ships code (001's Node.js, 004's Python and Node.js) that code runs verbatim under `node` or
//! `python3`; where it has only prose (000, 002/003) the receiver is written here in Rust from the
//! prose, with its own HMAC, independent of `hookrelay-signature`.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend_tests;
use crate::helpers::{ADMIN_KEY, Received, TestApp, TestReceiver};

backend_tests!(
    a_receiver_written_to_document_000_accepts_deliveries_and_rejects_tampering,
    a_receiver_written_to_document_001_accepts_deliveries_and_rejects_tampering,
    a_receiver_written_to_documents_002_and_003_accepts_deliveries_and_rejects_tampering,
    a_receiver_written_to_document_004_accepts_deliveries_and_rejects_tampering,
    a_document_004_webhook_makes_three_attempts_in_all_and_a_200_acknowledges,
);

const WRONG_SECRET: &str = "not-the-configured-secret";

/// HMAC-SHA256 (RFC 2104), written out so the receivers share no code with hookrelay.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let inner = Sha256::digest([&pad(0x36)[..], message].concat());
    Sha256::digest([&pad(0x5c)[..], &inner[..]].concat()).into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Document 000: HMAC-SHA256 of the raw body with the secret, hex in `X-Mavio-Signature`,
/// compared in constant time.
fn document_000_accepts(secret: &str, r: &Received) -> bool {
    let expected = hex::encode(hmac_sha256(secret.as_bytes(), &r.body));
    constant_time_eq(
        expected.as_bytes(),
        header(r, "X-Mavio-Signature").as_bytes(),
    )
}

/// Documents 002/003: `Mave-Signature: t={signature_time}, v1={signature}`; the key is
/// `{signature_time}.{webhook secret}`, the message the request's payload body, the result hex.
fn document_002_accepts(secret: &str, r: &Received) -> bool {
    let value = header(r, "Mave-Signature");
    let Some((t, v1)) = value.split_once(", ") else {
        return false;
    };
    let (Some(t), Some(signature)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else {
        return false;
    };
    let expected = hex::encode(hmac_sha256(format!("{t}.{secret}").as_bytes(), &r.body));
    constant_time_eq(expected.as_bytes(), signature.as_bytes())
}

/// Document 001's verification example, verbatim, behind what Express's `express.json()` does
/// (`JSON.parse` of the raw body into `req.body`). Prints whether it accepts, and what
/// `JSON.stringify(req.body)` gave.
const DOCUMENT_001_NODE: &str = r#"
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const hmac = crypto.createHmac('sha256', secret);
  const digest = hmac.update(JSON.stringify(payload)).digest('hex');
  const expectedSignature = `sha256=${digest}`;
  
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expectedSignature)
  );
}

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const req = { headers: input.headers, body: JSON.parse(Buffer.from(input.body, 'base64').toString('utf8')) };
const webhookSecret = input.secret;

const signature = req.headers['x-webhook-signature'];
const isValid = verifyWebhookSignature(req.body, signature, webhookSecret);
console.log(JSON.stringify({ valid: isValid, stringified: JSON.stringify(req.body) }));
"#;

/// Document 004's Python example, verbatim.
const DOCUMENT_004_PYTHON: &str = r#"
import hmac
import hashlib

def is_valid(secret: str, body: bytes, sig_header: str) -> bool:
    expected = hmac.new(
        key=secret.encode(),
        msg=body,
        digestmod=hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"{expected}", sig_header)

import base64, json, sys
given = json.load(sys.stdin)
print(json.dumps({"valid": is_valid(given["secret"], base64.b64decode(given["body"]), given["headers"]["x-mg-signature"])}))
"#;

/// Document 004's Node.js example, verbatim.
const DOCUMENT_004_NODE: &str = r#"
const crypto = require('crypto');

// body must be raw buffer from req.body
function isValid(secret, body, sigHeader) {
    const expected = crypto
        .createHmac('sha256', secret)
        .update(body)
        .digest('hex');
    
    return crypto.timingSafeEqual(
        Buffer.from(expected),
        Buffer.from(sigHeader)
    );
}

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const valid = isValid(input.secret, Buffer.from(input.body, 'base64'), input.headers['x-mg-signature']);
console.log(JSON.stringify({ valid }));
"#;

/// Runs a receiver script under `program` (`node` or `python3`), giving it
/// `{"secret", "body": <base64 of the raw bytes>, "headers": {lowercase name: value}}` on stdin;
/// answers the JSON object it prints.
fn run_receiver(program: &str, script: &str, secret: &str, r: &Received) -> Value {
    let flag = if program == "node" { "-e" } else { "-c" };
    let headers: serde_json::Map<String, Value> = r
        .headers
        .keys()
        .map(|name| (name.to_string(), header(r, name.as_str()).into()))
        .collect();
    let body = base64::engine::general_purpose::STANDARD.encode(&r.body);
    let input = json!({"secret": secret, "body": body, "headers": headers});
    let mut child = Command::new(program)
        .args([flag, script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("these tests run the reference documents' own code and need `{program}` on PATH (Node 20, Python 3.11): {e}")
        });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).unwrap();
    drop(stdin); // EOF
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{program} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{program} printed {stdout:?}"))
}

fn document_004_accepts(program: &str, secret: &str, r: &Received) -> bool {
    let script = if program == "node" {
        DOCUMENT_004_NODE
    } else {
        DOCUMENT_004_PYTHON
    };
    run_receiver(program, script, secret, r)["valid"]
        .as_bool()
        .unwrap()
}

/// The request with one body byte changed: the first letter of `inside`, a string value's
/// text, has its low bit flipped, so the body stays valid JSON.
fn tamper(r: &Received, inside: &str) -> Received {
    let text = std::str::from_utf8(&r.body).unwrap();
    let at = text
        .find(inside)
        .unwrap_or_else(|| panic!("{inside:?} not in {text}"));
    let mut body = r.body.to_vec();
    body[at] ^= 1;
    Received {
        body: body.into(),
        ..r.clone()
    }
}

/// Publishes `text` byte for byte (the harness's `publish` re-serializes a `Value`).
async fn publish_raw(app: &TestApp, text: &str) -> Value {
    let response = app
        .client
        .post(app.url("/v1/events"))
        .bearer_auth(ADMIN_KEY)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn now_seconds() -> i64 {
    hookrelay::clock::now_ms() / 1000
}

fn keys(body: &Value) -> Vec<&str> {
    body.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// Unix seconds within a minute of now.
fn assert_recent(seconds: i64) {
    assert!(
        (seconds - now_seconds()).abs() <= 60,
        "{seconds} is not now"
    );
}

/// An ISO 8601 (RFC 3339) time within a minute of now.
fn assert_recent_iso_8601(text: &Value) {
    let ms = hookrelay::clock::parse_rfc3339(text.as_str().unwrap());
    assert_recent(ms.unwrap_or_else(|| panic!("{text} is not an ISO 8601 time")) / 1000);
}

/// Every delivery, whatever its scheme, carries `webhook-id` (the event id) and
/// `webhook-timestamp` (unix seconds).
fn assert_common_headers(r: &Received, event: &Value) {
    assert_eq!(r.header("webhook-id"), event["id"].as_str().unwrap());
    assert_recent(r.header("webhook-timestamp").parse().unwrap());
    assert_eq!(r.header("content-type"), "application/json");
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn a_receiver_written_to_document_000_accepts_deliveries_and_rejects_tampering(
    app: &mut TestApp,
) {
    let secret = "mavio-secret-000";
    let receiver = TestReceiver::spawn().await;
    app.create_webhook(json!({
        "url": receiver.url("/webhooks/mavio"),
        "secret": secret,
        "signature": {"scheme": "hmac-sha256", "header": "X-Mavio-Signature"},
        "payload_format": "envelope",
    }))
    .await;
    let data = json!({"meeting_id": "m_123", "title": "Weekly sync", "duration": 1.0});
    let e = app
        .publish(json!({"type": "meeting.completed", "data": data}))
        .await;
    let r = &receiver.wait_for(1).await[0];
    assert_common_headers(r, &e);

    let body = r.json();
    assert_eq!(keys(&body), ["id", "type", "created_at", "data"]);
    assert_eq!(body["id"], e["id"]);
    assert_eq!(body["type"], "meeting.completed");
    assert_eq!(body["data"], data);
    assert_recent_iso_8601(&body["created_at"]);

    assert!(is_lower_hex(r.header("X-Mavio-Signature"), 64));
    assert!(document_000_accepts(secret, r));
    assert!(!document_000_accepts(WRONG_SECRET, r));
    assert!(!document_000_accepts(secret, &tamper(r, "Weekly sync")));
}

async fn a_receiver_written_to_document_001_accepts_deliveries_and_rejects_tampering(
    app: &mut TestApp,
) {
    let secret = "webhook-secret-001";
    let receiver = TestReceiver::spawn().await;
    app.create_webhook(json!({
        "url": receiver.url("/webhooks"),
        "secret": secret,
        "signature": {"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "prefix": "sha256="},
        "payload_format": "event-timestamp",
    }))
    .await;
    // What JavaScript re-prints differently from the bytes sent: number forms, integers past
    // 2^53, integer-like keys, escapes; non-ASCII must stay raw.
    let data = r#"{ "recording": {"id": 123, "title": "Team Meeting", "duration": 3600.0,
        "transcript_ready": true},
      "tricky": {"one": 1.0, "big": 1e21, "small": 1E-7, "huge": 12345678901234567890,
        "text": "h\u00e9llo ✓", "keys": {"b": 1, "2": 2, "a": 3, "1": 4},
        "bell": "\u0007", "slash": "\/", "plain": "/"} }"#;
    let e = publish_raw(
        app,
        &format!(r#"{{"type": "recording.processing.completed", "data": {data}}}"#),
    )
    .await;
    let r = &receiver.wait_for(1).await[0];
    assert_common_headers(r, &e);

    let text = std::str::from_utf8(&r.body).unwrap();
    let body = r.json();
    assert_eq!(keys(&body), ["event", "timestamp", "data"]);
    assert_eq!(body["event"], "recording.processing.completed");
    assert_recent_iso_8601(&body["timestamp"]);
    assert!(
        text.ends_with(concat!(
            r#""data":{"recording":{"id":123,"title":"Team Meeting","duration":3600,"#,
            r#""transcript_ready":true},"tricky":{"one":1,"big":1e+21,"small":1e-7,"#,
            r#""huge":12345678901234567000,"text":"héllo ✓","keys":{"1":4,"2":2,"b":1,"a":3},"#,
            r#""bell":"\u0007","slash":"/","plain":"/"}}}"#
        )),
        "{text}"
    );

    let sig = r.header("X-Webhook-Signature");
    assert!(
        sig.strip_prefix("sha256=")
            .is_some_and(|h| is_lower_hex(h, 64)),
        "{sig}"
    );
    let node_001 = |secret, r| run_receiver("node", DOCUMENT_001_NODE, secret, r);
    let verdict = node_001(secret, r);
    assert_eq!(
        verdict["stringified"], text,
        "the body is exactly JSON.stringify(JSON.parse(body)) as Node prints it"
    );
    assert_eq!(verdict["valid"], true, "document 001's own code accepts");
    assert_eq!(node_001(WRONG_SECRET, r)["valid"], false);
    let tampered = tamper(r, "Team Meeting");
    assert_eq!(node_001(secret, &tampered)["valid"], false);
}

async fn a_receiver_written_to_documents_002_and_003_accepts_deliveries_and_rejects_tampering(
    app: &mut TestApp,
) {
    let secret = "mave-secret-002";
    let receiver = TestReceiver::spawn().await;
    app.create_webhook(json!({
        "url": receiver.url("/mave"),
        "secret": secret,
        "signature": {"scheme": "timestamped-key", "header": "Mave-Signature"},
        "payload_format": "object-event",
    }))
    .await;
    let data = json!({"created": 1643723737, "embed_url": "", "id": "k1iFD7h4rW",
        "last_upload": null, "object": "video", "renditions": ["sd", "hd"]});
    let e = app
        .publish(json!({"type": "video.created", "data": data}))
        .await;
    let r = &receiver.wait_for(1).await[0];
    assert_common_headers(r, &e);

    let body = r.json();
    assert_eq!(keys(&body), ["id", "object", "data", "type", "created"]);
    assert_eq!(body["id"], e["id"]);
    assert_eq!(body["object"], "event");
    assert_eq!(body["data"], data);
    assert_eq!(body["type"], "video.created");
    let created = body["created"].as_i64();
    assert_recent(created.expect("created is integer unix seconds"));

    let value = r.header("Mave-Signature");
    let parts = value
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(", v1="));
    let (t, v1) = parts.unwrap_or_else(|| panic!("not `t=<unix>, v1=<hex>`: {value}"));
    assert!(
        t.bytes().all(|b| b.is_ascii_digit()) && is_lower_hex(v1, 64),
        "{value}"
    );
    assert_recent(t.parse().unwrap());
    assert!(document_002_accepts(secret, r));
    assert!(!document_002_accepts(WRONG_SECRET, r));
    assert!(!document_002_accepts(secret, &tamper(r, "k1iFD7h4rW")));
}

/// Document 004's example payload, as the document prints it.
const MEETGEEK_DATA: &str = r#"{
    "message": "File analyzed successfully",
    "meeting_id": "9433976b-cfa3-4373-9afb-eb0b7a5915df"
}"#;

const MEETGEEK_SECRET: &str = "meetgeek-secret-004";

/// A webhook per README's row for document 004 (retrying after 1 s), for events of `event_type`
/// only, and one such event published; answers the webhook's id and the event.
async fn document_004_delivery(
    app: &TestApp,
    to: &TestReceiver,
    event_type: &str,
) -> (String, Value) {
    let w = app
        .create_webhook(json!({
            "url": to.url("/meetgeek"),
            "events": [event_type],
            "secret": MEETGEEK_SECRET,
            "signature": {"scheme": "hmac-sha256", "header": "X-MG-Signature"},
            "payload_format": "data",
            "retry_schedule": [1, 1],
        }))
        .await;
    let event = format!(r#"{{"type": "{event_type}", "data": {MEETGEEK_DATA}}}"#);
    (
        w["id"].as_str().unwrap().to_owned(),
        publish_raw(app, &event).await,
    )
}

async fn a_receiver_written_to_document_004_accepts_deliveries_and_rejects_tampering(
    app: &mut TestApp,
) {
    let (secret, receiver) = (MEETGEEK_SECRET, TestReceiver::spawn().await);
    let (_, e) = document_004_delivery(app, &receiver, "meeting.analyzed").await;
    let r = &receiver.wait_for(1).await[0];
    assert_common_headers(r, &e);
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        MEETGEEK_DATA,
        "the body is the published data, byte for byte"
    );

    assert!(is_lower_hex(r.header("X-MG-Signature"), 64));
    let tampered = tamper(r, "File analyzed");
    for program in ["python3", "node"] {
        assert!(
            document_004_accepts(program, secret, r),
            "{program} accepts"
        );
        assert!(!document_004_accepts(program, WRONG_SECRET, r));
        assert!(!document_004_accepts(program, secret, &tampered));
    }
    let ours = hex::encode(hmac_sha256(secret.as_bytes(), &r.body));
    assert_eq!(
        r.header("X-MG-Signature"),
        ours,
        "this file's HMAC agrees with Python's"
    );
}

async fn a_document_004_webhook_makes_three_attempts_in_all_and_a_200_acknowledges(
    app: &mut TestApp,
) {
    let failing = TestReceiver::spawn().await;
    failing.set_status(500);
    let (id, e) = document_004_delivery(app, &failing, "meeting.failing").await;
    let d = app.wait_for_delivery(&id, "failed").await;
    assert_eq!(
        d["attempt_count"], 3,
        "the first request and two retries: {d}"
    );
    let got = failing.received();
    assert_eq!(got.len(), 3, "three POST requests in all");
    for r in &got {
        assert_eq!(r.header("webhook-id"), e["id"].as_str().unwrap());
        assert_eq!(r.body, got[0].body);
        assert!(document_004_accepts("python3", MEETGEEK_SECRET, r));
    }

    let acknowledging = TestReceiver::spawn().await;
    let (id, _) = document_004_delivery(app, &acknowledging, "meeting.acked").await;
    let d = app.wait_for_delivery(&id, "succeeded").await;
    assert_eq!(d["attempt_count"], 1, "{d}");
    assert_eq!(
        acknowledging.received().len(),
        1,
        "a 200 acknowledges: no retries"
    );
}
