//! Claims on PostgreSQL: due deliveries read a page at a time without locks, then leased in
//! their rows by one statement that re-checks them, or, on a node delivering alone, read and held
//! in memory (see `solo.rs`).

use super::PgStore;
use super::solo::Mode;
use crate::store::claim::{Candidate, Choice};
use crate::store::leases::Leases;
use crate::store::records::{CLAIMED_SELECT, ClaimedRecord};
use crate::store::{Chooser, Claimed, DueKey, Result};

impl PgStore {
    pub(super) async fn next_due_inner(&self) -> Result<Option<i64>> {
        let held = match self.membership.lock().await.mode() {
            Mode::Waiting => return Ok(None),
            Mode::Solo => self.leases.held_ids(crate::clock::now_ms()),
            Mode::Shared => Vec::new(),
        };
        if held.is_empty() {
            return Ok(sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
            )
            .fetch_one(&self.pool)
            .await?);
        }
        Ok(sqlx::query_scalar(
            "SELECT next_attempt_at FROM deliveries WHERE status = 'pending' \
             AND NOT (id = ANY($1)) ORDER BY next_attempt_at LIMIT 1",
        )
        .bind(&held)
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

    pub(super) async fn claim_inner(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>> {
        let mut membership = self.membership.lock().await;
        match membership.settle(&self.pool, &self.leases).await {
            Mode::Waiting => Ok(Vec::new()),
            Mode::Shared => {
                self.claim_written(now, limit, lease_until, from, choose)
                    .await
            }
            Mode::Solo => self.claim_solo(now, limit, lease_until, from, choose).await,
        }
    }

    /// Walks due deliveries a page at a time, offering to `choose` those `held` does not
    /// say this node holds already; the ids it accepted.
    async fn choose(
        &self,
        now: i64,
        limit: u32,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
        held: Option<&Leases>,
    ) -> Result<Vec<String>> {
        let mut choice = Choice::new(limit, from.take(), choose);
        while choice.wants_more() {
            let page = choice.next_page();
            let size = page.size;
            let mut q = sqlx::query_as(page.sql).bind(now).bind(size);
            if let Some(key) = page.key {
                q = q.bind(key.due).bind(key.id.clone());
            }
            let candidates: Vec<Candidate> = q.fetch_all(&self.pool).await?;
            match held {
                Some(leases) => {
                    let held = leases.view(now);
                    choice.offer(candidates, size, &|id| held.holds(id));
                }
                // Written leases: what another claim holds is not due.
                None => choice.offer(candidates, size, &|_| false),
            }
        }
        let chosen;
        (chosen, *from) = choice.end();
        Ok(chosen)
    }

    /// Claims alongside other nodes: each chosen delivery is leased in its row.
    async fn claim_written(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>> {
        let chosen = self.choose(now, limit, from, choose, None).await?;
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            // The candidates were read without a lock: another node may have leased (or a
            // recorder finished) some since, so the update re-checks each. One statement finds,
            // leases and returns them: a separate `FOR UPDATE SKIP LOCKED` step wrote a lock
            // record per row and looked every row up twice (a fifth of the claim's buffer
            // reads, a sixth of its WAL). The price is that a row another transaction is
            // writing is waited for (then re-checked, and skipped if leased meanwhile) rather
            // than skipped. Only rows read as due are waited for: behind another node's claim of
            // the same rows or an expired lease's record (short statements), at worst behind a
            // replay. Claims lock in index order, so two of them do not deadlock (were one
            // cancelled, the loop claims again).
            "WITH d AS ( \
                UPDATE deliveries SET next_attempt_at = $3 \
                WHERE id = ANY($1) AND status = 'pending' AND next_attempt_at <= $2 \
                RETURNING id, attempts, event_id, webhook_id, ordering_key \
             ) \
             SELECT {CLAIMED_SELECT} FROM d JOIN events e ON e.id = d.event_id \
             JOIN webhooks w ON w.id = d.webhook_id"
        );
        let rows: Vec<ClaimedRecord> = sqlx::query_as(&sql)
            .bind(&chosen)
            .bind(now)
            .bind(lease_until)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Claimed::from).collect())
    }

    /// Claims as the only delivering node: reads the chosen deliveries and holds them in
    /// memory, writing nothing.
    async fn claim_solo(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>> {
        let _reading = self.leases.reading(now);
        let chosen = self
            .choose(now, limit, from, choose, Some(&self.leases))
            .await?;
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
}
