//! Concurrency limits that keep one endpoint from taking everyone's capacity: how many
//! deliveries each webhook has in flight (the dispatcher stops claiming for a webhook at its
//! limit), and a semaphore per host capping connections to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ids::WebhookId;

/// In-flight counts per webhook.
pub struct WebhookLimits {
    per_webhook: usize,
    in_flight: Mutex<HashMap<WebhookId, usize>>,
}

impl WebhookLimits {
    /// At most `per_webhook` in flight for any one webhook.
    pub fn new(per_webhook: usize) -> Self {
        Self {
            per_webhook,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a slot for `webhook`, or answers false when it is at its limit.
    pub fn try_start(&self, webhook: &WebhookId) -> bool {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = map.entry(webhook.clone()).or_insert(0);
        if *count >= self.per_webhook {
            return false;
        }
        *count += 1;
        true
    }

    /// Frees a slot; answers whether the webhook had been at its limit (so waiting work can go).
    pub fn finish(&self, webhook: &WebhookId) -> bool {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(count) = map.get_mut(webhook) else {
            return false;
        };
        let was_full = *count >= self.per_webhook;
        *count -= 1;
        if *count == 0 {
            map.remove(webhook);
        }
        was_full
    }

    /// The webhooks at their limit, for the claim query to skip.
    pub fn saturated(&self) -> Vec<WebhookId> {
        let map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.iter()
            .filter(|(_, n)| **n >= self.per_webhook)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// One semaphore per `host:port`.
pub struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    /// At most `per_host` requests (and so connections) to any host at once.
    pub fn new(per_host: usize) -> Self {
        Self {
            per_host,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot to the host of `url`.
    pub async fn acquire(&self, url: &str) -> Option<OwnedSemaphorePermit> {
        let key = host_key(url);
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget hosts nobody is using, so the map doesn't grow with every host ever seen.
            if hosts.len() > 4096 {
                hosts.retain(|_, s| Arc::strong_count(s) > 1);
            }
            hosts
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        semaphore.acquire_owned().await.ok()
    }
}

fn host_key(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}",
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_at_its_limit_is_reported_saturated_until_a_slot_frees() {
        let limits = WebhookLimits::new(2);
        let w = WebhookId::generate();
        assert!(limits.try_start(&w));
        assert!(limits.try_start(&w));
        assert!(!limits.try_start(&w));
        assert_eq!(limits.saturated(), vec![w.clone()]);
        assert!(limits.finish(&w));
        assert!(limits.saturated().is_empty());
        assert!(!limits.finish(&w));
        assert!(!limits.finish(&w));
    }

    #[test]
    fn hosts_are_keyed_by_host_and_port() {
        assert_eq!(host_key("https://a.example/x"), "a.example:443");
        assert_eq!(host_key("http://127.0.0.1:3000/y"), "127.0.0.1:3000");
    }
}
