//! `tls`: the `throughput` shape (100 webhooks, 100,000 events, each to one webhook) with every
//! endpoint HTTPS: `https://localhost:<port>`, a certificate of the CA the bench created at start,
//! which hookrelay trusts through `extra_root_certificates`. The ceiling is the bare client over
//! TLS with the same 64 connections. What it measures beyond `throughput`: handshakes, session
//! resumption and the per-record cost of encrypting every request and response.

use super::Ctx;
use crate::receiver::Transport;
use crate::report::Report;

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    super::throughput::run_over(ctx, report, Transport::Tls).await
}
