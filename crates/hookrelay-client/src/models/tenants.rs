//! Tenants, their API keys, and dashboard sign-in links.

use serde::{Deserialize, Serialize};

use super::double_option;

/// A tenant to create (schema `TenantIn`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Chosen by the operator: `[A-Za-z0-9_-]`, at most 64.
    pub id: String,
    /// Display name (default: the id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where notices about its webhooks go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
}

impl NewTenant {
    /// A tenant with this id and nothing else set.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }
}

/// Changes to a tenant (schema `TenantPatch`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Some(None)` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_email: Option<Option<String>>,
}

/// A tenant (schema `TenantOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where notices about its webhooks go.
    pub contact_email: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A tenant's API key, shown once (schema `KeyOut`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantKey {
    /// The key's id.
    pub id: String,
    /// Whose it is.
    pub tenant_id: String,
    /// The key itself, for `Authorization: Bearer`.
    pub key: String,
    /// RFC 3339.
    pub created_at: String,
}

impl std::fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a credential: never in a log line.
        f.debug_struct("TenantKey")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A one-time dashboard sign-in link (schema `LinkOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardLink {
    /// Works once.
    pub url: String,
    /// RFC 3339; 15 minutes after it was made.
    pub expires_at: String,
}
