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
use compile::Node;
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
    fn filters_beyond_the_size_limit_are_refused() {
        let big = json!({"data.s": "x".repeat(MAX_FILTER_BYTES)});
        let e = PayloadFilter::parse(big).unwrap_err();
        assert_eq!(e.field, "filter");
        assert!(e.message.contains("at most 8192"), "{}", e.message);
    }
}
