//! The receiving guide of one webhook: what its deliveries carry (signature header, signed
//! bytes, key, body shape, for its wire format) and how to verify one, with the code of
//! `docs/receiving.md` in the language chosen with links (Rust, Python, Node.js, Go).
//!
//! The snippets are not copies: the guide is embedded whole (`include_str!`) and each snippet
//! is cut out of it by its headings, so the page always shows what the guide shows, and the
//! guide's own test (`crates/hookrelay-signature/tests/receivers.rs`) holds the guide to the
//! files that are run. A heading renamed in the guide fails this module's tests, not the page.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::webhook_secret::public_key;
use crate::dashboard::DashState;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::page;
use crate::dashboard::session::TenantView;
use crate::ids::WebhookId;
use crate::model::webhook::SignatureEncoding;
use crate::model::{PayloadFormat, SignatureConfig};

use super::webhook::WebhookPath;

/// The receiver guide, whose code blocks the page shows.
const GUIDE: &str = include_str!("../../../../../docs/receiving.md");

/// A language of the guide: its query value, its name, and its section's heading.
struct Language {
    key: &'static str,
    name: &'static str,
    heading: &'static str,
}

const LANGUAGES: [Language; 4] = [
    Language {
        key: "node",
        name: "Node.js",
        heading: "## Node.js",
    },
    Language {
        key: "python",
        name: "Python",
        heading: "## Python",
    },
    Language {
        key: "go",
        name: "Go",
        heading: "## Go",
    },
    Language {
        key: "rust",
        name: "Rust",
        heading: "## Rust",
    },
];

/// The guide's subsection for a signature scheme.
fn scheme_heading(signature: &SignatureConfig) -> &'static str {
    match signature {
        SignatureConfig::StandardWebhooks => "### Standard Webhooks",
        SignatureConfig::StandardWebhooksV1a => "### Standard Webhooks v1a",
        SignatureConfig::HmacSha256 { .. } => "### hmac-sha256",
        SignatureConfig::TimestampedKey { .. } => "### timestamped-key",
    }
}

/// The text under `heading` (a whole line) up to the next heading of the same or a higher
/// level, outside code blocks.
fn section<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let level = heading.split(' ').next()?.len();
    let mut fenced = false;
    let mut start = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            let hashes = line.len() - line.trim_start_matches('#').len();
            let is_heading = hashes > 0 && line[hashes..].starts_with(' ');
            match start {
                None if line.trim_end() == heading => start = Some(at + line.len()),
                Some(from) if is_heading && hashes <= level => return Some(&text[from..at]),
                _ => {}
            }
        }
        at += line.len();
    }
    start.map(|from| &text[from..])
}

/// The first fenced code block of `text`, without its fences.
fn first_block(text: &str) -> Option<&str> {
    let open = text
        .find("\n```")
        .map(|i| i + 1)
        .or_else(|| text.starts_with("```").then_some(0))?;
    let body = open + text[open..].find('\n')? + 1;
    let close = text[body..].find("\n```")?;
    Some(&text[body..body + close + 1])
}

/// The code shown for one language and scheme: what all of the language's snippets share
/// (imports, the timestamp check), then the scheme's own; `None` where the guide has no
/// snippet of that scheme in that language.
fn snippets(language: &Language, scheme: &str) -> Option<(Option<&'static str>, &'static str)> {
    let lang = section(GUIDE, language.heading)?;
    // Shared code comes before the first subsection.
    let preamble = &lang[..lang.find("\n### ").unwrap_or(lang.len())];
    let own = first_block(section(lang, scheme)?)?;
    Some((first_block(preamble), own))
}

/// The snippets of the language keyed `language` for `scheme`: cut out per request, which
/// takes microseconds (the guide is 25 kB).
fn lookup(language: &str, scheme: &str) -> Option<(Option<&'static str>, &'static str)> {
    snippets(LANGUAGES.iter().find(|l| l.key == language)?, scheme)
}

