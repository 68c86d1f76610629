//! The queue consumer: claims due deliveries, sends them, records the results, schedules retries.
//! [`worker`] is the claim loop (`walk`: where its claims resume); [`handoff`] takes new
//! deliveries straight from publishes; both feed `dispatch`, which starts each attempt or queues
//! it behind its busy host ([`limits`]); [`send`] makes one HTTP attempt (to a [`Target`], a
//! webhook prepared once per version; `http1` keeps HTTP/1.1 connections per host slot (and
//! `idle` between slots, closing those unused too long) over
//! `stream`'s TCP or TLS, opened through the address [`guard`] (names resolved by `dns`'s
//! cache) with the process's one [`tls`] configuration; `pooled` is the client for hosts that take HTTP/2 alone; `failure` says why
//! an attempt got no answer); [`schedule`] is the retry math (`retry_after` reads what a
//! receiver asks for); [`recorder`] writes results in batches; [`brokers`] sends to the
//! message brokers a webhook's URL may name instead of an HTTP endpoint. Imports between these files go
//! one way: `worker` → `handoff` → `dispatch` → the rest.

pub mod brokers;
mod cache;
mod dispatch;
pub mod dns;
mod failure;
pub mod guard;
pub mod handoff;
mod http1;
mod idle;
pub mod limits;
mod pooled;
pub mod rate;
pub mod recorder;
mod retry_after;
pub mod schedule;
pub mod send;
mod stream;
mod target;
pub mod tls;
mod walk;
pub mod worker;

pub use dispatch::Claimed;
pub use handoff::Handoff;
pub use send::{Pooling, Sender};
pub use target::Target;
pub use worker::{Worker, WorkerSettings};
