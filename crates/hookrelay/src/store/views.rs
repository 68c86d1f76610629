//! What the delivery log reads beyond a delivery's own row: the stored event, and a delivery
//! with everything needed to show the request it made (re-rendered on read, never stored).

use super::{Attempt, Delivery, Webhook};

/// A published event as stored: the same shape as published (events are immutable; retention
/// deletes them once no delivery refers to them).
pub type Event = super::NewEvent;

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
