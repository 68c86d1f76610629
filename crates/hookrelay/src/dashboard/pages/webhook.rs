//! One webhook: its settings and status (the disabled banner with Re-enable), its chart and
//! success rate over the chosen window, its payload filter, its secret (masked unless revealed;
//! rotation shows the new one once), and its delivery log with a status filter and paging, read
//! with the API's store calls.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::ApiError;
use crate::api::auth::Scope;
use crate::api::rotation::rotate_in;
use crate::api::webhook_json::WebhookPatch;
use crate::api::webhook_secret::public_key;
use crate::api::webhooks::update_in;
use crate::clock::now_ms;
use crate::dashboard::DashState;
use crate::dashboard::csrf::Form;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{csrf_field, page, time};
use crate::dashboard::session::{TenantView, Viewer};
use crate::ids::{DeliveryId, TenantId, WebhookId};
use crate::model::PayloadFilter;
use crate::store::{DeliveryStatus, Page, Webhook};

use super::chart;
use super::log::{self, LogFilter, LogView};
use super::test_send::{self, TestPanel};
use super::webhooks::{catalog, events_text, status_badge};

/// Deliveries a page of the log shows.
const LOG_PAGE: u32 = 50;

/// `?window=&status=&event_type=&period=&cursor=&reveal=&test_type=&test=&replayed=`
#[derive(Deserialize, Default)]
pub struct LogQuery {
    /// The chart's window (`24h`, `7d`, `30d`).
    window: Option<String>,
    status: Option<String>,
    event_type: Option<String>,
    period: Option<String>,
    cursor: Option<String>,
    reveal: Option<String>,
    /// The test panel's event type.
    test_type: Option<String>,
    /// The test delivery just sent.
    test: Option<String>,
    /// Deliveries a replay just queued again.
    replayed: Option<u64>,
    /// A refused replay's `since`, as typed.
    #[serde(skip)]
    replay_since: Option<String>,
    /// Why the replay was refused.
    #[serde(skip)]
    replay_error: Option<ApiError>,
}

impl LogQuery {
    /// The page after a refused replay.
    pub fn replay_refused(since: String, error: ApiError) -> Self {
        Self {
            replay_since: Some(since),
            replay_error: Some(error),
            ..Self::default()
        }
    }
}

/// `/dashboard/t/{tid}/webhooks/{id}`: the two path segments.
#[derive(Deserialize)]
pub struct WebhookPath {
    #[expect(dead_code, reason = "read by TenantView from the raw path")]
    tid: String,
    /// The webhook's id.
    pub id: String,
}

/// A delivery status as a coloured pill.
pub fn status_pill(s: DeliveryStatus) -> Markup {
    let class = match s {
        DeliveryStatus::Succeeded => "badge ok",
        DeliveryStatus::Failed => "badge bad",
        DeliveryStatus::Pending => "badge warn",
    };
    html! { span class=(class) data-status=(s.as_str()) { (s.as_str()) } }
}

fn secret_row(viewer: &Viewer, base: &str, w: &Webhook, reveal: bool) -> Markup {
    // A key pair's private half is never shown, revealed or not: receivers verify with the
    // public key, which is no secret.
    let public = w
        .signature
        .is_asymmetric()
        .then(|| public_key(&w.secret))
        .flatten();
    html! {
        div.secret-box {
            @if let Some(public) = public {
                code #secret { (public) }
                button.secondary type="button" data-copy="secret" { "Copy" }
            } @else if reveal {
                code #secret { (w.secret) }
                button.secondary type="button" data-copy="secret" { "Copy" }
                a href=(base) { "Hide" }
            } @else {
                code { "whsec_••••••••••••" }
                a href=(format!("{base}?reveal=1")) { "Reveal" }
            }
            form.inline method="post" action=(format!("{base}/rotate-secret")) data-confirm="Rotate the signing secret? Receivers must be updated." {
                (csrf_field(viewer))
                button.secondary #rotate type="submit" { "Rotate" }
            }
        }
    }
}

/// The webhook's page.
pub async fn show(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
    Query(mut q): Query<LogQuery>,
) -> Result<Response, DashError> {
    let panel = TestPanel {
        event_type: q.test_type.take(),
        sent: q.test.take(),
        ..TestPanel::default()
    };
    let id = WebhookId::from_trusted(path.id);
    let body = render_page(&state, &view, id, q, panel).await?;
    Ok(Html(body.into_string()).into_response())
}

/// The webhook's page, with its test panel as given.
pub async fn render_page(
    state: &DashState,
    view: &TenantView,
    id: WebhookId,
    q: LogQuery,
    panel: TestPanel,
) -> Result<Markup, DashError> {
    let t = &view.tenant;
    let w = state.app.store.get_webhook(t, &id).await?;
    let now = now_ms();
    let window = chart::Window::read(q.window.as_deref());
    let mut filter = LogFilter::read(
        q.status.as_deref(),
        q.event_type.as_deref(),
        q.period.as_deref(),
    );
    filter.window = (window.name != chart::WINDOWS[0].name).then_some(window.name);
    let cursor = q.cursor.filter(|c| DeliveryId::is_well_formed(c));
    let page_q = Page {
        limit: LOG_PAGE,
        cursor,
    };
    let store_filter = filter.store(now);
    // The page's reads do not depend on each other: on SQLite they run on separate reading
    // connections at once, so the page takes its slowest read, not their sum.
    let log = async {
        let log = state
            .app
            .store
            .scan_deliveries(t, &w.id, &store_filter, &page_q, log::SCAN);
        Ok::<_, DashError>(log.await?)
    };
    let (log, activity, catalog, sent) = tokio::try_join!(
        log,
        chart::Activity::load(state, t, &w.id, window, now),
        catalog(state),
        test_send::sent(state, view, &w.id, &panel),
    )?;
    let base = format!("/dashboard/t/{t}/webhooks/{}", w.id);
    let test = test_send::panel(&view.viewer, &base, &catalog, &panel, sent.as_ref());
    let log_view = LogView {
        filter: &filter,
        deliveries: &log.items,
        next: log.next_cursor.as_deref(),
        searched_to: log.searched_to,
        catalog: &catalog,
        replayed: q.replayed,
        replay_error: q.replay_error.as_ref(),
        replay_since: q.replay_since.as_deref(),
        now,
    };
    let shown = Shown {
        w: &w,
        rate: activity.rate,
        rate_label: activity.label(),
        reveal: q.reveal.is_some(),
        activity: activity.render(&base, &filter),
        test,
        log: log::section(&view.viewer, t, &base, &log_view),
    };
    Ok(render(&view.viewer, t, &shown))
}

