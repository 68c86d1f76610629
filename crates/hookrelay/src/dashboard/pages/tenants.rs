//! The operator's tenants: the list, creating one, minting a tenant's one-time sign-in link,
//! and the way into any tenant's pages ("view as tenant").

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use crate::api::dashboard_links::{base_url, mint};
use crate::clock::now_ms;
use crate::dashboard::DashState;
use crate::dashboard::csrf::Form;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{csrf_field, page, time};
use crate::dashboard::session::Viewer;
use crate::ids::TenantId;
use crate::store::{Page, Tenant};

/// Tenants shown on the page; more than this is a job for the API.
const SHOWN: u32 = 250;

pub(super) fn operator(viewer: &Viewer) -> Result<(), DashError> {
    if viewer.is_operator() {
        Ok(())
    } else {
        Err(DashError::NotFound)
    }
}

fn render(viewer: &Viewer, tenants: &[Tenant], error: Option<(&str, &str)>) -> Markup {
    page(
        "Tenants",
        viewer,
        None,
        html! {
            h1 { "Tenants" }
            table.list {
                thead { tr { th { "Tenant" } th { "Name" } th.hide-narrow { "Created" } th { "" } } }
                tbody {
                    @for t in tenants {
                        tr {
                            td { a href=(format!("/dashboard/t/{}/webhooks", t.id)) { (t.id) } }
                            td { (t.name) }
                            td.hide-narrow { (time(t.created_at)) }
                            td {
                                form.inline method="post" action=(format!("/dashboard/tenants/{}/link", t.id)) {
                                    (csrf_field(viewer))
                                    button.secondary type="submit" { "Sign-in link" }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "New tenant" }
            form.card method="post" action="/dashboard/tenants" {
                (csrf_field(viewer))
                label for="id" { "Id" }
                input #id name="id" required pattern="[A-Za-z0-9_-]{1,64}" aria-describedby="id-hint";
                p.hint #id-hint { "1 to 64 letters, digits, _ or -. Your own id for this customer." }
                @if let Some((field, message)) = error {
                    @if field == "id" { p.field-error role="alert" { (message) } }
                }
                label for="name" { "Name" }
                input #name name="name";
                @if let Some((field, message)) = error {
                    @if field != "id" { p.field-error role="alert" { (message) } }
                }
                button type="submit" { "Create tenant" }
            }
        },
    )
}

async fn tenants(state: &DashState) -> Result<Vec<Tenant>, DashError> {
    let page = Page {
        limit: SHOWN,
        cursor: None,
    };
    Ok(state.app.store.list_tenants(&page).await?.items)
}

/// Every tenant.
pub async fn list(viewer: Viewer, State(state): State<DashState>) -> Result<Response, DashError> {
    operator(&viewer)?;
    let tenants = tenants(&state).await?;
    Ok(Html(render(&viewer, &tenants, None).into_string()).into_response())
}

/// Creates a tenant; a refused id is shown at its field.
pub async fn create(State(state): State<DashState>, form: Form) -> Result<Response, DashError> {
    operator(&form.viewer)?;
    let id = form.fields.get("id").unwrap_or("").trim();
    let name = form.fields.get("name").unwrap_or("").trim();
    let refused = |field: &str, message: String| (field.to_owned(), message);
    let outcome = match TenantId::parse(id) {
        Err(m) => Err(refused("id", m.to_string())),
        Ok(id) => {
            let name = if name.is_empty() {
                id.to_string()
            } else {
                name.to_owned()
            };
            let now = now_ms();
            let tenant = Tenant {
                id,
                name,
                contact_email: None,
                created_at: now,
                updated_at: now,
            };
            match state.app.store.create_tenant(&tenant).await {
                Ok(()) => Ok(tenant.id),
                Err(crate::store::Error::Conflict) => {
                    Err(refused("id", "a tenant with this id exists already".into()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match outcome {
        Ok(id) => Ok(super::see_other(&format!("/dashboard/t/{id}/webhooks"))),
        Err((field, message)) => {
            let tenants = tenants(&state).await?;
            let body = render(&form.viewer, &tenants, Some((&field, &message)));
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                Html(body.into_string()),
            )
                .into_response())
        }
    }
}

/// Mints a tenant's sign-in link and shows it once.
pub async fn mint_link(
    State(state): State<DashState>,
    Path(tid): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, DashError> {
    operator(&form.viewer)?;
    let tenant = TenantId::from_trusted(tid);
    state.app.store.get_tenant(&tenant).await?;
    let link = mint(&state.app, &tenant, &base_url(&state.app, &headers)).await?;
    let body = page(
        "Sign-in link",
        &form.viewer,
        None,
        html! {
            h1 { "Sign-in link for " (tenant) }
            p { "Give this link to the tenant. It signs them in to their own webhooks once, and expires at " (link.expires_at) "." }
            div.secret-box {
                code #link { (link.url) }
                button.secondary type="button" data-copy="link" { "Copy" }
            }
            p { a href="/dashboard/tenants" { "Back to tenants" } }
        },
    );
    Ok(Html(body.into_string()).into_response())
}
