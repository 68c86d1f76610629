//! Compiled JSON Schemas of the event type catalog, cached by (name, updated_at) so a publish
//! compiles nothing. Schemas may not reference remote or file documents: `jsonschema` is built
//! without its resolver features, so a `$ref` to a URL fails to compile instead of fetching.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::error::ApiError;
use crate::store::EventType;

/// Name → (updated_at, validator).
#[derive(Default)]
pub struct SchemaCache(Mutex<HashMap<String, (i64, Arc<jsonschema::Validator>)>>);

/// Compiles a schema, or says in a 422 on `field` why it cannot be used.
pub fn compile(schema: &Value, field: &str) -> Result<jsonschema::Validator, ApiError> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err(ApiError::invalid(field, "must be a JSON Schema object"));
    }
    jsonschema::validator_for(schema)
        .map_err(|e| ApiError::invalid(field, format!("is not a usable JSON Schema: {e}")))
}

/// Checks `data` against `validator`, naming the first failing path under `field`.
pub fn check(validator: &jsonschema::Validator, data: &Value, field: &str) -> Result<(), ApiError> {
    match validator.iter_errors(data).next() {
        None => Ok(()),
        Some(e) => {
            let path = e.instance_path.to_string();
            let at = path
                .split('/')
                .filter(|s| !s.is_empty())
                .fold(field.to_owned(), |acc, seg| format!("{acc}.{seg}"));
            Err(ApiError::invalid(
                at,
                format!("does not match the event type's schema: {e}"),
            ))
        }
    }
}

impl SchemaCache {
    /// The validator of `event_type`'s schema, compiled at most once per version.
    pub fn validator(&self, event_type: &EventType) -> Option<Arc<jsonschema::Validator>> {
        let text = event_type.schema.as_deref()?;
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((version, v)) = map.get(&event_type.name)
            && *version == event_type.updated_at
        {
            return Some(v.clone());
        }
        let schema: Value = serde_json::from_str(text).ok()?;
        let validator = Arc::new(jsonschema::validator_for(&schema).ok()?);
        map.insert(
            event_type.name.clone(),
            (event_type.updated_at, validator.clone()),
        );
        Some(validator)
    }
}
