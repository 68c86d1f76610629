//! "Webhook disabled" notices by email, through the SMTP relay of `smtp_url` (lettre, over the
//! same rustls stack as deliveries).
//!
//! Invariants: a notice is plain printable ASCII whatever it quotes. The webhook's URL and its
//! last error come from people nobody vouches for (a tenant chose the URL, the endpoint wrote
//! the error), so they are quoted on lines of their own, cut to a bound, with every other
//! character (line breaks that could forge lines of the notice, bidi controls that reorder what
//! is read, look-alike letters) shown as a `\u{…}` escape; the subject holds nothing of theirs.
//! Sending never panics and ends in bounded time: a few attempts, each with a deadline, spaced
//! by doubling waits, and only while the relay's answer leaves hope (not after a 5xx). The
//! `smtp_url` may carry a password: it is never logged, and no error here contains it.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, bail};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::{debug, info, instrument, warn};

use crate::config::{Config, SecretString};
use crate::ids::TenantId;
use crate::store::{Disabled, DisabledReason};

/// Characters of the webhook's URL a notice shows (URLs may have 2048).
const URL_MAX: usize = 500;

/// Characters of the last error a notice shows.
const ERROR_MAX: usize = 500;

/// How long one SMTP command may take (lettre's own default is a minute).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one whole attempt may take, however slowly a relay answers each command.
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(30);

/// Why the notice says it was disabled, in words.
fn explained(reason: DisabledReason) -> &'static str {
    match reason {
        DisabledReason::Failing => "deliveries to its endpoint kept failing",
        DisabledReason::Gone => "its endpoint answered 410 Gone: it says it no longer exists",
    }
}

/// How often, and how patiently, a notice is tried while the relay cannot take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retries {
    /// Attempts in all, at least one.
    pub attempts: u32,
    /// The wait after the first failed attempt; each later wait doubles.
    pub first_wait: Duration,
}

impl Default for Retries {
    /// Four attempts over about 7 s of waits (1, 2 and 4 s): enough for a relay restarting,
    /// short enough not to hold up whoever is waiting on the result.
    fn default() -> Self {
        Self {
            attempts: 4,
            first_wait: Duration::from_secs(1),
        }
    }
}

/// Sends notices through one SMTP relay. Cheap to clone; share it freely.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    retries: Retries,
}

impl fmt::Debug for Mailer {
    // The transport holds the relay's credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp_url` (`smtp://host:port`, `smtp://host?tls=required` for STARTTLS,
    /// `smtps://user:pass@host`) sending as `from` (`Name <addr@example.com>` or a bare address).
    pub fn new(smtp_url: &SecretString, from: &str) -> anyhow::Result<Self> {
        // lettre's errors describe the URL's fault without quoting it; neither do we.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.expose())
            .context("smtp_url: not a usable SMTP URL (smtp:// or smtps://, with a host)")?
            .timeout(Some(COMMAND_TIMEOUT))
            .build();
        let from = from
            .parse()
            .context("email_from: not an email address (e.g. \"hookrelay <hr@example.com>\")")?;
        Ok(Self {
            transport,
            from,
            retries: Retries::default(),
        })
    }

    /// The mailer the config asks for; `None`, after a warning, when `smtp_url` is unset.
    /// Call once at start: the warning is meant to be seen once.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let Some(url) = &config.smtp_url else {
            warn!("smtp_url is not set: notices such as \"webhook disabled\" will not be emailed");
            return Ok(None);
        };
        let from = config
            .email_from
            .as_deref()
            .context("email_from: required when smtp_url is set")?;
        let mailer = Self::new(url, from)?;
        let relay = url::Url::parse(url.expose()).ok();
        let host = relay.as_ref().and_then(url::Url::host_str).unwrap_or("?");
        info!(
            smtp.host = host,
            "notices are emailed through the SMTP relay"
        );
        Ok(Some(mailer))
    }

    /// The same mailer, trying as `retries` says.
    pub fn with_retries(mut self, retries: Retries) -> Self {
        self.retries = retries;
        self
    }

    /// Emails `to` that `notice`'s webhook was disabled, trying again while the relay is
    /// unreachable or answers "try later" (4xx). Fails, for the caller to log, when `to` is not
    /// an address, when the relay refuses the message (5xx), or when every attempt failed.
    #[instrument(skip_all, fields(webhook.id = %notice.webhook_id, tenant.id = %notice.tenant_id))]
    pub async fn send_disabled_notice(&self, to: &str, notice: &Disabled) -> anyhow::Result<()> {
        let to: Mailbox = to
            .parse()
            .context("the recipient is not an email address")?;
        let (subject, body) = render(notice);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .context("building the notice")?;
        let envelope = message.envelope().clone();
        let raw = message.formatted();
        let attempts = self.retries.attempts.max(1);
        let mut wait = self.retries.first_wait;
        let mut attempt = 1;
        loop {
            let sent =
                tokio::time::timeout(ATTEMPT_DEADLINE, self.transport.send_raw(&envelope, &raw))
                    .await;
            let error = match sent {
                Ok(Ok(_)) => {
                    debug!(attempt, "notice sent");
                    return Ok(());
                }
                // A 5xx, or a transport set up wrong: the same message cannot fare better.
                Ok(Err(e)) if e.is_permanent() || e.is_client() => {
                    bail!("the SMTP relay refused the notice: {e}")
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {} s", ATTEMPT_DEADLINE.as_secs()),
            };
            if attempt >= attempts {
                bail!("sending the notice failed after {attempts} attempts; last: {error}");
            }
            debug!(attempt, error = %error, wait_ms = wait.as_millis() as u64, "notice not sent yet; trying again");
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
            attempt += 1;
        }
    }
}

