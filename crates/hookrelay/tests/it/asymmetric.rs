//! Standard Webhooks asymmetric signatures (`standard-webhooks-v1a`), end to end: a webhook
//! gets an Ed25519 key pair whose private key is never shown; a real receiver verifies each
//! delivery with the `public_key` from the webhook's JSON alone; a rotation signs with both
//! keys during the overlap; `hookrelay verify` and `hookrelay listen` take the `whpk_` key.

use hookrelay_signature::{
    Scheme, Secret, VerifyOptions, WEBHOOK_SIGNATURE, generate_signing_key_string, verify,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::cli::{Listener, stderr, stdout};
use crate::helpers::{Backend, Received, TestApp, TestReceiver};

backend_tests!(
    a_v1a_webhook_is_verified_with_the_public_key_from_its_json,
    a_v1a_rotation_signs_with_both_keys_during_the_overlap,
    a_v1a_secret_must_be_an_ed25519_private_key,
);

const V1A: &str = "standard-webhooks-v1a";

fn key(text: &str) -> Secret {
    Secret::new(&Scheme::StandardWebhooks, text).unwrap()
}

fn verifies(public_key: &str, r: &Received) -> bool {
    let now = hookrelay::clock::now_ms() / 1000;
    let opts = VerifyOptions::at(now);
    verify(
        &Scheme::StandardWebhooks,
        &[key(public_key)],
        &r.headers,
        &r.body,
        &opts,
    )
    .is_ok()
}

fn public_key(webhook: &Value) -> String {
    let key = webhook["public_key"]
        .as_str()
        .unwrap_or_else(|| panic!("{webhook}"));
    assert!(key.starts_with("whpk_"), "{key}");
    key.to_owned()
}

/// A private key never leaves hookrelay: not as `secret`, nor anywhere in a response.
fn assert_no_private_key(response: &Value) {
    assert!(response.get("secret").is_none(), "{response}");
    assert!(!response.to_string().contains("whsk_"), "{response}");
}

async fn a_v1a_webhook_is_verified_with_the_public_key_from_its_json(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "signature": {"scheme": V1A}}))
        .await;
    assert_eq!(w["signature"], json!({"scheme": V1A}));
    assert_no_private_key(&w);
    let public = public_key(&w);
    let id = w["id"].as_str().unwrap();
    let (_, reread) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_no_private_key(&reread);
    assert_eq!(reread["public_key"], public.as_str());
    assert!(reread.get("previous_public_key").is_none(), "{reread}");
    let (_, list) = app.get("/v1/webhooks").await;
    assert_no_private_key(&list);

    app.publish(json!({"type": "a.b", "data": {"n": 1}})).await;
    let r = &receiver.wait_for(1).await[0];
    let signature = r.header(WEBHOOK_SIGNATURE);
    assert!(
        signature.starts_with("v1a,") && !signature.contains(' '),
        "{signature}"
    );
    assert!(verifies(&public, r), "the public key verifies the delivery");
    let other = key(&generate_signing_key_string(&[1; 32]))
        .public_key()
        .unwrap();
    assert!(!verifies(&other, r), "another key does not");

    // The delivery log shows what was sent, never the key.
    let d = app.wait_for_delivery(id, "succeeded").await;
    assert_no_private_key(&d);
    assert!(
        d["request"]["headers"]["webhook-signature"]
            .as_str()
            .unwrap()
            .starts_with("v1a,")
    );

    // `hookrelay verify` checks the captured delivery with the public key.
    let body = String::from_utf8(r.body.to_vec()).unwrap();
    let headers = ["webhook-id", "webhook-timestamp", WEBHOOK_SIGNATURE]
        .map(|name| format!("{name}: {}", r.header(name)));
    let args = |key: &str| {
        let mut args = vec![
            "--scheme".to_owned(),
            V1A.to_owned(),
            "--secret".to_owned(),
            key.to_owned(),
        ];
        for h in &headers {
            args.extend(["--header".to_owned(), h.clone()]);
        }
        args
    };
    let out = crate::cli::verify(&args(&public), &body);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).starts_with("valid (id evt_"),
        "{}",
        stdout(&out)
    );
    let out = crate::cli::verify(&args(&other), &body);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    // A shared secret is not a key for v1a.
    let out = crate::cli::verify(&args("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), &body);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("whpk_"), "{}", stderr(&out));
}

async fn a_v1a_rotation_signs_with_both_keys_during_the_overlap(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "signature": {"scheme": V1A}}))
        .await;
    let id = w["id"].as_str().unwrap();
    let old = public_key(&w);
    let (status, rotated) = app
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_no_private_key(&rotated);
    let new = public_key(&rotated);
    assert_ne!(new, old);
    assert_eq!(rotated["previous_public_key"], old.as_str());
    assert!(
        rotated["previous_secret_expires_at"].is_string(),
        "{rotated}"
    );
    let (_, reread) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(reread["public_key"], new.as_str());
    assert_eq!(reread["previous_public_key"], old.as_str());
    assert_eq!(
        reread["previous_public_key_expires_at"],
        rotated["previous_secret_expires_at"]
    );

    app.publish(json!({"type": "a.b", "data": {}})).await;
    let r = &receiver.wait_for(1).await[0];
    let entries: Vec<&str> = r.header(WEBHOOK_SIGNATURE).split(' ').collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e.starts_with("v1a,")), "{entries:?}");
    assert!(
        verifies(&old, r),
        "a receiver that knows only the old key accepts it"
    );
    assert!(
        verifies(&new, r),
        "a receiver that knows only the new key accepts it"
    );
    // Each signature is its own key's: the new key's first, then the old one's.
    let only = |entry: &str| {
        let mut r = r.clone();
        r.headers.insert(WEBHOOK_SIGNATURE, entry.parse().unwrap());
        r
    };
    let (first, second) = (only(entries[0]), only(entries[1]));
    assert!(verifies(&new, &first) && !verifies(&old, &first));
    assert!(verifies(&old, &second) && !verifies(&new, &second));
}

