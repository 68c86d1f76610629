//! Cursor pagination as the API speaks it: `?limit=&cursor=` in, `{"data", "next_cursor"}` out.
//! A cursor is the last id of the previous page; one that could not be such an id (`abc` where
//! webhook ids are `wh_<ULID>`) is a 422, not silently the first page. Each list has its own
//! query type only so that the document states the exact shape of its cursor; all of them
//! check `limit` and `cursor` through [`PageQuery::page`], so every list validates alike.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::ids::{TenantId, WebhookId};
use crate::model::EventTypeName;
use crate::store::{Page, Paged};

/// `?limit=&cursor=` of any list, as checked.
#[derive(Debug)]
pub struct PageQuery {
    /// Items per page, 1 to 250 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page; empty means the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The store's page request; `is_cursor` says whether a text has the shape of the list's
    /// `next_cursor` (an id of its kind).
    pub fn page(&self, is_cursor: fn(&str) -> bool) -> Result<Page, ApiError> {
        // Read as an i64 so that `-1` or `0` gets this message, not "must be a whole number".
        let limit = match self.limit.unwrap_or(50) {
            n @ 1..=250 => n as u32,
            _ => return Err(ApiError::invalid("limit", "must be from 1 to 250")),
        };
        let cursor = self.cursor.clone().filter(|c| !c.is_empty());
        if let Some(c) = &cursor
            && !is_cursor(c)
        {
            return Err(ApiError::invalid(
                "cursor",
                "is not a cursor of this list: pass the `next_cursor` of the previous page",
            ));
        }
        Ok(Page { limit, cursor })
    }
}

/// Defines the `?limit=&cursor=` of one list: `$pattern` is the shape of its cursor (or
/// empty), `$is_cursor` the check the server makes.
macro_rules! page_query {
    ($(#[$doc:meta])* $name:ident, $pattern:tt, $max_length:tt, $is_cursor:expr) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Items per page (default 50).
            #[param(minimum = 1, maximum = 250)]
            limit: Option<i64>,
            /// `next_cursor` of the previous page; empty or absent for the first page.
            #[param(pattern = $pattern, max_length = $max_length)]
            cursor: Option<String>,
        }

        impl $name {
            /// The store's page request, or a 422 naming `limit` or `cursor`.
            pub fn page(&self) -> Result<Page, ApiError> {
                PageQuery {
                    limit: self.limit,
                    cursor: self.cursor.clone(),
                }
                .page($is_cursor)
            }
        }
    };
}

page_query!(
    /// `?limit=&cursor=` of the tenant list.
    TenantPage,
    "^[A-Za-z0-9_-]*$",
    64,
    |c| TenantId::parse(c).is_ok()
);
page_query!(
    /// `?limit=&cursor=` of the event type catalog.
    EventTypePage,
    "^([A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)?$",
    128,
    |c| EventTypeName::parse(c, "cursor").is_ok()
);
page_query!(
    /// `?limit=&cursor=` of a webhook list.
    WebhookPage,
    "^(wh_[0-7][0-9A-HJKMNP-TV-Z]{25})?$",
    29,
    WebhookId::is_well_formed
);

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    /// The items.
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// Maps a store page to its API form.
    pub fn from_paged<S>(paged: Paged<S>, f: impl FnMut(S) -> T) -> Self {
        Self {
            data: paged.items.into_iter().map(f).collect(),
            next_cursor: paged.next_cursor,
        }
    }
}