/// The subject and plain-text body of `notice`. Every line of the body is kept under 75
/// characters, so the message goes as 7-bit text that any mail client shows as it is.
fn render(notice: &Disabled) -> (String, String) {
    // Ids are ours (a generated webhook id, an operator-chosen tenant id), escaped all the same.
    let id = escape(notice.webhook_id.as_str(), 64).0.concat();
    let tenant = escape(notice.tenant_id.as_str(), 64).0.concat();
    let reason = notice.reason;
    // Only an id and a fixed word: nothing a tenant or an endpoint wrote.
    let subject = format!("hookrelay: webhook {id} disabled ({})", reason.as_str());
    let last_error = match &notice.last_error {
        Some(error) => quote(error, ERROR_MAX),
        None => "(none recorded)".to_owned(),
    };
    let admin_path = if notice.tenant_id == TenantId::default_tenant() {
        format!("/v1/webhooks/{id}")
    } else {
        format!("/v1/tenants/{tenant}/webhooks/{id}")
    };
    let body = format!(
        "hookrelay disabled webhook {id}:\n\
         {why}.\n\
         No deliveries are made to it until it is enabled again.\n\
         \n\
         Webhook:     {id}\n\
         Tenant:      {tenant}\n\
         Reason:      {reason}\n\
         Disabled at: {at}\n\
         URL:         {url}\n\
         Last error:  {last_error}\n\
         \n\
         To enable it again once its endpoint works, send {{\"active\": true}} as a\n\
         PATCH to, with the tenant's key:\n\
         \x20 /v1/webhooks/{id}\n\
         or with the admin key:\n\
         \x20 {admin_path}\n\
         \n\
         The URL and the last error come from outside hookrelay. They are shown\n\
         in quotes as recorded, with anything but plain ASCII escaped, wrapped,\n\
         and cut to {URL_MAX} and {ERROR_MAX} characters. Follow no link or instruction\n\
         in them.\n",
        why = explained(reason),
        reason = reason.as_str(),
        at = crate::clock::rfc3339(notice.disabled_at),
        url = quote(&notice.url, URL_MAX),
    );
    (subject, body)
}

/// Characters of an escaped value on one line of the notice.
const WRAP: usize = 56;

/// The notice's indent for a value's continuation lines (under its first line).
const INDENT: &str = "\n             ";

/// `text` in double quotes, [`escape`]d to at most `max` characters, wrapped every [`WRAP`]
/// characters (never inside an escape; a link split over lines is no link), a cut marked with
/// how much was left out.
fn quote(text: &str, max: usize) -> String {
    let (pieces, left) = escape(text, max);
    let mut out = String::from("\"");
    let mut line = 1;
    for piece in pieces {
        if line + piece.len() > WRAP {
            out.push_str(INDENT);
            line = 0;
        }
        out.push_str(&piece);
        line += piece.len();
    }
    out.push('"');
    if left > 0 {
        out.push_str(INDENT);
        out.push_str(&format!("({left} more characters cut)"));
    }
    out
}

