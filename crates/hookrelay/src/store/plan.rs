//! What a group publish writes, worked out from what the database already holds: which events
//! are new, which repeat an earlier publish, and the deliveries each new one fans out to. Pure
//! logic, shared by both backends; the database work is in `shared/publish.rs`.

use std::collections::HashMap;

use serde_json::Value;

use super::{NewEvent, Published};
use crate::model::filter::channels_match;
use crate::model::ordering::queue_key;
use crate::model::payload_filter::Subject;
use crate::model::{EventFilter, FieldPath, Ordering, PayloadFilter};

/// A target tenant joined with one of its active webhooks, if it has any:
/// (tenant, webhook, events JSON, channels JSON, webhook updated_at, payload filter JSON,
/// ordering, ordering key path).
pub type TargetRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// What a batch publish writes, worked out from what the database already holds.
pub struct Plan<'a> {
    /// One result per event, in order.
    pub results: Vec<Published>,
    /// Events to insert, each with its delivery count.
    pub new_events: Vec<(&'a NewEvent, u64)>,
    /// Deliveries to insert.
    pub deliveries: Vec<PlannedDelivery<'a>>,
    /// The deliveries to fifo webhooks, by their place in `deliveries`, in order, each with
    /// the key of its queue (`model::ordering::queue_key`). Empty unless a target is fifo.
    pub ordered: Vec<(usize, String)>,
}

/// A delivery a publish writes.
#[derive(Clone, Copy)]
pub struct PlannedDelivery<'a> {
    /// The event's position in the published slice.
    pub event: usize,
    /// Its webhook's id.
    pub webhook: &'a str,
    /// The webhook's `updated_at`, as this transaction read it.
    pub updated_at: i64,
    /// The tenant.
    pub tenant: &'a str,
}

/// A target tenant's active webhook with its subscription parsed once per group.
struct Target<'a> {
    tenant: &'a str,
    webhook: &'a str,
    updated_at: i64,
    events: EventFilter,
    channels: Vec<String>,
    /// Compiled once per group, and only for the webhooks that have one.
    filter: Option<PayloadFilter>,
    /// `Some` for a fifo webhook, with its key path if it has one.
    fifo: Option<Option<FieldPath>>,
}

impl Target<'_> {
    /// Whether `event` goes to this webhook: its tenant, event type patterns and channels,
    /// then its payload filter. `data` is the event's data, parsed by the first filter that
    /// reads it and kept for the next ones, so an event that meets no such filter is never
    /// parsed.
    fn wants(&self, event: &NewEvent, data: &mut Option<Value>) -> bool {
        if !(event.tenants.iter().any(|e| e.as_str() == self.tenant)
            && self.events.matches(&event.event_type)
            && channels_match(&self.channels, &event.channels))
        {
            return false;
        }
        let Some(filter) = &self.filter else {
            return true;
        };
        let data: &Value = if filter.reads_data() {
            // `data` was checked as JSON when published; were it not, it reads as null.
            data.get_or_insert_with(|| serde_json::from_str(&event.data).unwrap_or(Value::Null))
        } else {
            &Value::Null
        };
        filter.matches(&Subject {
            event_type: &event.event_type,
            tenant: self.tenant,
            channels: &event.channels,
            data,
        })
    }

    /// The queue `event` joins on this fifo webhook (`path` its key path).
    fn queue(
        &self,
        path: Option<&FieldPath>,
        event: &NewEvent,
        data: &mut Option<Value>,
    ) -> String {
        let data: &Value = match path {
            Some(p) if p.reads_data() => {
                data.get_or_insert_with(|| serde_json::from_str(&event.data).unwrap_or(Value::Null))
            }
            _ => &Value::Null,
        };
        queue_key(
            path,
            &Subject {
                event_type: &event.event_type,
                tenant: self.tenant,
                channels: &event.channels,
                data,
            },
        )
    }
}

impl<'a> Plan<'a> {
    /// Plans `events` given the `(id, deliveries)` of those already stored and the target rows.
    pub fn new(events: &'a [NewEvent], existing: &[(String, i64)], rows: &'a [TargetRow]) -> Self {
        let mut plan = Plan {
            results: Vec::with_capacity(events.len()),
            new_events: Vec::new(),
            deliveries: Vec::new(),
            ordered: Vec::new(),
        };
        let targets: Vec<Target<'a>> = rows
            .iter()
            .filter_map(
                |(tenant, webhook, events, channels, updated_at, filter, ordering, key)| {
                    Some(Target {
                        tenant,
                        webhook: webhook.as_deref()?,
                        updated_at: updated_at.unwrap_or_default(),
                        events: EventFilter::from_trusted(
                            serde_json::from_str(events.as_deref().unwrap_or("[]"))
                                .unwrap_or_default(),
                        ),
                        channels: serde_json::from_str(channels.as_deref().unwrap_or("[]"))
                            .unwrap_or_default(),
                        filter: filter.as_deref().map(PayloadFilter::from_trusted),
                        fifo: match Ordering::from_stored(
                            ordering.as_deref().unwrap_or_default(),
                            key.as_deref(),
                        ) {
                            Ordering::None => None,
                            Ordering::Fifo(path) => Some(path),
                        },
                    })
                },
            )
            .collect();
        let mut seen: HashMap<&str, u64> = existing
            .iter()
            .map(|(id, n)| (id.as_str(), n.max(&0).unsigned_abs()))
            .collect();
        for (index, event) in events.iter().enumerate() {
            if let Some(&n) = seen.get(event.id.as_str()) {
                plan.results.push(Published::Duplicate { deliveries: n });
                continue;
            }
            if let Some(missing) = event
                .tenants
                .iter()
                .find(|t| !rows.iter().any(|r| r.0 == t.as_str()))
            {
                plan.results.push(Published::UnknownTenant(missing.clone()));
                continue;
            }
            let before = plan.deliveries.len();
            let mut data = None;
            for target in &targets {
                if !target.wants(event, &mut data) {
                    continue;
                }
                if let Some(path) = &target.fifo {
                    let key = target.queue(path.as_ref(), event, &mut data);
                    plan.ordered.push((plan.deliveries.len(), key));
                }
                plan.deliveries.push(PlannedDelivery {
                    event: index,
                    webhook: target.webhook,
                    updated_at: target.updated_at,
                    tenant: target.tenant,
                });
            }
            let n = (plan.deliveries.len() - before) as u64;
            seen.insert(event.id.as_str(), n);
            plan.new_events.push((event, n));
            plan.results.push(Published::Created { deliveries: n });
        }
        plan
    }
}
