//! Choosing what a claim leases. Due deliveries are read oldest first, a page at a time along
//! the due index, and each is offered to the dispatcher's chooser, which knows how much room
//! every webhook has left. Only accepted deliveries are leased, so a claim never takes what the
//! dispatcher would have to give back (a write, then a claim of the same row again): under a
//! fan-out, where one event's deliveries sit side by side in the index, a filter in SQL that
//! only skipped full webhooks took hundreds per webhook and returned most of them.

use serde::Deserialize;
use sqlx::FromRow;

use super::{Chooser, DueKey, scan_window};

/// Due deliveries, oldest first, in the due index's order (so no sort, and read from the index
/// alone) and a page at a time: `$1` now, `$2` the page size.
pub const CANDIDATES: &str = "SELECT id, webhook_id, next_attempt_at FROM deliveries \
     WHERE status = 'pending' AND next_attempt_at <= $1 \
     ORDER BY next_attempt_at, id LIMIT $2";

/// A walk resumed where an earlier one ended: [`CANDIDATES`] from `$3`, `$4` on (inclusive).
pub const CANDIDATES_FROM: &str = "SELECT id, webhook_id, next_attempt_at FROM deliveries \
     WHERE status = 'pending' AND next_attempt_at <= $1 \
     AND (next_attempt_at, id) >= ($3, $4) \
     ORDER BY next_attempt_at, id LIMIT $2";

/// The pages after the first: [`CANDIDATES`] after the last one read (`$3`, `$4`).
pub const CANDIDATES_AFTER: &str = "SELECT id, webhook_id, next_attempt_at FROM deliveries \
     WHERE status = 'pending' AND next_attempt_at <= $1 \
     AND (next_attempt_at, id) > ($3, $4) \
     ORDER BY next_attempt_at, id LIMIT $2";

/// The three statements of a walk: [`CANDIDATES`], [`CANDIDATES_FROM`], [`CANDIDATES_AFTER`],
/// or a backend's variants of them that take more parameters after `$2` (the keys then come
/// last).
pub struct Candidates {
    pub first: &'static str,
    pub from: &'static str,
    pub after: &'static str,
}

/// The walk over every due delivery.
pub const EVERY_DUE: Candidates = Candidates {
    first: CANDIDATES,
    from: CANDIDATES_FROM,
    after: CANDIDATES_AFTER,
};

/// A due delivery a claim looked at.
#[derive(FromRow, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub webhook_id: String,
    pub next_attempt_at: i64,
}

/// The next page a walk reads: one of its [`Candidates`], with `$2` = `size` and, for `from`
/// and `after`, the last two parameters = `key`.
pub struct Page<'a> {
    pub sql: &'static str,
    pub size: i64,
    pub key: Option<&'a DueKey>,
}

/// Where a claim is in its walk over due deliveries, and what it has chosen.
pub struct Choice<'a> {
    choose: &'a mut (dyn Chooser + Send),
    queries: &'static Candidates,
    limit: usize,
    /// Candidates left to look at before the claim gives up on passed-over webhooks.
    window: usize,
    /// No more due deliveries.
    exhausted: bool,
    /// Pages read so far; each one after the first reads twice as many.
    pages: u32,
    /// The last candidate offered, after which the next page starts.
    last: Option<DueKey>,
    /// Where the walk started, if not at the oldest due delivery.
    from: Option<DueKey>,
    /// The ids of the deliveries to lease, oldest first.
    chosen: Vec<String>,
}

impl<'a> Choice<'a> {
    pub fn new(
        limit: u32,
        from: Option<DueKey>,
        choose: &'a mut (dyn Chooser + Send),
        queries: &'static Candidates,
    ) -> Self {
        Self {
            choose,
            queries,
            limit: limit as usize,
            window: scan_window(limit) as usize,
            exhausted: false,
            pages: 0,
            last: None,
            from,
            chosen: Vec::with_capacity(limit as usize),
        }
    }

    /// Whether to read another page.
    pub fn wants_more(&self) -> bool {
        !self.exhausted && self.window > 0 && self.chosen.len() < self.limit
    }

