//! The event picker the create and edit forms share: the catalog's families (`recording.*`),
//! then each type with its description, then any pattern the webhook already has that the
//! catalog does not list (`*`, a family no type belongs to yet), so editing never drops one.
//! And the helper both forms use to put the API's refusal next to its field.

use std::collections::BTreeSet;

use maud::{Markup, html};

use crate::api::ApiError;
use crate::store::EventType;

/// The API's message for `field` (or one of its items, `field[2]`, `field.name`), if the
/// refusal was about it.
pub fn field_error(error: Option<&ApiError>, field: &str) -> Option<String> {
    match error {
        Some(ApiError::Validation(invalid)) if about(&invalid.field, field) => {
            Some(invalid.message.clone())
        }
        _ => None,
    }
}

/// The refusal's text when it is about none of `fields`: shown above the form.
pub fn other_error(error: Option<&ApiError>, fields: &[&str]) -> Option<String> {
    match error {
        Some(ApiError::Validation(i)) if fields.iter().any(|f| about(&i.field, f)) => None,
        Some(e) => Some(e.to_string()),
        None => None,
    }
}

fn about(reported: &str, field: &str) -> bool {
    reported == field
        || reported
            .strip_prefix(field)
            .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
}

/// The `events` fieldset, with `chosen` ticked.
pub fn event_picker(catalog: &[EventType], chosen: &[String], error: Option<&ApiError>) -> Markup {
    let families: BTreeSet<String> = catalog
        .iter()
        .filter_map(|e| {
            e.name
                .split_once('.')
                .map(|(family, _)| format!("{family}.*"))
        })
        .collect();
    let listed = |p: &String| families.contains(p) || catalog.iter().any(|e| &e.name == p);
    let extra: Vec<&String> = chosen.iter().filter(|p| !listed(p)).collect();
    html! {
        fieldset {
            legend { "Events" }
            p.hint { "Pick none to receive every event." }
            @for p in extra {
                label.check {
                    input type="checkbox" name="events" value=(p) checked;
                    code { (p) }
                }
            }
            @for family in &families {
                label.check {
                    input type="checkbox" name="events" value=(family) checked[chosen.contains(family)];
                    code { (family) } " every " (family.trim_end_matches(".*")) " event"
                }
            }
            @for e in catalog {
                label.check {
                    input type="checkbox" name="events" value=(e.name) checked[chosen.contains(&e.name)];
                    code { (e.name) }
                    @if !e.description.is_empty() { " " span.muted { (e.description) } }
                }
            }
            @if catalog.is_empty() { p.muted { "The event catalog is empty: this webhook will receive every event." } }
            @if let Some(m) = field_error(error, "events") { p.field-error #events-error role="alert" { (m) } }
        }
    }
}
