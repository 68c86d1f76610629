//! Claims on SQLite, on a reader connection: the database is only read, and the leases are
//! held in memory (see `leases.rs`), so claims never wait for the writer.

use super::SqliteStore;
use crate::store::claim::{Candidate, Choice, EVERY_DUE};
use crate::store::records::{CLAIMED_JSON_OBJECT, ClaimedRecord};
use crate::store::{Chooser, Claimed, DueKey, Error, Result};

impl SqliteStore {
    /// The earliest due time of a pending delivery this process does not hold: those it holds
    /// look due in the database, but no claim can take them.
    pub(super) async fn next_due_inner(&self) -> Result<Option<i64>> {
        let held = self.leases.held_ids(crate::clock::now_ms());
        if held.is_empty() {
            return Ok(sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
            )
            .fetch_one(&self.reader)
            .await?);
        }
        let held = serde_json::to_string(&held)
            .map_err(|e| Error::Backend(sqlx::Error::Encode(Box::new(e))))?;
        Ok(sqlx::query_scalar(
            "SELECT next_attempt_at FROM deliveries WHERE status = 'pending' \
             AND id NOT IN (SELECT value FROM json_each($1)) ORDER BY next_attempt_at LIMIT 1",
        )
        .bind(held)
        .fetch_optional(&self.reader)
        .await?)
    }

    /// Claims on a reader connection, writing nothing: candidate pages, each read as one JSON
    /// row, filtered against the leases held in memory, then the chosen deliveries joined with
    /// their events and webhooks as one JSON array. sqlx hands every row across a channel from
    /// its database thread and copies every value, so rows, not statements, are what cost here.
    pub(super) async fn claim_inner(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>> {
        let _reading = self.leases.reading(now);
        let mut conn = self.reader.acquire().await?;
        let mut choice = Choice::new(limit, from.take(), choose, &EVERY_DUE);
        while choice.wants_more() {
            let page = choice.next_page();
            let size = page.size;
            // One JSON row per page: the driver hands rows over one message each.
            let sql = format!(
                "SELECT json_group_array(json_array(id, webhook_id, next_attempt_at)) FROM ({})",
                page.sql
            );
            let mut q = sqlx::query_as(&sql).bind(now).bind(size);
            if let Some(key) = page.key {
                q = q.bind(key.due).bind(key.id.clone());
            }
            let (json,): (String,) = q.fetch_one(&mut *conn).await?;
            let candidates: Vec<Candidate> = serde_json::from_str(&json)
                .map_err(|e| Error::Backend(sqlx::Error::Decode(Box::new(e))))?;
            let held = self.leases.view(now);
            choice.offer(candidates, size, &|id| held.holds(id));
        }
        let chosen;
        (chosen, *from) = choice.end();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&chosen)
            .map_err(|e| Error::Backend(sqlx::Error::Encode(Box::new(e))))?;
        let (batch,): (String,) = sqlx::query_as(&format!(
            "SELECT json_group_array({CLAIMED_JSON_OBJECT}) FROM json_each($1) j \
             JOIN deliveries d ON d.id = j.value JOIN events e ON e.id = d.event_id \
             JOIN webhooks w ON w.id = d.webhook_id"
        ))
        .bind(&ids)
        .fetch_one(&mut *conn)
        .await?;
        let rows: Vec<ClaimedRecord> = serde_json::from_str(&batch)
            .map_err(|e| Error::Backend(sqlx::Error::Decode(Box::new(e))))?;
        let rows: Vec<Claimed> = rows.into_iter().map(Claimed::from).collect();
        // One claimer per store (the dispatcher's loop), so nothing took the chosen meanwhile;
        // those deleted since the candidates were read (with their webhook) are not held.
        self.leases
            .hold(rows.iter().map(|r| r.id.as_str()), lease_until);
        Ok(rows)
    }
}