async fn a_v1a_secret_must_be_an_ed25519_private_key(app: &mut TestApp) {
    let v1a = json!({"scheme": V1A});
    let whsk = generate_signing_key_string(&[7; 32]);
    let expected_public = key(&whsk).public_key().unwrap();
    for bad in [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        expected_public.clone(),
        "whsk_aGVsbG8=".to_owned(),
        "not a key".to_owned(),
    ] {
        let (status, err) = app
            .post(
                "/v1/webhooks",
                json!({"url": "http://127.0.0.1:9/h", "signature": v1a, "secret": bad}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {err}");
        assert_eq!(err["error"]["field"], "secret", "{err}");
        assert!(
            !err.to_string().contains(&bad),
            "the refused value is not echoed: {err}"
        );
    }
    // A v1 webhook takes no Ed25519 key: it would show it as its `secret`.
    let (status, err) = app
        .post(
            "/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/h", "secret": whsk}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "secret", "{err}");
    let (_, list) = app.get("/v1/webhooks").await;
    assert_eq!(list["data"], json!([]), "bad input created nothing");

    // A given private key is used, and only its public key is shown.
    let w = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/h", "signature": v1a, "secret": whsk}))
        .await;
    assert_no_private_key(&w);
    assert_eq!(w["public_key"], expected_public.as_str());
    let id = w["id"].as_str().unwrap();
    let (status, err) = app
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            json!({"secret": expected_public}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "secret", "{err}");
    let (_, reread) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(
        reread["public_key"],
        expected_public.as_str(),
        "a refused rotation changes nothing"
    );
    assert!(reread.get("previous_public_key").is_none(), "{reread}");

    // Switching to a shared secret makes one, shown as before; and back makes a new key pair.
    let (status, v1) = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"signature": {"scheme": "standard-webhooks"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert!(v1["secret"].as_str().unwrap().starts_with("whsec_"), "{v1}");
    assert!(v1.get("public_key").is_none(), "{v1}");
    let (status, back) = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"signature": v1a}))
        .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_no_private_key(&back);
    assert_ne!(public_key(&back), expected_public);
}

/// `hookrelay listen --secret whpk_…` verifies what hookrelay delivers, and rejects deliveries
/// signed by another key with a 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_verifies_v1a_deliveries_with_the_public_key() {
    let whsk = generate_signing_key_string(&[42; 32]);
    let public = key(&whsk).public_key().unwrap();
    let mut listener = Listener::spawn(&["--scheme", V1A, "--secret", &public]).await;
    assert!(
        listener.start.ends_with("(scheme standard-webhooks-v1a)"),
        "{}",
        listener.start
    );
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.create_webhook(json!({
        "url": listener.url("/good"), "signature": {"scheme": V1A}, "secret": whsk,
        "events": ["good.*"],
    }))
    .await;
    app.create_webhook(json!({
        "url": listener.url("/bad"), "signature": {"scheme": V1A}, "events": ["bad.*"],
        "retry_schedule": [],
    }))
    .await;
    app.publish(json!({"type": "good.one", "data": {}})).await;
    let line = listener.next_line().await;
    assert!(line.contains("  good.one  signature ok  "), "{line}");
    assert!(line.ends_with("  /good  -> 200"), "{line}");
    app.publish(json!({"type": "bad.one", "data": {}})).await;
    let line = listener.next_line().await;
    assert!(
        line.contains("  bad.one  signature BAD (no signature matches"),
        "{line}"
    );
    assert!(line.ends_with("  /bad  -> 401"), "{line}");
    listener.stop().await;
    app.teardown().await;
}

/// The OpenAPI document names the scheme and the key fields.
#[tokio::test]
async fn the_openapi_document_describes_v1a() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, doc) = app
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["SignatureConfig"].to_string().contains(V1A),
        "{}",
        schemas["SignatureConfig"]
    );
    let webhook = &schemas["WebhookOut"];
    for field in [
        "public_key",
        "previous_public_key",
        "previous_public_key_expires_at",
    ] {
        let description = webhook["properties"][field]["description"].as_str();
        assert!(
            description.is_some_and(|d| d.contains(V1A) || d.contains("previous_public_key")),
            "{field}: {webhook}"
        );
    }
    let required = webhook["required"].as_array().unwrap();
    assert!(
        !required.contains(&json!("secret")),
        "secret is absent for v1a: {webhook}"
    );
    let rotated = &schemas["RotateOut"]["properties"];
    assert!(rotated["public_key"].is_object(), "{rotated}");
    assert!(rotated["previous_public_key"].is_object(), "{rotated}");
    app.teardown().await;
}

/// The README's v1a `hookrelay verify` example prints what the README says it prints.
#[test]
fn the_readmes_v1a_verify_example_prints_valid() {
    const README: &str = include_str!("../../../../README.md");
    let start = README
        .match_indices("printf '%s'")
        .map(|(at, _)| at)
        .find(|at| README[*at..].split("```").next().unwrap().contains(V1A))
        .expect("the v1a verify example");
    let block = README[start..].split("```").next().unwrap();
    let (script, expected) = block.rsplit_once("# ").unwrap();
    let script = script.replace(
        "cargo run --release -p hookrelay --",
        env!("CARGO_BIN_EXE_hookrelay"),
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out).trim(), expected.trim());
}
