//! Cursor pagination as the API speaks it: `?limit=&cursor=` in, `{"data", "next_cursor"}` out.
//! A cursor is the last id of the previous page; one that could not be such an id (`abc` where
//! webhook ids are `wh_<ULID>`) is a 422, not silently the first page.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::store::{Page, Paged};

/// `?limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1 to 250 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The store's page request; `is_cursor` says whether a text has the shape of the list's
    /// `next_cursor` (an id of its kind).
    pub fn page(&self, is_cursor: fn(&str) -> bool) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=250).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be from 1 to 250"));
        }
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
