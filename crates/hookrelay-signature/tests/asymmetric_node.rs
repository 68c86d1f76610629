//! Standard Webhooks `v1a` against an independent implementation: Node's built-in `crypto`
//! (OpenSSL's Ed25519), driven through `tests/foreign/ed25519.js`, which builds the signed
//! content, reads the keys and parses the header itself, from the specification.
//!
//! - signatures hookrelay-signature makes (one key, or two during a rotation, beside a `v1`
//!   signature) verify in Node with the `whpk_` key, and tampered ones do not;
//! - signatures Node makes with a key pair of its own verify with hookrelay-signature given
//!   Node's `whpk_` key, and hookrelay-signature signs the same bytes given Node's `whsk_`.
//!
//! Needs only `node`; without it the tests fail, unless `HOOKRELAY_SKIP_FOREIGN=1`.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hookrelay_signature::{
    Scheme, Secret, VerifyOptions, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
    generate_signing_key_string, sign, verify,
};
use serde_json::{Value, json};
use support::{ALNUM, Rng, TEXT};

/// Runs `requests` through the Node driver; `None` when node is missing and skipping.
fn node(requests: &[Value]) -> Option<Vec<Value>> {
    let program = support::interpreter("node")?;
    let driver = support::foreign_dir().join("ed25519.js");
    let output = support::run_json(program, &[&driver], &json!(requests));
    let results = output
        .as_array()
        .cloned()
        .expect("the driver prints a JSON list");
    assert_eq!(results.len(), requests.len(), "one result per request");
    Some(
        results
            .into_iter()
            .map(|r| {
                assert_eq!(r["ok"], json!(true), "node failed: {r}");
                r["value"].clone()
            })
            .collect(),
    )
}

struct Message {
    id: String,
    timestamp: i64,
    body: Vec<u8>,
}

impl Message {
    fn random(rng: &mut Rng) -> Message {
        let id_len = 1 + rng.below(40);
        let body_len = rng.below(400);
        Message {
            id: format!("msg_{}", rng.string(ALNUM, id_len)),
            timestamp: 1_000_000_000 + (rng.next_u64() % 3_000_000_000) as i64,
            body: rng.string(TEXT, body_len).into_bytes(),
        }
    }

    fn fields(&self) -> Value {
        json!({
            "msg_id": self.id,
            "timestamp": self.timestamp,
            "payload_base64": STANDARD.encode(&self.body),
        })
    }

    fn verify_request(&self, public_keys: &[String], signature_header: &str) -> Value {
        let mut request = self.fields();
        request["op"] = json!("verify");
        request["public_keys"] = json!(public_keys);
        request["signature_header"] = json!(signature_header);
        request
    }
}

fn key(text: &str) -> Secret {
    Secret::new(&Scheme::StandardWebhooks, text).expect("a valid key")
}

fn signature_header(keys: &[Secret], m: &Message) -> String {
    let signed = sign(&Scheme::StandardWebhooks, keys, &m.id, m.timestamp, &m.body);
    signed.get(WEBHOOK_SIGNATURE).unwrap_or_default().to_owned()
}

#[test]
fn hookrelay_v1a_signatures_verify_with_node_crypto() {
    let mut rng = Rng::from_env();
    let hmac = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..20 {
        let m = Message::random(&mut rng);
        let old: [u8; 32] = rng.bytes(32).try_into().expect("32 bytes");
        let new: [u8; 32] = rng.bytes(32).try_into().expect("32 bytes");
        let old = key(&generate_signing_key_string(&old));
        let new = key(&generate_signing_key_string(&new));
        let old_public = old.public_key().expect("public key");
        let new_public = new.public_key().expect("public key");
        // One key.
        let one = signature_header(std::slice::from_ref(&new), &m);
        requests.push(m.verify_request(std::slice::from_ref(&new_public), &one));
        expected.push(true);
        // The other key does not verify it.
        requests.push(m.verify_request(std::slice::from_ref(&old_public), &one));
        expected.push(false);
        // A rotation beside a v1 signature: each public key alone verifies.
        let rotation = signature_header(&[hmac.clone(), new.clone(), old.clone()], &m);
        requests.push(m.verify_request(std::slice::from_ref(&old_public), &rotation));
        expected.push(true);
        requests.push(m.verify_request(std::slice::from_ref(&new_public), &rotation));
        expected.push(true);
        // A tampered body fails.
        let mut tampered = Message {
            id: m.id.clone(),
            timestamp: m.timestamp,
            body: m.body.clone(),
        };
        tampered.body.push(b' ');
        requests.push(tampered.verify_request(std::slice::from_ref(&new_public), &one));
        expected.push(false);
        // A tampered timestamp fails.
        let later = Message {
            id: m.id.clone(),
            timestamp: m.timestamp + 1,
            body: m.body.clone(),
        };
        requests.push(later.verify_request(&[new_public], &one));
        expected.push(false);
    }
    let Some(results) = node(&requests) else {
        return;
    };
    for (i, (result, want)) in results.iter().zip(&expected).enumerate() {
        assert_eq!(result, &json!(want), "request {i}: {}", requests[i]);
    }
}

