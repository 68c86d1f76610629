//! One received request as `hookrelay listen` prints it: a line of text (with `--verbose`, the
//! headers and the pretty-printed body under it) or a JSON object, made safe for a terminal.

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::Check;

/// One received request, as printed.
pub(super) struct Delivery<'a> {
    pub(super) time: OffsetDateTime,
    pub(super) path: &'a str,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
    pub(super) check: &'a Check,
    pub(super) status: StatusCode,
}

impl Delivery<'_> {
    fn parsed_body(&self) -> Option<Value> {
        serde_json::from_slice(self.body).ok()
    }

    /// The event id: the `webhook-id` header, else the body's `id`.
    fn id(&self, body: Option<&Value>) -> Option<String> {
        let header = self
            .headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        header.or_else(|| match body?.get("id")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    /// The event type: the body's `type`, else its `event`.
    fn event_type(body: Option<&Value>) -> Option<String> {
        let body = body?;
        ["type", "event"]
            .iter()
            .find_map(|key| body.get(key)?.as_str())
            .map(str::to_owned)
    }

    pub(super) fn to_text(&self, verbose: bool) -> String {
        let body = self.parsed_body();
        let time = self
            .time
            .format(format_description!(
                "[hour]:[minute]:[second].[subsecond digits:3]"
            ))
            .unwrap_or_default();
        let id = self.id(body.as_ref()).unwrap_or_else(|| "-".to_owned());
        let event_type = Self::event_type(body.as_ref()).unwrap_or_else(|| "-".to_owned());
        let signature = match self.check {
            Check::Ok => "signature ok".to_owned(),
            Check::Bad(e) => format!("signature BAD ({e})"),
            Check::Unchecked => "signature unchecked".to_owned(),
        };
        let mut text = printable(&format!(
            "{time}  {id}  {event_type}  {signature}  {} bytes  {}  -> {}",
            self.body.len(),
            self.path,
            self.status.as_u16(),
        ));
        if verbose {
            for (name, value) in self.headers {
                let value = String::from_utf8_lossy(value.as_bytes());
                text.push_str(&printable(&format!("\n    {name}: {value}")));
            }
            let shown = match &body {
                Some(json) => serde_json::to_string_pretty(json).unwrap_or_default(),
                None => String::from_utf8_lossy(self.body).into_owned(),
            };
            if !shown.is_empty() {
                text.push('\n');
            }
            for line in shown.lines() {
                text.push_str(&printable(&format!("\n    {line}")));
            }
        }
        text
    }

    pub(super) fn to_json(&self, verbose: bool) -> Value {
        let body = self.parsed_body();
        let time = self
            .time
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]\
                 [offset_hour sign:mandatory]:[offset_minute]"
            ))
            .unwrap_or_default();
        let (ok, reason) = match self.check {
            Check::Ok => (Some(true), None),
            Check::Bad(e) => (Some(false), Some(e.to_string())),
            Check::Unchecked => (None, None),
        };
        let mut line = json!({
            "time": time,
            "id": self.id(body.as_ref()),
            "type": Self::event_type(body.as_ref()),
            "signature_ok": ok,
            "reason": reason,
            "size": self.body.len(),
            "path": self.path,
            "status": self.status.as_u16(),
        });
        if verbose && let Value::Object(fields) = &mut line {
            let mut headers = Map::new();
            for (name, value) in self.headers {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                match headers.get_mut(name.as_str()) {
                    Some(Value::String(first)) => {
                        first.push_str(", ");
                        first.push_str(&value);
                    }
                    _ => {
                        headers.insert(name.as_str().to_owned(), Value::String(value));
                    }
                }
            }
            fields.insert("headers".to_owned(), Value::Object(headers));
            let body = body
                .unwrap_or_else(|| Value::String(String::from_utf8_lossy(self.body).into_owned()));
            fields.insert("body".to_owned(), body);
        }
        line
    }
}

/// Replaces control characters other than newline and tab, so that a payload cannot drive the
/// terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}
