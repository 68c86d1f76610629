//! The operator's event-type catalog: the list, adding a type, and editing a type's
//! description, example and JSON schema, through the API's own event-type code, so what is
//! refused (a bad name, an example the schema rejects) and the words are the API's, shown at
//! their fields with what was typed kept.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::api::ApiError;
use crate::api::event_types::{create_in, update_in};
use crate::dashboard::DashState;
use crate::dashboard::csrf::{Fields, Form};
use crate::dashboard::error::DashError;
use crate::dashboard::layout::{csrf_field, page};
use crate::dashboard::session::Viewer;
use crate::store::EventType;

use super::event_picker::{field_error, other_error};
use super::tenants::operator;
use super::webhooks::catalog;

/// What the form shows: the stored type, or what was typed.
#[derive(Default)]
struct Entered {
    name: String,
    description: String,
    example: String,
    schema: String,
}

fn pretty(json: Option<&str>) -> String {
    json.and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}

impl Entered {
    fn stored(t: &EventType) -> Self {
        Self {
            name: t.name.clone(),
            description: t.description.clone(),
            example: pretty(t.example.as_deref()),
            schema: pretty(t.schema.as_deref()),
        }
    }

    fn typed(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or("").to_owned();
        Self {
            name: text("name").trim().to_owned(),
            description: text("description"),
            example: text("example"),
            schema: text("schema"),
        }
    }

    /// The API's input: the description, and the example and schema as JSON (empty: none).
    fn json(&self, with_name: bool) -> Result<Value, ApiError> {
        let parse = |text: &str, field: &str| match text.trim() {
            "" => Ok(Value::Null),
            t => serde_json::from_str(t).map_err(|_| ApiError::invalid(field, "must be JSON")),
        };
        let mut m = Map::new();
        if with_name {
            m.insert("name".into(), json!(self.name));
        }
        m.insert("description".into(), json!(self.description));
        m.insert("example".into(), parse(&self.example, "example")?);
        m.insert("schema".into(), parse(&self.schema, "schema")?);
        Ok(Value::Object(m))
    }
}

fn form(viewer: &Viewer, action: &str, new: bool, e: &Entered, error: Option<&ApiError>) -> Markup {
    let err = |field: &str| -> Markup {
        html! { @if let Some(m) = field_error(error, field) { p.field-error id=(format!("{field}-error")) role="alert" { (m) } } }
    };
    html! {
        @if let Some(m) = other_error(error, &["name", "description", "example", "schema"]) { p.error role="alert" { (m) } }
        form.card method="post" action=(action) novalidate {
            (csrf_field(viewer))
            @if new {
                label for="name" { "Name" }
                input #name name="name" value=(e.name) required aria-describedby="name-hint";
                p.hint #name-hint { "Dotted lowercase, such as order.paid." }
                (err("name"))
            }
            label for="description" { "Description" }
            input #description name="description" value=(e.description);
            (err("description"))
            label for="example" { "Example data (JSON; test sends use it)" }
            textarea #example name="example" rows="6" spellcheck="false" { (e.example) }
            (err("example"))
            label for="schema" { "JSON schema for the data (optional)" }
            textarea #schema name="schema" rows="6" spellcheck="false" { (e.schema) }
            (err("schema"))
            button type="submit" { @if new { "Add event type" } @else { "Save" } }
        }
    }
}

fn list_page(
    viewer: &Viewer,
    types: &[EventType],
    e: &Entered,
    error: Option<&ApiError>,
) -> Markup {
    page(
        "Event types",
        viewer,
        None,
        html! {
            h1 { "Event types" }
            @if types.is_empty() {
                p.muted { "The catalog is empty. Types listed here are offered when tenants pick events and send tests." }
            } @else {
                table.list #event-types {
                    thead { tr { th { "Name" } th { "Description" } th.hide-narrow { "Example" } } }
                    tbody {
                        @for t in types {
                            tr {
                                td { a href=(format!("/dashboard/event-types/{}", t.name)) { code { (t.name) } } }
                                td { (t.description) }
                                td.hide-narrow { @if t.example.is_some() { "yes" } @else { span.muted { "none" } } }
                            }
                        }
                    }
                }
            }
            h2 { "New event type" }
            (form(viewer, "/dashboard/event-types", true, e, error))
        },
    )
}

/// The catalog.
pub async fn list(viewer: Viewer, State(state): State<DashState>) -> Result<Response, DashError> {
    operator(&viewer)?;
    let types = catalog(&state).await?;
    let body = list_page(&viewer, &types, &Entered::default(), None);
    Ok(Html(body.into_string()).into_response())
}

fn refused(body: Markup) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Html(body.into_string())).into_response()
}

/// Adds a type through the API's create.
pub async fn create(State(state): State<DashState>, form_in: Form) -> Result<Response, DashError> {
    operator(&form_in.viewer)?;
    let entered = Entered::typed(&form_in.fields);
    let result = match entered.json(true) {
        Ok(v) => match serde_json::from_value(v) {
            Ok(input) => create_in(&state.app, input).await,
            Err(e) => Err(ApiError::invalid("form", e.to_string())),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(t) => Ok(super::see_other(&format!(
            "/dashboard/event-types/{}",
            t.name
        ))),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(_))) => {
            let types = catalog(&state).await?;
            Ok(refused(list_page(
                &form_in.viewer,
                &types,
                &entered,
                Some(&e),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

fn edit_page(viewer: &Viewer, name: &str, e: &Entered, error: Option<&ApiError>) -> Markup {
    page(
        "Event type",
        viewer,
        None,
        html! {
            p { a href="/dashboard/event-types" { "← Event types" } }
            h1 { code { (name) } }
            (form(viewer, &format!("/dashboard/event-types/{name}"), false, e, error))
        },
    )
}

/// One type's edit form.
pub async fn show(
    viewer: Viewer,
    State(state): State<DashState>,
    Path(name): Path<String>,
) -> Result<Response, DashError> {
    operator(&viewer)?;
    let t = state.app.store.get_event_type(&name).await?;
    let body = edit_page(&viewer, &t.name, &Entered::stored(&t), None);
    Ok(Html(body.into_string()).into_response())
}

/// Saves a type through the API's update.
pub async fn save(
    State(state): State<DashState>,
    Path(name): Path<String>,
    form_in: Form,
) -> Result<Response, DashError> {
    operator(&form_in.viewer)?;
    let t = state.app.store.get_event_type(&name).await?;
    let entered = Entered::typed(&form_in.fields);
    let result = match entered.json(false) {
        Ok(v) => match serde_json::from_value(v) {
            Ok(patch) => update_in(&state.app, &t.name, patch).await,
            Err(e) => Err(ApiError::invalid("form", e.to_string())),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(t) => Ok(super::see_other(&format!(
            "/dashboard/event-types/{}",
            t.name
        ))),
        Err(e @ ApiError::Validation(_)) => Ok(refused(edit_page(
            &form_in.viewer,
            &t.name,
            &entered,
            Some(&e),
        ))),
        Err(e) => Err(e.into()),
    }
}
