//! The queries both backends share, written once. SQLite and PostgreSQL accept the same text
//! for all of them: `$N` placeholders, `ON CONFLICT`, `RETURNING`, `UPDATE … FROM (VALUES …)`,
//! row-value comparison. Each backend type provides `read()`/`write()` pools, its own
//! `migrate_inner`, `claim_inner` and `claiming_stopped_inner`, the hot path's bulk writes
//! (`insert_events`, `insert_deliveries`, `record_inner`: multi-row `VALUES` on SQLite, one
//! array per column on PostgreSQL), and the locking words only PostgreSQL needs (`KEY_SHARE`,
//! `FOR_UPDATE`, empty on SQLite), then invokes [`impl_store!`].
//!
//! Deliveries and attempts have no foreign keys (see migration 0008/0009): a publish locks the
//! webhooks it targets, deleting a webhook or tenant deletes their deliveries and attempts, and
//! an attempt is recorded only for a delivery that still exists.

/// Rows per multi-row INSERT, well under SQLite's 32,766 bound parameters.
pub const INSERT_CHUNK: usize = 500;

/// Implements [`super::Store`] for a backend type `$store` over database `$db`.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Deletes the deliveries (and their attempts) of the webhooks whose id is
            /// `webhooks` (`= $1`, or `IN (…$1…)`), `$1` being `arg`. On PostgreSQL it locks
            /// the deliveries first: that waits for the recorders writing their attempts, and
            /// keeps later ones out.
            async fn delete_deliveries(
                tx: &mut sqlx::Transaction<'_, $db>,
                webhooks: &str,
                arg: &str,
            ) -> $crate::store::Result<()> {
                if !Self::FOR_UPDATE.is_empty() {
                    let lock = format!(
                        "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE webhook_id {webhooks} {}) AS l",
                        Self::FOR_UPDATE
                    );
                    sqlx::query(&lock).bind(arg).execute(&mut **tx).await?;
                }
                let attempts = format!(
                    "DELETE FROM attempts WHERE delivery_id IN \
                     (SELECT id FROM deliveries WHERE webhook_id {webhooks})"
                );
                sqlx::query(&attempts).bind(arg).execute(&mut **tx).await?;
                let deliveries = format!("DELETE FROM deliveries WHERE webhook_id {webhooks}");
                sqlx::query(&deliveries).bind(arg).execute(&mut **tx).await?;
                Ok(())
            }

            /// Every target tenant of `events` with its active webhooks: one query for the
            /// whole group. The webhooks are locked (on PostgreSQL) until the publish commits,
            /// so a webhook deleted meanwhile waits for it and then deletes what it wrote.
            async fn publish_targets(
                tx: &mut sqlx::Transaction<'_, $db>,
                events: &[$crate::store::NewEvent],
            ) -> $crate::store::Result<Vec<$crate::store::sql::TargetRow>> {
                let mut tenants: Vec<&str> = events
                    .iter()
                    .flat_map(|e| e.tenants.iter().map($crate::ids::TenantId::as_str))
                    .collect();
                tenants.sort_unstable();
                tenants.dedup();
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT t.id, w.id, w.events, w.channels, w.updated_at FROM tenants t \
                     LEFT JOIN (SELECT id, tenant_id, events, channels, updated_at FROM webhooks \
                     WHERE active = ",
                );
                q.push_bind(true).push(" AND tenant_id IN (");
                let mut list = q.separated(", ");
                for t in &tenants {
                    list.push_bind(*t);
                }
                q.push(") ").push(Self::KEY_SHARE).push(") w ON w.tenant_id = t.id WHERE t.id IN (");
                let mut list = q.separated(", ");
                for t in &tenants {
                    list.push_bind(*t);
                }
                // In id order, so an event's deliveries take ids (and due-index places) in that
                // order whatever plan the database picks.
                q.push(") ORDER BY t.id, w.id");
                Ok(q.build_query_as().fetch_all(&mut **tx).await?)
            }

            /// Writes the deliveries of a publish whose events are written, and commits: each
            /// leased to this node if `intake` takes it, else due at once.
            async fn publish_planned(
                &self,
                mut tx: sqlx::Transaction<'_, $db>,
                events: &[$crate::store::NewEvent],
                plan: $crate::store::sql::Plan<'_>,
                intake: &mut (dyn $crate::store::Intake + Send),
            ) -> $crate::store::Result<$crate::store::Publication> {
                if plan.new_events.is_empty() {
                    return Ok($crate::store::Publication { results: plan.results, ..Default::default() });
                }
                let mut taken = Vec::new();
                let mut queued = 0;
                // (id, due at) per planned delivery: leased to this node if the intake took it.
                let placed: Vec<($crate::ids::DeliveryId, i64)> = plan
                    .deliveries
                    .iter()
                    .map(|d| {
                        let id = $crate::ids::DeliveryId::generate();
                        let due = match intake.take(d.webhook, d.updated_at) {
                            Some(lease_until) => {
                                taken.push($crate::store::Taken {
                                    id: id.clone(),
                                    event: d.event,
                                    webhook: $crate::ids::WebhookId::from_trusted(d.webhook.to_owned()),
                                });
                                lease_until
                            }
                            None => {
                                queued += 1;
                                events[d.event].created_at
                            }
                        };
                        (id, due)
                    })
                    .collect();
                Self::insert_deliveries(&mut tx, events, &plan.deliveries, &placed).await?;
                // Other nodes need waking only for deliveries this node did not take.
                if queued > 0 {
                    Self::notify_work(&mut tx).await?;
                }
                tx.commit().await?;
                self.deliveries_written(plan.deliveries.len());
                Ok($crate::store::Publication { results: plan.results, taken, queued })
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn migrate(&self) -> $crate::store::Result<()> {
                self.migrate_inner().await
            }

            fn listen_for_work(
                &self,
                wake: std::sync::Arc<tokio::sync::Notify>,
                shutdown: tokio_util::sync::CancellationToken,
            ) {
                self.listen_inner(wake, shutdown)
            }

            async fn admin_key_hash(&self) -> $crate::store::Result<Option<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT key_hash FROM api_keys WHERE tenant_id IS NULL ORDER BY created_at LIMIT 1",
                )
                .fetch_optional(self.read())
                .await?)
            }

            async fn set_admin_key_hash(
                &self,
                id: &$crate::ids::KeyId,
                hash: &str,
                now: i64,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO api_keys (id, key_hash, tenant_id, prefix, created_at) VALUES ($1, $2, NULL, 'admin', $3)",
                )
                .bind(id.as_str())
                .bind(hash)
                .bind(now)
                .execute(self.write())
                .await?;
                Ok(())
            }

            async fn find_key(
                &self,
                hash: &str,
            ) -> $crate::store::Result<Option<$crate::store::KeyOwner>> {
                let row: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT tenant_id FROM api_keys WHERE key_hash = $1")
                        .bind(hash)
                        .fetch_optional(self.read())
                        .await?;
                Ok(row.map(|(tenant,)| match tenant {
                    None => $crate::store::KeyOwner::Admin,
                    Some(t) => $crate::store::KeyOwner::Tenant($crate::ids::TenantId::from_trusted(t)),
                }))
            }

            async fn create_tenant_key(
                &self,
                tenant: &$crate::ids::TenantId,
                id: &$crate::ids::KeyId,
                hash: &str,
                prefix: &str,
                now: i64,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO api_keys (id, key_hash, tenant_id, prefix, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.as_str())
                .bind(hash)
                .bind(tenant.as_str())
                .bind(prefix)
                .bind(now)
                .execute(self.write())
                .await?;
                Ok(())
            }

            async fn create_tenant(&self, t: &$crate::store::Tenant) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO tenants (id, name, contact_email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(t.id.as_str())
                .bind(&t.name)
                .bind(&t.contact_email)
                .bind(t.created_at)
                .bind(t.updated_at)
                .execute(self.write())
                .await?;
                Ok(())
            }

            async fn get_tenant(
                &self,
                id: &$crate::ids::TenantId,
            ) -> $crate::store::Result<$crate::store::Tenant> {
                let r: $crate::store::records::TenantRecord = sqlx::query_as(
                    "SELECT id, name, contact_email, created_at, updated_at FROM tenants WHERE id = $1",
                )
                .bind(id.as_str())
                .fetch_one(self.read())
                .await?;
                Ok(r.into())
            }

            async fn list_tenants(
                &self,
                page: &$crate::store::Page,
            ) -> $crate::store::Result<$crate::store::Paged<$crate::store::Tenant>> {
                let rows: Vec<$crate::store::records::TenantRecord> = sqlx::query_as(
                    "SELECT id, name, contact_email, created_at, updated_at FROM tenants \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(page.cursor.as_deref().unwrap_or(""))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(self.read())
                .await?;
                Ok($crate::store::sql::paginate(rows, page.limit, |t: &$crate::store::Tenant| {
                    t.id.to_string()
                }))
            }

            async fn update_tenant(&self, t: &$crate::store::Tenant) -> $crate::store::Result<()> {
                let done = sqlx::query(
                    "UPDATE tenants SET name = $2, contact_email = $3, updated_at = $4 WHERE id = $1",
                )
                .bind(t.id.as_str())
                .bind(&t.name)
                .bind(&t.contact_email)
                .bind(t.updated_at)
                .execute(self.write())
                .await?;
                $crate::store::sql::one_row(done.rows_affected())
            }

            async fn delete_tenant(&self, id: &$crate::ids::TenantId) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                if !Self::FOR_UPDATE.is_empty() {
                    // The webhooks first, so no publish targets them any more.
                    let lock = format!(
                        "SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE tenant_id = $1 {}) AS l",
                        Self::FOR_UPDATE
                    );
                    sqlx::query(&lock).bind(id.as_str()).execute(&mut *tx).await?;
                }
                Self::delete_deliveries(
                    &mut tx,
                    "IN (SELECT id FROM webhooks WHERE tenant_id = $1)",
                    id.as_str(),
                )
                .await?;
                // Its webhooks and keys go with it (their foreign keys cascade).
                let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                $crate::store::sql::one_row(done.rows_affected())?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_webhook(&self, w: &$crate::store::Webhook) -> $crate::store::Result<()> {
                let j = $crate::store::records::WebhookJson::of(w);
                sqlx::query(
                    "INSERT INTO webhooks (id, tenant_id, url, description, events, channels, secret, \
                     active, disabled_reason, retry_schedule, timeout_seconds, rate_limit_per_second, \
                     headers, signature, payload_format, created_at, updated_at, previous_secret, \
                     previous_secret_expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                )
                .bind(w.id.as_str())
                .bind(w.tenant_id.as_str())
                .bind(&w.url)
                .bind(&w.description)
                .bind(&j.events)
                .bind(&j.channels)
                .bind(&w.secret)
                .bind(w.active)
                .bind(&w.disabled_reason)
                .bind(&j.retry_schedule)
                .bind(i64::from(w.timeout_seconds))
                .bind(w.rate_limit_per_second.map(i64::from))
                .bind(&j.headers)
                .bind(&j.signature)
                .bind(w.payload_format.as_str())
                .bind(w.created_at)
                .bind(w.updated_at)
                .bind(w.previous_secret.as_ref().map(|p| p.0.as_str()))
                .bind(w.previous_secret.as_ref().map(|p| p.1))
                .execute(self.write())
                .await?;
                Ok(())
            }

            async fn get_webhook(
                &self,
                tenant: &$crate::ids::TenantId,
                id: &$crate::ids::WebhookId,
            ) -> $crate::store::Result<$crate::store::Webhook> {
                let r: $crate::store::records::WebhookRecord = sqlx::query_as(&format!(
                    "SELECT {} FROM webhooks w WHERE w.id = $1 AND w.tenant_id = $2",
                    $crate::store::records::WEBHOOK_COLUMNS
                ))
                .bind(id.as_str())
                .bind(tenant.as_str())
                .fetch_one(self.read())
                .await?;
                Ok(r.into())
            }

            async fn list_webhooks(
                &self,
                tenant: &$crate::ids::TenantId,
                page: &$crate::store::Page,
            ) -> $crate::store::Result<$crate::store::Paged<$crate::store::Webhook>> {
                let rows: Vec<$crate::store::records::WebhookRecord> = sqlx::query_as(&format!(
                    "SELECT {} FROM webhooks w WHERE w.tenant_id = $1 AND w.id > $2 ORDER BY w.id LIMIT $3",
                    $crate::store::records::WEBHOOK_COLUMNS
                ))
                .bind(tenant.as_str())
                .bind(page.cursor.as_deref().unwrap_or(""))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(self.read())
                .await?;
                Ok($crate::store::sql::paginate(rows, page.limit, |w: &$crate::store::Webhook| {
                    w.id.to_string()
                }))
            }

            async fn update_webhook(&self, w: &$crate::store::Webhook) -> $crate::store::Result<i64> {
                let j = $crate::store::records::WebhookJson::of(w);
                let updated_at: Option<i64> = sqlx::query_scalar(
                    "UPDATE webhooks SET url = $3, description = $4, events = $5, channels = $6, \
                     secret = $7, active = $8, disabled_reason = $9, retry_schedule = $10, \
                     timeout_seconds = $11, rate_limit_per_second = $12, headers = $13, \
                     signature = $14, payload_format = $15, \
                     updated_at = CASE WHEN updated_at >= $16 THEN updated_at + 1 ELSE $16 END, \
                     previous_secret = $17, previous_secret_expires_at = $18 \
                     WHERE id = $1 AND tenant_id = $2 RETURNING updated_at",
                )
                .bind(w.id.as_str())
                .bind(w.tenant_id.as_str())
                .bind(&w.url)
                .bind(&w.description)
                .bind(&j.events)
                .bind(&j.channels)
                .bind(&w.secret)
                .bind(w.active)
                .bind(&w.disabled_reason)
                .bind(&j.retry_schedule)
                .bind(i64::from(w.timeout_seconds))
                .bind(w.rate_limit_per_second.map(i64::from))
                .bind(&j.headers)
                .bind(&j.signature)
                .bind(w.payload_format.as_str())
                .bind(w.updated_at)
                .bind(w.previous_secret.as_ref().map(|p| p.0.as_str()))
                .bind(w.previous_secret.as_ref().map(|p| p.1))
                .fetch_optional(self.write())
                .await?;
                updated_at.ok_or($crate::store::Error::NotFound)
            }

            async fn delete_webhook(
                &self,
                tenant: &$crate::ids::TenantId,
                id: &$crate::ids::WebhookId,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                // Waits for the publishes that target it (they lock it), and keeps later ones
                // from doing so.
                let done = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND tenant_id = $2")
                    .bind(id.as_str())
                    .bind(tenant.as_str())
                    .execute(&mut *tx)
                    .await?;
                $crate::store::sql::one_row(done.rows_affected())?;
                Self::delete_deliveries(&mut tx, "= $1", id.as_str()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_event_type(
                &self,
                t: &$crate::store::EventType,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO event_types (name, description, example, json_schema, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.name)
                .bind(&t.description)
                .bind(&t.example)
                .bind(&t.schema)
                .bind(t.created_at)
                .bind(t.updated_at)
                .execute(self.write())
                .await?;
                Ok(())
            }

            async fn get_event_type(
                &self,
                name: &str,
            ) -> $crate::store::Result<$crate::store::EventType> {
                let r: $crate::store::records::EventTypeRecord = sqlx::query_as(
                    "SELECT name, description, example, json_schema, created_at, updated_at \
                     FROM event_types WHERE name = $1",
                )
                .bind(name)
                .fetch_one(self.read())
                .await?;
                Ok(r.into())
            }

            async fn list_event_types(
                &self,
                page: &$crate::store::Page,
            ) -> $crate::store::Result<$crate::store::Paged<$crate::store::EventType>> {
                let rows: Vec<$crate::store::records::EventTypeRecord> = sqlx::query_as(
                    "SELECT name, description, example, json_schema, created_at, updated_at \
                     FROM event_types WHERE name > $1 ORDER BY name LIMIT $2",
                )
                .bind(page.cursor.as_deref().unwrap_or(""))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(self.read())
                .await?;
                Ok($crate::store::sql::paginate(rows, page.limit, |t: &$crate::store::EventType| {
                    t.name.clone()
                }))
            }

            async fn update_event_type(
                &self,
                t: &$crate::store::EventType,
            ) -> $crate::store::Result<()> {
                let done = sqlx::query(
                    "UPDATE event_types SET description = $2, example = $3, json_schema = $4, updated_at = $5 \
                     WHERE name = $1",
                )
                .bind(&t.name)
                .bind(&t.description)
                .bind(&t.example)
                .bind(&t.schema)
                .bind(t.updated_at)
                .execute(self.write())
                .await?;
                $crate::store::sql::one_row(done.rows_affected())
            }

            async fn delete_event_type(&self, name: &str) -> $crate::store::Result<()> {
                let done = sqlx::query("DELETE FROM event_types WHERE name = $1")
                    .bind(name)
                    .execute(self.write())
                    .await?;
                $crate::store::sql::one_row(done.rows_affected())
            }

            async fn publish_many(
                &self,
                events: &[$crate::store::NewEvent],
                intake: &mut (dyn $crate::store::Intake + Send),
            ) -> $crate::store::Result<$crate::store::Publication> {
                use $crate::store::sql::Plan;
                if events.is_empty() {
                    return Ok($crate::store::Publication::default());
                }
                // Ids are almost never repeated (a client retrying a publish), so the events
                // are written before their ids are checked, and only a unique violation has the
                // group planned again, in a new transaction, with the repeats read first.
                // Checking first cost every publish a lookup per event (a twentieth of
                // PostgreSQL's time under load; skipping repeats in the insert cost half that).
                let mut tx = self.begin_write().await?;
                let rows = Self::publish_targets(&mut tx, events).await?;
                let plan = Plan::new(events, &[], &rows);
                match Self::insert_events(&mut tx, &plan.new_events).await {
                    Ok(()) => return self.publish_planned(tx, events, plan, intake).await,
                    Err($crate::store::Error::Conflict) => tx.rollback().await?,
                    Err(e) => return Err(e),
                }
                let mut tx = self.begin_write().await?;
                let existing = Self::published_before(&mut tx, events).await?;
                let rows = Self::publish_targets(&mut tx, events).await?;
                let plan = Plan::new(events, &existing, &rows);
                // A unique violation here means another node published one of these ids
                // between the read above and this write: nothing is committed, and the
                // `Conflict` tells the caller to run the batch again (it then reads as a repeat).
                Self::insert_events(&mut tx, &plan.new_events).await?;
                self.publish_planned(tx, events, plan, intake).await
            }

            async fn claim_due(
                &self,
                now: i64,
                limit: u32,
                lease_until: i64,
                from: &mut Option<$crate::store::DueKey>,
                choose: &mut (dyn $crate::store::Chooser + Send),
            ) -> $crate::store::Result<Vec<$crate::store::ClaimedRow>> {
                self.claim_inner(now, limit, lease_until, from, choose).await
            }

            async fn webhooks_by_id(
                &self,
                ids: &[$crate::ids::WebhookId],
            ) -> $crate::store::Result<Vec<$crate::store::Webhook>> {
                let mut found = Vec::with_capacity(ids.len());
                for chunk in ids.chunks($crate::store::sql::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {} FROM webhooks w WHERE w.id IN (",
                        $crate::store::records::WEBHOOK_COLUMNS
                    ));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(id.as_str());
                    }
                    q.push(")");
                    let rows: Vec<$crate::store::records::WebhookRecord> =
                        q.build_query_as().fetch_all(self.read()).await?;
                    found.extend(rows.into_iter().map($crate::store::Webhook::from));
                }
                Ok(found)
            }

            async fn record_attempts(
                &self,
                records: &[$crate::store::AttemptRecord],
            ) -> $crate::store::Result<()> {
                if records.is_empty() {
                    return Ok(());
                }
                self.record_inner(records).await?;
                self.leases_ended(records.iter().map(|r| r.delivery_id.as_str()));
                Ok(())
            }

            async fn release(
                &self,
                ids: &[$crate::ids::DeliveryId],
                at: i64,
            ) -> $crate::store::Result<()> {
                for chunk in ids.chunks($crate::store::sql::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE deliveries SET next_attempt_at = ");
                    q.push_bind(at).push(" WHERE status = 'pending' AND id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(id.as_str());
                    }
                    q.push(")");
                    q.build().execute(self.write()).await?;
                    self.leases_ended(chunk.iter().map($crate::ids::DeliveryId::as_str));
                }
                Ok(())
            }

            async fn next_due_at(&self) -> $crate::store::Result<Option<i64>> {
                self.next_due_inner().await
            }

            async fn claiming_stopped(&self) {
                self.claiming_stopped_inner().await
            }

            fn lock_delivery(&self) -> anyhow::Result<$crate::store::DeliveryLock> {
                self.lock_delivery_inner()
            }

            async fn get_delivery(
                &self,
                tenant: Option<&$crate::ids::TenantId>,
                id: &$crate::ids::DeliveryId,
            ) -> $crate::store::Result<($crate::store::Delivery, Vec<$crate::store::Attempt>)> {
                let d: $crate::store::records::DeliveryRecord = sqlx::query_as(&format!(
                    "SELECT {} FROM deliveries WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2)",
                    $crate::store::records::DELIVERY_COLUMNS
                ))
                .bind(id.as_str())
                .bind(tenant.map($crate::ids::TenantId::as_str))
                .fetch_one(self.read())
                .await?;
                let attempts: Vec<$crate::store::records::AttemptRow> = sqlx::query_as(
                    "SELECT id, attempt, started_at, latency_ms, status_code, response_body, error, succeeded \
                     FROM attempts WHERE delivery_id = $1 ORDER BY started_at, attempt",
                )
                .bind(id.as_str())
                .fetch_all(self.read())
                .await?;
                Ok((d.into(), attempts.into_iter().map(Into::into).collect()))
            }

            async fn list_deliveries(
                &self,
                tenant: &$crate::ids::TenantId,
                webhook: &$crate::ids::WebhookId,
                filter: &$crate::store::DeliveryFilter,
                page: &$crate::store::Page,
            ) -> $crate::store::Result<$crate::store::Paged<$crate::store::Delivery>> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM deliveries WHERE webhook_id = ",
                    $crate::store::records::DELIVERY_COLUMNS
                ));
                q.push_bind(webhook.as_str()).push(" AND tenant_id = ").push_bind(tenant.as_str());
                if let Some(cursor) = &page.cursor {
                    q.push(" AND id < ").push_bind(cursor.as_str());
                }
                if let Some(status) = filter.status {
                    q.push(" AND status = ").push_bind(status.as_str());
                }
                if let Some(t) = &filter.event_type {
                    q.push(" AND event_type = ").push_bind(t.as_str());
                }
                if let Some(since) = filter.since {
                    q.push(" AND created_at >= ").push_bind(since);
                }
                q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(page.limit) + 1);
                let rows: Vec<$crate::store::records::DeliveryRecord> =
                    q.build_query_as().fetch_all(self.read()).await?;
                Ok($crate::store::sql::paginate(rows, page.limit, |d: &$crate::store::Delivery| {
                    d.id.to_string()
                }))
            }

            async fn webhook_activity(
                &self,
                tenant: &$crate::ids::TenantId,
                webhook: &$crate::ids::WebhookId,
                since: i64,
                limit: u32,
            ) -> $crate::store::Result<$crate::store::Activity> {
                // Through the webhook's deliveries: ids are time-ordered, so those created since
                // the window's start less the longest retry schedule (7 days) are an index range.
                let oldest = $crate::ids::DeliveryId::lower_bound(since - 7 * 24 * 3_600_000);
                let attempts: Vec<(i64, i64, bool)> = sqlx::query_as(
                    "SELECT a.started_at, a.latency_ms, a.succeeded FROM deliveries d \
                     JOIN attempts a ON a.delivery_id = d.id \
                     WHERE d.webhook_id = $1 AND d.tenant_id = $2 AND d.id >= $5 \
                     AND a.started_at >= $3 ORDER BY a.started_at DESC LIMIT $4",
                )
                .bind(webhook.as_str())
                .bind(tenant.as_str())
                .bind(since)
                .bind(i64::from(limit))
                .bind(oldest.as_str())
                .fetch_all(self.read())
                .await?;
                let counts: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, COUNT(*) FROM deliveries \
                     WHERE webhook_id = $1 AND tenant_id = $2 AND created_at >= $3 GROUP BY status",
                )
                .bind(webhook.as_str())
                .bind(tenant.as_str())
                .bind(since)
                .fetch_all(self.read())
                .await?;
                Ok($crate::store::Activity {
                    attempts,
                    deliveries: counts
                        .into_iter()
                        .filter_map(|(s, n)| {
                            $crate::store::DeliveryStatus::parse(&s).map(|s| (s, n.max(0) as u64))
                        })
                        .collect(),
                })
            }

            async fn replay(
                &self,
                tenant: &$crate::ids::TenantId,
                webhook: &$crate::ids::WebhookId,
                replay: &$crate::store::Replay,
            ) -> $crate::store::Result<u64> {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = ",
                );
                q.push_bind(replay.now)
                    .push(", updated_at = ")
                    .push_bind(replay.now)
                    .push(" WHERE webhook_id = ")
                    .push_bind(webhook.as_str())
                    .push(" AND tenant_id = ")
                    .push_bind(tenant.as_str())
                    .push(" AND created_at >= ")
                    .push_bind(replay.since)
                    .push(" AND created_at < ")
                    .push_bind(replay.until);
                if let Some(status) = replay.status {
                    q.push(" AND status = ").push_bind(status.as_str());
                }
                Ok(q.build().execute(self.write()).await?.rows_affected())
            }

            async fn retry_delivery(
                &self,
                tenant: Option<&$crate::ids::TenantId>,
                id: &$crate::ids::DeliveryId,
                now: i64,
            ) -> $crate::store::Result<$crate::store::Delivery> {
                let r: $crate::store::records::DeliveryRecord = sqlx::query_as(&format!(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = $3, updated_at = $3 \
                     WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2) RETURNING {}",
                    $crate::store::records::DELIVERY_COLUMNS
                ))
                .bind(id.as_str())
                .bind(tenant.map($crate::ids::TenantId::as_str))
                .bind(now)
                .fetch_one(self.write())
                .await?;
                Ok(r.into())
            }
        }
    };
}

