//! One delivery: its attempts (what came back: status, response excerpt, error, latency), the
//! request it made (re-rendered as the API's delivery log does: headers with custom header
//! values hidden, since they may carry credentials, and the body pretty-printed), and Retry.
//! Everything here may come from a hostile receiver and is escaped by the template.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use crate::api::deliveries::{rerender, retry as api_retry};
use crate::dashboard::DashState;
use crate::dashboard::csrf::Form;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{csrf_field, page, time};
use crate::dashboard::session::TenantView;
use crate::ids::DeliveryId;

use super::webhook::status_pill;

/// `/dashboard/t/{tid}/deliveries/{id}`
#[derive(Deserialize)]
pub struct DeliveryPath {
    #[expect(dead_code, reason = "read by TenantView from the raw path")]
    tid: String,
    id: String,
}

/// JSON pretty-printed; anything else as it is.
fn pretty(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_owned())
}

/// The delivery's page.
pub async fn show(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<DeliveryPath>,
) -> Result<Response, DashError> {
    let t = &view.tenant;
    let detail = state
        .app
        .store
        .get_delivery(Some(t), &DeliveryId::from_trusted(path.id))
        .await?;
    let request = rerender(&detail);
    let d = &detail.delivery;
    let custom: Vec<String> = detail
        .webhook
        .as_ref()
        .map(|w| {
            w.headers
                .as_map()
                .keys()
                .map(|k| k.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let base = format!("/dashboard/t/{t}/deliveries/{}", d.id);
    let body = page(
        "Delivery",
        &view.viewer,
        Some(t),
        html! {
            p { a href=(format!("/dashboard/t/{t}/webhooks/{}", d.webhook_id)) { "← Webhook" } }
            div.heading {
                h1 { "Delivery " code { (d.id) } }
                form.inline method="post" action=(format!("{base}/retry")) {
                    (csrf_field(&view.viewer))
                    button #retry type="submit" { "Retry now" }
                }
            }
            dl.facts {
                dt { "Status" } dd #delivery-status { (status_pill(d.status)) }
                dt { "Event" } dd { code { (d.event_id) } " " (d.event_type) }
                dt { "Attempts" } dd { (d.attempts) }
                @if let Some(next) = d.next_attempt_at { dt { "Next attempt" } dd { (time(next)) } }
                dt { "Created" } dd { (time(d.created_at)) }
            }
            h2 { "Attempts" }
            @if detail.attempts.is_empty() { p.muted { "No attempt yet." } }
            @for a in detail.attempts.iter().rev() {
                section.attempt {
                    h3 {
                        "Attempt " (a.attempt) " · " (time(a.result.started_at)) " · "
                        @if a.result.succeeded { span.badge.ok { "succeeded" } } @else { span.badge.bad { "failed" } }
                    }
                    dl.facts {
                        dt { "Response status" } dd { @match a.result.status_code { Some(c) => { (c) }, None => { span.muted { "none" } } } }
                        dt { "Latency" } dd { (a.result.latency_ms) " ms" }
                        @if let Some(e) = &a.result.error { dt { "Error" } dd.error-text { (e) } }
                    }
                    @if let Some(body) = &a.result.response_body {
                        p.label { "Response body (excerpt)" }
                        pre.response { (body) }
                    }
                }
            }
            @if let Some(r) = &request {
                h2 { "Request (attempt " (r.attempt) ")" }
                p { (r.method) " " code.url { (r.url) } }
                table.list.headers {
                    tbody {
                        @for (name, value) in &r.headers {
                            tr {
                                th { (name) }
                                td { @if custom.contains(name) { span.muted { "(hidden)" } } @else { code { (value) } } }
                            }
                        }
                    }
                }
                pre.body { (pretty(&r.body)) }
            }
        },
    );
    Ok(Html(body.into_string()).into_response())
}

/// Makes the delivery due now (the API's retry: refused while its webhook is disabled).
pub async fn retry(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<DeliveryPath>,
    _form: Form,
) -> Result<Response, DashError> {
    let d = api_retry(
        &state.app,
        Some(&view.tenant),
        DeliveryId::from_trusted(path.id),
    )
    .await?;
    Ok(super::see_other(&format!(
        "/dashboard/t/{}/deliveries/{}",
        view.tenant, d.id
    )))
}
