//! The client's methods, one file per resource. Each is one [`crate::operations`] entry.

mod catalog;
mod deliveries;
mod events;
mod tenants;
mod webhooks;

use crate::Client;

impl Client {
    /// Path parameters for a webhook call: the tenant first when the client is scoped to one
    /// ([`Client::in_tenant`]).
    fn scoped<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        self.tenant
            .as_deref()
            .into_iter()
            .chain(rest.iter().copied())
            .collect()
    }

    /// `own` for the key's own webhooks, `tenant` when scoped to a tenant.
    fn pick<T: ?Sized>(&self, own: &'static T, tenant: &'static T) -> &'static T {
        if self.tenant.is_some() { tenant } else { own }
    }
}
