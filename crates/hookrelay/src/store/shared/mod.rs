//! The store written once for both databases: [`Store`] for every [`Backend`]. Each method
//! is a function of the module for its concern; nearly every query is the same text on both
//! backends (`$N` placeholders, `ON CONFLICT`, `RETURNING`, row-value comparison), and what is
//! not is an item of [`Backend`].
//!
//! Deliveries and attempts have no foreign keys (see migrations 0008/0009): a publish locks the
//! webhooks it targets, deleting a webhook or tenant deletes their deliveries and attempts, and
//! an attempt is recorded only for a delivery that still exists.

mod catalog;
mod dashboard;
mod failures;
mod health;
pub(super) mod hours;
mod log;
mod log_scan;
mod ordering;
mod publish;
mod recording;
mod retention;
mod tenants;
mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::backend::Backend;
use super::{
    Activity, AttemptHour, AttemptRecord, Chooser, Claimed, DashboardSession, Delivery,
    DeliveryDetail, DeliveryFilter, DeliveryLock, Disabled, DueKey, Error, Event, EventType,
    FailurePolicy, Intake, KeyOwner, LogPage, NewDashboardSession, NewEvent, NotReady, Page, Paged,
    Publication, PurgeCursor, Purged, QueueDepth, Replay, Result, Store, SystemOverview, Tenant,
    Webhook,
};
use crate::ids::{DeliveryId, EventId, KeyId, TenantId, WebhookId};

/// Ids per statement where a list of them is bound one parameter each, well under SQLite's
/// 32,766 bound parameters.
const ID_CHUNK: usize = 500;

