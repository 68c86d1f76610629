//! Claims on PostgreSQL: due deliveries of the partitions this node owns (`membership.rs`) read
//! a page at a time without locks, and held in memory: a claim writes nothing.

use super::PgStore;
use super::partitions::{self, ALL};
use crate::store::claim::{Candidate, Candidates, Choice, EVERY_DUE};
use crate::store::records::{CLAIMED_SELECT, ClaimedRecord};
use crate::store::{Chooser, Claimed, DueKey, Result};

/// The walk over the due deliveries of some partitions: [`EVERY_DUE`]'s statements with the
/// mask of partitions as `$3` (see `partitions::BIT`), the keys as `$4`, `$5`. Still read from
/// the due index alone: the filter is computed from each entry's id.
const OWNED_DUE: Candidates = Candidates {
    first: "SELECT id, webhook_id, next_attempt_at FROM deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND ((1::int8 << (hashtext(id) & 63)) & $3) <> 0 \
         ORDER BY next_attempt_at, id LIMIT $2",
    from: "SELECT id, webhook_id, next_attempt_at FROM deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND ((1::int8 << (hashtext(id) & 63)) & $3) <> 0 \
         AND (next_attempt_at, id) >= ($4, $5) \
         ORDER BY next_attempt_at, id LIMIT $2",
    after: "SELECT id, webhook_id, next_attempt_at FROM deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND ((1::int8 << (hashtext(id) & 63)) & $3) <> 0 \
         AND (next_attempt_at, id) > ($4, $5) \
         ORDER BY next_attempt_at, id LIMIT $2",
};

impl PgStore {
    /// The earliest due time of a pending delivery in this node's partitions that it does not
    /// hold: those it holds look due in the database, as do those other nodes hold, in their
    /// partitions; no claim of this node can take either.
    pub(super) async fn next_due_inner(&self) -> Result<Option<i64>> {
        let owned = self.membership.lock().await.owned();
        if owned == 0 {
            return Ok(None);
        }
        let held = self.leases.held_ids(crate::clock::now_ms());
        if held.is_empty() && owned == ALL {
            return Ok(sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
            )
            .fetch_one(&self.pool)
            .await?);
        }
        Ok(sqlx::query_scalar(&format!(
            "SELECT next_attempt_at FROM deliveries WHERE status = 'pending' \
             AND NOT (id = ANY($1)) AND ({} & $2) <> 0 ORDER BY next_attempt_at LIMIT 1",
            partitions::BIT
        ))
        .bind(&held)
        .bind(partitions::as_sql(owned))
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(super) async fn claiming_stopped_inner(&self) {
        self.membership
            .lock()
            .await
            .leave(&self.pool, &self.leases)
            .await;
    }

    /// Claims from the partitions this node owns: reads the chosen deliveries and holds them in
    /// memory, writing nothing. The membership stays locked until the claim is done, so no
    /// partition is given up while a claim reads it.
    pub(super) async fn claim_inner(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>> {
        let mut membership = self.membership.lock().await;
        let owned = membership.settle(&self.pool, &self.leases).await;
        if owned.mask == 0 {
            return Ok(Vec::new());
        }
        if owned.grew {
            *from = None;
        }
        let _reading = self.leases.reading(now);
        let chosen = self.choose(now, limit, from, choose, owned.mask).await?;
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        // Those recorded, or deleted with their webhook, since the candidates were read drop out.
        let rows: Vec<ClaimedRecord> = sqlx::query_as(&format!(
            "SELECT {CLAIMED_SELECT} FROM deliveries d JOIN events e ON e.id = d.event_id \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.id = ANY($1) AND d.status = 'pending' AND d.next_attempt_at <= $2"
        ))
        .bind(&chosen)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let rows: Vec<Claimed> = rows.into_iter().map(Claimed::from).collect();
        self.leases
            .hold(rows.iter().map(|r| r.id.as_str()), lease_until);
        Ok(rows)
    }

    /// Walks the due deliveries of the partitions in `owned` a page at a time, offering to
    /// `choose` those this node does not hold already; the ids it accepted. Owning every
    /// partition, it reads without the partition filter.
    async fn choose(
        &self,
        now: i64,
        limit: u32,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
        owned: u64,
    ) -> Result<Vec<String>> {
        let queries = if owned == ALL { &EVERY_DUE } else { &OWNED_DUE };
        let mut choice = Choice::new(limit, from.take(), choose, queries);
        while choice.wants_more() {
            let page = choice.next_page();
            let size = page.size;
            let mut q = sqlx::query_as(page.sql).bind(now).bind(size);
            if owned != ALL {
                q = q.bind(partitions::as_sql(owned));
            }
            if let Some(key) = page.key {
                q = q.bind(key.due).bind(key.id.clone());
            }
            let candidates: Vec<Candidate> = q.fetch_all(&self.pool).await?;
            let held = self.leases.view(now);
            choice.offer(candidates, size, &|id| held.holds(id));
        }
        let chosen;
        (chosen, *from) = choice.end();
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owned_walk_filters_by_the_partition_bit() {
        let filter = format!("({} & $3) <> 0", partitions::BIT);
        for sql in [OWNED_DUE.first, OWNED_DUE.from, OWNED_DUE.after] {
            assert!(sql.contains(&filter), "{sql}");
        }
        assert!(OWNED_DUE.from.contains(">= ($4, $5)"));
        assert!(OWNED_DUE.after.contains("> ($4, $5)"));
    }
}
