//! The operator's "system at a glance": the queue's depth (due and scheduled) and its oldest
//! due delivery, read as `/metrics` reads them (the store's `queue_depth`); deliveries created
//! in the last hour by status, as the delivery rate; and the webhooks failing now and the ones
//! disabled, of every tenant, each linking to its page.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use crate::clock::now_ms;
use crate::dashboard::DashState;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{page, time};
use crate::dashboard::session::Viewer;
use crate::store::{DeliveryStatus, Webhook};

use super::tenants::operator;

const HOUR_MS: i64 = 3_600_000;
/// Failing and disabled webhooks listed; more is a job for the API.
const LISTED: u32 = 100;

fn webhooks(id: &str, hooks: &[Webhook], empty: &str, since: fn(&Webhook) -> Markup) -> Markup {
    html! {
        @if hooks.is_empty() {
            p.muted { (empty) }
        } @else {
            table.list id=(id) {
                thead { tr { th { "Tenant" } th { "URL" } th { "Since" } } }
                tbody {
                    @for w in hooks {
                        tr {
                            td { (w.tenant_id) }
                            td.url { a href=(format!("/dashboard/t/{}/webhooks/{}", w.tenant_id, w.id)) { (w.url.masked()) } }
                            td { (since(w)) }
                        }
                    }
                }
            }
        }
    }
}

/// `/dashboard/system`.
pub async fn show(viewer: Viewer, State(state): State<DashState>) -> Result<Response, DashError> {
    operator(&viewer)?;
    let now = now_ms();
    let store = &state.app.store;
    let depth = store.queue_depth(now).await?;
    let overview = store.system_overview(now - HOUR_MS, LISTED).await?;
    let count = |s: DeliveryStatus| {
        overview
            .recent
            .iter()
            .find(|(status, _)| *status == s)
            .map_or(0, |(_, n)| *n)
    };
    let total: u64 = overview.recent.iter().map(|(_, n)| n).sum();
    let body = page(
        "System",
        &viewer,
        None,
        html! {
            h1 { "System at a glance" }
            dl.facts #queue {
                dt { "Due now" } dd #due { (depth.due) }
                dt { "Scheduled" } dd #scheduled { (depth.scheduled) }
                dt { "Oldest due" } dd #oldest-due {
                    @match depth.oldest_due {
                        Some(at) => { (time(at)) " (" (((now - at) / 1000).max(0)) " s ago)" },
                        None => { span.muted { "nothing is waiting" } },
                    }
                }
                dt { "Last hour" } dd #rate {
                    (total) " deliveries created (about " (total / 60) " a minute): "
                    (count(DeliveryStatus::Succeeded)) " succeeded, "
                    (count(DeliveryStatus::Failed)) " failed, "
                    (count(DeliveryStatus::Pending)) " pending"
                }
            }
            h2 { "Failing now" }
            p.hint { "Active webhooks whose every attempt has failed since the time shown; hookrelay disables them if that goes on." }
            (webhooks("failing", &overview.failing, "No webhook is failing.", |w| html! {
                @if let Some(at) = w.failing_since { (time(at)) }
            }))
            h2 { "Disabled" }
            (webhooks("disabled", &overview.disabled, "No webhook is disabled.", |w| html! {
                (w.disabled_reason.as_deref().unwrap_or("manual"))
                @if let Some(at) = w.disabled_at { " · " (time(at)) }
            }))
        },
    );
    Ok(Html(body.into_string()).into_response())
}
