//! Payload filters: a webhook's optional condition on an event's content (`type`, `tenant`,
//! `channels` and `data.*` paths), in a small MongoDB-like JSON language that
//! docs/filters.md describes for users. [`PayloadFilter::parse`] checks the JSON a user gave
//! and compiles it into a tree of typed predicates with its paths split once
//! (`compile.rs`); [`PayloadFilter::matches`] walks an event's parsed JSON along that tree
//! without allocating (`eval.rs`).
//!
//! Invariants: a `PayloadFilter` from [`PayloadFilter::parse`] is within the bounds below; one
//! from [`PayloadFilter::from_trusted`] was stored after passing them (the bounds are not
//! checked again, so that lowering one never breaks a stored filter). The empty filter `{}`
//! is no filter: `parse` answers `None` for it.

mod compile;
mod eval;

use serde_json::Value;

use super::Invalid;
use compile::{Node, Path, Root};
pub use eval::Subject;

/// The deepest a filter nests: the filter object is level 1, and each `$and`, `$or` or
/// `$not` inside it adds one.
pub const MAX_FILTER_DEPTH: usize = 8;
/// The most conditions a filter holds: each bare value and each operator counts one.
pub const MAX_FILTER_CONDITIONS: usize = 64;
/// The longest a filter may be, as compact JSON.
pub const MAX_FILTER_BYTES: usize = 8 * 1024;

/// A compiled payload filter with the JSON it was compiled from.
#[derive(Clone, Debug)]
pub struct PayloadFilter {
    /// What the user gave, shown back as it was.
    source: Value,
    /// `source` as compact JSON: what is stored.
    text: String,
    root: Node,
    /// Whether any condition reads `data`: a filter that does not needs no parsed data.
    reads_data: bool,
}

impl PartialEq for PayloadFilter {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl PayloadFilter {
    /// Checks and compiles the `filter` field of a webhook: `Ok(None)` for `{}`, which holds
    /// for every event. A refusal names the part at fault (`filter.$or[1].data.amount.$gt`).
    pub fn parse(value: Value) -> Result<Option<Self>, Invalid> {
        if value.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(None);
        }
        let text = value.to_string();
        if text.len() > MAX_FILTER_BYTES {
            return Err(Invalid::new(
                "filter",
                format!(
                    "is {} bytes as compact JSON; a filter may be at most {MAX_FILTER_BYTES}",
                    text.len()
                ),
            ));
        }
        let (root, reads_data) = compile::compile(&value, true)?;
        Ok(Some(Self {
            source: value,
            text,
            root,
            reads_data,
        }))
    }

    /// Compiles a filter read from storage, written only after [`PayloadFilter::parse`]
    /// accepted it. Text that is not such a filter (only a hand-edited database holds one)
    /// becomes a filter that holds for no event: an endpoint that asked for some events is
    /// never sent others.
    pub fn from_trusted(text: &str) -> Self {
        let source: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let (root, reads_data) =
            compile::compile(&source, false).unwrap_or((Node::Any(Vec::new()), false));
        Self {
            source,
            text: text.to_owned(),
            root,
            reads_data,
        }
    }

    /// The filter as the user gave it.
    pub fn as_json(&self) -> &Value {
        &self.source
    }

    /// The filter as compact JSON, as it is stored.
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// Whether evaluating reads the event's `data`; if not, [`Subject::data`] may be anything.
    pub fn reads_data(&self) -> bool {
        self.reads_data
    }

    /// Whether the event holds every condition.
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        self.root.holds(subject)
    }
}

/// The longest a [`FieldPath`] may be.
pub const MAX_PATH_BYTES: usize = 256;

