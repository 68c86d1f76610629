//! The edit form's wire format: a named preset for each scheme the README's "Wire formats"
//! table lists (one per reference document), or a custom one with every field the API's
//! `signature` takes (scheme, header, encoding, prefix) and the payload format. Both become
//! the API's own `signature` and `payload_format` JSON, so what is refused, and the words, are
//! the API's, shown at the field they are about.

use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::api::ApiError;
use crate::dashboard::csrf::Fields;
use crate::model::webhook::SignatureEncoding;
use crate::model::{PayloadFormat, SignatureConfig};
use crate::store::Webhook;

use super::event_picker::field_error;

/// A wire format preset: its name, the `signature` and the `payload_format` it sets.
struct Preset {
    name: &'static str,
    label: &'static str,
    signature: fn() -> Value,
    format: &'static str,
}

const PRESETS: &[Preset] = &[
    Preset {
        name: "standard-webhooks",
        label: "Standard Webhooks (HMAC, envelope)",
        signature: || json!({"scheme": "standard-webhooks"}),
        format: "envelope",
    },
    Preset {
        name: "standard-webhooks-v1a",
        label: "Standard Webhooks v1a (Ed25519, envelope)",
        signature: || json!({"scheme": "standard-webhooks-v1a"}),
        format: "envelope",
    },
    Preset {
        name: "x-mavio",
        label: "X-Mavio-Signature: hex HMAC of the body (envelope)",
        signature: || json!({"scheme": "hmac-sha256", "header": "X-Mavio-Signature"}),
        format: "envelope",
    },
    Preset {
        name: "x-webhook-sha256",
        label: "X-Webhook-Signature: sha256=<hex> (event-timestamp)",
        signature: || json!({"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "prefix": "sha256="}),
        format: "event-timestamp",
    },
    Preset {
        name: "mave",
        label: "Mave-Signature: t=…, v1=… (object-event)",
        signature: || json!({"scheme": "timestamped-key", "header": "Mave-Signature"}),
        format: "object-event",
    },
    Preset {
        name: "x-mg",
        label: "X-MG-Signature: hex HMAC of the data alone (data)",
        signature: || json!({"scheme": "hmac-sha256", "header": "X-MG-Signature"}),
        format: "data",
    },
];

/// The preset value that means "the custom fields below".
const CUSTOM: &str = "custom";

const SCHEMES: [(&str, &str); 4] = [
    ("standard-webhooks", "Standard Webhooks (v1, HMAC)"),
    ("standard-webhooks-v1a", "Standard Webhooks v1a (Ed25519)"),
    ("hmac-sha256", "HMAC-SHA256 of the body in one header"),
    (
        "timestamped-key",
        "t=<unix>, v1=<hex>, keyed with \"<t>.<secret>\"",
    ),
];

const FORMATS: [PayloadFormat; 4] = [
    PayloadFormat::Envelope,
    PayloadFormat::EventTimestamp,
    PayloadFormat::ObjectEvent,
    PayloadFormat::Data,
];

/// The fields the API's refusals of a wire format name (for the form's other errors).
pub const FIELDS: &[&str] = &["signature", "payload_format"];

/// The wire format as the form shows it: the stored one, or what was typed.
pub struct WireEntered {
    preset: String,
    scheme: String,
    header: String,
    encoding: String,
    prefix: String,
    format: String,
}

impl WireEntered {
    /// The webhook's: its preset if it is one, else custom; the custom fields always hold
    /// its settings, so saving the form unchanged keeps them.
    pub fn stored(w: &Webhook) -> Self {
        let preset = PRESETS
            .iter()
            .find(|p| {
                serde_json::from_value((p.signature)()).ok() == Some(w.signature.clone())
                    && w.payload_format.as_str() == p.format
            })
            .map_or(CUSTOM, |p| p.name);
        let (scheme, header, encoding, prefix) = match &w.signature {
            SignatureConfig::StandardWebhooks => ("standard-webhooks", "", "hex", ""),
            SignatureConfig::StandardWebhooksV1a => ("standard-webhooks-v1a", "", "hex", ""),
            SignatureConfig::HmacSha256 {
                header,
                encoding,
                prefix,
            } => (
                "hmac-sha256",
                header.as_str(),
                match encoding {
                    SignatureEncoding::Hex => "hex",
                    SignatureEncoding::Base64 => "base64",
                },
                prefix.as_str(),
            ),
            SignatureConfig::TimestampedKey { header } => {
                ("timestamped-key", header.as_str(), "hex", "")
            }
        };
        Self {
            preset: preset.to_owned(),
            scheme: scheme.to_owned(),
            header: header.to_owned(),
            encoding: encoding.to_owned(),
            prefix: prefix.to_owned(),
            format: w.payload_format.as_str().to_owned(),
        }
    }

    /// What the form sent.
    pub fn typed(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or("").to_owned();
        Self {
            preset: text("preset"),
            scheme: text("sig_scheme"),
            header: text("sig_header").trim().to_owned(),
            encoding: text("sig_encoding"),
            prefix: text("sig_prefix"),
            format: text("payload_format"),
        }
    }

    /// Adds `signature` and `payload_format` to the API's patch; an empty preset (a form from
    /// before custom formats) keeps the stored ones.
    pub fn patch(&self, patch: &mut Map<String, Value>) {
        let (signature, format) = if let Some(p) = PRESETS.iter().find(|p| p.name == self.preset) {
            ((p.signature)(), p.format)
        } else if self.preset == CUSTOM {
            let signature = match self.scheme.as_str() {
                "hmac-sha256" => json!({"scheme": self.scheme, "header": self.header,
                    "encoding": self.encoding, "prefix": self.prefix}),
                "timestamped-key" => json!({"scheme": self.scheme, "header": self.header}),
                other => json!({ "scheme": other }),
            };
            (signature, self.format.as_str())
        } else {
            return;
        };
        patch.insert("signature".into(), signature);
        patch.insert("payload_format".into(), json!(format));
    }
}

/// A refusal of a wire format field other than the header and prefix (which show at theirs).
fn general_error(error: Option<&ApiError>) -> Option<String> {
    let specific = ["signature.header", "signature.prefix"];
    FIELDS
        .iter()
        .find_map(|f| field_error(error, f))
        .filter(|_| specific.iter().all(|f| field_error(error, f).is_none()))
}

/// The wire format part of the edit form.
pub fn fieldset(entered: &WireEntered, error: Option<&ApiError>) -> Markup {
    let err = |field: &str, id: &str| -> Markup {
        html! { @if let Some(m) = field_error(error, field) { p.field-error id=(id) role="alert" { (m) } } }
    };
    html! {
        label for="preset" { "Wire format" }
        select #preset name="preset" aria-describedby="preset-hint" {
            @for p in PRESETS {
                option value=(p.name) selected[entered.preset == p.name] { (p.label) }
            }
            option value=(CUSTOM) selected[entered.preset == CUSTOM] { "Custom: the fields below" }
        }
        p.hint #preset-hint { "Each preset matches one common receiver exactly (README, \"Wire formats\"). Switching between a shared secret and a key pair makes a new secret." }
        fieldset #custom-format {
            legend { "Custom wire format (used when Wire format is Custom)" }
            label for="sig_scheme" { "Signature scheme" }
            select #sig_scheme name="sig_scheme" {
                @for (value, label) in SCHEMES {
                    option value=(value) selected[entered.scheme == value] { (label) }
                }
            }
            label for="sig_header" { "Signature header (HMAC-SHA256 and t=/v1= schemes)" }
            input #sig_header name="sig_header" value=(entered.header) placeholder="X-Webhook-Signature" autocomplete="off";
            (err("signature.header", "signature-header-error"))
            label for="sig_encoding" { "Encoding (HMAC-SHA256)" }
            select #sig_encoding name="sig_encoding" {
                option value="hex" selected[entered.encoding != "base64"] { "hex" }
                option value="base64" selected[entered.encoding == "base64"] { "base64" }
            }
            label for="sig_prefix" { "Prefix before the signature (HMAC-SHA256), e.g. sha256=" }
            input #sig_prefix name="sig_prefix" value=(entered.prefix) autocomplete="off";
            (err("signature.prefix", "signature-prefix-error"))
            label for="payload_format" { "Payload format" }
            select #payload_format name="payload_format" {
                @for f in FORMATS {
                    option value=(f.as_str()) selected[entered.format == f.as_str()] { (f.as_str()) }
                }
            }
        }
        @if let Some(m) = general_error(error) { p.field-error #signature-error role="alert" { (m) } }
    }
}
