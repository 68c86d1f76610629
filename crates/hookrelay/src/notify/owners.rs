//! Tells a webhook's owner that hookrelay disabled it. The attempt recorder hands over each
//! webhook it disabled (once, whichever node disabled it), and this task emails the tenant's
//! `contact_email`, off the delivery path: a slow or dead relay delays nothing but the notice.

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::email::Mailer;
use crate::store::{Disabled, Store};

/// Starts the task; send it each disabled webhook. It ends when every sender is dropped.
pub fn start(store: Arc<dyn Store>, mailer: Mailer) -> mpsc::UnboundedSender<Disabled> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Disabled>();
    tokio::spawn(async move {
        while let Some(disabled) = rx.recv().await {
            // One task per notice, so that one waiting on a relay that is down (it retries,
            // bounded) does not hold up the next.
            let (store, mailer) = (store.clone(), mailer.clone());
            tokio::spawn(async move { tell_owner(&*store, &mailer, &disabled).await });
        }
    });
    tx
}

async fn tell_owner(store: &dyn Store, mailer: &Mailer, disabled: &Disabled) {
    let contact = match store.get_tenant(&disabled.tenant_id).await {
        Ok(tenant) => tenant.contact_email,
        Err(e) => {
            warn!(tenant.id = %disabled.tenant_id, error = %e, "reading the tenant to email failed");
            return;
        }
    };
    let Some(to) = contact else {
        info!(
            webhook.id = %disabled.webhook_id,
            tenant.id = %disabled.tenant_id,
            "webhook disabled; its tenant has no contact_email to tell"
        );
        return;
    };
    match mailer.send_disabled_notice(&to, disabled).await {
        Ok(()) => info!(
            webhook.id = %disabled.webhook_id,
            tenant.id = %disabled.tenant_id,
            "emailed the tenant that its webhook was disabled"
        ),
        Err(e) => warn!(
            webhook.id = %disabled.webhook_id,
            tenant.id = %disabled.tenant_id,
            error = %format!("{e:#}"),
            "emailing the tenant that its webhook was disabled failed"
        ),
    }
}