    /// The next page: after the last candidate offered, else where the walk started, else at
    /// the oldest.
    pub fn next_page(&self) -> Page<'_> {
        let (sql, key) = match (&self.last, &self.from) {
            (Some(last), _) => (self.queries.after, Some(last)),
            (None, Some(from)) => (self.queries.from, Some(from)),
            (None, None) => (self.queries.first, None),
        };
        Page {
            sql,
            size: self.page_size(),
            key,
        }
    }

    /// How many candidates the next page reads: as many as are still wanted (when every one
    /// is accepted, one page is all a claim reads), at least a few dozen, doubling with every
    /// page (a claim passing over much reaches the window's end in a few), within the window.
    fn page_size(&self) -> i64 {
        let wanted = (self.limit - self.chosen.len()).max(64);
        wanted
            .saturating_mul(1 << self.pages.min(16))
            .min(self.window) as i64
    }

    /// Where the walk ended: the last candidate offered (or where it started, if none was).
    pub fn end(self) -> (Vec<String>, Option<DueKey>) {
        (self.chosen, self.last.or(self.from))
    }

    /// Offers a page to the chooser, up to the limit, passing silently over what `leased` says
    /// this process already holds (leases kept in memory; see `leases.rs`).
    pub fn offer(&mut self, page: Vec<Candidate>, page_size: i64, leased: &dyn Fn(&str) -> bool) {
        self.exhausted = (page.len() as i64) < page_size;
        self.pages += 1;
        self.window = self.window.saturating_sub(page.len());
        for candidate in page {
            if self.chosen.len() == self.limit {
                break;
            }
            if !leased(&candidate.id)
                && self.choose.choose(
                    &candidate.webhook_id,
                    candidate.next_attempt_at,
                    &candidate.id,
                )
            {
                self.chosen.push(candidate.id.clone());
            }
            self.last = Some(DueKey {
                due: candidate.next_attempt_at,
                id: candidate.id,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(webhooks: &[&str], from: usize) -> Vec<Candidate> {
        webhooks
            .iter()
            .enumerate()
            .map(|(i, w)| Candidate {
                id: format!("d{}", from + i),
                webhook_id: (*w).to_owned(),
                next_attempt_at: (from + i) as i64,
            })
            .collect()
    }

    #[test]
    fn takes_only_what_the_chooser_accepts_and_continues_after_the_last_candidate() {
        let mut seen = 0;
        let mut only_a = |w: &str, _: i64, _: &str| {
            seen += 1;
            w == "a"
        };
        let mut choice = Choice::new(3, None, &mut only_a, &EVERY_DUE);
        let first = choice.next_page();
        assert_eq!((first.sql, first.size), (CANDIDATES, 64));
        choice.offer(page(&["a", "b", "a", "b"], 0), 4, &|_| false);
        assert!(choice.wants_more(), "a full page, two of three chosen");
        let next = choice.next_page();
        assert_eq!(next.sql, CANDIDATES_AFTER);
        assert_eq!(next.key.map(|k| k.id.as_str()), Some("d3"));
        assert_eq!(next.size, 128, "pages grow while passing over");
        choice.offer(page(&["b", "a", "a"], 4), 4, &|_| false);
        assert!(!choice.wants_more(), "short page: nothing more is due");
        let (chosen, end) = choice.end();
        assert_eq!(chosen, ["d0", "d2", "d5"]);
        assert_eq!(
            end.map(|k| k.id),
            Some("d5".to_owned()),
            "where the next walk resumes"
        );
        assert_eq!(seen, 6, "the candidate after the limit is not offered");
    }

    #[test]
    fn gives_up_after_the_scan_window() {
        let mut nothing = |_: &str, _: i64, _: &str| false;
        let mut choice = Choice::new(1, None, &mut nothing, &EVERY_DUE);
        let window = scan_window(1) as usize;
        let mut read = 0;
        while choice.wants_more() {
            let size = choice.next_page().size;
            choice.offer(page(&vec!["full"; size as usize], read), size, &|_| false);
            read += size as usize;
        }
        assert_eq!(read, window);
        assert!(choice.end().0.is_empty());
    }

    #[test]
    fn passes_over_leased_candidates_without_offering_them() {
        let mut offered = Vec::new();
        let mut all = |_: &str, _: i64, id: &str| {
            offered.push(id.to_owned());
            true
        };
        let mut choice = Choice::new(10, None, &mut all, &EVERY_DUE);
        choice.offer(page(&["a", "a", "a"], 0), 64, &|id| id == "d1");
        let (chosen, end) = choice.end();
        assert_eq!(chosen, ["d0", "d2"]);
        assert_eq!(offered, ["d0", "d2"]);
        assert_eq!(end.map(|k| k.id), Some("d2".to_owned()));
    }
}
