//! What a publish matches events against: each tenant's active webhooks, their subscriptions
//! parsed once and indexed by event type, kept in memory between publishes.
//!
//! A publish used to read every active webhook of its events' tenants and try each event on
//! each of them: with 2,000 webhooks on one tenant that was 2,000 rows read, 4,000 JSON lists
//! parsed and 200,000 matches tried per group of 100 events (bench/README.md, `hosts`). Now
//! the database keeps a version per tenant (`tenants.webhooks_version`, bumped by a trigger on
//! every change a publish would see, migrations PG 0019 / SQLite 0018) and a publish reads that
//! one number per tenant: the webhooks are read again only when it moved. An event then tries
//! the webhooks subscribed to its exact type plus those with patterns, not all of them.
//!
//! Versions come from a single sequence, so a version names one state of one tenant's webhooks
//! for the life of the database, whichever node cached it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::model::{EventFilter, FieldPath, Ordering, PayloadFilter};

/// Most webhooks kept over all tenants (a tenant without any counts as one); past it the cache
/// starts again empty (a publish then reads its tenants' webhooks once more), so memory stays
/// bounded whatever the tenant count.
const MAX_CACHED_WEBHOOKS: usize = 200_000;

/// One active webhook as the publish reads it: (tenant, id, events JSON, channels JSON,
/// updated_at, payload filter JSON, ordering, ordering key path).
pub type WebhookRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    Option<String>,
);

/// An active webhook with its subscription parsed.
pub struct Target {
    pub webhook: String,
    pub updated_at: i64,
    pub events: EventFilter,
    pub channels: Vec<String>,
    /// Only for the webhooks that have one.
    pub filter: Option<PayloadFilter>,
    /// `Some` for a fifo webhook, with its key path if it has one.
    pub fifo: Option<Option<FieldPath>>,
}

/// A tenant's active webhooks at one version, in id order.
pub struct TenantTargets {
    pub tenant: String,
    pub version: i64,
    targets: Vec<Target>,
    /// Webhooks subscribed to exact types only, by type: indexes into `targets`, ascending.
    by_type: HashMap<String, Vec<u32>>,
    /// Webhooks with a pattern (`prefix.*`, `*`, or no list: every type), ascending.
    patterns: Vec<u32>,
}

impl TenantTargets {
    /// Parses `rows`, the tenant's active webhooks in id order.
    pub fn new(tenant: String, version: i64, rows: Vec<WebhookRow>) -> Self {
        let mut by_type: HashMap<String, Vec<u32>> = HashMap::new();
        let mut patterns = Vec::new();
        let targets: Vec<Target> = rows
            .into_iter()
            .enumerate()
            .map(
                |(i, (_, webhook, events, channels, updated_at, filter, ordering, key))| {
                    let events = EventFilter::from_trusted(
                        serde_json::from_str(&events).unwrap_or_default(),
                    );
                    let index = u32::try_from(i).unwrap_or(u32::MAX);
                    let exact = !events.patterns().is_empty()
                        && events
                            .patterns()
                            .iter()
                            .all(|p| p != "*" && !p.ends_with(".*"));
                    if exact {
                        for name in events.patterns() {
                            let list = by_type.entry(name.clone()).or_default();
                            // A list naming a type twice still sends it once.
                            if list.last() != Some(&index) {
                                list.push(index);
                            }
                        }
                    } else {
                        patterns.push(index);
                    }
                    Target {
                        webhook,
                        updated_at,
                        events,
                        channels: serde_json::from_str(&channels).unwrap_or_default(),
                        filter: filter.as_deref().map(PayloadFilter::from_trusted),
                        fifo: match Ordering::from_stored(&ordering, key.as_deref()) {
                            Ordering::None => None,
                            Ordering::Fifo(path) => Some(path),
                        },
                    }
                },
            )
            .collect();
        Self {
            tenant,
            version,
            targets,
            by_type,
            patterns,
        }
    }

