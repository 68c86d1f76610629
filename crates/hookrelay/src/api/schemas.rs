//! The event type catalog as publishing sees it: each type's compiled JSON Schema, cached so a
//! publish neither queries the catalog nor compiles anything. Entries are re-read after
//! [`TTL`] (another node may have changed the catalog) and dropped at once when this node
//! changes them. An expired entry is re-read by one publish while the others go on with it:
//! when every publish that found it expired read it again, the publishes in flight at that
//! moment all queried the catalog for it. Schemas may not reference remote or file
//! documents: `jsonschema` is built without its resolver features, so a `$ref` to a URL fails
//! to compile instead of fetching.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::error::ApiError;
use crate::store::{self, Store};

/// How long a catalog entry is trusted before it is read again.
pub const TTL: Duration = Duration::from_secs(2);

struct Entry {
    fetched: Instant,
    /// `None`: the type is not in the catalog (or has no schema).
    validator: Option<Arc<jsonschema::Validator>>,
    /// Since when a publish has been reading the entry again; others use this one meanwhile
    /// (for at most a [`TTL`]: that publish may have been dropped mid-read).
    refreshing_since: Option<Instant>,
}

/// Name → compiled schema.
#[derive(Default)]
pub struct Catalog(Mutex<HashMap<String, Entry>>);

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

impl Catalog {
    /// The validator for events of type `name`, if its catalog entry has a schema.
    pub async fn validator(
        &self,
        store: &dyn Store,
        name: &str,
    ) -> Result<Option<Arc<jsonschema::Validator>>, ApiError> {
        if let Some(entry) = self.lock().get_mut(name) {
            let refreshing = entry
                .refreshing_since
                .is_some_and(|since| since.elapsed() < TTL);
            if entry.fetched.elapsed() < TTL || refreshing {
                return Ok(entry.validator.clone());
            }
            entry.refreshing_since = Some(Instant::now());
        }
        let validator = match store.get_event_type(name).await {
            Ok(t) => t
                .schema
                .as_deref()
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .and_then(|schema| jsonschema::validator_for(&schema).ok())
                .map(Arc::new),
            Err(store::Error::NotFound) => None,
            Err(e) => {
                if let Some(entry) = self.lock().get_mut(name) {
                    entry.refreshing_since = None;
                }
                return Err(ApiError::from_store(e, "event type"));
            }
        };
        let mut map = self.lock();
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(
            name.to_owned(),
            Entry {
                fetched: Instant::now(),
                validator: validator.clone(),
                refreshing_since: None,
            },
        );
        Ok(validator)
    }

    /// Forgets `name` after this node changed it.
    pub fn invalidate(&self, name: &str) {
        self.lock().remove(name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
