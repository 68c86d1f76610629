//! The web dashboard's sign-in state: one-time tenant links and sessions, both stored as
//! SHA-256 hashes of their tokens (the caller hashes). Expired rows are swept whenever a new one
//! is written, so neither table grows with time.

use crate::ids::TenantId;
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::{DashboardSession, NewDashboardSession, Result};

/// Sessions are touched at most this often, so reading pages does not write on every request.
const TOUCH_EVERY_MS: i64 = 60_000;

pub async fn create_link<B: Backend>(
    db: &B,
    hash: &str,
    tenant: &TenantId,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    let sweep = Query::new("DELETE FROM dashboard_links WHERE expires_at <= $1").arg(now);
    db.execute(Conn::Write, sweep).await?;
    let q = Query::new(
        "INSERT INTO dashboard_links (token_hash, tenant_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .arg(hash)
    .arg(tenant.as_str())
    .arg(expires_at)
    .arg(now);
    db.execute(Conn::Write, q).await?;
    Ok(())
}

/// Deletes the link in the same statement that reads it, so two redemptions cannot both win.
pub async fn redeem_link<B: Backend>(db: &B, hash: &str, now: i64) -> Result<Option<TenantId>> {
    let q = Query::new(
        "DELETE FROM dashboard_links WHERE token_hash = $1 RETURNING tenant_id, expires_at",
    )
    .arg(hash);
    let row: Option<(String, i64)> = db.fetch_optional(Conn::Write, q).await?;
    Ok(row
        .filter(|(_, expires_at)| *expires_at > now)
        .map(|(tenant, _)| TenantId::from_trusted(tenant)))
}

pub async fn create_session<B: Backend>(
    db: &B,
    session: &NewDashboardSession<'_>,
    idle_ms: i64,
) -> Result<()> {
    let sweep = Query::new("DELETE FROM dashboard_sessions WHERE last_seen_at <= $1")
        .arg(session.now.saturating_sub(idle_ms));
    db.execute(Conn::Write, sweep).await?;
    let q = Query::new(
        "INSERT INTO dashboard_sessions (token_hash, tenant_id, csrf_token, created_at, \
         last_seen_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .arg(session.hash)
    .arg(session.tenant.map(TenantId::as_str))
    .arg(session.csrf_token)
    .arg(session.now);
    db.execute(Conn::Write, q).await?;
    Ok(())
}

pub async fn find_session<B: Backend>(
    db: &B,
    hash: &str,
    now: i64,
    idle_ms: i64,
) -> Result<Option<DashboardSession>> {
    let q = Query::new(
        "SELECT tenant_id, csrf_token, last_seen_at FROM dashboard_sessions \
         WHERE token_hash = $1 AND last_seen_at > $2",
    )
    .arg(hash)
    .arg(now.saturating_sub(idle_ms));
    let row: Option<(Option<String>, String, i64)> = db.fetch_optional(Conn::Read, q).await?;
    let Some((tenant, csrf_token, last_seen_at)) = row else {
        return Ok(None);
    };
    if now - last_seen_at >= TOUCH_EVERY_MS {
        let touch =
            Query::new("UPDATE dashboard_sessions SET last_seen_at = $2 WHERE token_hash = $1")
                .arg(hash)
                .arg(now);
        db.execute(Conn::Write, touch).await?;
    }
    Ok(Some(DashboardSession {
        tenant: tenant.map(TenantId::from_trusted),
        csrf_token,
    }))
}

pub async fn delete_session<B: Backend>(db: &B, hash: &str) -> Result<()> {
    let q = Query::new("DELETE FROM dashboard_sessions WHERE token_hash = $1").arg(hash);
    db.execute(Conn::Write, q).await?;
    Ok(())
}
