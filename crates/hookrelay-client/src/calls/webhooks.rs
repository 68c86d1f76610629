//! Webhooks: create, read, change, delete, rotate the secret. A tenant key acts on its own
//! tenant's; the admin key on `default`'s, or on any tenant's through [`Client::in_tenant`].

use crate::models::{NewWebhook, RotateSecret, Rotated, Webhook, WebhookPatch};
use crate::operations::*;
use crate::page::Pages;
use crate::{Client, Error};

impl Client {
    /// Subscribes an endpoint. The answer holds its `secret` (or, for `v1a`, `public_key`).
    pub async fn create_webhook(&self, webhook: &NewWebhook) -> Result<Webhook, Error> {
        let op = self.pick(&CREATE_WEBHOOK, &CREATE_TENANT_WEBHOOK);
        self.call(op, &self.scoped(&[]), &[], Some(webhook)).await
    }

    /// Every webhook.
    pub fn list_webhooks(&self) -> Pages<Webhook> {
        let op = self.pick(&LIST_WEBHOOKS, &LIST_TENANT_WEBHOOKS);
        let params = self.scoped(&[]).into_iter().map(str::to_owned).collect();
        Pages::new(self.clone(), op, params, Vec::new())
    }

    /// One webhook.
    pub async fn get_webhook(&self, id: &str) -> Result<Webhook, Error> {
        let op = self.pick(&GET_WEBHOOK, &GET_TENANT_WEBHOOK);
        self.call(op, &self.scoped(&[id]), &[], None).await
    }

    /// Changes a webhook; `active: Some(true)` enables a disabled one.
    pub async fn update_webhook(&self, id: &str, patch: &WebhookPatch) -> Result<Webhook, Error> {
        let op = self.pick(&UPDATE_WEBHOOK, &UPDATE_TENANT_WEBHOOK);
        self.call(op, &self.scoped(&[id]), &[], Some(patch)).await
    }

    /// Deletes a webhook with its deliveries.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), Error> {
        let op = self.pick(&DELETE_WEBHOOK, &DELETE_TENANT_WEBHOOK);
        self.call(op, &self.scoped(&[id]), &[], None).await
    }

    /// A new secret (yours, or generated with `RotateSecret::default()`); for 24 hours
    /// deliveries are signed with the old one too.
    pub async fn rotate_secret(&self, id: &str, rotate: &RotateSecret) -> Result<Rotated, Error> {
        let op = self.pick(&ROTATE_SECRET, &ROTATE_TENANT_SECRET);
        self.call(op, &self.scoped(&[id]), &[], Some(rotate)).await
    }
}
