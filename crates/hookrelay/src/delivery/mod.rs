//! The queue consumer: claims due deliveries, sends them, records the results, schedules retries.
//! [`worker`] is the claim loop (`walk`: where its claims resume); [`handoff`] takes new
//! deliveries straight from publishes; [`send`] makes one HTTP attempt through the address
//! [`guard`]; [`schedule`] is the retry math; [`recorder`] writes results in batches.

mod cache;
pub mod guard;
pub mod handoff;
pub mod limits;
pub mod rate;
pub mod recorder;
pub mod schedule;
pub mod send;
mod walk;
pub mod worker;

pub use handoff::Handoff;
pub use send::Sender;
pub use worker::{Worker, WorkerSettings};
