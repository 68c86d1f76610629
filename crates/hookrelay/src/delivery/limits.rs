//! Concurrency limits that keep one endpoint from taking everyone's capacity. The dispatcher
//! counts attempts in flight per webhook and per host (`host:port`), starts an attempt only when
//! both are under their limit, and leaves out of its claims every webhook that is at its limit
//! or whose host is. So a claimed delivery never waits for a slot while holding a global one:
//! hanging endpoints cost their own slots and nothing else.
//!
//! A webhook whose last attempt was slow is held to [`SLOW_WEBHOOK_CONCURRENCY`] until it
//! answers quickly again, so hundreds of hanging endpoints cannot fill the global limit either.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::ids::WebhookId;

/// In flight at once to a webhook whose last attempt was slow: enough to notice recovery,
/// too few for a hanging endpoint to take the capacity others need.
pub const SLOW_WEBHOOK_CONCURRENCY: usize = 2;

/// An attempt slower than this marks its webhook slow.
pub const SLOW_ATTEMPT: Duration = Duration::from_secs(2);

/// Entries kept about webhooks not in flight before the maps are trimmed.
const MAX_REMEMBERED: usize = 100_000;

/// In-flight counts per webhook and per host.
pub struct Limits {
    per_webhook: usize,
    per_host: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    webhooks: HashMap<WebhookId, usize>,
    hosts: HashMap<Arc<str>, usize>,
    /// The host each recently seen webhook delivers to, to skip webhooks of saturated hosts.
    host_of: HashMap<WebhookId, Arc<str>>,
    slow: HashSet<WebhookId>,
}

impl State {
    fn webhook_limit(&self, webhook: &WebhookId, per_webhook: usize) -> usize {
        if self.slow.contains(webhook) {
            SLOW_WEBHOOK_CONCURRENCY.min(per_webhook)
        } else {
            per_webhook
        }
    }
}

