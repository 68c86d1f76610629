//! The webhooks whose failure clock runs, known in memory. Only the one delivering process
//! records attempts into an SQLite file, so only it starts clocks: a batch whose attempts all
//! succeeded need not touch the webhooks table unless one of its webhooks has a clock running.
//! That is the common case, and a fan-out batch names hundreds of webhooks, which the single
//! writer would otherwise look up one by one in every batch.
//!
//! The set may hold webhooks whose clock has stopped (a person enabled one, or a transaction
//! failed after the set was told): those cost a no-op update. It never lacks one whose clock
//! runs: a webhook goes in before its clock can start, and out only after a committed write
//! stopped it.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sqlx::SqlitePool;

use crate::store::Result;
use crate::store::backend::FailureClock;

#[derive(Default)]
pub struct RunningClocks(Mutex<Option<HashSet<String>>>);

impl RunningClocks {
    fn lock(&self) -> MutexGuard<'_, Option<HashSet<String>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The clocks of a batch that need writing: every one a failure sets, and a success's
    /// only where a clock runs. Loads the running clocks at first use.
    pub async fn to_write<'a>(
        &self,
        reader: &SqlitePool,
        clocks: &[FailureClock<'a>],
    ) -> Result<Vec<FailureClock<'a>>> {
        if self.lock().is_none() {
            let running: Vec<(String,)> =
                sqlx::query_as("SELECT id FROM webhooks WHERE failing_since IS NOT NULL")
                    .fetch_all(reader)
                    .await?;
            let mut known = self.lock();
            if known.is_none() {
                *known = Some(running.into_iter().map(|(id,)| id).collect());
            }
        }
        let mut known = self.lock();
        let running = known.get_or_insert_with(HashSet::new);
        let mut write = Vec::new();
        for clock in clocks {
            if clock.since.is_some() {
                running.insert(clock.webhook.to_owned());
                write.push(*clock);
            } else if running.contains(clock.webhook) {
                write.push(*clock);
            }
        }
        Ok(write)
    }

    /// `written` is committed: the clocks it stopped are stopped.
    pub fn committed(&self, written: &[FailureClock<'_>]) {
        if let Some(running) = self.lock().as_mut() {
            for clock in written.iter().filter(|c| c.exact && c.since.is_none()) {
                running.remove(clock.webhook);
            }
        }
    }
}
