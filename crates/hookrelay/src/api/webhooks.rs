//! Webhooks: `/v1/webhooks[/{id}]` for the caller's tenant (the admin key: `default`), and the
//! same under `/v1/tenants/{tid}/webhooks` for the admin key.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookrelay_signature::{Secret, generate_secret_string};
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Scope;
use super::extract::{ApiJson, ApiQuery};
use super::page::{ListResponse, PageQuery};
use super::{ApiError, AppState};
use crate::clock::{now_ms, rfc3339};
use crate::ids::WebhookId;
use crate::model::{
    Channel, CustomHeaders, EventFilter, PayloadFormat, RetrySchedule, SignatureConfig,
    TimeoutSeconds, UrlPolicy, WebhookUrl,
};
use crate::store::Webhook;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_tenant_webhooks, create_tenant_webhook))
        .routes(routes!(
            get_tenant_webhook,
            update_tenant_webhook,
            delete_tenant_webhook
        ))
}

/// Deserializes a field that may be absent (outer None), null (Some(None)) or a value.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A webhook.
#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    /// `wh_…`
    id: String,
    /// Where deliveries go.
    url: String,
    /// Free text.
    description: String,
    /// Event type patterns: names, `prefix.*`, or `*`; empty means all.
    events: Vec<String>,
    /// Only events carrying one of these channels; empty means all.
    channels: Vec<String>,
    /// The signing secret.
    secret: String,
    /// Whether deliveries are made.
    active: bool,
    /// Why it was disabled, if it was.
    disabled_reason: Option<String>,
    /// Seconds to wait after each failed attempt.
    retry_schedule: Vec<u32>,
    /// Per-attempt timeout, 1 to 30 seconds.
    timeout_seconds: u32,
    /// Optional cap on deliveries per second.
    rate_limit_per_second: Option<u32>,
    /// Extra headers sent with every delivery.
    headers: BTreeMap<String, String>,
    /// How deliveries are signed.
    signature: SignatureConfig,
    /// The body's shape.
    payload_format: PayloadFormat,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url,
            description: w.description,
            events: w.events,
            channels: w.channels,
            secret: w.secret,
            active: w.active,
            disabled_reason: w.disabled_reason,
            retry_schedule: w.retry_schedule,
            timeout_seconds: w.timeout_seconds,
            rate_limit_per_second: w.rate_limit_per_second,
            headers: w.headers,
            signature: w.signature,
            payload_format: w.payload_format,
            created_at: rfc3339(w.created_at),
            updated_at: rfc3339(w.updated_at),
        }
    }
}

/// A new webhook: only `url` is required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// `https://…` (plain `http://` only in development mode).
    url: String,
    /// Free text.
    description: Option<String>,
    /// Event type patterns (default: all).
    events: Option<Vec<String>>,
    /// Channels (default: none, i.e. all events).
    channels: Option<Vec<String>>,
    /// Signing secret; generated when absent.
    secret: Option<String>,
    /// Default true.
    active: Option<bool>,
    /// Default `[30, 120, 600, 3600, 21600]`.
    retry_schedule: Option<Vec<i64>>,
    /// Default 10.
    timeout_seconds: Option<i64>,
    /// Default none.
    rate_limit_per_second: Option<i64>,
    /// Extra headers.
    headers: Option<BTreeMap<String, String>>,
    /// Default `{"scheme": "standard-webhooks"}`.
    signature: Option<SignatureConfig>,
    /// Default `envelope`.
    payload_format: Option<PayloadFormat>,
}

/// Changes to a webhook: every field optional; absent fields keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    url: Option<String>,
    description: Option<String>,
    events: Option<Vec<String>>,
    channels: Option<Vec<String>>,
    /// Replaces the secret at once (see rotate-secret for a gentle switch).
    secret: Option<String>,
    /// Re-enabling clears `disabled_reason`.
    active: Option<bool>,
    retry_schedule: Option<Vec<i64>>,
    timeout_seconds: Option<i64>,
    /// null removes the limit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    rate_limit_per_second: Option<Option<i64>>,
    headers: Option<BTreeMap<String, String>>,
    signature: Option<SignatureConfig>,
    payload_format: Option<PayloadFormat>,
}

fn check_description(d: String) -> Result<String, ApiError> {
    if d.len() > 1000 {
        return Err(ApiError::invalid(
            "description",
            "must be at most 1000 characters",
        ));
    }
    Ok(d)
}