impl Limits {
    /// At most `per_webhook` attempts in flight to one webhook (fewer while it is slow) and
    /// `per_host` to one host.
    pub fn new(per_webhook: usize, per_host: usize) -> Self {
        Self {
            per_webhook,
            per_host,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for `webhook` on `host`, or answers false when either is at its limit.
    pub fn try_start(&self, webhook: &WebhookId, host: &str) -> bool {
        let mut state = self.lock();
        let host: Arc<str> = match state.host_of.get(webhook) {
            Some(known) if &**known == host => known.clone(),
            _ => Arc::from(host),
        };
        if state.host_of.len() > MAX_REMEMBERED {
            state.host_of.clear();
        }
        state.host_of.insert(webhook.clone(), host.clone());
        let limit = state.webhook_limit(webhook, self.per_webhook);
        let on_webhook = state.webhooks.get(webhook).copied().unwrap_or(0);
        let on_host = state.hosts.get(&host).copied().unwrap_or(0);
        if on_webhook >= limit || on_host >= self.per_host {
            return false;
        }
        *state.webhooks.entry(webhook.clone()).or_insert(0) += 1;
        *state.hosts.entry(host).or_insert(0) += 1;
        true
    }

    /// Frees the slot taken for `webhook` on `host` and notes whether the attempt was slow
    /// (`None`: no attempt was made). Answers whether the webhook or the host had been at its
    /// limit, so that work left out of claims can go again.
    pub fn finish(&self, webhook: &WebhookId, host: &str, slow: Option<bool>) -> bool {
        let mut state = self.lock();
        let limit = state.webhook_limit(webhook, self.per_webhook);
        match slow {
            Some(true) => {
                if state.slow.len() > MAX_REMEMBERED {
                    state.slow.clear();
                }
                state.slow.insert(webhook.clone());
            }
            Some(false) => {
                state.slow.remove(webhook);
            }
            None => {}
        }
        let mut was_full = false;
        if let Some(count) = state.webhooks.get_mut(webhook) {
            was_full |= *count >= limit;
            *count -= 1;
            if *count == 0 {
                state.webhooks.remove(webhook);
            }
        }
        if let Some(count) = state.hosts.get_mut(host) {
            was_full |= *count >= self.per_host;
            *count -= 1;
            if *count == 0 {
                state.hosts.remove(host);
            }
        }
        was_full
    }

    /// Webhooks to leave out of the next claim: those at their limit, and every webhook known
    /// to deliver to a host at its limit.
    pub fn saturated(&self) -> Vec<WebhookId> {
        let state = self.lock();
        let full_hosts: HashSet<&Arc<str>> = state
            .hosts
            .iter()
            .filter(|(_, n)| **n >= self.per_host)
            .map(|(h, _)| h)
            .collect();
        let mut skip: Vec<WebhookId> = state
            .webhooks
            .iter()
            .filter(|(id, n)| **n >= state.webhook_limit(id, self.per_webhook))
            .map(|(id, _)| id.clone())
            .collect();
        if !full_hosts.is_empty() {
            let on_full_hosts: Vec<WebhookId> = state
                .host_of
                .iter()
                .filter(|(id, host)| full_hosts.contains(host) && !skip.contains(id))
                .map(|(id, _)| id.clone())
                .collect();
            skip.extend(on_full_hosts);
        }
        skip
    }
}

/// The `host:port` a URL connects to, the unit of the per-host limit.
pub fn host_key(url: &str) -> String {
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

    const HOST: &str = "a.example:443";

    #[test]
    fn a_webhook_at_its_limit_is_skipped_until_a_slot_frees() {
        let limits = Limits::new(2, 64);
        let w = WebhookId::generate();
        assert!(limits.try_start(&w, HOST));
        assert!(limits.try_start(&w, HOST));
        assert!(!limits.try_start(&w, HOST));
        assert_eq!(limits.saturated(), vec![w.clone()]);
        assert!(limits.finish(&w, HOST, Some(false)));
        assert!(limits.saturated().is_empty());
        assert!(!limits.finish(&w, HOST, None));
        assert!(
            !limits.finish(&w, HOST, None),
            "finishing more than started is harmless"
        );
    }

    #[test]
    fn a_slow_webhook_is_held_to_a_small_limit_until_it_answers_quickly() {
        let limits = Limits::new(8, 64);
        let w = WebhookId::generate();
        assert!(limits.try_start(&w, HOST));
        limits.finish(&w, HOST, Some(true));
        for _ in 0..SLOW_WEBHOOK_CONCURRENCY {
            assert!(limits.try_start(&w, HOST));
        }
        assert!(!limits.try_start(&w, HOST), "slow: held to the small limit");
        limits.finish(&w, HOST, Some(false));
        assert!(limits.try_start(&w, HOST), "a quick answer lifts it");
        assert!(limits.try_start(&w, HOST));
    }

    #[test]
    fn every_webhook_of_a_saturated_host_is_skipped_and_other_hosts_are_not() {
        let limits = Limits::new(8, 2);
        let (a, b, c, other) = (
            WebhookId::generate(),
            WebhookId::generate(),
            WebhookId::generate(),
            WebhookId::generate(),
        );
        assert!(limits.try_start(&c, HOST));
        assert!(!limits.finish(&c, HOST, Some(false)));
        assert!(limits.try_start(&a, HOST));
        assert!(limits.try_start(&b, HOST));
        assert!(!limits.try_start(&c, HOST), "the host is full");
        assert!(limits.try_start(&other, "b.example:443"));
        let mut skip = limits.saturated();
        skip.sort();
        let mut expected = vec![a.clone(), b.clone(), c.clone()];
        expected.sort();
        assert_eq!(skip, expected);
        assert!(
            limits.finish(&a, HOST, Some(false)),
            "the host had been full"
        );
        assert!(limits.saturated().is_empty());
    }

    #[test]
    fn hosts_are_keyed_by_host_and_port() {
        assert_eq!(host_key("https://a.example/x"), "a.example:443");
        assert_eq!(host_key("http://127.0.0.1:3000/y"), "127.0.0.1:3000");
    }
}
