//! Lists: one [`Page`] per request, and [`Pages`], which follows `next_cursor` page after page
//! (`?cursor=` takes the previous page's `next_cursor`; a page without one is the last).

use std::collections::VecDeque;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::operations::Op;
use crate::{Client, Error};

/// One page of a list (schemas `ListResponse_…`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// This page's items.
    pub data: Vec<T>,
    /// Where the next page starts; `None` on the last.
    pub next_cursor: Option<String>,
}

/// A list read a page at a time, each page fetched only when the previous one is used up.
///
/// ```no_run
/// # async fn run(client: hookrelay_client::Client) -> Result<(), hookrelay_client::Error> {
/// let mut webhooks = client.list_webhooks();
/// while let Some(webhook) = webhooks.next().await? {
///     println!("{} {}", webhook.id, webhook.url);
/// }
/// # Ok(()) }
/// ```
pub struct Pages<T: 'static> {
    client: Client,
    op: &'static Op<(), Page<T>>,
    params: Vec<String>,
    query: Vec<(&'static str, String)>,
    cursor: Option<String>,
    finished: bool,
    buffer: VecDeque<T>,
}

impl<T: DeserializeOwned + 'static> Pages<T> {
    pub(crate) fn new(
        client: Client,
        op: &'static Op<(), Page<T>>,
        params: Vec<String>,
        query: Vec<(&'static str, String)>,
    ) -> Self {
        Self {
            client,
            op,
            params,
            query,
            cursor: None,
            finished: false,
            buffer: VecDeque::new(),
        }
    }

    /// Items per page (the server's default is 50, its most 250).
    pub fn limit(mut self, limit: u32) -> Self {
        self.query.retain(|(name, _)| *name != "limit");
        self.query.push(("limit", limit.to_string()));
        self
    }

    /// The next page's items (what [`Pages::next`] has not yet handed out of the current one
    /// first); `None` once the list is done.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, Error> {
        if !self.buffer.is_empty() {
            return Ok(Some(self.buffer.drain(..).collect()));
        }
        if self.finished {
            return Ok(None);
        }
        let mut query = self.query.clone();
        if let Some(cursor) = &self.cursor {
            query.push(("cursor", cursor.clone()));
        }
        let params: Vec<&str> = self.params.iter().map(String::as_str).collect();
        let page = self.client.call(self.op, &params, &query, None).await?;
        self.cursor = page.next_cursor.filter(|c| !c.is_empty());
        self.finished = self.cursor.is_none();
        Ok(Some(page.data))
    }

    /// The next item, fetching the next page when this one is used up.
    pub async fn next(&mut self) -> Result<Option<T>, Error> {
        while self.buffer.is_empty() {
            match self.next_page().await? {
                Some(items) => self.buffer.extend(items),
                None => return Ok(None),
            }
        }
        Ok(self.buffer.pop_front())
    }

    /// Every remaining item of every remaining page.
    pub async fn all(mut self) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        while let Some(page) = self.next_page().await? {
            items.extend(page);
        }
        Ok(items)
    }
}
