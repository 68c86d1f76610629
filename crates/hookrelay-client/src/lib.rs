#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod calls;
mod client;
mod error;
mod ids;
pub mod models;
mod operations;
mod page;
mod transport;

#[cfg(test)]
mod drift;

pub use client::{Client, ClientBuilder, RetryPolicy};
pub use error::Error;
pub use ids::new_event_id;
pub use models::*;
pub use page::{Page, Pages};
/// The status type of [`Error`] and [`RawAnswer`].
pub use reqwest::StatusCode;
pub use transport::RawAnswer;
