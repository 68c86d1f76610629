//! Editing a webhook's settings: URL, description, events, delivery order (none or fifo, and
//! its key path), payload filter (JSON, empty for
//! none), retry schedule, timeout, rate limit, custom headers, wire format (`wire_format.rs`: a
//! named preset for each scheme the README's "Wire formats" table lists, or custom) and active.
//! The form is turned into the API's own `WebhookPatch` and
//! applied by the API's `update_in`, so what is refused, and the words, are the API's; a
//! refusal is shown next to its field with everything typed kept.
//!
//! Custom header values may be credentials, so the form never writes them into the page: each
//! shows as [`KEEP`], which means "keep the stored value".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::api::ApiError;
use crate::api::auth::Scope;
use crate::api::webhook_json::WebhookPatch;
use crate::api::webhooks::update_in;
use crate::dashboard::DashState;
use crate::dashboard::csrf::{Fields, Form};
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{csrf_field, page};
use crate::dashboard::session::{TenantView, Viewer};
use crate::ids::{TenantId, WebhookId};
use crate::store::{EventType, Webhook};

use super::wire_format::{self, WireEntered};

use super::event_picker::{event_picker, field_error, other_error};
use super::webhook::WebhookPath;
use super::webhooks::catalog;

/// What a custom header's value shows as; submitted unchanged, the stored value is kept.
const KEEP: &str = "(unchanged)";

/// What the form shows: the stored settings, or what was typed.
struct Entered {
    url: String,
    description: String,
    events: Vec<String>,
    filter: String,
    ordering: String,
    ordering_key: String,
    retry_schedule: String,
    timeout_seconds: String,
    rate_limit: String,
    headers: String,
    wire: WireEntered,
    active: bool,
}

impl Entered {
    fn stored(w: &Webhook) -> Self {
        Self {
            // A broker's password stays out of the page; submitted unchanged, it is kept.
            url: w.url.masked().into_owned(),
            description: w.description.clone(),
            events: w.events.patterns().to_vec(),
            filter: w
                .filter
                .as_ref()
                .map(super::webhook::pretty)
                .unwrap_or_default(),
            ordering: w.ordering.as_str().to_owned(),
            ordering_key: w.ordering.key_path().unwrap_or_default().to_owned(),
            retry_schedule: join(w.retry_schedule.delays()),
            timeout_seconds: w.timeout_seconds.get().to_string(),
            rate_limit: w
                .rate_limit_per_second
                .map(|n| n.to_string())
                .unwrap_or_default(),
            headers: w
                .headers
                .as_map()
                .keys()
                .map(|k| format!("{k}: {KEEP}\n"))
                .collect(),
            wire: WireEntered::stored(w),
            active: w.active,
        }
    }

    fn typed(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or("").to_owned();
        Self {
            url: text("url").trim().to_owned(),
            description: text("description"),
            events: fields.all("events"),
            filter: text("filter"),
            ordering: text("ordering"),
            ordering_key: text("ordering_key").trim().to_owned(),
            retry_schedule: text("retry_schedule"),
            timeout_seconds: text("timeout_seconds"),
            rate_limit: text("rate_limit_per_second"),
            headers: text("headers"),
            wire: WireEntered::typed(fields),
            active: fields.get("active") == Some("true"),
        }
    }

    /// The API's patch for what was typed; a value that is not even the right shape (a word
    /// where a number goes) is refused here, at its field, in the API's words.
    fn patch(&self, w: &Webhook) -> Result<WebhookPatch, ApiError> {
        let whole = |s: &str, field: &str| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid(field, "must be a whole number"))
        };
        let schedule = self
            .retry_schedule
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| whole(s, "retry_schedule"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut patch = Map::new();
        let url = if self.url == w.url.masked() {
            w.url.as_str()
        } else {
            self.url.as_str()
        };
        patch.insert("url".into(), json!(url));
        patch.insert("description".into(), json!(self.description));
        patch.insert("events".into(), json!(self.events));
        let filter = match self.filter.trim() {
            "" => Value::Null,
            text => serde_json::from_str(text)
                .map_err(|e| ApiError::invalid("filter", format!("is not JSON: {e}")))?,
        };
        patch.insert("filter".into(), filter);
        // A form without the field (a page from before it existed) keeps the order.
        if !self.ordering.is_empty() {
            patch.insert("ordering".into(), json!(self.ordering));
            let key = match self.ordering_key.as_str() {
                "" => Value::Null,
                path => json!(path),
            };
            patch.insert("ordering_key".into(), key);
        }
        patch.insert("retry_schedule".into(), json!(schedule));
        patch.insert(
            "timeout_seconds".into(),
            json!(whole(&self.timeout_seconds, "timeout_seconds")?),
        );
        let rate = match self.rate_limit.trim() {
            "" => Value::Null,
            n => json!(whole(n, "rate_limit_per_second")?),
        };
        patch.insert("rate_limit_per_second".into(), rate);
        patch.insert("headers".into(), Value::Object(self.headers(w)?));
        self.wire.patch(&mut patch);
        patch.insert("active".into(), json!(self.active));
        serde_json::from_value(Value::Object(patch))
            .map_err(|e| ApiError::invalid("form", e.to_string()))
    }

    /// `Name: value` lines, with [`KEEP`] standing for the stored value.
    fn headers(&self, w: &Webhook) -> Result<Map<String, Value>, ApiError> {
        let mut headers = Map::new();
        for line in self
            .headers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let Some((name, value)) = line.split_once(':') else {
                return Err(ApiError::invalid(
                    "headers",
                    "each line must be Name: value",
                ));
            };
            let (name, value) = (name.trim(), value.trim());
            let value = if value == KEEP {
                w.headers.as_map().get(name).cloned().ok_or_else(|| {
                    ApiError::invalid("headers", format!("{name} has no stored value to keep"))
                })?
            } else {
                value.to_owned()
            };
            headers.insert(name.to_owned(), json!(value));
        }
        Ok(headers)
    }
}

