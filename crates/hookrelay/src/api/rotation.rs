//! Secret rotation: `POST /v1/webhooks/{id}/rotate-secret` issues a new secret (or takes one).
//! Where the scheme carries several signatures (Standard Webhooks), the old secret keeps
//! signing too for the configured overlap (24 h by default), so receivers can switch without
//! dropping a delivery; single-signature schemes switch at once, and the answer says so.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CallerTenant, PathTenant, Scope};
use super::extract::{ApiPath, OptionalJson};
use super::webhook_secret::{check_secret, new_secret, public_key, scheme_name};
use super::webhooks::find_webhook;
use super::{ApiError, AppState};
use crate::clock::{now_ms, rfc3339};
use crate::ids::WebhookId;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rotate_secret))
        .routes(routes!(rotate_tenant_secret))
}

/// The new secret. An empty body generates one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateIn {
    /// The new secret; generated when absent. With `standard-webhooks-v1a`, an Ed25519 private
    /// key (`whsk_…`); omit it to have a key pair generated.
    secret: Option<String>,
}

/// The outcome of a rotation.
#[derive(Serialize, ToSchema)]
pub struct RotateOut {
    /// The webhook.
    webhook_id: String,
    /// The new secret, which signs every delivery from now on. Absent with
    /// `standard-webhooks-v1a`, whose private key is never shown: see `public_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// `standard-webhooks-v1a` only: the new key's public key (`whpk_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    /// `standard-webhooks-v1a` only: the replaced key's public key, which signs too until
    /// `previous_secret_expires_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_public_key: Option<String>,
    /// Until when the old secret signs too (RFC 3339); null when the scheme carries one
    /// signature and switched at once.
    previous_secret_expires_at: Option<String>,
    /// What receivers should do, in a sentence.
    note: String,
}

/// Replaces a webhook's signing secret.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    request_body(content = Option<RotateIn>, description = "Optional: the new secret"),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = RotateOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn rotate_secret(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RotateIn>,
) -> Result<Json<RotateOut>, ApiError> {
    rotate(
        &state,
        &scope,
        WebhookId::from_trusted(id),
        body.unwrap_or_default(),
    )
    .await
}

/// Replaces a tenant's webhook's signing secret (admin).
#[utoipa::path(post, path = "/v1/tenants/{tid}/webhooks/{id}/rotate-secret", tag = "webhooks",
    request_body(content = Option<RotateIn>, description = "Optional: the new secret"),
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = RotateOut), (status = 404, body = super::error::ErrorBody)))]
async fn rotate_tenant_secret(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<RotateIn>,
) -> Result<Json<RotateOut>, ApiError> {
    rotate(
        &state,
        &scope,
        WebhookId::from_trusted(path.1),
        body.unwrap_or_default(),
    )
    .await
}

async fn rotate(
    state: &AppState,
    scope: &Scope,
    id: WebhookId,
    input: RotateIn,
) -> Result<Json<RotateOut>, ApiError> {
    let webhook = rotate_in(state, scope, id, input.secret).await?;
    let expires = webhook
        .previous_secret
        .as_ref()
        .map(|(_, until)| rfc3339(*until));
    let asymmetric = webhook.signature.is_asymmetric();
    let what = if asymmetric { "key" } else { "secret" };
    let note = match &expires {
        Some(until) => format!(
            "deliveries carry signatures for both the new and the old {what} until {until}; update receivers before then"
        ),
        None => format!(
            "the {} scheme carries a single signature: deliveries are signed with the new secret from now on",
            scheme_name(&webhook.signature)
        ),
    };
    let previous_public_key = webhook
        .previous_secret
        .as_ref()
        .filter(|_| asymmetric)
        .and_then(|(old, _)| public_key(old));
    Ok(Json(RotateOut {
        webhook_id: webhook.id.to_string(),
        public_key: asymmetric.then(|| public_key(&webhook.secret)).flatten(),
        secret: (!asymmetric).then_some(webhook.secret),
        previous_public_key,
        previous_secret_expires_at: expires,
        note,
    }))
}

/// Gives a webhook of the scope a new secret (`secret`, or a generated one), keeping the old
/// one signing for the overlap where the scheme carries several signatures.
pub(crate) async fn rotate_in(
    state: &AppState,
    scope: &Scope,
    id: WebhookId,
    secret: Option<String>,
) -> Result<crate::store::Webhook, ApiError> {
    let mut webhook = find_webhook(state, scope, &id).await?;
    let secret = match secret {
        Some(s) => {
            check_secret(&s, &webhook.signature)?;
            s
        }
        None => new_secret(&webhook.signature),
    };
    let now = now_ms();
    let several = webhook.signature.carries_several_signatures();
    let old = std::mem::replace(&mut webhook.secret, secret);
    webhook.previous_secret =
        several.then(|| (old, now + state.rotation_overlap.as_millis() as i64));
    webhook.updated_at = now;
    webhook.updated_at = state
        .store
        .update_webhook(&webhook)
        .await
        .map_err(|e| ApiError::from_store(e, "webhook"))?;
    Ok(webhook)
}
