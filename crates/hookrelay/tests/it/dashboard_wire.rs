//! A webhook's wire format in the dashboard, over HTTP on both backends: a custom signature
//! (every field the API's `signature` takes, and the payload format) saved through the API's
//! update and signing the next delivery so, its refusals at their fields changing nothing; and
//! the receiving guide, showing the code of docs/receiving.md for the webhook's scheme in the
//! language picked, its public key but never a secret, and no other tenant's webhook.

use hookrelay_signature::{Encoding, Scheme, Secret, VerifyOptions, verify};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::dashboard::{csrf, page, post_form, tenant_session};
use crate::helpers::{TestApp, TestReceiver};

backend_tests!(
    a_custom_wire_format_is_saved_and_refused_at_its_fields,
    the_receiving_guide_shows_the_guides_code_for_the_webhooks_scheme,
);

async fn a_custom_wire_format_is_saved_and_refused_at_its_fields(app: &mut TestApp) {
    let app = &*app;
    let receiver = TestReceiver::spawn().await;
    app.create_tenant("acme").await;
    let w = app
        .create_tenant_webhook(
            "acme",
            json!({"url": receiver.url("/in"), "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
        )
        .await;
    let id = w["id"].as_str().unwrap();
    let cookie = tenant_session(app, "acme").await;
    let edit = format!("/dashboard/t/acme/webhooks/{id}/edit");
    let (status, html) = page(app, &cookie, &edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("value=\"standard-webhooks\" selected"),
        "{html}"
    );
    let token = csrf(&html);
    let form = |header: &'static str, prefix: &'static str| {
        vec![
            ("_csrf", token.clone()),
            ("url", receiver.url("/in")),
            ("timeout_seconds", "10".to_owned()),
            ("retry_schedule", "30".to_owned()),
            ("active", "true".to_owned()),
            ("preset", "custom".to_owned()),
            ("sig_scheme", "hmac-sha256".to_owned()),
            ("sig_header", header.to_owned()),
            ("sig_encoding", "base64".to_owned()),
            ("sig_prefix", prefix.to_owned()),
            ("payload_format", "object-event".to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let (cookie, edit) = (cookie.clone(), edit.clone());
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(app, &cookie, &edit, &f).await
        }
    };

    for (header, prefix, id_attr, message) in [
        (
            "Bad Header",
            "",
            "signature-header-error",
            "is not a valid header name",
        ),
        (
            "webhook-signature",
            "",
            "signature-header-error",
            "is set by hookrelay itself",
        ),
        (
            "X-Acme-Sig",
            "sig\u{e4}=",
            "signature-prefix-error",
            "must be at most 64 printable ASCII characters",
        ),
    ] {
        let (status, _, html) = post(form(header, prefix)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let at = html
            .find(&format!("id=\"{id_attr}\""))
            .unwrap_or_else(|| panic!("no {id_attr}: {html}"));
        assert!(html[at..].contains(message), "{html}");
        assert!(html.contains("value=\"custom\" selected"), "kept: {html}");
        assert_eq!(
            app.get(&format!("/v1/tenants/acme/webhooks/{id}")).await.1,
            w,
            "nothing changes"
        );
    }

    let (status, location, html) = post(form("X-Acme-Sig", "v0=")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(location, format!("/dashboard/t/acme/webhooks/{id}"));
    let (_, now) = app.get(&format!("/v1/tenants/acme/webhooks/{id}")).await;
    assert_eq!(
        now["signature"],
        json!({"scheme": "hmac-sha256", "header": "X-Acme-Sig", "encoding": "base64", "prefix": "v0="})
    );
    assert_eq!(now["payload_format"], "object-event");
    let (_, html) = page(app, &cookie, &edit).await;
    assert!(html.contains("value=\"custom\" selected"), "{html}");
    assert!(html.contains("value=\"X-Acme-Sig\""), "{html}");
    assert!(html.contains("value=\"base64\" selected"), "{html}");

    // The next delivery carries exactly that signature over the object-event body.
    app.publish(json!({"type": "order.created", "tenant": "acme", "data": {"n": 1}}))
        .await;
    let got = receiver.wait_for(1).await.remove(0);
    let scheme = Scheme::HmacSha256 {
        header: "X-Acme-Sig".into(),
        encoding: Encoding::Base64,
        prefix: "v0=".into(),
    };
    let secret = Secret::new(&scheme, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let headers = [("X-Acme-Sig", got.header("x-acme-sig"))];
    assert!(
        verify(
            &scheme,
            &[secret],
            &headers,
            &got.body,
            &VerifyOptions::at(0)
        )
        .is_ok()
    );
    assert_eq!(got.json()["object"], "event");
}

async fn the_receiving_guide_shows_the_guides_code_for_the_webhooks_scheme(app: &mut TestApp) {
    let app = &*app;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let hmac = app.create_tenant_webhook("acme", json!({"url": "http://127.0.0.1:9/in", "secret": "shh-do-not-show",
                   "signature": {"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "prefix": "sha256="},
                   "payload_format": "event-timestamp"})).await;
    let pair = app.create_tenant_webhook("acme", json!({"url": "http://127.0.0.1:9/pair", "signature": {"scheme": "standard-webhooks-v1a"}})).await;
    let theirs = app
        .create_tenant_webhook("globex", json!({"url": "http://127.0.0.1:9/globex"}))
        .await;
    let cookie = tenant_session(app, "acme").await;
    let base = format!(
        "/dashboard/t/acme/webhooks/{}",
        hmac["id"].as_str().unwrap()
    );
    let (_, html) = page(app, &cookie, &base).await;
    assert!(
        html.contains(&format!("href=\"{base}/receiving\"")),
        "{html}"
    );

    // The guide's own lines, in each language; the page's default is Node.js.
    for (lang, line) in [
        (
            "python",
            "def verify_hmac_sha256(\n    secret: str, header: str | None, body: bytes, prefix: str = \"\", encoding: str = \"hex\"\n) -&gt; None:",
        ),
        (
            "go",
            "func VerifyHmacSha256(secret, header string, body []byte, prefix string, useBase64 bool) error {",
        ),
        ("rust", "let scheme = Scheme::HmacSha256 {"),
        (
            "node",
            "function verifyHmacSha256(secret, header, body, prefix = \"\", encoding = \"hex\") {",
        ),
        (
            "cobol",
            "function verifyHmacSha256(secret, header, body, prefix = \"\", encoding = \"hex\") {",
        ),
    ] {
        let (status, html) = page(app, &cookie, &format!("{base}/receiving?lang={lang}")).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let html = html.replace("&quot;", "\"");
        assert!(html.contains(line), "{lang}: {html}");
        assert!(
            html.contains("X-Webhook-Signature: sha256=&lt;hex&gt;"),
            "{html}"
        );
        assert!(!html.contains("shh-do-not-show"), "no secret shown");
    }
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/receiving.md"
    ))
    .unwrap();
    assert!(guide.contains("def verify_hmac_sha256(\n    secret: str"));

    // A key pair: its public key and the Node snippet; Python has none, and says what to do.
    let pid = pair["id"].as_str().unwrap();
    let pair_base = format!("/dashboard/t/acme/webhooks/{pid}");
    let (_, html) = page(app, &cookie, &format!("{pair_base}/receiving")).await;
    assert!(
        html.contains("function verifyStandardWebhooksV1a("),
        "{html}"
    );
    let public = pair["public_key"].as_str().unwrap();
    assert!(html.contains(public), "{html}");
    assert!(!html.contains("whsk_"), "never the private key");
    let (_, html) = page(app, &cookie, &format!("{pair_base}/receiving?lang=python")).await;
    assert!(html.contains("id=\"no-snippet\""), "{html}");

    let theirs = theirs["id"].as_str().unwrap();
    for path in [
        format!("/dashboard/t/acme/webhooks/{theirs}/receiving"),
        format!("/dashboard/t/globex/webhooks/{theirs}/receiving"),
    ] {
        assert_eq!(
            page(app, &cookie, &path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
