//! One integration test binary (it links once). Each file is one feature; each behaviour is an
//! `async fn(&mut TestApp)` run on SQLite and on PostgreSQL by `backend_tests!`.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected value; that is the point"
)]

mod helpers;

mod asymmetric;
mod auth;
mod bad_input;
#[cfg(feature = "brokers")]
mod brokers;
mod claims;
mod cli;
mod client_rust;
mod clients;
mod clients_typescript;
mod cluster;
mod connections;
mod contract;
mod crash;
mod dashboard;
mod dashboard_activity;
mod dashboard_browser;
mod dashboard_edit;
mod dashboard_glance;
mod dashboard_log_scan;
mod dashboard_operator;
mod dashboard_test_send;
mod dashboard_wire;
mod deletion;
mod delivery;
mod disabling;
mod event_types;
mod events;
mod filters;
mod guard;
mod handoff;
mod history;
mod hours;
mod https;
mod lifecycle;
mod log;
mod logging;
mod metrics;
mod nodes;
mod notify;
mod openapi;
mod ordering;
mod outage;
mod partitions;
mod planner;
mod readme;
mod resolve;
mod retention;
mod retries;
mod roles;
mod rotation;
mod scale;
mod sends;
mod serve;
mod smtp;
mod solo;
mod subscriptions;
mod webhooks;
mod wire_formats;
