//! The bytes a delivery carries, for each payload format. Built once per attempt from the
//! event's stored JSON text, appending into one buffer; `data` is embedded as the publisher sent
//! it, except in `event-timestamp`, whose receivers re-serialize with `JSON.stringify`.

pub mod js_json;

use crate::clock;
use crate::model::PayloadFormat;

/// The event fields a body is made of.
#[derive(Clone, Copy, Debug)]
pub struct EventView<'a> {
    /// Event id.
    pub id: &'a str,
    /// Event type.
    pub event_type: &'a str,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// Data as JSON text.
    pub data: &'a str,
}

/// Renders the body of `event` in `format`.
pub fn render(
    format: PayloadFormat,
    event: EventView<'_>,
) -> Result<Vec<u8>, js_json::JsJsonError> {
    let mut out = String::with_capacity(event.data.len() + 128);
    match format {
        PayloadFormat::Envelope => {
            out.push_str("{\"id\":");
            push_json_str(&mut out, event.id);
            out.push_str(",\"type\":");
            push_json_str(&mut out, event.event_type);
            out.push_str(",\"created_at\":\"");
            out.push_str(&clock::rfc3339(event.created_at));
            out.push_str("\",\"data\":");
            out.push_str(event.data);
            out.push('}');
        }
        PayloadFormat::EventTimestamp => {
            out.push_str("{\"event\":");
            push_json_str(&mut out, event.event_type);
            out.push_str(",\"timestamp\":\"");
            out.push_str(&clock::rfc3339(event.created_at));
            out.push_str("\",\"data\":");
            js_json::write_js_json(event.data, &mut out)?;
            out.push('}');
        }
        PayloadFormat::ObjectEvent => {
            out.push_str("{\"id\":");
            push_json_str(&mut out, event.id);
            out.push_str(",\"object\":\"event\",\"data\":");
            out.push_str(event.data);
            out.push_str(",\"type\":");
            push_json_str(&mut out, event.event_type);
            out.push_str(",\"created\":");
            out.push_str(&event.created_at.div_euclid(1000).to_string());
            out.push('}');
        }
        PayloadFormat::Data => out.push_str(event.data),
    }
    Ok(out.into_bytes())
}

/// Appends `s` as a JSON string. Ids and type names are validated ASCII, but escape anyway.
fn push_json_str(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: &str) -> EventView<'_> {
        EventView {
            id: "evt_1",
            event_type: "meeting.ended",
            created_at: 1_795_600_800_000,
            data,
        }
    }

    fn text(format: PayloadFormat, data: &str) -> String {
        String::from_utf8(render(format, event(data)).expect("renders")).expect("utf-8")
    }

    #[test]
    fn each_format_has_its_documented_shape() {
        let data = r#"{"meeting_id":"m1","n":1.0}"#;
        assert_eq!(
            text(PayloadFormat::Envelope, data),
            r#"{"id":"evt_1","type":"meeting.ended","created_at":"2026-11-25T10:00:00.000Z","data":{"meeting_id":"m1","n":1.0}}"#
        );
        assert_eq!(
            text(PayloadFormat::EventTimestamp, data),
            r#"{"event":"meeting.ended","timestamp":"2026-11-25T10:00:00.000Z","data":{"meeting_id":"m1","n":1}}"#
        );
        assert_eq!(
            text(PayloadFormat::ObjectEvent, data),
            r#"{"id":"evt_1","object":"event","data":{"meeting_id":"m1","n":1.0},"type":"meeting.ended","created":1795600800}"#
        );
        assert_eq!(text(PayloadFormat::Data, data), data);
    }
}
