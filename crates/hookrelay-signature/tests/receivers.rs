//! The receiver snippets in `docs/receivers/` (shown verbatim in `docs/receiving.md`) accept
//! what hookrelay-signature signs and reject tampered, mis-keyed, stale and incomplete
//! deliveries. The Python and Node snippets are run here as subprocesses (through
//! `tests/foreign/receivers.{py,js}`); the Go one is not (no Go on the machines this runs on).
//!
//! Without `python3` or `node` these tests fail, unless `HOOKRELAY_SKIP_FOREIGN=1`.

mod support;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hookrelay_signature::{
    Encoding, Scheme, Secret, VerifyOptions, WEBHOOK_ID, WEBHOOK_SIGNATURE, generate_secret_string,
    sign, verify,
};
use serde_json::{Value, json};
use support::{ALNUM, Rng, TEXT};

/// One delivery, signed by hookrelay-signature.
struct Delivery {
    label: String,
    scheme: Scheme,
    secret: String,
    /// A different valid secret, for the wrong-secret case.
    other_secret: String,
    msg_id: String,
    timestamp: i64,
    body: Vec<u8>,
}

/// What a receiver is asked to check, and what it must answer.
struct Case {
    label: String,
    scheme: Scheme,
    secret: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    now: i64,
    /// `Some(value the snippet returns)` if it must accept, `None` if it must reject.
    accept: Option<Value>,
}

impl Case {
    fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), json!(value)))
            .collect();
        let mut case = json!({
            "secret": self.secret,
            "headers": headers,
            "body_b64": STANDARD.encode(&self.body),
            "now": self.now,
        });
        let extra = match &self.scheme {
            Scheme::StandardWebhooks => json!({ "scheme": "standard-webhooks" }),
            Scheme::HmacSha256 {
                header,
                encoding,
                prefix,
            } => json!({
                "scheme": "hmac-sha256",
                "header_name": header,
                "prefix": prefix,
                "encoding": match encoding {
                    Encoding::Hex => "hex",
                    Encoding::Base64 => "base64",
                },
            }),
            Scheme::TimestampedKey { header } => {
                json!({ "scheme": "timestamped-key", "header_name": header })
            }
        };
        for (key, value) in extra.as_object().into_iter().flatten() {
            case[key] = value.clone();
        }
        case
    }

    /// hookrelay-signature's own verdict must be the expected one, or the case is wrong.
    fn check_against_hookrelay(&self) {
        let secrets = [Secret::new(&self.scheme, &self.secret).expect("test secrets are valid")];
        let result = verify(
            &self.scheme,
            &secrets,
            &self.headers,
            &self.body,
            &VerifyOptions::at(self.now),
        );
        assert_eq!(
            result.is_ok(),
            self.accept.is_some(),
            "{}: hookrelay-signature says {result:?}",
            self.label
        );
    }
}

