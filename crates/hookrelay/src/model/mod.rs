//! Domain types that API input is parsed into before anything reaches the store. A value of one
//! of these types is valid by construction. The bottom layer: it uses no other module of the
//! crate, so the API, the store and delivery can all depend on it.

pub mod address;
pub mod broker_url;
pub mod data;
pub mod filter;
pub mod host_override;
pub mod ordering;
pub mod payload_filter;
pub mod webhook;
pub mod webhook_url;

pub use filter::{Channel, EventFilter, EventTypeName};
pub use ordering::{Ordering, OrderingMode};
pub use payload_filter::{FieldPath, PayloadFilter};
pub use webhook::{
    CustomHeaders, PayloadFormat, RetrySchedule, SignatureConfig, TimeoutSeconds, UrlPolicy,
    WebhookUrl,
};

/// Why a value was refused: the field it came from and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The JSON field, e.g. `retry_schedule` or `events[2]`.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl Invalid {
    /// A refusal of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// How much of a refused value a message quotes: enough to recognise it, never a whole 10 KB
/// string sent back to its sender (or into a log line).
const EXCERPT_CHARS: usize = 64;

/// `s` quoted for a message: its first 64 characters, with `…` when it was longer.
pub fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// Refuses text the databases cannot store alike: PostgreSQL refuses a NUL character in any
/// text value (the whole statement fails) while SQLite keeps it, so it is refused here, before
/// either sees it, and both backends answer the same 422.
pub fn check_text(s: &str, field: &str) -> Result<(), Invalid> {
    if s.contains('\0') {
        return Err(Invalid::new(field, "must not contain a NUL character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded() {
        assert_eq!(excerpt("abc"), "\"abc\"");
        let long = "é".repeat(10_000);
        let quoted = excerpt(&long);
        assert_eq!(quoted.chars().count(), 64 + 3);
        assert!(quoted.ends_with('…'));
    }

    #[test]
    fn nul_characters_are_refused() {
        assert!(check_text("fine", "name").is_ok());
        assert_eq!(check_text("a\0b", "name").unwrap_err().field, "name");
    }
}