/// A path on its own, in the filters' syntax (`type`, `tenant`, `channels`, `data`,
/// `data.<key>[.<key>…]`): what a webhook's `ordering_key` names.
#[derive(Clone, Debug)]
pub struct FieldPath {
    text: String,
    path: Path,
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl FieldPath {
    /// Checks a path given as `field`; the refusal names that field.
    pub fn parse(text: &str, field: &str) -> Result<Self, Invalid> {
        if text.len() > MAX_PATH_BYTES {
            return Err(Invalid::new(
                field,
                format!("must be at most {MAX_PATH_BYTES} bytes"),
            ));
        }
        // Stored as text, which PostgreSQL refuses with a NUL.
        super::check_text(text, field)?;
        let path = compile::parse_path(text, field)?;
        Ok(Self {
            text: text.to_owned(),
            path,
        })
    }

    /// A path read from storage, written only after [`FieldPath::parse`] accepted it; `None`
    /// for text that is not one (only a hand-edited database holds such).
    pub fn from_trusted(text: &str) -> Option<Self> {
        Self::parse(text, "").ok()
    }

    /// The path as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it reads the event's `data`, which must then be parsed.
    pub fn reads_data(&self) -> bool {
        self.path.root == Root::Data
    }

    /// The value at the path in `subject`, as compact JSON text; `None` where it is missing.
    pub fn value_text(&self, subject: &Subject<'_>) -> Option<String> {
        eval::json_text(&self.path, subject)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_empty_filter_is_no_filter() {
        assert_eq!(PayloadFilter::parse(json!({})).unwrap(), None);
    }

    #[test]
    fn a_stored_filter_compiles_back_to_the_same() {
        let given = json!({"data.amount": {"$gte": 100}, "type": "order.paid"});
        let filter = PayloadFilter::parse(given.clone()).unwrap().unwrap();
        let stored = PayloadFilter::from_trusted(filter.as_text());
        assert_eq!(stored, filter);
        assert_eq!(stored.as_json(), &given);
        assert!(stored.reads_data());
        let no_data = PayloadFilter::parse(json!({"type": "a"})).unwrap().unwrap();
        assert!(!no_data.reads_data());
    }

    #[test]
    fn stored_text_that_is_no_filter_holds_for_nothing() {
        for text in ["not json", "[1]", r#"{"$bad": 1}"#] {
            let filter = PayloadFilter::from_trusted(text);
            let subject = Subject {
                event_type: "a",
                tenant: "t",
                channels: &[],
                data: &Value::Null,
            };
            assert!(!filter.matches(&subject), "{text}");
        }
    }

    #[test]
    fn a_field_path_reads_the_value_at_it_as_json_text() {
        let data = json!({"meeting": {"id": "m_1", "n": 7}, "tags": ["a", "b"]});
        let subject = Subject {
            event_type: "meeting.ended",
            tenant: "acme",
            channels: &["eu".to_owned()],
            data: &data,
        };
        let at = |p: &str| {
            FieldPath::parse(p, "ordering_key")
                .unwrap()
                .value_text(&subject)
        };
        assert_eq!(at("data.meeting.id").as_deref(), Some("\"m_1\""));
        assert_eq!(at("data.meeting.n").as_deref(), Some("7"));
        assert_eq!(at("data.tags.1").as_deref(), Some("\"b\""));
        assert_eq!(at("type").as_deref(), Some("\"meeting.ended\""));
        assert_eq!(at("channels").as_deref(), Some("[\"eu\"]"));
        assert_eq!(at("data.missing"), None);
        assert!(
            FieldPath::parse("data.meeting.id", "k")
                .unwrap()
                .reads_data()
        );
        assert!(!FieldPath::parse("tenant", "k").unwrap().reads_data());
        for bad in ["", "meta.x", "data..x", "type.x"] {
            assert_eq!(
                FieldPath::parse(bad, "ordering_key").unwrap_err().field,
                "ordering_key"
            );
        }
        let long = format!("data.{}", "k".repeat(MAX_PATH_BYTES));
        assert_eq!(
            FieldPath::parse(&long, "ordering_key").unwrap_err().field,
            "ordering_key"
        );
    }

    #[test]
    fn filters_beyond_the_size_limit_are_refused() {
        let big = json!({"data.s": "x".repeat(MAX_FILTER_BYTES)});
        let e = PayloadFilter::parse(big).unwrap_err();
        assert_eq!(e.field, "filter");
        assert!(e.message.contains("at most 8192"), "{}", e.message);
    }
}
