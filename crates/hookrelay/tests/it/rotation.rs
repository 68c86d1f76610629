//! Secret rotation, end to end: a receiver that knows only the old secret, then only the new,
//! accepts every delivery through a Standard Webhooks rotation; single-signature schemes switch
//! at once and say so.

use std::time::Duration;

use hookrelay_signature::{Scheme, Secret, VerifyOptions, verify};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Received, TestApp, TestReceiver, eventually};

backend_tests!(
    during_a_rotation_receivers_with_either_secret_accept_deliveries,
    after_the_overlap_only_the_new_secret_signs,
    single_signature_schemes_switch_at_once_and_say_so,
);

fn verifies(scheme: &Scheme, secret: &str, r: &Received) -> bool {
    let secret = Secret::new(scheme, secret).unwrap();
    let now = hookrelay::clock::now_ms() / 1000;
    verify(
        scheme,
        &[secret],
        &r.headers,
        &r.body,
        &VerifyOptions::at(now),
    )
    .is_ok()
}

async fn during_a_rotation_receivers_with_either_secret_accept_deliveries(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app.create_webhook(json!({"url": receiver.url("/h")})).await;
    let id = w["id"].as_str().unwrap();
    let old = w["secret"].as_str().unwrap().to_owned();
    let new = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (status, rotated) = app
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            json!({"secret": new}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["secret"], new);
    let until = rotated["previous_secret_expires_at"]
        .as_str()
        .expect("an overlap");
    let until = hookrelay::clock::parse_rfc3339(until).unwrap();
    let in_a_day = hookrelay::clock::now_ms() + 24 * 3600 * 1000;
    assert!((in_a_day - until).abs() < 60_000, "24 h by default");
    let (_, reread) = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(reread["secret"], new);

    app.publish(json!({"type": "a.b", "data": {}})).await;
    let r = &receiver.wait_for(1).await[0];
    let scheme = Scheme::StandardWebhooks;
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2);
    assert!(
        verifies(&scheme, &old, r),
        "a receiver that knows only the old secret accepts it"
    );
    assert!(
        verifies(&scheme, new, r),
        "a receiver that knows only the new secret accepts it"
    );
    assert!(!verifies(
        &scheme,
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        r
    ));

    // A generated secret when none is given; bad input changes nothing.
    let (status, err) = app
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            json!({"secret": "%%%"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "secret");
    let (status, again) = app
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(again["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_ne!(again["secret"], new);
    let (status, _) = app
        .post("/v1/webhooks/wh_missing/rotate-secret", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn after_the_overlap_only_the_new_secret_signs(app: &mut TestApp) {
    app.stop().await;
    let short = app
        .spawn_peer(|c| c.secret_rotation_overlap_seconds = 1)
        .await;
    let receiver = TestReceiver::spawn().await;
    let w = short
        .create_webhook(json!({"url": receiver.url("/h")}))
        .await;
    let id = w["id"].as_str().unwrap();
    let old = w["secret"].as_str().unwrap().to_owned();
    let (_, rotated) = short
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    let until =
        hookrelay::clock::parse_rfc3339(rotated["previous_secret_expires_at"].as_str().unwrap())
            .unwrap();
    eventually(Duration::from_secs(5), "the overlap ends", || async {
        hookrelay::clock::now_ms() > until
    })
    .await;
    short.publish(json!({"type": "a.b", "data": {}})).await;
    let r = &receiver.wait_for(1).await[0];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 1);
    assert!(verifies(&Scheme::StandardWebhooks, &new, r));
    assert!(
        !verifies(&Scheme::StandardWebhooks, &old, r),
        "the old secret no longer signs"
    );
    short.teardown().await;
    app.restart().await;
}

async fn single_signature_schemes_switch_at_once_and_say_so(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "secret": "old-secret",
                               "signature": {"scheme": "hmac-sha256", "header": "X-MG-Signature"}}))
        .await;
    let id = w["id"].as_str().unwrap();
    let (status, rotated) = app
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            json!({"secret": "new-secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rotated["previous_secret_expires_at"], json!(null));
    assert!(
        rotated["note"]
            .as_str()
            .unwrap()
            .contains("single signature"),
        "{rotated}"
    );
    app.publish(json!({"type": "a.b", "data": {}})).await;
    let r = &receiver.wait_for(1).await[0];
    let scheme = Scheme::HmacSha256 {
        header: "X-MG-Signature".into(),
        encoding: hookrelay_signature::Encoding::Hex,
        prefix: String::new(),
    };
    assert!(verifies(&scheme, "new-secret", r));
    assert!(!verifies(&scheme, "old-secret", r));
}