/// `?lang=`
#[derive(Deserialize)]
pub struct GuideQuery {
    lang: Option<String>,
}

/// What the webhook's deliveries carry, for its scheme.
fn wire(signature: &SignatureConfig, public: Option<&str>) -> Markup {
    html! {
        dl.facts #wire {
            @match signature {
                SignatureConfig::StandardWebhooks => {
                    dt { "Signature" } dd { code { "webhook-signature: v1,<base64>" } " (a space-separated list; any entry may match)" }
                    dt { "Signed bytes" } dd { code { "<webhook-id>.<webhook-timestamp>.<body>" } }
                    dt { "Key" } dd { "The signing secret (" code { "whsec_…" } ") on the webhook's page, base64-decoded after its prefix" }
                }
                SignatureConfig::StandardWebhooksV1a => {
                    dt { "Signature" } dd { code { "webhook-signature: v1a,<base64>" } " (Ed25519; a space-separated list)" }
                    dt { "Signed bytes" } dd { code { "<webhook-id>.<webhook-timestamp>.<body>" } }
                    dt { "Public key" } dd { @if let Some(k) = public { code #public-key { (k) } } @else { "the webhook's public key" } }
                }
                SignatureConfig::HmacSha256 { header, encoding, prefix } => {
                    dt { "Signature" } dd { code #signature-header { (header) ": " (prefix) @match encoding { SignatureEncoding::Hex => "<hex>", SignatureEncoding::Base64 => "<base64>" } } }
                    dt { "Signed bytes" } dd { "The raw body" }
                    dt { "Key" } dd { "The signing secret on the webhook's page, as text" }
                    dt { "Call" } dd { "Header " code { (header) } ", prefix " code { "\"" (prefix) "\"" } ", encoding " code { @match encoding { SignatureEncoding::Hex => "hex", SignatureEncoding::Base64 => "base64" } } }
                }
                SignatureConfig::TimestampedKey { header } => {
                    dt { "Signature" } dd { code #signature-header { (header) ": t=<unix seconds>, v1=<hex>" } }
                    dt { "Signed bytes" } dd { "The raw body" }
                    dt { "Key" } dd { "The text " code { "<t>.<secret>" } ", the secret being the signing secret on the webhook's page" }
                }
            }
            dt { "Every delivery" } dd { code { "webhook-id" } " (the event id, the same on every retry) and " code { "webhook-timestamp" } }
        }
    }
}

fn body_shape(format: PayloadFormat) -> &'static str {
    match format {
        PayloadFormat::Envelope => r#"{"id", "type", "created_at", "data"}"#,
        PayloadFormat::EventTimestamp => {
            r#"{"event", "timestamp", "data"}, printed as JavaScript's JSON.stringify prints it"#
        }
        PayloadFormat::ObjectEvent => r#"{"id", "object": "event", "data", "type", "created"}"#,
        PayloadFormat::Data => "the event's data alone: the event id is only in webhook-id",
    }
}

/// `/dashboard/t/{tid}/webhooks/{id}/receiving?lang=`
pub async fn show(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
    Query(q): Query<GuideQuery>,
) -> Result<Response, DashError> {
    let t = &view.tenant;
    let w = state
        .app
        .store
        .get_webhook(t, &WebhookId::from_trusted(path.id))
        .await?;
    let language = LANGUAGES
        .iter()
        .find(|l| Some(l.key) == q.lang.as_deref())
        .unwrap_or(&LANGUAGES[0]);
    let base = format!("/dashboard/t/{t}/webhooks/{}", w.id);
    let public = w
        .signature
        .is_asymmetric()
        .then(|| public_key(&w.secret))
        .flatten();
    let scheme = scheme_heading(&w.signature);
    let code = lookup(language.key, scheme);
    let body = page(
        "Receiving guide",
        &view.viewer,
        Some(t),
        html! {
            p { a href=(base) { "← Webhook" } }
            h1 { "Receiving " code.url { (w.url.masked()) } }
            p { "Deliveries are POSTs. Verify each one before you trust it: read the raw body (the signature covers those exact bytes), check the signature, and answer 401 when it is wrong." }
            (wire(&w.signature, public.as_deref()))
            p { "Body: " code { (body_shape(w.payload_format)) } "." }
            ol {
                li { "Check the timestamp where the scheme signs one (5 minutes either way)." }
                li { "Deduplicate by " code { "webhook-id" } ": a delivery may come more than once." }
                li { "Answer 2xx within " (w.timeout_seconds.get()) " s; anything else is retried after " (w.retry_schedule.delays().iter().map(|d| format!("{d} s")).collect::<Vec<_>>().join(", ")) ". " code { "410 Gone" } " stops them for good." }
            }
            nav.tabs aria-label="Language" {
                @for l in &LANGUAGES {
                    @if l.key == language.key {
                        span.current aria-current="page" { (l.name) }
                    } @else {
                        a href=(format!("{base}/receiving?lang={}", l.key)) { (l.name) }
                    }
                }
            }
            @match code {
                Some((shared, own)) => {
                    @if let Some(shared) = shared {
                        p.label { "Shared by every scheme" }
                        pre.snippet #shared-snippet { code { (shared) } }
                    }
                    p.label { "This webhook's scheme" }
                    pre.snippet #snippet data-lang=(language.key) { code { (own) } }
                }
                None => {
                    p #no-snippet {
                        "The guide has no " (language.name) " code for this scheme yet. Follow the "
                        a href=(format!("{base}/receiving?lang=node")) { "Node.js" }
                        " snippet with an Ed25519 library (Python's " code { "cryptography" } ", Go's " code { "crypto/ed25519" } "): build the same signed bytes and verify each " code { "v1a" } " entry with the 32-byte public key."
                    }
                }
            }
            p.hint { "From the guide docs/receiving.md, whose snippets are run by hookrelay's tests." }
        },
    );
    Ok(Html(body.into_string()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_snippets_in_the_guide() {
        let all = [
            "### Standard Webhooks",
            "### Standard Webhooks v1a",
            "### hmac-sha256",
            "### timestamped-key",
        ];
        for l in &LANGUAGES {
            for s in all {
                let found = lookup(l.key, s);
                // The guide covers v1a in Rust and Node only (it says so).
                let expected =
                    s != "### Standard Webhooks v1a" || ["rust", "node"].contains(&l.key);
                assert_eq!(found.is_some(), expected, "{} {s}", l.name);
                if let Some((shared, own)) = found {
                    assert!(own.trim().len() > 50, "{} {s}: {own}", l.name);
                    assert!(!own.contains("```"), "{own}");
                    assert_eq!(shared.is_some(), l.key != "rust", "{}", l.name);
                }
            }
        }
    }

    /// The page's snippets are the files the guide's tests run, byte for byte.
    #[test]
    fn the_snippets_are_the_tested_receivers() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/receivers");
        for (key, file, comment) in [
            ("node", "node/receivers.js", "//"),
            ("python", "python/receivers.py", "#"),
            ("go", "go/receivers.go", "//"),
        ] {
            let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            let region = |name: &str| {
                let start = format!("{comment} --8<-- [start:{name}]\n");
                let end = format!("{comment} --8<-- [end:{name}]");
                let from = text.find(&start).unwrap() + start.len();
                let to = from + text[from..].find(&end).unwrap();
                text[from..to].to_owned()
            };
            let (shared, own) = lookup(key, "### hmac-sha256").unwrap();
            assert_eq!(shared.unwrap(), region("common"), "{file}");
            assert_eq!(own, region("hmac-sha256"), "{file}");
            let (_, own) = lookup(key, "### timestamped-key").unwrap();
            assert_eq!(own, region("timestamped-key"), "{file}");
        }
    }
}
