//! A webhook's delivery order: `none` (the default: deliveries go as soon as they can, several
//! at once) or `fifo`, optionally per the value at an `ordering_key` path of the event. How the
//! store keeps a fifo queue is `store/shared/ordering.rs`; this module only says what the
//! setting is and which queue an event goes to.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::Invalid;
use super::payload_filter::{FieldPath, Subject};

/// The `ordering` field's values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderingMode {
    /// No order: deliveries go as soon as they can, several at once.
    #[default]
    None,
    /// Strictly in publish order, one at a time, per webhook or per `ordering_key` value.
    Fifo,
}

/// A webhook's order, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Ordering {
    /// No order.
    #[default]
    None,
    /// One queue for the whole webhook (`None`) or one per value at the path.
    Fifo(Option<FieldPath>),
}

/// Queue keys longer than this are stored as a hash of themselves: a key is an index entry,
/// and an event's value at the path may be a large object.
const KEY_TEXT_MAX: usize = 128;

impl Ordering {
    /// The API's `ordering` and `ordering_key` together: a key path only with `fifo`.
    pub fn parse(mode: OrderingMode, key: Option<&str>) -> Result<Self, Invalid> {
        match (mode, key) {
            (OrderingMode::None, None) => Ok(Self::None),
            (OrderingMode::None, Some(_)) => Err(Invalid::new(
                "ordering_key",
                "is only used with \"ordering\": \"fifo\"; set both, or neither",
            )),
            (OrderingMode::Fifo, None) => Ok(Self::Fifo(None)),
            (OrderingMode::Fifo, Some(path)) => {
                Ok(Self::Fifo(Some(FieldPath::parse(path, "ordering_key")?)))
            }
        }
    }

    /// This order changed by a PATCH's `ordering` and `ordering_key` (`Some(None)`: null,
    /// removing the path). A path is kept while the mode stays `fifo`, and dropped with
    /// `"ordering": "none"`.
    pub fn patched(
        &self,
        mode: Option<OrderingMode>,
        key: Option<Option<&str>>,
    ) -> Result<Self, Invalid> {
        if mode.is_none() && key.is_none() {
            return Ok(self.clone());
        }
        let mode = mode.unwrap_or(self.mode());
        let key = match key {
            Some(key) => key,
            None if mode == OrderingMode::None => None,
            None => self.key_path(),
        };
        Self::parse(mode, key)
    }

    /// As stored by [`Ordering::as_str`] and [`Ordering::key_path`]; anything else is `None`.
    pub fn from_stored(mode: &str, key: Option<&str>) -> Self {
        match mode {
            "fifo" => Self::Fifo(key.and_then(FieldPath::from_trusted)),
            _ => Self::None,
        }
    }

    /// The mode.
    pub fn mode(&self) -> OrderingMode {
        match self {
            Self::None => OrderingMode::None,
            Self::Fifo(_) => OrderingMode::Fifo,
        }
    }

    /// The mode's name, as JSON and the database hold it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Fifo(_) => "fifo",
        }
    }

    /// The key path, if there is one.
    pub fn key_path(&self) -> Option<&str> {
        match self {
            Self::Fifo(Some(path)) => Some(path.as_str()),
            _ => None,
        }
    }
}

/// The queue an event goes to on a fifo webhook with key path `path`: `""` (the webhook's one
/// queue) without a path; else the value at the path as compact JSON text (`"m_1"` with its
/// quotes, `7`), `null` where it is missing (a missing value and `null` share a queue), and
/// `sha256:<hex>` of that text beyond 128 bytes.
pub fn queue_key(path: Option<&FieldPath>, subject: &Subject<'_>) -> String {
    let Some(path) = path else {
        return String::new();
    };
    let text = path
        .value_text(subject)
        .unwrap_or_else(|| "null".to_owned());
    if text.len() <= KEY_TEXT_MAX {
        return text;
    }
    let digest = Sha256::digest(text.as_bytes());
    let mut key = String::with_capacity(7 + 64);
    key.push_str("sha256:");
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn subject(data: &Value) -> Subject<'_> {
        Subject {
            event_type: "meeting.ended",
            tenant: "acme",
            channels: &[],
            data,
        }
    }

    #[test]
    fn a_key_path_goes_with_fifo_only() {
        assert_eq!(
            Ordering::parse(OrderingMode::None, None),
            Ok(Ordering::None)
        );
        assert_eq!(
            Ordering::parse(OrderingMode::Fifo, None),
            Ok(Ordering::Fifo(None))
        );
        let keyed = Ordering::parse(OrderingMode::Fifo, Some("data.meeting_id")).unwrap();
        assert_eq!(keyed.key_path(), Some("data.meeting_id"));
        assert_eq!(
            Ordering::from_stored(keyed.as_str(), keyed.key_path()),
            keyed
        );
        let e = Ordering::parse(OrderingMode::None, Some("data.x")).unwrap_err();
        assert_eq!(e.field, "ordering_key");
        let e = Ordering::parse(OrderingMode::Fifo, Some("meeting_id")).unwrap_err();
        assert_eq!(e.field, "ordering_key");
        assert_eq!(Ordering::from_stored("junk", None), Ordering::None);
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name() {
        let keyed = Ordering::parse(OrderingMode::Fifo, Some("data.m")).unwrap();
        assert_eq!(keyed.patched(None, None).unwrap(), keyed);
        assert_eq!(
            keyed.patched(Some(OrderingMode::Fifo), None).unwrap(),
            keyed,
            "the path stays"
        );
        assert_eq!(
            keyed.patched(Some(OrderingMode::None), None).unwrap(),
            Ordering::None,
            "none drops the path"
        );
        assert_eq!(
            keyed.patched(None, Some(None)).unwrap(),
            Ordering::Fifo(None)
        );
        let e = Ordering::None
            .patched(None, Some(Some("data.m")))
            .unwrap_err();
        assert_eq!(e.field, "ordering_key");
    }

    #[test]
    fn events_go_to_the_queue_of_their_value() {
        let path = FieldPath::parse("data.meeting_id", "k").unwrap();
        let key = |data: Value| queue_key(Some(&path), &subject(&data));
        assert_eq!(key(json!({"meeting_id": "m_1"})), "\"m_1\"");
        assert_eq!(key(json!({"meeting_id": 1})), "1");
        assert_eq!(key(json!({})), "null");
        assert_eq!(key(json!({"meeting_id": null})), "null");
        let big = key(json!({"meeting_id": "x".repeat(500)}));
        assert!(big.starts_with("sha256:") && big.len() == 71, "{big}");
        assert_eq!(queue_key(None, &subject(&json!({}))), "");
    }
}
