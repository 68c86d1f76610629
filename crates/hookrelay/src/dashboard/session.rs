//! Who is signed in. A session is a random 256-bit token in an HttpOnly, SameSite=Lax cookie,
//! stored server-side as its SHA-256 hash (in the store, so any node serves any session), and
//! ends after `dashboard_session_idle_seconds` unused or at sign-out. [`Viewer`] is the signed-in
//! session (else a redirect to sign-in); [`TenantView`] is a page of one tenant, which a tenant
//! session reaches only for its own tenant and the operator for any (else 404).

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::COOKIE;
use axum::http::request::Parts;

use super::DashState;
use super::error::DashError;
use crate::clock::now_ms;
use crate::ids::TenantId;
use crate::keys;
use crate::store::DashboardSession;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "hookrelay_session";
/// Prefix of session tokens.
const SESSION_PREFIX: &str = "hrs_";

/// The signed-in session of a request.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// Its stored state (tenant scope, CSRF token).
    pub session: DashboardSession,
    /// The hash of its token, to end it.
    pub hash: String,
}

impl Viewer {
    /// The operator's session (not scoped to a tenant).
    pub fn is_operator(&self) -> bool {
        self.session.tenant.is_none()
    }

    /// The token forms carry.
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

/// The session token of the request's cookie, if any.
pub fn cookie_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

fn idle_ms(state: &DashState) -> i64 {
    i64::try_from(state.settings.session_idle.as_millis()).unwrap_or(i64::MAX)
}

impl FromRequestParts<DashState> for Viewer {
    type Rejection = DashError;

    async fn from_request_parts(parts: &mut Parts, state: &DashState) -> Result<Self, DashError> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let token = cookie_token(parts).ok_or(DashError::SignIn)?;
        let hash = keys::hash(token);
        let session = state
            .app
            .store
            .find_dashboard_session(&hash, now_ms(), idle_ms(state))
            .await?
            .ok_or(DashError::SignIn)?;
        let viewer = Viewer { session, hash };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// Starts a session; answers the cookie's token.
pub async fn start(state: &DashState, tenant: Option<&TenantId>) -> Result<String, DashError> {
    let token = keys::generate(SESSION_PREFIX);
    let csrf_token = keys::generate("");
    let session = crate::store::NewDashboardSession {
        hash: &keys::hash(&token),
        tenant,
        csrf_token: &csrf_token,
        now: now_ms(),
    };
    state
        .app
        .store
        .create_dashboard_session(&session, idle_ms(state))
        .await?;
    Ok(token)
}

/// The `Set-Cookie` value carrying `token` (empty and expired to sign out).
pub fn cookie(state: &DashState, parts_https: bool, token: Option<&str>) -> String {
    let secure = if state.settings.public_https || parts_https {
        "; Secure"
    } else {
        ""
    };
    match token {
        Some(t) => format!("{COOKIE_NAME}={t}; Path=/dashboard; HttpOnly; SameSite=Lax{secure}"),
        None => {
            format!("{COOKIE_NAME}=; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
        }
    }
}

/// A page of one tenant, `/dashboard/t/{tid}/…`, and who views it.
pub struct TenantView {
    /// The session.
    pub viewer: Viewer,
    /// The tenant the page shows.
    pub tenant: TenantId,
}

impl FromRequestParts<DashState> for TenantView {
    type Rejection = DashError;

    async fn from_request_parts(parts: &mut Parts, state: &DashState) -> Result<Self, DashError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| DashError::NotFound)?;
        let tid = params
            .iter()
            .find(|(name, _)| *name == "tid")
            .map(|(_, value)| value.to_owned())
            .ok_or(DashError::NotFound)?;
        let tenant = TenantId::from_trusted(tid);
        match &viewer.session.tenant {
            // Another tenant's pages do not exist for this session.
            Some(own) if *own != tenant => return Err(DashError::NotFound),
            Some(_) => {}
            None => {
                state.app.store.get_tenant(&tenant).await?;
            }
        }
        Ok(TenantView { viewer, tenant })
    }
}