/// `text` as pieces of printable ASCII, at most `max` characters in all: a character of its
/// own, `"` and `\` escaped with a backslash, or anything else outside `' '..='~'` as
/// `\u{hex}`. Also answers how many of its characters did not fit.
fn escape(text: &str, max: usize) -> (Vec<String>, usize) {
    let mut pieces = Vec::new();
    let mut used = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let piece = match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            ' '..='~' => c.to_string(),
            _ => format!("\\u{{{:x}}}", u32::from(c)),
        };
        if used + piece.len() > max {
            return (pieces, 1 + chars.count());
        }
        used += piece.len();
        pieces.push(piece);
    }
    (pieces, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::WebhookId;

    fn notice() -> Disabled {
        Disabled {
            webhook_id: WebhookId::from_trusted("wh_01JD0000000000000000000000"),
            tenant_id: TenantId::from_trusted("acme"),
            url: "https://hooks.example.com/in".to_owned(),
            reason: DisabledReason::Gone,
            disabled_at: 1_795_600_800_123,
            last_error: Some("HTTP 410: gone".to_owned()),
        }
    }

    /// The value of `label` in `body`, its wrapped lines joined.
    fn value(body: &str, label: &str) -> String {
        let mut lines = body.lines().skip_while(|l| !l.starts_with(label));
        let first = lines.next().unwrap_or_else(|| panic!("{label} in {body}"));
        let mut value = first[13..].to_owned();
        for more in lines.take_while(|l| l.starts_with(&INDENT[1..])) {
            value.push_str(&more[13..]);
        }
        value
    }

    #[test]
    fn a_notice_names_the_webhook_the_reason_and_how_to_enable_it() {
        let (subject, body) = render(&notice());
        assert_eq!(
            subject,
            "hookrelay: webhook wh_01JD0000000000000000000000 disabled (gone)"
        );
        for (label, expected) in [
            ("Webhook:", "wh_01JD0000000000000000000000"),
            ("Tenant:", "acme"),
            ("Reason:", "gone"),
            ("Disabled at:", "2026-11-25T10:00:00.123Z"),
            ("URL:", "\"https://hooks.example.com/in\""),
            ("Last error:", "\"HTTP 410: gone\""),
        ] {
            assert_eq!(value(&body, label), expected, "{body}");
        }
        for paths in [
            "with the tenant's key:\n  /v1/webhooks/wh_01JD0000000000000000000000\n",
            "with the admin key:\n  /v1/tenants/acme/webhooks/wh_01JD0000000000000000000000\n",
        ] {
            assert!(body.contains(paths), "{paths:?} in:\n{body}");
        }
        assert!(
            body.contains("send {\"active\": true} as a\nPATCH"),
            "{body}"
        );
        assert!(body.is_ascii());
        assert!(body.lines().all(|l| l.len() < 75), "7-bit text: {body}");
    }

    #[test]
    fn untrusted_text_cannot_forge_lines_reorder_or_run_on() {
        let mut n = notice();
        n.url = "https://x.example/\u{202e}gpj.exe".to_owned();
        n.last_error = Some(format!(
            "boom\r\nReason: fixed, click https://evil.example\n\"{}",
            "é".repeat(5000)
        ));
        let (subject, body) = render(&n);
        assert!(!subject.contains("boom") && !subject.contains("evil"));
        assert!(body.is_ascii());
        assert!(body.lines().all(|l| l.len() < 75), "7-bit text: {body}");
        assert_eq!(
            value(&body, "URL:"),
            r#""https://x.example/\u{202e}gpj.exe""#
        );
        let error = value(&body, "Last error:");
        assert!(
            error.starts_with(
                r#""boom\u{d}\u{a}Reason: fixed, click https://evil.example\u{a}\"\u{e9}"#
            ),
            "{error}"
        );
        assert!(error.len() <= ERROR_MAX + 40, "{}", error.len());
        // 49 characters before the 5000 accents, 62 once escaped; 73 accents fit in the rest.
        assert!(error.ends_with("\"(4927 more characters cut)"), "{error}");
        assert!(
            !body.lines().any(|l| l.starts_with("Reason: fixed")),
            "{body}"
        );
    }

    #[test]
    fn quoting_wraps_between_escapes_and_cuts_at_the_bound() {
        assert_eq!(quote("abc", 3), "\"abc\"");
        assert_eq!(
            quote("abcd", 3),
            format!("\"abc\"{INDENT}(1 more characters cut)")
        );
        // An escape is never split, by the bound or by wrapping.
        assert_eq!(
            quote("a\u{7f}b", 4),
            format!("\"a\"{INDENT}(2 more characters cut)")
        );
        let wrapped = quote(&format!("{}\u{7f}", "x".repeat(WRAP - 3)), 500);
        assert_eq!(
            wrapped,
            format!("\"{}{INDENT}\\u{{7f}}\"", "x".repeat(WRAP - 3))
        );
        assert_eq!(quote("", 3), "\"\"");
        assert_eq!(quote("say \"hi\" \\o/", 40), r#""say \"hi\" \\o/""#);
    }

    #[test]
    fn the_admin_path_of_the_default_tenant_is_the_short_one() {
        let mut n = notice();
        n.tenant_id = TenantId::default_tenant();
        n.last_error = None;
        let (_, body) = render(&n);
        let admin = "with the admin key:\n  /v1/webhooks/wh_01JD0000000000000000000000\n";
        assert!(body.contains(admin), "{body}");
        assert_eq!(value(&body, "Last error:"), "(none recorded)");
    }

    #[test]
    fn settings_are_checked_and_the_password_never_shows() {
        let url = SecretString::new("smtps://user:hunter2-secret@smtp.example.com");
        let mailer = Mailer::new(&url, "hookrelay <hr@example.com>").expect("mailer");
        assert!(!format!("{mailer:?}").contains("hunter2"));
        let err = Mailer::new(
            &SecretString::new("http://user:hunter2@x"),
            "hr@example.com",
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("smtp_url") && !text.contains("hunter2"),
            "{text}"
        );
        let err = Mailer::new(&url, "not an address").unwrap_err();
        assert!(format!("{err:#}").contains("email_from"));
    }

    #[test]
    fn a_mailer_can_be_shared_across_tasks() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Mailer>();
    }
}
