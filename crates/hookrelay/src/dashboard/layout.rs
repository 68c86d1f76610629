//! The page shell every dashboard page shares: head (the embedded stylesheet and script), the
//! top bar (where you are, who you are, sign-out) and the main column.

use maud::{DOCTYPE, Markup, html};

use super::assets::{SCRIPT, STYLESHEET};
use super::session::Viewer;
use crate::ids::TenantId;

/// A page with its navigation for `viewer`; `tenant` is the tenant whose pages these are.
pub fn page(title: &str, viewer: &Viewer, tenant: Option<&TenantId>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hookrelay" }
                link rel="stylesheet" href=(STYLESHEET.url());
                script src=(SCRIPT.url()) defer {}
            }
            body {
                header.topbar {
                    a.brand href="/dashboard" { "hookrelay" }
                    nav {
                        @if viewer.is_operator() {
                            a href="/dashboard/system" { "System" }
                            a href="/dashboard/tenants" { "Tenants" }
                            a href="/dashboard/event-types" { "Event types" }
                        }
                        @if let Some(t) = tenant {
                            a href=(format!("/dashboard/t/{t}/webhooks")) { "Webhooks" }
                        }
                    }
                    span.who {
                        @if viewer.is_operator() {
                            "Operator"
                            @if let Some(t) = tenant { " · viewing " strong { (t) } }
                        } @else if let Some(t) = &viewer.session.tenant {
                            (t)
                        }
                    }
                    form.inline method="post" action="/dashboard/logout" {
                        (csrf_field(viewer))
                        button.link type="submit" { "Sign out" }
                    }
                }
                main { (main) }
            }
        }
    }
}

/// A page before sign-in.
pub fn bare(title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hookrelay" }
                link rel="stylesheet" href=(STYLESHEET.url());
            }
            body { main.narrow { (main) } }
        }
    }
}

/// The hidden field every form of a session carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(viewer.csrf()); }
}

/// A time for people: RFC 3339 to the second, in UTC.
pub fn time(ms: i64) -> String {
    let mut s = crate::clock::rfc3339(ms);
    if let Some(dot) = s.find('.') {
        s.truncate(dot);
        s.push('Z');
    }
    s.replace('T', " ")
}