impl Delivery {
    /// The good delivery and its variations, with the verdict each must get.
    fn cases(&self) -> Vec<Case> {
        let secrets = [Secret::new(&self.scheme, &self.secret).expect("test secrets are valid")];
        let signed = sign(
            &self.scheme,
            &secrets,
            &self.msg_id,
            self.timestamp,
            &self.body,
        );
        let headers: Vec<(String, String)> = signed
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let accepted = match self.scheme {
            Scheme::StandardWebhooks => json!(self.msg_id),
            Scheme::TimestampedKey { .. } => json!(self.timestamp),
            _ => Value::Null,
        };
        let case = |what: &str, headers: Vec<(String, String)>, body: &[u8], now, accept| Case {
            label: format!("{}: {what}", self.label),
            scheme: self.scheme.clone(),
            secret: self.secret.clone(),
            headers,
            body: body.to_vec(),
            now,
            accept,
        };
        let ts = self.timestamp;
        let mut tampered = self.body.clone();
        match tampered.last_mut() {
            Some(byte) => *byte ^= 0x01,
            None => tampered.push(b' '),
        }
        let mut cases = vec![
            case(
                "genuine",
                headers.clone(),
                &self.body,
                ts + 7,
                Some(accepted.clone()),
            ),
            case("tampered body", headers.clone(), &tampered, ts, None),
            case("no headers", Vec::new(), &self.body, ts, None),
            Case {
                secret: self.other_secret.clone(),
                ..case("wrong secret", headers.clone(), &self.body, ts, None)
            },
        ];
        if !matches!(self.scheme, Scheme::HmacSha256 { .. }) {
            cases.extend([
                case(
                    "stale by 301 s",
                    headers.clone(),
                    &self.body,
                    ts + 301,
                    None,
                ),
                case(
                    "from 301 s in the future",
                    headers.clone(),
                    &self.body,
                    ts - 301,
                    None,
                ),
                case(
                    "300 s old",
                    headers.clone(),
                    &self.body,
                    ts + 300,
                    Some(accepted),
                ),
            ]);
        }
        if matches!(self.scheme, Scheme::StandardWebhooks) {
            let mut other_id = headers.clone();
            other_id[0].1.push('x');
            cases.push(case("changed webhook-id", other_id, &self.body, ts, None));
            let mut with_decoys = headers.clone();
            with_decoys[2].1 = format!("v2,bm9wZQ== {} v1,bm9wZQ==", with_decoys[2].1);
            let decoys = "decoy signatures around the genuine one";
            let accepted = Some(json!(self.msg_id));
            cases.push(case(decoys, with_decoys, &self.body, ts, accepted));
            assert_eq!(headers[0].0, WEBHOOK_ID);
            assert_eq!(headers[2].0, WEBHOOK_SIGNATURE);
        }
        cases
    }
}

fn hmac(header: &str, encoding: Encoding, prefix: &str) -> Scheme {
    Scheme::HmacSha256 {
        header: header.into(),
        encoding,
        prefix: prefix.into(),
    }
}

fn mave() -> Scheme {
    Scheme::TimestampedKey {
        header: "Mave-Signature".into(),
    }
}

/// Fixed deliveries for every scheme, as the reference documents describe them.
fn pinned() -> Vec<Delivery> {
    let delivery = |label: &str, scheme, secret: &str, other: &str, body: &str| Delivery {
        label: label.into(),
        scheme,
        secret: secret.into(),
        other_secret: other.into(),
        msg_id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
        timestamp: 1_614_265_330,
        body: body.as_bytes().to_vec(),
    };
    vec![
        delivery(
            "standard-webhooks",
            Scheme::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            r#"{"test": 2432232314}"#,
        ),
        delivery(
            "hmac-sha256 X-Mavio-Signature hex",
            hmac("X-Mavio-Signature", Encoding::Hex, ""),
            "mavio_secret_123",
            "mavio_secret_124",
            r#"{"id":"evt_123","type":"meeting.completed","created_at":"2024-01-15T10:30:00Z","data":{}}"#,
        ),
        delivery(
            "hmac-sha256 X-Webhook-Signature sha256= hex",
            hmac("X-Webhook-Signature", Encoding::Hex, "sha256="),
            "my-secret",
            "my-secret ",
            r#"{"event":"meeting.created"}"#,
        ),
        delivery(
            "hmac-sha256 base64",
            hmac("X-Signature", Encoding::Base64, ""),
            "my-secret",
            "My-secret",
            r#"{"event":"meeting.created"}"#,
        ),
        delivery(
            "timestamped-key Mave-Signature",
            mave(),
            "mave_secret",
            "mave_secreT",
            r#"{"id":"evt_1","object":"event","data":{},"type":"video.created","created":1700000000}"#,
        ),
    ]
}

