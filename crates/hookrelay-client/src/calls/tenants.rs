//! Tenants, their keys, dashboard links, and the server's health.

use crate::models::{DashboardLink, Health, NewTenant, Tenant, TenantKey, TenantPatch};
use crate::operations::{
    CREATE_KEY, CREATE_LINK, CREATE_TENANT, CREATE_TENANT_LINK, DELETE_TENANT, GET_TENANT, HEALTHZ,
    LIST_TENANTS, READYZ, UPDATE_TENANT,
};
use crate::page::Pages;
use crate::{Client, Error};

impl Client {
    /// Creates a tenant (admin key).
    pub async fn create_tenant(&self, tenant: &NewTenant) -> Result<Tenant, Error> {
        self.call(&CREATE_TENANT, &[], &[], Some(tenant)).await
    }

    /// Every tenant (admin key).
    pub fn list_tenants(&self) -> Pages<Tenant> {
        Pages::new(self.clone(), &LIST_TENANTS, Vec::new(), Vec::new())
    }

    /// One tenant (admin key).
    pub async fn get_tenant(&self, id: &str) -> Result<Tenant, Error> {
        self.call(&GET_TENANT, &[id], &[], None).await
    }

    /// Changes a tenant (admin key).
    pub async fn update_tenant(&self, id: &str, patch: &TenantPatch) -> Result<Tenant, Error> {
        self.call(&UPDATE_TENANT, &[id], &[], Some(patch)).await
    }

    /// Deletes a tenant with its webhooks and their deliveries (admin key).
    pub async fn delete_tenant(&self, id: &str) -> Result<(), Error> {
        self.call(&DELETE_TENANT, &[id], &[], None).await
    }

    /// Mints an API key that sees only this tenant (admin key); it is shown this once.
    pub async fn create_tenant_key(&self, id: &str) -> Result<TenantKey, Error> {
        self.call(&CREATE_KEY, &[id], &[], None).await
    }

    /// A one-time dashboard sign-in link for a tenant (admin key).
    pub async fn create_tenant_dashboard_link(&self, id: &str) -> Result<DashboardLink, Error> {
        self.call(&CREATE_TENANT_LINK, &[id], &[], None).await
    }

    /// A one-time dashboard sign-in link for the key's own tenant (tenant key).
    pub async fn create_dashboard_link(&self) -> Result<DashboardLink, Error> {
        self.call(&CREATE_LINK, &[], &[], None).await
    }

    /// `GET /healthz`: the process runs.
    pub async fn health(&self) -> Result<Health, Error> {
        self.call(&HEALTHZ, &[], &[], None).await
    }

    /// `GET /readyz`: the database answers and its migrations are the server's (else a 503
    /// [`Error::Api`] with code `not_ready`).
    pub async fn ready(&self) -> Result<Health, Error> {
        self.call(&READYZ, &[], &[], None).await
    }
}
