//! What the delivery log reads beyond a delivery's own row: the stored event, and a delivery
//! with everything needed to show the request it made (re-rendered on read, never stored).

use super::{Attempt, Delivery, Webhook};
use crate::ids::{EventId, TenantId};

/// A published event as stored (events are immutable and never deleted).
#[derive(Clone, Debug)]
pub struct Event {
    /// Generated or publisher-chosen.
    pub id: EventId,
    /// Its type.
    pub event_type: String,
    /// Tenants whose webhooks received it.
    pub tenants: Vec<TenantId>,
    /// Channels it carries.
    pub channels: Vec<String>,
    /// The data, as JSON text exactly as published.
    pub data: String,
    /// Unix ms.
    pub created_at: i64,
}

/// One delivery with its attempts (oldest first), its event, and its webhook's current
/// settings.
#[derive(Clone, Debug)]
pub struct DeliveryDetail {
    /// The delivery.
    pub delivery: Delivery,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// The event it carries; `None` only if the row is missing, which the store never does.
    pub event: Option<Event>,
    /// The webhook as it is now; `None` if it was deleted after the delivery was read.
    pub webhook: Option<Webhook>,
}