/// What the webhook's page shows.
struct Shown<'a> {
    w: &'a Webhook,
    rate: Option<f64>,
    /// The window the rate is over.
    rate_label: &'static str,
    /// Show the secret.
    reveal: bool,
    /// The chart and latency.
    activity: Markup,
    /// The test panel.
    test: Markup,
    /// The delivery log.
    log: Markup,
}

fn render(viewer: &Viewer, t: &TenantId, shown: &Shown<'_>) -> Markup {
    let Shown {
        w,
        rate,
        rate_label,
        reveal,
        ref activity,
        ref test,
        ref log,
    } = *shown;
    let base = format!("/dashboard/t/{t}/webhooks/{}", w.id);
    page(
        "Webhook",
        viewer,
        Some(t),
        html! {
            @if !w.active {
                div.banner role="alert" #disabled-banner {
                    p {
                        strong { "This webhook is disabled" }
                        " (" (w.disabled_reason.as_deref().unwrap_or("manual")) ")"
                        @if let Some(at) = w.disabled_at { " since " (time(at)) }
                        ". Its deliveries are held until it is enabled again."
                    }
                    form.inline method="post" action=(format!("{base}/active")) {
                        (csrf_field(viewer))
                        input type="hidden" name="active" value="true";
                        button #enable type="submit" { "Re-enable" }
                    }
                }
            }
            div.heading {
                h1.url { (w.url.masked()) }
                div.actions {
                    a.button.secondary #guide href=(format!("{base}/receiving")) { "Receiving guide" }
                    a.button.secondary #edit href=(format!("{base}/edit")) { "Edit" }
                }
            }
            @if !w.description.is_empty() { p { (w.description) } }
            dl.facts {
                dt { "Status" } dd #status { (status_badge(w)) }
                dt { "Events" } dd { (events_text(w)) }
                dt { "Order" } dd #ordering { (ordering_text(w)) }
                dt { "Filter" } dd { @match &w.filter { Some(f) => { pre #filter { (pretty(f)) } }, None => { span.muted { "none: every event" } } } }
                dt { "Success, " (rate_label.to_lowercase()) } dd { @match rate { Some(r) => { (format!("{:.1} %", r * 100.0)) }, None => { span.muted { "no attempts" } } } }
                dt { "Timeout" } dd { (w.timeout_seconds.get()) " s" }
                dt { "Retries after" } dd { (w.retry_schedule.delays().iter().map(|d| format!("{d} s")).collect::<Vec<_>>().join(", ")) }
                dt { @if w.signature.is_asymmetric() { "Public key" } @else { "Signing secret" } }
                dd { (secret_row(viewer, &base, w, reveal)) }
            }
            @if w.active {
                form.inline method="post" action=(format!("{base}/active")) data-confirm="Disable this webhook? Its deliveries are held until it is enabled again." {
                    (csrf_field(viewer))
                    input type="hidden" name="active" value="false";
                    button.secondary #disable type="submit" { "Disable" }
                }
            }
            (activity)
            (test)
            (log)
        },
    )
}

/// The webhook's delivery order in words.
fn ordering_text(w: &Webhook) -> String {
    match w.ordering.key_path() {
        Some(path) => format!("fifo per {path}: one at a time per value, in publish order"),
        None if w.ordering.mode() == crate::model::OrderingMode::Fifo => {
            "fifo: one at a time, in publish order".to_owned()
        }
        None => "none: as soon as possible".to_owned(),
    }
}

/// A payload filter as indented JSON (maud escapes it where it is shown).
pub fn pretty(filter: &PayloadFilter) -> String {
    serde_json::to_string_pretty(filter.as_json()).unwrap_or_else(|_| filter.as_text().to_owned())
}

/// Enables or disables the webhook (the API's update, so enabling wakes held deliveries).
pub async fn set_active(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
    form: Form,
) -> Result<Response, DashError> {
    let active = form.fields.get("active") == Some("true");
    let id = WebhookId::from_trusted(path.id);
    let w = update_in(
        &state.app,
        &Scope(view.tenant.clone()),
        id,
        WebhookPatch::active(active),
    )
    .await?;
    Ok(super::see_other(&format!(
        "/dashboard/t/{}/webhooks/{}",
        view.tenant, w.id
    )))
}

/// Rotates the secret and shows the new one.
pub async fn rotate_secret(
    view: TenantView,
    State(state): State<DashState>,
    Path(path): Path<WebhookPath>,
    _form: Form,
) -> Result<Response, DashError> {
    let id = WebhookId::from_trusted(path.id);
    let w = rotate_in(&state.app, &Scope(view.tenant.clone()), id, None).await?;
    Ok(super::see_other(&format!(
        "/dashboard/t/{}/webhooks/{}?reveal=1",
        view.tenant, w.id
    )))
}
