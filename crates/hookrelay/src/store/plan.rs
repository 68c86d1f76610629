//! What a group publish writes, worked out from what the database already holds: which events
//! are new, which repeat an earlier publish, and the deliveries each new one fans out to. Pure
//! logic, shared by both backends; the database work is in `shared/publish.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::subscriptions::{Target, TenantTargets};
use super::{NewEvent, Published};
use crate::model::FieldPath;
use crate::model::filter::channels_match;
use crate::model::ordering::queue_key;
use crate::model::payload_filter::Subject;

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

/// Whether `event` goes to `target` of `tenant`: its event type patterns and channels, then
/// its payload filter. `data` is the event's data, parsed by the first filter that reads it
/// and kept for the next ones, so an event that meets no such filter is never parsed.
fn wants(target: &Target, tenant: &str, event: &NewEvent, data: &mut Option<Value>) -> bool {
    if !(target.events.matches(&event.event_type)
        && channels_match(&target.channels, &event.channels))
    {
        return false;
    }
    let Some(filter) = &target.filter else {
        return true;
    };
    let data: &Value = if filter.reads_data() {
        parsed(event, data)
    } else {
        &Value::Null
    };
    filter.matches(&Subject {
        event_type: &event.event_type,
        tenant,
        channels: &event.channels,
        data,
    })
}

/// `event`'s data, parsed by the first reader and kept in `data` for the next. It was checked
/// as JSON when published; were it not, it reads as null.
fn parsed<'d>(event: &NewEvent, data: &'d mut Option<Value>) -> &'d Value {
    data.get_or_insert_with(|| serde_json::from_str(&event.data).unwrap_or(Value::Null))
}

/// The queue `event` joins on a fifo webhook of `tenant` (`path` its key path).
fn queue(
    path: Option<&FieldPath>,
    tenant: &str,
    event: &NewEvent,
    data: &mut Option<Value>,
) -> String {
    let data: &Value = match path {
        Some(p) if p.reads_data() => parsed(event, data),
        _ => &Value::Null,
    };
    queue_key(
        path,
        &Subject {
            event_type: &event.event_type,
            tenant,
            channels: &event.channels,
            data,
        },
    )
}

impl<'a> Plan<'a> {
    /// Plans `events` given the `(id, deliveries)` of those already stored and the active
    /// webhooks of every tenant they name that exists, in tenant order.
    pub fn new(
        events: &'a [NewEvent],
        existing: &[(String, i64)],
        tenants: &'a [Arc<TenantTargets>],
    ) -> Self {
        let mut plan = Plan {
            results: Vec::with_capacity(events.len()),
            new_events: Vec::new(),
            deliveries: Vec::new(),
            ordered: Vec::new(),
        };
        let find = |t: &str| {
            tenants
                .binary_search_by(|x| x.tenant.as_str().cmp(t))
                .ok()
                .map(|i| &*tenants[i])
        };
        let mut seen: HashMap<&str, u64> = existing
            .iter()
            .map(|(id, n)| (id.as_str(), n.max(&0).unsigned_abs()))
            .collect();
        for (index, event) in events.iter().enumerate() {
            if let Some(&n) = seen.get(event.id.as_str()) {
                plan.results.push(Published::Duplicate { deliveries: n });
                continue;
            }
            if let Some(missing) = event.tenants.iter().find(|t| find(t.as_str()).is_none()) {
                plan.results.push(Published::UnknownTenant(missing.clone()));
                continue;
            }
            let before = plan.deliveries.len();
            let mut data = None;
            // In tenant order, then webhook order, whatever order the event names its tenants.
            let one = match event.tenants.as_slice() {
                [one] => find(one.as_str()),
                _ => None,
            };
            let many: &[Arc<TenantTargets>] = if event.tenants.len() > 1 {
                tenants
            } else {
                &[]
            };
            let named = one.into_iter().chain(
                many.iter()
                    .map(|t| &**t)
                    .filter(|t| event.tenants.iter().any(|m| m.as_str() == t.tenant)),
            );
            for tenant in named {
                let t = tenant.tenant.as_str();
                for target in tenant.candidates(&event.event_type) {
                    if !wants(target, t, event, &mut data) {
                        continue;
                    }
                    if let Some(path) = &target.fifo {
                        let key = queue(path.as_ref(), t, event, &mut data);
                        plan.ordered.push((plan.deliveries.len(), key));
                    }
                    plan.deliveries.push(PlannedDelivery {
                        event: index,
                        webhook: &target.webhook,
                        updated_at: target.updated_at,
                        tenant: t,
                    });
                }
            }
            let n = (plan.deliveries.len() - before) as u64;
            seen.insert(event.id.as_str(), n);
            plan.new_events.push((event, n));
            plan.results.push(Published::Created { deliveries: n });
        }
        plan
    }
}