/// Random deliveries: random secrets (multi-byte UTF-8 where the scheme allows), ids,
/// timestamps and bodies (arbitrary bytes, not always UTF-8).
fn random(rng: &mut Rng, count: usize) -> Vec<Delivery> {
    (0..count)
        .map(|i| {
            let encoding = *rng.pick(&[Encoding::Hex, Encoding::Base64]);
            let prefix = *rng.pick(&["sha256=", "v0=", "x"]);
            let scheme = match i % 4 {
                0 => Scheme::StandardWebhooks,
                1 => hmac("X-Mavio-Signature", Encoding::Hex, ""),
                2 => hmac("X-Sig", encoding, prefix),
                _ => mave(),
            };
            let (secret, other_secret) = if scheme == Scheme::StandardWebhooks {
                let mut random = || generate_secret_string(&rng.bytes(24).try_into().expect("24"));
                (random(), random())
            } else {
                let len = 1 + rng.below(80);
                let secret = rng.string(TEXT, len);
                (secret.clone(), format!("{secret}!"))
            };
            let id_len = 1 + rng.below(30);
            let body_len = rng.below(300);
            Delivery {
                label: format!("random #{i} {scheme:?}"),
                msg_id: format!("msg_{}", rng.string(ALNUM, id_len)),
                timestamp: 1_000_000_000 + (rng.next_u64() % 4_000_000_000) as i64,
                body: if rng.below(2) == 0 {
                    rng.bytes(body_len)
                } else {
                    rng.string(TEXT, body_len).into_bytes()
                },
                scheme,
                secret,
                other_secret,
            }
        })
        .collect()
}

fn all_cases() -> Vec<Case> {
    let mut rng = Rng::from_env();
    let cases: Vec<Case> = pinned()
        .iter()
        .chain(&random(&mut rng, 24))
        .flat_map(Delivery::cases)
        .collect();
    for case in &cases {
        case.check_against_hookrelay();
    }
    cases
}

/// Runs `driver` (under `tests/foreign/`) with `interpreter` on every case, against the snippet
/// file `docs/receivers/<snippets>`, and checks every verdict.
fn check_snippets(interpreter: &str, driver: &str, snippets: &str) {
    let cases = all_cases();
    let input: Vec<Value> = cases.iter().map(Case::to_json).collect();
    let driver = support::foreign_dir().join(driver);
    let snippets = support::repo_root().join("docs/receivers").join(snippets);
    let output = support::run_json(interpreter, &[&driver, &snippets], &json!(input));
    let results = output.as_array().expect("the driver prints a JSON list");
    assert_eq!(results.len(), cases.len());
    let mut wrong = Vec::new();
    for (case, result) in cases.iter().zip(results) {
        let verdict = match result["ok"].as_bool() {
            Some(true) => Some(result["value"].clone()),
            _ => None,
        };
        if verdict != case.accept {
            wrong.push(format!(
                "{}: expected {:?}, got {result}",
                case.label, case.accept
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn python_snippets_accept_genuine_and_reject_bad_deliveries() {
    if let Some(python) = support::interpreter("python3") {
        check_snippets(python, "receivers.py", "python/receivers.py");
    }
}

#[test]
fn node_snippets_accept_genuine_and_reject_bad_deliveries() {
    if let Some(node) = support::interpreter("node") {
        check_snippets(node, "receivers.js", "node/receivers.js");
    }
}

/// The `--8<-- [start:NAME]` … `--8<-- [end:NAME]` regions of a snippet file.
fn regions(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(rest) = line.split("--8<-- [start:").nth(1) {
            let name = rest.trim_end().trim_end_matches(']').to_owned();
            assert!(current.is_none(), "region {name} starts inside another");
            current = Some((name, Vec::new()));
        } else if line.contains("--8<-- [end:") {
            let (name, lines) = current.take().expect("an end marker closes a region");
            found.push((name, lines.join("\n")));
        } else if let Some((_, lines)) = &mut current {
            lines.push(line);
        }
    }
    assert!(current.is_none(), "unclosed region");
    found
}

#[test]
fn receiving_guide_shows_every_snippet_verbatim() {
    let root = support::repo_root();
    let read = |path: &Path| {
        std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let guide = read(Path::new("docs/receiving.md"));
    let files = [
        "docs/receivers/python/receivers.py",
        "docs/receivers/node/receivers.js",
        "docs/receivers/go/receivers.go",
        "crates/hookrelay-signature/examples/axum_receiver.rs",
    ];
    for file in files {
        let regions = regions(&read(Path::new(file)));
        assert!(!regions.is_empty(), "{file} has no snippet regions");
        for (name, text) in regions {
            assert!(
                guide.contains(&format!("{text}\n```")),
                "docs/receiving.md does not show the region `{name}` of {file} verbatim \
                 (as a whole code block's end); copy it again:\n{text}"
            );
        }
    }
}