    /// The webhooks that may want an event of `event_type`, in id order: those subscribed to
    /// that type by name and those with patterns (the caller still checks the patterns).
    pub fn candidates<'s>(&'s self, event_type: &str) -> impl Iterator<Item = &'s Target> + 's {
        let named = self.by_type.get(event_type).map_or(&[][..], Vec::as_slice);
        let (mut a, mut b) = (named.iter().peekable(), self.patterns.iter().peekable());
        std::iter::from_fn(move || {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x <= y => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => None,
            }?;
            self.targets.get(*next as usize)
        })
    }

    /// What it counts for against [`MAX_CACHED_WEBHOOKS`].
    fn weight(&self) -> usize {
        self.targets.len().max(1)
    }
}

/// The tenants' webhooks a node has read, by tenant, each at the version it was read at.
#[derive(Default)]
pub struct Subscriptions {
    inner: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    by_tenant: HashMap<String, Arc<TenantTargets>>,
    webhooks: usize,
}

impl Subscriptions {
    /// The tenant's webhooks if they were read at `version`.
    pub fn get(&self, tenant: &str, version: i64) -> Option<Arc<TenantTargets>> {
        let cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        cached
            .by_tenant
            .get(tenant)
            .filter(|t| t.version == version)
            .cloned()
    }

    /// Keeps `targets` for the next publish, unless a newer version is kept already.
    pub fn put(&self, targets: Arc<TenantTargets>) {
        let mut cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.webhooks + targets.weight() > MAX_CACHED_WEBHOOKS {
            *cached = Cached::default();
        }
        let added = targets.weight();
        match cached.by_tenant.get(&targets.tenant) {
            Some(old) if old.version > targets.version => return,
            Some(old) => cached.webhooks -= old.weight(),
            None => {}
        }
        cached.webhooks += added;
        cached.by_tenant.insert(targets.tenant.clone(), targets);
    }

    /// Forgets the tenant's webhooks (a publish found them changed since they were read).
    pub fn forget(&self, tenant: &str) {
        let mut cached = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = cached.by_tenant.remove(tenant) {
            cached.webhooks -= old.weight();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, events: &str) -> WebhookRow {
        (
            "t".into(),
            id.into(),
            events.into(),
            "[]".into(),
            1,
            None,
            "none".into(),
            None,
        )
    }

    fn ids(t: &TenantTargets, event_type: &str) -> Vec<String> {
        t.candidates(event_type)
            .filter(|c| c.events.matches(event_type))
            .map(|c| c.webhook.clone())
            .collect()
    }

    #[test]
    fn candidates_are_named_and_pattern_webhooks_in_id_order() {
        let t = TenantTargets::new(
            "t".into(),
            1,
            vec![
                row("a", r#"["x.created"]"#),
                row("b", r#"["x.*"]"#),
                row("c", r#"["x.created","x.created","y.done"]"#),
                row("d", "[]"),
                row("e", r#"["y.done"]"#),
                row("f", r#"["*"]"#),
            ],
        );
        assert_eq!(ids(&t, "x.created"), ["a", "b", "c", "d", "f"]);
        assert_eq!(ids(&t, "y.done"), ["c", "d", "e", "f"]);
        assert_eq!(ids(&t, "z"), ["d", "f"]);
        // Every candidate is tried once, however many names it lists.
        assert_eq!(t.candidates("x.created").count(), 5);
    }

    #[test]
    fn the_cache_keeps_one_version_a_tenant_and_never_an_older_one() {
        let cache = Subscriptions::default();
        cache.put(Arc::new(TenantTargets::new(
            "t".into(),
            5,
            vec![row("a", "[]")],
        )));
        assert!(cache.get("t", 5).is_some());
        assert!(cache.get("t", 6).is_none());
        cache.put(Arc::new(TenantTargets::new("t".into(), 4, Vec::new())));
        assert!(
            cache.get("t", 5).is_some(),
            "an older read does not replace a newer"
        );
        cache.put(Arc::new(TenantTargets::new("t".into(), 7, Vec::new())));
        assert!(cache.get("t", 5).is_none());
        assert_eq!(
            cache.inner.lock().expect("lock").webhooks,
            1,
            "no webhook counts one"
        );
        cache.forget("t");
        assert!(cache.get("t", 7).is_none());
    }
}
