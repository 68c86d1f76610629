//! The webhook page's test panel: pick an event type from the catalog (a GET form that loads
//! its example into the textarea, so no script is needed), edit the payload, send it through
//! the API's test send, and see what came back. The send answers with a redirect to the page
//! showing the logged test delivery's attempt (so reloading does not send again); a refused
//! send shows the page again with the refusal and the typed payload.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use crate::api::ApiError;
use crate::api::auth::Scope;
use crate::api::sends::test_send_in;
use crate::dashboard::DashState;
use crate::dashboard::csrf::Form;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::csrf_field;
use crate::dashboard::session::{TenantView, Viewer};
use crate::ids::{DeliveryId, WebhookId};
use crate::store::{self, DeliveryDetail, EventType};

use super::event_picker::field_error;
use super::webhook::{LogQuery, WebhookPath};

/// What the panel shows.
#[derive(Default)]
pub struct TestPanel {
    /// The event type picked.
    pub event_type: Option<String>,
    /// The payload typed, when a send was refused.
    pub data: Option<String>,
    /// Why the send was refused.
    pub error: Option<ApiError>,
    /// The test delivery just sent.
    pub sent: Option<String>,
}

/// JSON pretty-printed; anything else as it is.
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// The panel's data: the test delivery to show, if it is this webhook's.
pub async fn sent(
    state: &DashState,
    view: &TenantView,
    webhook: &WebhookId,
    panel: &TestPanel,
) -> Result<Option<DeliveryDetail>, DashError> {
    let Some(id) = panel
        .sent
        .as_deref()
        .filter(|id| DeliveryId::is_well_formed(id))
    else {
        return Ok(None);
    };
    let id = DeliveryId::from_trusted(id.to_owned());
    match state.app.store.get_delivery(Some(&view.tenant), &id).await {
        Ok(d) if &d.delivery.webhook_id == webhook && d.delivery.test => Ok(Some(d)),
        Ok(_) | Err(store::Error::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The panel.
pub fn panel(
    viewer: &Viewer,
    base: &str,
    catalog: &[EventType],
    panel: &TestPanel,
    sent: Option<&DeliveryDetail>,
) -> Markup {
    let picked = panel
        .event_type
        .as_deref()
        .or_else(|| catalog.first().map(|e| e.name.as_str()))
        .unwrap_or("test.ping");
    let example = catalog
        .iter()
        .find(|e| e.name == picked)
        .and_then(|e| e.example.as_deref())
        .map_or_else(|| "{}".to_owned(), pretty);
    let data = panel.data.clone().unwrap_or(example);
    let error = panel.error.as_ref();
    html! {
        section.card #test {
            h2 { "Send a test event" }
            form.inline method="get" action=(base) {
                label for="test_type" { "Event type" }
                select #test_type name="test_type" {
                    @if !catalog.iter().any(|e| e.name == picked) { option selected { (picked) } }
                    @for e in catalog { option value=(e.name) selected[e.name == picked] { (e.name) } }
                }
                button.secondary type="submit" { "Show its example" }
            }
            form method="post" action=(format!("{base}/test")) {
                (csrf_field(viewer))
                input type="hidden" name="event_type" value=(picked);
                label for="test_data" { "Payload (" code { (picked) } ")" }
                textarea #test_data name="data" rows="8" spellcheck="false" { (data) }
                @for field in ["data", "event_type"] {
                    @if let Some(m) = field_error(error, field) { p.field-error id=(format!("test-{field}-error")) role="alert" { (m) } }
                }
                @if let Some(e) = error.filter(|e| !matches!(e, ApiError::Validation(_))) { p.error role="alert" { (e.to_string()) } }
                button #send-test type="submit" { "Send test" }
            }
            @if let Some(d) = sent { (result(base, d)) }
        }
    }
}

fn result(base: &str, d: &DeliveryDetail) -> Markup {
    let deliveries = base.rsplit_once("/webhooks/").map_or("", |(t, _)| t);
    html! {
        div #test-result {
            @for a in d.attempts.iter().take(1) {
                p {
                    @if a.result.succeeded { span.badge.ok { "succeeded" } } @else { span.badge.bad { "failed" } }
                    " "
                    @match a.result.status_code { Some(c) => { "HTTP " (c) }, None => { span.muted { "no response" } } }
                    " in " (a.result.latency_ms) " ms · "
                    a href=(format!("{deliveries}/deliveries/{}", d.delivery.id)) { "details" }
                }
                @if let Some(e) = &a.result.error { p.error-text { (e) } }
                @if let Some(body) = &a.result.response_body { pre.response { (body) } }
            }
        }
    }
}

/// Sends the test through the API's test send.
pub async fn send(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
    form: Form,
) -> Result<Response, DashError> {
    let id = WebhookId::from_trusted(path.id.clone());
    let event_type = form.fields.get("event_type").unwrap_or("").to_owned();
    let data = form.fields.get("data").unwrap_or("").to_owned();
    let scope = Scope(view.tenant.clone());
    let base = format!("/dashboard/t/{}/webhooks/{}", view.tenant, path.id);
    match test_send_in(&state.app, &scope, &id, &event_type, Some(data.clone())).await {
        Ok(out) => Ok(super::see_other(&format!(
            "{base}?test={}#test",
            out.delivery_id
        ))),
        Err(e @ ApiError::Validation(_)) => {
            let panel = TestPanel {
                event_type: Some(event_type),
                data: Some(data),
                error: Some(e),
                sent: None,
            };
            let body =
                super::webhook::render_page(&state, &view, id, LogQuery::default(), panel).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body.into_string())).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
