//! The webhooks this node sends to, each prepared for sending ([`Target`]) with its host, keyed
//! by id and `updated_at`.
//! Claims fill it; a publish looks its target webhooks up here to send new deliveries without
//! reading them back. An entry is used only when its `updated_at` equals the one the publish
//! transaction read, and every change to a webhook moves its `updated_at` forward (see
//! `Store::update_webhook`), so a stale entry is never used, on any node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::limits::host_key;
use super::target::Target;
use crate::ids::WebhookId;
use crate::store::Webhook;

/// Entries kept before the cache starts over (deleted webhooks are never removed one by one).
const MAX_ENTRIES: usize = 100_000;

/// A webhook and the `host:port` its deliveries go to.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The webhook as of its `updated_at`, prepared for sending.
    pub target: Arc<Target>,
    /// Its URL's `host:port`, the key of the per-host limits.
    pub host: Arc<str>,
}

/// Webhooks by id.
#[derive(Default)]
pub struct WebhookCache {
    entries: Mutex<HashMap<WebhookId, Endpoint>>,
}

impl WebhookCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<WebhookId, Endpoint>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The webhook `id` as of `updated_at`, if that version is cached.
    pub fn get(&self, id: &str, updated_at: i64) -> Option<Endpoint> {
        self.lock()
            .get(id)
            .filter(|e| e.target.updated_at == updated_at)
            .cloned()
    }

    /// The cached endpoint for this version of `webhook`, caching it first if needed, so every
    /// delivery to one webhook shares one copy, prepared once per version.
    pub fn intern(&self, webhook: Webhook) -> Endpoint {
        let mut entries = self.lock();
        if let Some(e) = entries.get(webhook.id.as_str())
            && e.target.updated_at == webhook.updated_at
        {
            return e.clone();
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let endpoint = Endpoint {
            host: Arc::from(host_key(webhook.url.as_str())),
            target: Arc::new(Target::new(webhook)),
        };
        entries.insert(endpoint.target.id.clone(), endpoint.clone());
        endpoint
    }
}