pub(crate) use impl_store;

use super::{NewEvent, Paged};
use crate::model::EventFilter;
use crate::model::filter::channels_match;

/// Turns `limit + 1` fetched rows into a page and the next cursor.
pub fn paginate<R, T>(rows: Vec<R>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Paged<T>
where
    T: From<R>,
{
    let mut items: Vec<T> = rows.into_iter().map(T::from).collect();
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(&cursor_of)
    } else {
        None
    };
    Paged { items, next_cursor }
}

/// `NotFound` unless exactly one row changed.
pub fn one_row(affected: u64) -> super::Result<()> {
    if affected == 0 {
        Err(super::Error::NotFound)
    } else {
        Ok(())
    }
}

/// A target tenant joined with one of its active webhooks, if it has any:
/// (tenant, webhook, events JSON, channels JSON, webhook updated_at).
pub type TargetRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// What a batch publish writes, worked out from what the database already holds.
pub struct Plan<'a> {
    /// One result per event, in order.
    pub results: Vec<super::Published>,
    /// Events to insert, each with its delivery count.
    pub new_events: Vec<(&'a NewEvent, u64)>,
    /// Deliveries to insert.
    pub deliveries: Vec<PlannedDelivery<'a>>,
}

/// A delivery a publish writes.
#[derive(Clone, Copy)]
pub struct PlannedDelivery<'a> {
    /// The event's position in the published slice.
    pub event: usize,
    /// Its webhook's id.
    pub webhook: &'a str,
    /// The webhook's `updated_at`, as this transaction read it.
    pub updated_at: i64,
    /// The tenant.
    pub tenant: &'a str,
}

