//! The queue consumer: claims due deliveries, sends them, records the results, schedules retries.
//! [`worker`] is the claim loop (`walk`: where its claims resume); [`handoff`] takes new
//! deliveries straight from publishes; [`send`] makes one HTTP attempt (to a [`Target`], a
//! webhook prepared once per version; `http1` keeps plain-HTTP connections per host slot)
//! through the address [`guard`]; [`schedule`] is the retry math (`retry_after` reads what a
//! receiver asks for); [`recorder`] writes results in batches.

mod cache;
pub mod guard;
pub mod handoff;
mod http1;
pub mod limits;
pub mod rate;
pub mod recorder;
mod retry_after;
pub mod schedule;
pub mod send;
mod target;
mod walk;
pub mod worker;

pub use handoff::Handoff;
pub use send::Sender;
pub use target::Target;
pub use worker::{Worker, WorkerSettings};

use std::sync::Arc;

use crate::ids::{DeliveryId, EventId};

/// A claimed (or handed-over) delivery with everything needed to send it, so sending needs no
/// further query.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// `dlv_…`
    pub id: DeliveryId,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The event's id.
    pub event_id: EventId,
    /// The event's type.
    pub event_type: String,
    /// The event's creation time, unix ms.
    pub event_created_at: i64,
    /// The event's data (JSON text).
    pub data: String,
    /// The webhook it goes to, shared by every delivery to it in flight.
    pub target: Arc<Target>,
}
