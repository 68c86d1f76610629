//! hookrelay: self-hosted webhook delivery. Publish an event; hookrelay delivers it, signed
//! and durably, to every subscribed endpoint, retries failures and logs every attempt.
//! See docs/architecture.md for how the code is laid out and README.md for use.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod delivery;
pub mod ids;
pub mod keys;
pub mod measure;
pub mod model;
pub mod notify;
pub mod operations;
pub mod payload;
pub mod publisher;
pub mod retention;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use config::Config;
