//! The event type catalog.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::double_option;

/// A catalog entry to create (schema `EventTypeIn`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEventType {
    /// Dot-separated, e.g. `order.paid`.
    pub name: String,
    /// What it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Example data, which test sends deliver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// A JSON Schema published data must match (remote `$ref`s are refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
}

/// Changes to a catalog entry (schema `EventTypePatch`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTypePatch {
    /// What it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Some(None)` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub example: Option<Option<Value>>,
    /// `Some(None)` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub schema: Option<Option<Value>>,
}

/// A catalog entry (schema `EventTypeOut`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventType {
    /// Its name.
    pub name: String,
    /// What it means.
    pub description: String,
    /// Example data.
    pub example: Option<Value>,
    /// The JSON Schema published data must match.
    pub schema: Option<Value>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}
