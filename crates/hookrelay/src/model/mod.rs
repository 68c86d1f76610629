//! Domain types that API input is parsed into before anything reaches the store. A value of one
//! of these types is valid by construction. The bottom layer: it uses no other module of the
//! crate, so the API, the store and delivery can all depend on it.

pub mod address;
pub mod filter;
pub mod webhook;

pub use filter::{Channel, EventFilter, EventTypeName};
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