/// Turns `limit + 1` fetched rows into a page and the next cursor.
fn paginate<R, T>(rows: Vec<R>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Paged<T>
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

/// `NotFound` unless a row changed.
fn one_row(affected: u64) -> Result<()> {
    if affected == 0 {
        Err(Error::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl<B: Backend> Store for B {
    fn backend(&self) -> &'static str {
        B::NAME
    }

    async fn migrate(&self) -> Result<()> {
        self.apply_migrations().await
    }

    fn lock_delivery(&self) -> anyhow::Result<DeliveryLock> {
        self.delivery_lock()
    }

    fn listen_for_work(&self, wake: Arc<Notify>, shutdown: CancellationToken) {
        self.listen(wake, shutdown);
    }

    async fn admin_key_hash(&self) -> Result<Option<String>> {
        tenants::admin_key_hash(self).await
    }

    async fn set_admin_key_hash(&self, id: &KeyId, hash: &str, now: i64) -> Result<()> {
        tenants::set_admin_key_hash(self, id, hash, now).await
    }

    async fn find_key(&self, hash: &str) -> Result<Option<KeyOwner>> {
        tenants::find_key(self, hash).await
    }

    async fn create_tenant_key(
        &self,
        tenant: &TenantId,
        id: &KeyId,
        hash: &str,
        prefix: &str,
        now: i64,
    ) -> Result<()> {
        tenants::create_key(self, tenant, id, hash, prefix, now).await
    }

    async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        tenants::create(self, tenant).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        tenants::get(self, id).await
    }

    async fn list_tenants(&self, page: &Page) -> Result<Paged<Tenant>> {
        tenants::list(self, page).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<()> {
        tenants::update(self, tenant).await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<()> {
        tenants::delete(self, id).await
    }

    async fn create_webhook(&self, webhook: &Webhook) -> Result<()> {
        webhooks::create(self, webhook).await
    }

    async fn get_webhook(&self, tenant: &TenantId, id: &WebhookId) -> Result<Webhook> {
        webhooks::get(self, tenant, id).await
    }

    async fn list_webhooks(&self, tenant: &TenantId, page: &Page) -> Result<Paged<Webhook>> {
        webhooks::list(self, tenant, page).await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> Result<i64> {
        webhooks::update(self, webhook).await
    }

    async fn delete_webhook(&self, tenant: &TenantId, id: &WebhookId) -> Result<()> {
        webhooks::delete(self, tenant, id).await
    }

    async fn create_event_type(&self, event_type: &EventType) -> Result<()> {
        catalog::create(self, event_type).await
    }

    async fn get_event_type(&self, name: &str) -> Result<EventType> {
        catalog::get(self, name).await
    }

    async fn list_event_types(&self, page: &Page) -> Result<Paged<EventType>> {
        catalog::list(self, page).await
    }

    async fn update_event_type(&self, event_type: &EventType) -> Result<()> {
        catalog::update(self, event_type).await
    }

    async fn delete_event_type(&self, name: &str) -> Result<()> {
        catalog::delete(self, name).await
    }

    async fn publish_many(
        &self,
        events: &[NewEvent],
        intake: &mut (dyn Intake + Send),
    ) -> Result<Publication> {
        publish::publish_many(self, events, intake).await
    }

    async fn claim_due(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
        from: &mut Option<DueKey>,
        choose: &mut (dyn Chooser + Send),
    ) -> Result<Vec<Claimed>> {
        self.claim(now, limit, lease_until, from, choose).await
    }

    async fn webhooks_by_id(&self, ids: &[WebhookId]) -> Result<Vec<Webhook>> {
        webhooks::by_id(self, ids).await
    }

    async fn record_attempts(
        &self,
        records: &[AttemptRecord],
        policy: &FailurePolicy,
    ) -> Result<Vec<Disabled>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let written = recording::record(self, records, policy).await;
        // A `Conflict` says the attempts (new ids) exist already: an earlier try committed
        // although its answer was lost, so these deliveries are recorded all the same.
        if matches!(written, Ok(_) | Err(Error::Conflict)) {
            self.end_leases(records.iter().map(|r| r.delivery_id.as_str()));
        }
        written
    }

    async fn park(&self, ids: &[DeliveryId]) -> Result<()> {
        log::park(self, ids, crate::clock::now_ms()).await
    }

    async fn release(&self, ids: &[DeliveryId], at: i64) -> Result<()> {
        log::release(self, ids, at).await
    }

    async fn release_handed_off(&self, lease_until: i64, now: i64) -> Result<u64> {
        log::release_handed_off(self, lease_until, now).await
    }

    async fn next_due_at(&self) -> Result<Option<i64>> {
        self.next_due().await
    }

    async fn resume_abandoned(&self, lease: std::time::Duration) -> Result<()> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        Backend::resume_abandoned(self, crate::clock::now_ms(), lease_ms).await
    }

    async fn ready(&self) -> Result<(), NotReady> {
        health::ready(self).await
    }

    async fn queue_depth(&self, now: i64) -> Result<QueueDepth> {
        health::queue_depth(self, now).await
    }

    async fn system_overview(&self, since: i64, limit: u32) -> Result<SystemOverview> {
        health::system_overview(self, since, limit).await
    }

    async fn claiming_stopped(&self) {
        self.stop_claiming().await;
    }

    async fn get_delivery(
        &self,
        tenant: Option<&TenantId>,
        id: &DeliveryId,
    ) -> Result<DeliveryDetail> {
        log::get(self, tenant, id).await
    }

    async fn get_event(&self, id: &EventId) -> Result<(Event, Vec<Delivery>)> {
        log::get_event(self, id).await
    }

    async fn record_test_send(
        &self,
        tenant: &TenantId,
        event: &NewEvent,
        attempt: &AttemptRecord,
    ) -> Result<()> {
        log::record_test_send(self, tenant, event, attempt).await
    }

    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        filter: &DeliveryFilter,
        page: &Page,
    ) -> Result<Paged<Delivery>> {
        log::list(self, tenant, webhook, filter, page).await
    }

    async fn scan_deliveries(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        filter: &DeliveryFilter,
        page: &Page,
        scan: u32,
    ) -> Result<LogPage> {
        log_scan::scan(self, tenant, webhook, filter, page, scan).await
    }

    async fn webhook_activity(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        since: i64,
        limit: u32,
    ) -> Result<Activity> {
        log::activity(self, tenant, webhook, since, limit).await
    }

    async fn recent_attempts(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        since: i64,
        limit: u32,
    ) -> Result<Vec<(i64, i64, bool)>> {
        log::recent_attempts(self, tenant, webhook, since, limit).await
    }

    async fn attempt_hours(
        &self,
        tenant: &TenantId,
        webhooks: &[WebhookId],
        since: i64,
    ) -> Result<Vec<AttemptHour>> {
        hours::read(self, tenant, webhooks, since).await
    }

    async fn replay(&self, tenant: &TenantId, webhook: &WebhookId, replay: &Replay) -> Result<u64> {
        log::replay(self, tenant, webhook, replay).await
    }

    async fn retry_delivery(
        &self,
        tenant: Option<&TenantId>,
        id: &DeliveryId,
        now: i64,
    ) -> Result<Delivery> {
        log::retry(self, tenant, id, now).await
    }

    async fn purge(&self, before_ms: i64, batch: u32, cursor: &mut PurgeCursor) -> Result<Purged> {
        retention::purge(self, before_ms, batch, cursor).await
    }

    async fn create_dashboard_link(
        &self,
        hash: &str,
        tenant: &TenantId,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        dashboard::create_link(self, hash, tenant, expires_at, now).await
    }

    async fn redeem_dashboard_link(&self, hash: &str, now: i64) -> Result<Option<TenantId>> {
        dashboard::redeem_link(self, hash, now).await
    }

    async fn create_dashboard_session(
        &self,
        session: &NewDashboardSession<'_>,
        idle_ms: i64,
    ) -> Result<()> {
        dashboard::create_session(self, session, idle_ms).await
    }

    async fn find_dashboard_session(
        &self,
        hash: &str,
        now: i64,
        idle_ms: i64,
    ) -> Result<Option<DashboardSession>> {
        dashboard::find_session(self, hash, now, idle_ms).await
    }

    async fn delete_dashboard_session(&self, hash: &str) -> Result<()> {
        dashboard::delete_session(self, hash).await
    }
}