/// A target tenant's active webhook with its subscription parsed once per group.
struct Target<'a> {
    tenant: &'a str,
    webhook: &'a str,
    updated_at: i64,
    filter: EventFilter,
    channels: Vec<String>,
}

impl<'a> Plan<'a> {
    /// Plans `events` given the `(id, deliveries)` of those already stored and the target rows.
    pub fn new(events: &'a [NewEvent], existing: &[(String, i64)], rows: &'a [TargetRow]) -> Self {
        use super::Published;
        let mut plan = Plan {
            results: Vec::with_capacity(events.len()),
            new_events: Vec::new(),
            deliveries: Vec::new(),
        };
        let targets: Vec<Target<'a>> = rows
            .iter()
            .filter_map(|(tenant, webhook, events, channels, updated_at)| {
                Some(Target {
                    tenant,
                    webhook: webhook.as_deref()?,
                    updated_at: updated_at.unwrap_or_default(),
                    filter: EventFilter::from_trusted(
                        serde_json::from_str(events.as_deref().unwrap_or("[]")).unwrap_or_default(),
                    ),
                    channels: serde_json::from_str(channels.as_deref().unwrap_or("[]"))
                        .unwrap_or_default(),
                })
            })
            .collect();
        let mut seen: std::collections::HashMap<&str, u64> = existing
            .iter()
            .map(|(id, n)| (id.as_str(), n.max(&0).unsigned_abs()))
            .collect();
        for (index, event) in events.iter().enumerate() {
            if let Some(&n) = seen.get(event.id.as_str()) {
                plan.results.push(Published::Duplicate { deliveries: n });
                continue;
            }
            if let Some(missing) = event
                .tenants
                .iter()
                .find(|t| !rows.iter().any(|r| r.0 == t.as_str()))
            {
                plan.results.push(Published::UnknownTenant(missing.clone()));
                continue;
            }
            let before = plan.deliveries.len();
            plan.deliveries.extend(
                targets
                    .iter()
                    .filter(|t| {
                        event.tenants.iter().any(|e| e.as_str() == t.tenant)
                            && t.filter.matches(&event.event_type)
                            && channels_match(&t.channels, &event.channels)
                    })
                    .map(|t| PlannedDelivery {
                        event: index,
                        webhook: t.webhook,
                        updated_at: t.updated_at,
                        tenant: t.tenant,
                    }),
            );
            let n = (plan.deliveries.len() - before) as u64;
            seen.insert(event.id.as_str(), n);
            plan.new_events.push((event, n));
            plan.results.push(Published::Created { deliveries: n });
        }
        plan
    }
}
