//! The webhook page's delivery log: filters by status, event type and time (a plain GET form,
//! so a filtered view is a link, which keeps the chart's window), paging, and "replay failed
//! since…", which queues the failed deliveries again through the API's replay (the page then
//! says how many). A page reads at most [`SCAN`] deliveries
//! ([`crate::store::Store::scan_deliveries`]): a filter that matches almost nothing shows what
//! it found, how far back it searched, and a link that searches on from there.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use crate::api::ApiError;
use crate::api::auth::Scope;
use crate::api::sends::{ReplayIn, replay_in};
use crate::clock::rfc3339;
use crate::dashboard::DashState;
use crate::dashboard::csrf::Form;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{csrf_field, time};
use crate::dashboard::session::Viewer;
use crate::ids::{TenantId, WebhookId};
use crate::store::{Delivery, DeliveryFilter, DeliveryStatus, EventType};

use super::event_picker::field_error;
use super::test_send::TestPanel;
use super::webhook::{LogQuery, WebhookPath, render_page, status_pill};

/// The time filter's choices: its value, its label, and how far back it reaches.
const PERIODS: &[(&str, &str, i64)] = &[
    ("1h", "last hour", 3_600_000),
    ("24h", "last 24 hours", 24 * 3_600_000),
    ("7d", "last 7 days", 7 * 24 * 3_600_000),
];

/// Most deliveries one page of the log looks at; bench/README.md ("dashboard") has what that
/// costs.
pub const SCAN: u32 = 10_000;

/// The log's filters, as read from the page's query (unknown values are no filter).
#[derive(Clone, Default)]
pub struct LogFilter {
    pub status: Option<DeliveryStatus>,
    pub event_type: Option<String>,
    pub period: Option<&'static str>,
    /// The chart's window, kept by the log's links and form (`None`: the default).
    pub window: Option<&'static str>,
}

impl LogFilter {
    /// Reads the query's `status`, `event_type` and `period`.
    pub fn read(status: Option<&str>, event_type: Option<&str>, period: Option<&str>) -> Self {
        Self {
            status: status.and_then(DeliveryStatus::parse),
            event_type: event_type.filter(|e| !e.is_empty()).map(str::to_owned),
            period: PERIODS
                .iter()
                .find(|(p, _, _)| Some(*p) == period)
                .map(|(p, _, _)| *p),
            window: None,
        }
    }

    /// The store's filter at `now`.
    pub fn store(&self, now: i64) -> DeliveryFilter {
        DeliveryFilter {
            status: self.status,
            event_type: self.event_type.clone(),
            since: PERIODS
                .iter()
                .find(|(p, _, _)| Some(*p) == self.period)
                .map(|(_, _, ms)| now - ms),
            until: None,
        }
    }

    /// The page's query for these filters and `cursor`.
    pub fn query(&self, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = self.status {
            q.append_pair("status", s.as_str());
        }
        if let Some(e) = &self.event_type {
            q.append_pair("event_type", e);
        }
        if let Some(p) = self.period {
            q.append_pair("period", p);
        }
        if let Some(w) = self.window {
            q.append_pair("window", w);
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        q.finish()
    }
}

/// What the log section shows.
pub struct LogView<'a> {
    pub filter: &'a LogFilter,
    pub deliveries: &'a [Delivery],
    pub next: Option<&'a str>,
    /// When the page's scan stopped short of a page: how far back it searched.
    pub searched_to: Option<i64>,
    pub catalog: &'a [EventType],
    /// Deliveries a replay just queued again.
    pub replayed: Option<u64>,
    /// Why a replay was refused.
    pub replay_error: Option<&'a ApiError>,
    /// The replay form's `since`, as typed.
    pub replay_since: Option<&'a str>,
    pub now: i64,
}

