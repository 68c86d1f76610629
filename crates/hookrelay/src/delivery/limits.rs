//! Concurrency limits that keep one endpoint from taking everyone's capacity: how many
//! deliveries each webhook has in flight (the dispatcher stops claiming for a webhook at its
//! limit), and a semaphore per host capping connections to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ids::WebhookId;

/// In flight at once to a webhook whose last attempt was slow: enough to notice recovery,
/// too few for a hanging endpoint to take the capacity others need.
pub const SLOW_WEBHOOK_CONCURRENCY: usize = 2;

/// An attempt slower than this marks its webhook slow.
pub const SLOW_ATTEMPT: std::time::Duration = std::time::Duration::from_secs(2);

/// In-flight counts per webhook, and which webhooks are slow.
pub struct WebhookLimits {
    per_webhook: usize,
    state: Mutex<LimitState>,
}

#[derive(Default)]
struct LimitState {
    in_flight: HashMap<WebhookId, usize>,
    slow: std::collections::HashSet<WebhookId>,
}

impl LimitState {
    fn limit(&self, webhook: &WebhookId, per_webhook: usize) -> usize {
        if self.slow.contains(webhook) {
            SLOW_WEBHOOK_CONCURRENCY.min(per_webhook)
        } else {
            per_webhook
        }
    }
}

impl WebhookLimits {
    /// At most `per_webhook` in flight for any one webhook (fewer while it is slow).
    pub fn new(per_webhook: usize) -> Self {
        Self {
            per_webhook,
            state: Mutex::new(LimitState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimitState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for `webhook`, or answers false when it is at its limit.
    pub fn try_start(&self, webhook: &WebhookId) -> bool {
        let mut state = self.lock();
        let limit = state.limit(webhook, self.per_webhook);
        let count = state.in_flight.entry(webhook.clone()).or_insert(0);
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }

    /// Frees a slot and notes whether the attempt was slow (`None`: no attempt was made);
    /// answers whether the webhook had been at its limit (so waiting work can go).
    pub fn finish(&self, webhook: &WebhookId, slow: Option<bool>) -> bool {
        let mut state = self.lock();
        let limit = state.limit(webhook, self.per_webhook);
        match slow {
            Some(true) => {
                if state.slow.len() > 100_000 {
                    state.slow.clear();
                }
                state.slow.insert(webhook.clone());
            }
            Some(false) => {
                state.slow.remove(webhook);
            }
            None => {}
        }
        let Some(count) = state.in_flight.get_mut(webhook) else {
            return false;
        };
        let was_full = *count >= limit;
        *count -= 1;
        if *count == 0 {
            state.in_flight.remove(webhook);
        }
        was_full
    }

    /// The webhooks at their limit, for the claim query to skip.
    pub fn saturated(&self) -> Vec<WebhookId> {
        let state = self.lock();
        state
            .in_flight
            .iter()
            .filter(|(id, n)| **n >= state.limit(id, self.per_webhook))
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
        assert!(limits.finish(&w, Some(false)));
        assert!(limits.saturated().is_empty());
        assert!(!limits.finish(&w, None));
        assert!(!limits.finish(&w, None));
    }

    #[test]
    fn a_slow_webhook_is_held_to_a_small_limit_until_it_answers_quickly() {
        let limits = WebhookLimits::new(8);
        let w = WebhookId::generate();
        assert!(limits.try_start(&w));
        limits.finish(&w, Some(true));
        for _ in 0..SLOW_WEBHOOK_CONCURRENCY {
            assert!(limits.try_start(&w));
        }
        assert!(!limits.try_start(&w), "slow: held to the small limit");
        limits.finish(&w, Some(false));
        assert!(limits.try_start(&w), "a quick answer lifts it");
        assert!(limits.try_start(&w));
    }

    #[test]
    fn hosts_are_keyed_by_host_and_port() {
        assert_eq!(host_key("https://a.example/x"), "a.example:443");
        assert_eq!(host_key("http://127.0.0.1:3000/y"), "127.0.0.1:3000");
    }
}