fn check_rate_limit(n: Option<i64>) -> Result<Option<u32>, ApiError> {
    match n {
        None => Ok(None),
        Some(n @ 1..=100_000) => Ok(Some(n as u32)),
        Some(_) => Err(ApiError::invalid(
            "rate_limit_per_second",
            "must be from 1 to 100000, or null for no limit",
        )),
    }
}

pub(super) fn check_secret(secret: &str, signature: &SignatureConfig) -> Result<(), ApiError> {
    if secret.len() > 512 {
        return Err(ApiError::invalid(
            "secret",
            "must be at most 512 characters",
        ));
    }
    Secret::new(&signature.scheme(), secret)
        .map(|_| ())
        .map_err(|e| {
            ApiError::invalid(
                "secret",
                format!(
                    "is not valid for the {} scheme: {e}",
                    scheme_name(signature)
                ),
            )
        })
}

pub(super) fn scheme_name(signature: &SignatureConfig) -> &'static str {
    match signature {
        SignatureConfig::StandardWebhooks => "standard-webhooks",
        SignatureConfig::HmacSha256 { .. } => "hmac-sha256",
        SignatureConfig::TimestampedKey { .. } => "timestamped-key",
    }
}

/// A new random secret: `whsec_` + base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    generate_secret_string(&bytes)
}

fn parse_new(input: WebhookIn, scope: &Scope, policy: UrlPolicy) -> Result<Webhook, ApiError> {
    let url = WebhookUrl::parse(&input.url, policy)?;
    let signature = input.signature.unwrap_or_default();
    signature.validate()?;
    let secret = match input.secret {
        Some(s) => {
            check_secret(&s, &signature)?;
            s
        }
        None => new_secret(),
    };
    let now = now_ms();
    Ok(Webhook {
        id: WebhookId::generate(),
        tenant_id: scope.0.clone(),
        url: url.as_str().to_owned(),
        description: check_description(input.description.unwrap_or_default())?,
        events: EventFilter::parse(&input.events.unwrap_or_default())?
            .patterns()
            .to_vec(),
        channels: names(Channel::parse_list(
            &input.channels.unwrap_or_default(),
            "channels",
        )?),
        secret,
        previous_secret: None,
        active: input.active.unwrap_or(true),
        disabled_reason: None,
        retry_schedule: match input.retry_schedule {
            Some(s) => RetrySchedule::parse(&s)?,
            None => RetrySchedule::default(),
        }
        .delays()
        .to_vec(),
        timeout_seconds: input
            .timeout_seconds
            .map_or(Ok(TimeoutSeconds::default()), TimeoutSeconds::parse)?
            .get(),
        rate_limit_per_second: check_rate_limit(input.rate_limit_per_second)?,
        headers: CustomHeaders::parse(input.headers.unwrap_or_default())?
            .as_map()
            .clone(),
        signature,
        payload_format: input.payload_format.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    })
}

fn names(channels: Vec<Channel>) -> Vec<String> {
    channels.iter().map(|c| c.as_str().to_owned()).collect()
}

fn apply_patch(w: &mut Webhook, p: WebhookPatch, policy: UrlPolicy) -> Result<(), ApiError> {
    if let Some(url) = p.url {
        w.url = WebhookUrl::parse(&url, policy)?.as_str().to_owned();
    }
    if let Some(d) = p.description {
        w.description = check_description(d)?;
    }
    if let Some(events) = p.events {
        w.events = EventFilter::parse(&events)?.patterns().to_vec();
    }
    if let Some(channels) = p.channels {
        w.channels = names(Channel::parse_list(&channels, "channels")?);
    }
    if let Some(signature) = p.signature {
        signature.validate()?;
        w.signature = signature;
    }
    if let Some(secret) = p.secret {
        // An immediate switch: unlike rotate-secret, the old secret stops signing now.
        w.secret = secret;
        w.previous_secret = None;
    }
    // Checked after both may have changed: a new scheme must accept the secret it will use.
    check_secret(&w.secret, &w.signature)?;
    if let Some(active) = p.active {
        w.active = active;
        if active {
            w.disabled_reason = None;
        }
    }
    if let Some(s) = p.retry_schedule {
        w.retry_schedule = RetrySchedule::parse(&s)?.delays().to_vec();
    }
    if let Some(t) = p.timeout_seconds {
        w.timeout_seconds = TimeoutSeconds::parse(t)?.get();
    }
    if let Some(r) = p.rate_limit_per_second {
        w.rate_limit_per_second = check_rate_limit(r)?;
    }
    if let Some(h) = p.headers {
        w.headers = CustomHeaders::parse(h)?.as_map().clone();
    }
    if let Some(f) = p.payload_format {
        w.payload_format = f;
    }
    w.updated_at = now_ms();
    Ok(())
}