/// The log section.
pub fn section(viewer: &Viewer, t: &TenantId, base: &str, v: &LogView<'_>) -> Markup {
    let f = v.filter;
    let since = v
        .replay_since
        .map_or_else(|| rfc3339(v.now - 24 * 3_600_000), str::to_owned);
    html! {
        h2 { "Deliveries" }
        form.filters #log-filters method="get" action=(format!("{base}#log-filters")) {
            @if let Some(w) = f.window { input type="hidden" name="window" value=(w); }
            label for="f-status" { "Status" }
            select #f-status name="status" {
                option value="" { "any" }
                @for s in [DeliveryStatus::Pending, DeliveryStatus::Succeeded, DeliveryStatus::Failed] {
                    option value=(s.as_str()) selected[f.status == Some(s)] { (s.as_str()) }
                }
            }
            label for="f-type" { "Event type" }
            select #f-type name="event_type" {
                option value="" { "any" }
                @if let Some(e) = f.event_type.as_ref().filter(|e| !v.catalog.iter().any(|c| &&c.name == e)) {
                    option value=(e) selected { (e) }
                }
                @for e in v.catalog { option value=(e.name) selected[f.event_type.as_deref() == Some(e.name.as_str())] { (e.name) } }
            }
            label for="f-period" { "Created" }
            select #f-period name="period" {
                option value="" { "any time" }
                @for (p, label, _) in PERIODS { option value=(p) selected[f.period == Some(*p)] { (label) } }
            }
            button.secondary type="submit" { "Filter" }
        }
        @if let (Some(to), Some(next)) = (v.searched_to, v.next) {
            @if !v.deliveries.is_empty() { (table(t, v.deliveries)) }
            p #searched-to role="status" {
                @if v.deliveries.is_empty() { "No match among the deliveries back to " } @else { "Searched the deliveries back to " }
                (time(to)) ". "
                a #search-older href=(format!("{base}?{}#log-filters", f.query(Some(next)))) { "Search older →" }
            }
        } @else {
            (table(t, v.deliveries))
            @if let Some(next) = v.next {
                p { a #older href=(format!("{base}?{}", f.query(Some(next)))) { "Older deliveries →" } }
            }
        }
        form.replay #replay method="post" action=(format!("{base}/replay")) {
            (csrf_field(viewer))
            label for="replay-since" { "Replay failed deliveries created since (RFC 3339)" }
            input #replay-since name="since" value=(since);
            button.secondary type="submit" { "Replay failed" }
            @if let Some(m) = field_error(v.replay_error, "since") { p.field-error #since-error role="alert" { (m) } }
            @if let Some(e) = v.replay_error.filter(|e| !matches!(e, ApiError::Validation(_))) { p.error role="alert" { (e.to_string()) } }
            @if let Some(n) = v.replayed { p #replayed role="status" { (n) " failed deliveries queued again." } }
        }
    }
}

fn table(t: &TenantId, deliveries: &[Delivery]) -> Markup {
    html! {
        @if deliveries.is_empty() {
            p.muted { "No deliveries here." }
        } @else {
            table.list #log {
                thead { tr { th { "Status" } th { "Event type" } th.hide-narrow { "Attempts" } th { "Created" } } }
                tbody {
                    @for d in deliveries {
                        tr {
                            td { a href=(format!("/dashboard/t/{t}/deliveries/{}", d.id)) { (status_pill(d.status)) } }
                            td { (d.event_type) @if d.test { " " span.badge { "test" } } }
                            td.hide-narrow { (d.attempts) }
                            td { (time(d.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// Queues the webhook's failed deliveries since the time given again (the API's replay).
pub async fn replay(
    view: crate::dashboard::session::TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
    form: Form,
) -> Result<Response, DashError> {
    let id = WebhookId::from_trusted(path.id.clone());
    let since = form.fields.get("since").unwrap_or("").trim().to_owned();
    let scope = Scope(view.tenant.clone());
    let input = ReplayIn::failed_since(since.clone());
    match replay_in(&state.app, &scope, id.clone(), input).await {
        Ok(out) => Ok(super::see_other(&format!(
            "/dashboard/t/{}/webhooks/{}?replayed={}#replay",
            view.tenant, path.id, out.requeued
        ))),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(_))) => {
            let status = if matches!(e, ApiError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let q = LogQuery::replay_refused(since, e);
            let body = render_page(&state, &view, id, q, TestPanel::default()).await?;
            Ok((status, Html(body.into_string())).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