fn join(delays: &[u32]) -> String {
    delays
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

const FIELDS: &[&str] = &[
    "url",
    "description",
    "events",
    "filter",
    "ordering",
    "ordering_key",
    "retry_schedule",
    "timeout_seconds",
    "rate_limit_per_second",
    "headers",
];

fn form(
    viewer: &Viewer,
    t: &TenantId,
    w: &Webhook,
    catalog: &[EventType],
    entered: &Entered,
    error: Option<&ApiError>,
) -> Markup {
    let base = format!("/dashboard/t/{t}/webhooks/{}", w.id);
    let err = |field: &str| -> Markup {
        html! { @if let Some(m) = field_error(error, field) { p.field-error id=(format!("{field}-error")) role="alert" { (m) } } }
    };
    page(
        "Edit webhook",
        viewer,
        Some(t),
        html! {
            p { a href=(base) { "← Webhook" } }
            h1 { "Edit webhook" }
            @if let Some(e) = other_error(error, &[FIELDS, wire_format::FIELDS].concat()) { p.error role="alert" { (e) } }
            form.card method="post" action=(format!("{base}/edit")) novalidate {
                (csrf_field(viewer))
                label for="url" { "Endpoint URL" }
                input #url type="url" name="url" value=(entered.url) required aria-describedby="url-hint";
                p.hint #url-hint { "Must be https:// (plain http:// only in development mode)." }
                (err("url"))
                label for="description" { "Description" }
                input #description name="description" value=(entered.description);
                (err("description"))
                (event_picker(catalog, &entered.events, error))
                label for="filter" { "Payload filter (JSON; empty for every event)" }
                textarea #filter name="filter" rows="4" spellcheck="false" aria-describedby="filter-hint" { (entered.filter) }
                p.hint #filter-hint { "E.g. " code { r#"{"data.amount": {"$gte": 100}}"# } "; see docs/filters.md." }
                (err("filter"))
                label for="ordering" { "Delivery order" }
                select #ordering name="ordering" {
                    option value="none" selected[entered.ordering != "fifo"] { "none: as soon as possible" }
                    option value="fifo" selected[entered.ordering == "fifo"] { "fifo: one at a time, in publish order" }
                }
                (err("ordering"))
                label for="ordering_key" { "Order key path (fifo only; empty for one order for the whole webhook)" }
                input #ordering_key name="ordering_key" value=(entered.ordering_key) placeholder="data.meeting_id" spellcheck="false";
                (err("ordering_key"))
                label for="retry_schedule" { "Retry schedule (seconds after each failed attempt)" }
                input #retry_schedule name="retry_schedule" value=(entered.retry_schedule) inputmode="numeric";
                (err("retry_schedule"))
                label for="timeout_seconds" { "Timeout (seconds)" }
                input #timeout_seconds name="timeout_seconds" value=(entered.timeout_seconds) inputmode="numeric";
                (err("timeout_seconds"))
                label for="rate_limit_per_second" { "Rate limit (deliveries per second; empty for none)" }
                input #rate_limit_per_second name="rate_limit_per_second" value=(entered.rate_limit) inputmode="numeric";
                (err("rate_limit_per_second"))
                label for="headers" { "Custom headers (one Name: value a line)" }
                textarea #headers name="headers" rows="3" { (entered.headers) }
                p.hint { "Stored values show as " code { (KEEP) } " and are kept as they are." }
                (err("headers"))
                (wire_format::fieldset(&entered.wire, error))
                label.check {
                    input #active type="checkbox" name="active" value="true" checked[entered.active];
                    "Active (deliveries are made)"
                }
                button #save type="submit" { "Save" }
            }
        },
    )
}

/// The edit form, filled with the stored settings.
pub async fn show(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
) -> Result<Response, DashError> {
    let w = state
        .app
        .store
        .get_webhook(&view.tenant, &WebhookId::from_trusted(path.id))
        .await?;
    let catalog = catalog(&state).await?;
    let body = form(
        &view.viewer,
        &view.tenant,
        &w,
        &catalog,
        &Entered::stored(&w),
        None,
    );
    Ok(Html(body.into_string()).into_response())
}

/// Saves the settings through the API's update, or shows the form again with the refusal.
pub async fn save(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
    form_in: Form,
) -> Result<Response, DashError> {
    let id = WebhookId::from_trusted(path.id);
    let w = state.app.store.get_webhook(&view.tenant, &id).await?;
    let entered = Entered::typed(&form_in.fields);
    let scope = Scope(view.tenant.clone());
    let result = match entered.patch(&w) {
        Ok(patch) => update_in(&state.app, &scope, id, patch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(w) => Ok(super::see_other(&format!(
            "/dashboard/t/{}/webhooks/{}",
            view.tenant, w.id
        ))),
        Err(e @ ApiError::Validation(_)) => {
            let catalog = catalog(&state).await?;
            let body = form(&view.viewer, &view.tenant, &w, &catalog, &entered, Some(&e));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body.into_string())).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