#[test]
fn node_crypto_v1a_signatures_verify_with_hookrelay() {
    let mut rng = Rng::from_env();
    let messages: Vec<Message> = (0..20).map(|_| Message::random(&mut rng)).collect();
    let requests: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut request = m.fields();
            request["op"] = json!("sign");
            request
        })
        .collect();
    let Some(results) = node(&requests) else {
        return;
    };
    for (m, result) in messages.iter().zip(&results) {
        let field = |name: &str| result[name].as_str().expect("a string").to_owned();
        let (secret_key, public_key, node_signature) =
            (field("secret_key"), field("public_key"), field("signature"));
        let headers = [
            (WEBHOOK_ID, m.id.clone()),
            (WEBHOOK_TIMESTAMP, m.timestamp.to_string()),
            (WEBHOOK_SIGNATURE, node_signature.clone()),
        ];
        let opts = VerifyOptions::at(m.timestamp);
        let public = key(&public_key);
        assert_eq!(
            verify(
                &Scheme::StandardWebhooks,
                std::slice::from_ref(&public),
                &headers,
                &m.body,
                &opts
            )
            .map(|v| v.msg_id),
            Ok(Some(m.id.clone())),
            "{result}"
        );
        // Node's whsk_ is a key hookrelay reads: same public key, byte-identical signature.
        let private = key(&secret_key);
        assert_eq!(private.public_key(), Some(public_key));
        assert_eq!(signature_header(&[private], m), node_signature);
        // Another body fails.
        let mut body = m.body.clone();
        body.push(b'!');
        assert!(verify(&Scheme::StandardWebhooks, &[public], &headers, &body, &opts).is_err());
    }
}

/// The Node receiver snippet of `docs/receivers/node/receivers.js` (shown in
/// `docs/receiving.md`) accepts what hookrelay-signature signs with `v1a`, during a rotation
/// too, and rejects tampered, mis-keyed, stale and unsigned deliveries.
#[test]
fn the_node_receiver_snippet_checks_v1a_deliveries() {
    let mut rng = Rng::from_env();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..10 {
        let m = Message::random(&mut rng);
        let seeds: [[u8; 32]; 3] =
            std::array::from_fn(|_| rng.bytes(32).try_into().expect("32 bytes"));
        let [new, old, stranger] = seeds.map(|seed| key(&generate_signing_key_string(&seed)));
        let signature = signature_header(&[new.clone(), old.clone()], &m);
        let case = |public: &Secret, body: &[u8], signature: &str, now: i64| {
            json!({
                "scheme": "standard-webhooks-v1a",
                "secret": public.public_key().expect("public key"),
                "headers": {
                    "webhook-id": m.id,
                    "webhook-timestamp": m.timestamp.to_string(),
                    "webhook-signature": signature,
                },
                "body_b64": STANDARD.encode(body),
                "now": now,
            })
        };
        let tampered = [m.body.as_slice(), b"x"].concat();
        for (c, accept) in [
            (case(&new, &m.body, &signature, m.timestamp), true),
            (case(&old, &m.body, &signature, m.timestamp + 299), true),
            (case(&stranger, &m.body, &signature, m.timestamp), false),
            (case(&new, &tampered, &signature, m.timestamp), false),
            (case(&new, &m.body, &signature, m.timestamp + 301), false),
            (case(&new, &m.body, "v1,c2lnbmF0dXJl", m.timestamp), false),
        ] {
            cases.push(c);
            expected.push(accept.then(|| json!(m.id)));
        }
    }
    let Some(program) = support::interpreter("node") else {
        return;
    };
    let foreign = support::foreign_dir();
    let snippets = support::repo_root().join("docs/receivers/node/receivers.js");
    let driver = foreign.join("receivers.js");
    let output = support::run_json(program, &[&driver, &snippets], &json!(cases));
    let results = output.as_array().expect("a JSON list");
    assert_eq!(results.len(), cases.len());
    for ((result, want), case) in results.iter().zip(&expected).zip(&cases) {
        match want {
            Some(id) => assert_eq!(result, &json!({"ok": true, "value": id}), "{case}"),
            None => assert_eq!(result["ok"], json!(false), "{case}: {result}"),
        }
    }
}
