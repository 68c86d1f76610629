//! A tenant's webhooks: the list (status, events, 24-hour success rate and sparkline, from
//! `sparkline.rs`), and creating one with events picked from the catalog. The form goes
//! through the API's own parsing, so a refused value is shown at its field with the API's
//! message.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::auth::Scope;
use crate::api::webhook_json::WebhookIn;
use crate::api::{ApiError, webhooks};
use crate::clock::now_ms;
use crate::dashboard::DashState;
use crate::dashboard::csrf::Form;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{csrf_field, page, time};
use crate::dashboard::session::{TenantView, Viewer};
use crate::ids::TenantId;
use crate::store::{EventType, Page, Webhook};

use super::event_picker::{event_picker, field_error, other_error};
use super::sparkline;

/// Catalog entries the create form offers.
const SHOWN: u32 = 250;
/// Webhooks a page of the list shows; the next page follows on by id.
const LISTED: u32 = 100;

/// `?after=`: the list's page after this webhook id.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    after: Option<String>,
}

/// `active`, or `disabled (reason) since …`.
pub fn status_badge(w: &Webhook) -> Markup {
    html! {
        @if w.active {
            span.badge.ok { "active" }
        } @else {
            span.badge.bad { "disabled" }
            " "
            span.muted {
                (w.disabled_reason.as_deref().unwrap_or("manual"))
                @if let Some(at) = w.disabled_at { " since " (time(at)) }
            }
        }
    }
}

/// The events a webhook takes, for people.
pub fn events_text(w: &Webhook) -> String {
    let patterns = w.events.patterns();
    if patterns.is_empty() {
        "all events".to_owned()
    } else {
        patterns.join(", ")
    }
}

/// The tenant's webhooks.
pub async fn list(
    view: TenantView,
    State(state): State<DashState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, DashError> {
    let page_q = Page {
        limit: LISTED,
        cursor: q.after.clone(),
    };
    let listed = state.app.store.list_webhooks(&view.tenant, &page_q).await?;
    let (hooks, next) = (listed.items, listed.next_cursor);
    let glances = sparkline::load(&state, &view.tenant, &hooks, now_ms()).await?;
    let t = &view.tenant;
    let body = page(
        "Webhooks",
        &view.viewer,
        Some(t),
        html! {
            div.heading {
                h1 { "Webhooks" }
                a.button href=(format!("/dashboard/t/{t}/webhooks/new")) { "New webhook" }
            }
            @if hooks.is_empty() && q.after.is_some() {
                p.muted { "No more webhooks." }
            } @else if hooks.is_empty() {
                div.empty {
                    h2 { "No webhooks yet" }
                    p { "A webhook is a URL of yours that hookrelay sends events to, signed and retried until it answers 2xx. Create one to start receiving events." }
                    a.button href=(format!("/dashboard/t/{t}/webhooks/new")) { "Create your first webhook" }
                }
            } @else {
                table.list {
                    thead { tr { th { "URL" } th.hide-narrow { "Events" } th { "Status" } th { "Success, last 24 hours" } } }
                    tbody {
                        @for (w, glance) in hooks.iter().zip(&glances) {
                            tr {
                                td.url { a href=(format!("/dashboard/t/{t}/webhooks/{}", w.id)) { (w.url.masked()) } }
                                td.hide-narrow { (events_text(w)) }
                                td { (status_badge(w)) }
                                td { (glance.render()) }
                            }
                        }
                    }
                }
            }
            @if q.after.is_some() || next.is_some() {
                nav.windows.pager aria-label="Pages" {
                    @if q.after.is_some() {
                        a #first-page href=(format!("/dashboard/t/{t}/webhooks")) { "← First page" }
                    }
                    @if let Some(next) = &next {
                        @let after = form_urlencoded::Serializer::new(String::new()).append_pair("after", next).finish();
                        a #next-page href=(format!("/dashboard/t/{t}/webhooks?{after}")) { "Next page →" }
                    }
                }
            }
        },
    );
    Ok(Html(body.into_string()).into_response())
}

/// What the create form shows again after a refusal.
#[derive(Default)]
struct Entered {
    url: String,
    description: String,
    events: Vec<String>,
}

fn form(
    viewer: &Viewer,
    t: &TenantId,
    catalog: &[EventType],
    entered: &Entered,
    error: Option<&ApiError>,
) -> Markup {
    let field_error = |field: &str| field_error(error, field);
    let other_error = other_error(error, &["url", "description", "events"]);
    page(
        "New webhook",
        viewer,
        Some(t),
        html! {
            h1 { "New webhook" }
            @if let Some(e) = other_error { p.error role="alert" { (e) } }
            form.card method="post" action=(format!("/dashboard/t/{t}/webhooks")) novalidate {
                (csrf_field(viewer))
                label for="url" { "Endpoint URL" }
                input #url type="url" name="url" value=(entered.url) required aria-describedby="url-hint";
                p.hint #url-hint { "Where events are POSTed. Must be https:// (plain http:// only in development mode)." }
                @if let Some(m) = field_error("url") { p.field-error #url-error role="alert" { (m) } }
                label for="description" { "Description" }
                input #description name="description" value=(entered.description);
                @if let Some(m) = field_error("description") { p.field-error role="alert" { (m) } }
                (event_picker(catalog, &entered.events, error))
                button type="submit" { "Create webhook" }
            }
        },
    )
}

pub(super) async fn catalog(state: &DashState) -> Result<Vec<EventType>, DashError> {
    let page = Page {
        limit: SHOWN,
        cursor: None,
    };
    Ok(state.app.store.list_event_types(&page).await?.items)
}

/// The create form.
pub async fn new_form(
    view: TenantView,
    State(state): State<DashState>,
) -> Result<Response, DashError> {
    let catalog = catalog(&state).await?;
    let body = form(
        &view.viewer,
        &view.tenant,
        &catalog,
        &Entered::default(),
        None,
    );
    Ok(Html(body.into_string()).into_response())
}

/// Creates the webhook, or shows the form again with the refusal at its field.
pub async fn create(
    view: TenantView,
    State(state): State<DashState>,
    form_in: Form,
) -> Result<Response, DashError> {
    let fields = &form_in.fields;
    let entered = Entered {
        url: fields.get("url").unwrap_or("").trim().to_owned(),
        description: fields.get("description").unwrap_or("").to_owned(),
        events: fields.all("events"),
    };
    let input = WebhookIn::from_form(
        entered.url.clone(),
        entered.description.clone(),
        entered.events.clone(),
    );
    match webhooks::create_in(&state.app, &Scope(view.tenant.clone()), input).await {
        Ok(w) => Ok(super::see_other(&format!(
            "/dashboard/t/{}/webhooks/{}",
            view.tenant, w.id
        ))),
        Err(e @ ApiError::Validation(_)) => {
            let catalog = catalog(&state).await?;
            let body = form(&view.viewer, &view.tenant, &catalog, &entered, Some(&e));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body.into_string())).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