fn store_err(e: crate::store::Error) -> ApiError {
    ApiError::from_store(e, "webhook")
}

/// The scope's webhook `id`, or a 404: every handler under `/v1/webhooks/{id}/…` starts here.
pub(super) async fn find_webhook(
    state: &AppState,
    scope: &Scope,
    id: &WebhookId,
) -> Result<Webhook, ApiError> {
    state
        .store
        .get_webhook(&scope.0, id)
        .await
        .map_err(store_err)
}

/// Lists the tenant's webhooks.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = ListResponse<WebhookOut>)))]
async fn list_webhooks(
    scope: Scope,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ListResponse<WebhookOut>>, ApiError> {
    let paged = state
        .store
        .list_webhooks(&scope.0, &q.page()?)
        .await
        .map_err(store_err)?;
    Ok(Json(ListResponse::from_paged(paged, WebhookOut::from)))
}

/// Creates a webhook.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, body = WebhookOut), (status = 422, body = super::error::ErrorBody)))]
async fn create_webhook(
    scope: Scope,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookOut>), ApiError> {
    let webhook = parse_new(input, &scope, state.url_policy)?;
    state
        .store
        .create_webhook(&webhook)
        .await
        .map_err(store_err)?;
    Ok((StatusCode::CREATED, Json(webhook.into())))
}

/// Reads a webhook.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody)))]
async fn get_webhook(
    scope: Scope,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    let webhook = find_webhook(&state, &scope, &WebhookId::from_trusted(id)).await?;
    Ok(Json(webhook.into()))
}

/// Changes a webhook.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn update_webhook(
    scope: Scope,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookOut>, ApiError> {
    let mut webhook = find_webhook(&state, &scope, &WebhookId::from_trusted(id)).await?;
    apply_patch(&mut webhook, patch, state.url_policy)?;
    webhook.updated_at = state
        .store
        .update_webhook(&webhook)
        .await
        .map_err(store_err)?;
    Ok(Json(webhook.into()))
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
async fn delete_webhook(
    scope: Scope,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_webhook(&scope.0, &WebhookId::from_trusted(id))
        .await
        .map_err(store_err)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists a tenant's webhooks (admin).
#[utoipa::path(get, path = "/v1/tenants/{tid}/webhooks", tag = "webhooks",
    params(("tid" = String, Path, description = "Tenant id"), PageQuery),
    responses((status = 200, body = ListResponse<WebhookOut>)))]
async fn list_tenant_webhooks(
    scope: Scope,
    state: State<AppState>,
    query: ApiQuery<PageQuery>,
) -> Result<Json<ListResponse<WebhookOut>>, ApiError> {
    list_webhooks(scope, state, query).await
}

/// Creates a webhook for a tenant (admin).
#[utoipa::path(post, path = "/v1/tenants/{tid}/webhooks", tag = "webhooks", request_body = WebhookIn,
    params(("tid" = String, Path, description = "Tenant id")),
    responses((status = 201, body = WebhookOut), (status = 422, body = super::error::ErrorBody)))]
async fn create_tenant_webhook(
    scope: Scope,
    state: State<AppState>,
    input: ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookOut>), ApiError> {
    create_webhook(scope, state, input).await
}

/// Reads a tenant's webhook (admin).
#[utoipa::path(get, path = "/v1/tenants/{tid}/webhooks/{id}", tag = "webhooks",
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody)))]
async fn get_tenant_webhook(
    scope: Scope,
    state: State<AppState>,
    Path(path): Path<(String, String)>,
) -> Result<Json<WebhookOut>, ApiError> {
    get_webhook(scope, state, Path(path.1)).await
}

/// Changes a tenant's webhook (admin).
#[utoipa::path(patch, path = "/v1/tenants/{tid}/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody)))]
async fn update_tenant_webhook(
    scope: Scope,
    state: State<AppState>,
    Path(path): Path<(String, String)>,
    patch: ApiJson<WebhookPatch>,
) -> Result<Json<WebhookOut>, ApiError> {
    update_webhook(scope, state, Path(path.1), patch).await
}

/// Deletes a tenant's webhook (admin).
#[utoipa::path(delete, path = "/v1/tenants/{tid}/webhooks/{id}", tag = "webhooks",
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
async fn delete_tenant_webhook(
    scope: Scope,
    state: State<AppState>,
    Path(path): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_webhook(scope, state, Path(path.1)).await
}
