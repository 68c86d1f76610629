//! "Webhook disabled" notices by email, through a real SMTP server on 127.0.0.1 (`smtp.rs`):
//! a notice arrives with its fields, untrusted text cannot add headers, recipients or lines,
//! and a relay that is down, or refuses, ends in an error (after retries only where retrying
//! can help), never a panic or a hang.

use std::time::Duration;

use hookrelay::config::SecretString;
use hookrelay::ids::{TenantId, WebhookId};
use hookrelay::notify::email::{Mailer, Retries};
use hookrelay::store::{Disabled as Notice, DisabledReason};

use crate::helpers::{refused_address, test_config};
use crate::smtp::{Relay, SmtpServer};

/// Retries quick enough for a test; the bound below is generous.
const QUICK: Retries = Retries {
    attempts: 3,
    first_wait: Duration::from_millis(20),
};

/// Far more than three quick attempts at a local port can take.
const BOUND: Duration = Duration::from_secs(60);

fn notice() -> Notice {
    Notice {
        webhook_id: WebhookId::from_trusted("wh_01JDQ6ZC3TQ8W0N9Y7E3XK5V2M"),
        tenant_id: TenantId::from_trusted("acme"),
        url: "https://hooks.acme.example/in?k=1".to_owned(),
        reason: DisabledReason::Failing,
        disabled_at: 1_795_600_800_123,
        last_error: Some("HTTP 500: upstream timed out".to_owned()),
    }
}

fn mailer(url: &str) -> Mailer {
    Mailer::new(&SecretString::new(url), "hookrelay <hookrelay@example.com>")
        .unwrap()
        .with_retries(QUICK)
}

async fn send(mailer: &Mailer, to: &str, notice: &Notice) -> anyhow::Result<()> {
    tokio::time::timeout(BOUND, mailer.send_disabled_notice(to, notice))
        .await
        .expect("sending ends within its bound")
}

#[tokio::test]
async fn a_disabled_notice_arrives_with_its_fields() {
    let relay = SmtpServer::spawn(Relay::Accepting).await;
    send(&mailer(&relay.url()), "ops@acme.example", &notice())
        .await
        .unwrap();
    let mails = relay.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "hookrelay@example.com");
    assert_eq!(mail.to, ["ops@acme.example"]);
    assert_eq!(
        mail.header("subject").unwrap(),
        "hookrelay: webhook wh_01JDQ6ZC3TQ8W0N9Y7E3XK5V2M disabled (failing)"
    );
    assert_eq!(mail.header("to").unwrap(), "ops@acme.example");
    assert!(
        mail.header("from")
            .unwrap()
            .contains("<hookrelay@example.com>")
    );
    assert!(
        mail.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(mail.header("content-transfer-encoding").unwrap(), "7bit");
    let body = mail.body();
    for line in [
        "Webhook:     wh_01JDQ6ZC3TQ8W0N9Y7E3XK5V2M",
        "Tenant:      acme",
        "Reason:      failing",
        "Disabled at: 2026-11-25T10:00:00.123Z",
        "URL:         \"https://hooks.acme.example/in?k=1\"",
        "Last error:  \"HTTP 500: upstream timed out\"",
        "send {\"active\": true} as a",
        "  /v1/webhooks/wh_01JDQ6ZC3TQ8W0N9Y7E3XK5V2M",
        "  /v1/tenants/acme/webhooks/wh_01JDQ6ZC3TQ8W0N9Y7E3XK5V2M",
    ] {
        assert!(body.contains(line), "{line:?} in:\n{body}");
    }
}

#[tokio::test]
async fn untrusted_text_adds_no_header_recipient_line_or_message() {
    let relay = SmtpServer::spawn(Relay::Accepting).await;
    let mut n = notice();
    // Header injection, an end of DATA followed by a second message (SMTP smuggling), a
    // forged line of the notice.
    n.last_error = Some(
        "x\r\nBcc: victim@example.com\r\n\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<victim@example.com>\r\n\
         DATA\r\nSubject: forged\r\n\r\nReason:      fixed\r\n.\r\n"
            .to_owned(),
    );
    send(&mailer(&relay.url()), "ops@acme.example", &n)
        .await
        .unwrap();
    let mails = relay.mails();
    assert_eq!(mails.len(), 1, "one message: {mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.to, ["ops@acme.example"]);
    assert_eq!(mail.header("bcc"), None);
    assert!(
        mail.header("subject")
            .unwrap()
            .ends_with("disabled (failing)")
    );
    let body = mail.body();
    assert!(
        body.lines()
            .all(|l| !l.starts_with("Bcc") && !l.starts_with('.') && l != "Reason:      fixed"),
        "{body}"
    );
    assert!(body.contains(r#""x\u{d}\u{a}Bcc: victim@example.com\u{d}\u{a}\u{d}\u{a}."#));
}

#[tokio::test]
async fn with_the_relay_down_sending_fails_after_its_retries() {
    let closed = refused_address().await;
    let err = send(
        &mailer(&format!("smtp://{closed}")),
        "ops@acme.example",
        &notice(),
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("after 3 attempts"), "{err:#}");
}

#[tokio::test]
async fn a_relay_that_says_try_later_is_tried_again_then_given_up() {
    let relay = SmtpServer::spawn(Relay::Unavailable).await;
    let err = send(&mailer(&relay.url()), "ops@acme.example", &notice())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("after 3 attempts"), "{err:#}");
    assert_eq!(relay.connections(), 3);
    assert!(relay.mails().is_empty());
}

#[tokio::test]
async fn a_relay_that_refuses_the_recipient_is_not_tried_again() {
    let relay = SmtpServer::spawn(Relay::Refusing).await;
    let err = send(&mailer(&relay.url()), "ops@acme.example", &notice())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("refused"), "{err:#}");
    assert_eq!(relay.connections(), 1);
}

#[tokio::test]
async fn a_recipient_that_is_not_an_address_fails_before_any_connection() {
    let relay = SmtpServer::spawn(Relay::Accepting).await;
    let mailer = mailer(&relay.url());
    for to in ["", "ops", "ops@acme.example\r\nBcc: victim@example.com"] {
        let err = send(&mailer, to, &notice()).await.unwrap_err();
        assert!(format!("{err:#}").contains("recipient"), "{to:?}: {err:#}");
    }
    assert_eq!(relay.connections(), 0);
}

#[tokio::test]
async fn an_app_built_with_a_relay_offers_a_mailer_that_sends_through_it() {
    let relay = SmtpServer::spawn(Relay::Accepting).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
    let mut config = test_config(&url);
    let app = hookrelay::App::build(config.clone()).await.unwrap();
    assert!(app.mailer().is_none(), "no smtp_url, no mailer");
    drop(app);

    config.smtp_url = Some(SecretString::new(relay.url()));
    config.email_from = Some("hookrelay@example.com".to_owned());
    let app = hookrelay::App::build(config).await.unwrap();
    let mailer = app.mailer().unwrap().clone().with_retries(QUICK);
    send(&mailer, "ops@acme.example", &notice()).await.unwrap();
    assert_eq!(relay.mails().len(), 1);
}
