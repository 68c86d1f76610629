//! The queue consumer: claims due deliveries, sends them, records the results, schedules retries.
//! [`worker`] is the claim loop; [`send`] makes one HTTP attempt through the address
//! [`guard`]; [`schedule`] is the retry math; [`recorder`] writes results in batches.

pub mod guard;
pub mod limits;
pub mod rate;
pub mod recorder;
pub mod schedule;
pub mod send;
pub mod worker;

pub use send::Sender;
pub use worker::WorkerSettings;
