//! Tenants and API keys (stored as hashes only).

use super::webhooks::delete_deliveries;
use super::{one_row, paginate};
use crate::ids::{KeyId, TenantId};
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::records::TenantRecord;
use crate::store::{KeyOwner, Page, Paged, Result, Tenant};

const TENANT_COLUMNS: &str = "id, name, contact_email, created_at, updated_at";

pub async fn admin_key_hash<B: Backend>(db: &B) -> Result<Option<String>> {
    let q = Query::new(
        "SELECT key_hash FROM api_keys WHERE tenant_id IS NULL ORDER BY created_at LIMIT 1",
    );
    let row: Option<(String,)> = db.fetch_optional(Conn::Read, q).await?;
    Ok(row.map(|(hash,)| hash))
}

pub async fn set_admin_key_hash<B: Backend>(
    db: &B,
    id: &KeyId,
    hash: &str,
    now: i64,
) -> Result<()> {
    let q = Query::new(
        "INSERT INTO api_keys (id, key_hash, tenant_id, prefix, created_at) \
         VALUES ($1, $2, NULL, 'admin', $3)",
    )
    .arg(id.as_str())
    .arg(hash)
    .arg(now);
    db.execute(Conn::Write, q).await?;
    Ok(())
}

pub async fn find_key<B: Backend>(db: &B, hash: &str) -> Result<Option<KeyOwner>> {
    let q = Query::new("SELECT tenant_id FROM api_keys WHERE key_hash = $1").arg(hash);
    let row: Option<(Option<String>,)> = db.fetch_optional(Conn::Read, q).await?;
    Ok(row.map(|(tenant,)| match tenant {
        None => KeyOwner::Admin,
        Some(t) => KeyOwner::Tenant(TenantId::from_trusted(t)),
    }))
}

pub async fn create_key<B: Backend>(
    db: &B,
    tenant: &TenantId,
    id: &KeyId,
    hash: &str,
    prefix: &str,
    now: i64,
) -> Result<()> {
    let q = Query::new(
        "INSERT INTO api_keys (id, key_hash, tenant_id, prefix, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .arg(id.as_str())
    .arg(hash)
    .arg(tenant.as_str())
    .arg(prefix)
    .arg(now);
    db.execute(Conn::Write, q).await?;
    Ok(())
}

pub async fn create<B: Backend>(db: &B, t: &Tenant) -> Result<()> {
    let q = Query::new(
        "INSERT INTO tenants (id, name, contact_email, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .arg(t.id.as_str())
    .arg(t.name.as_str())
    .arg(t.contact_email.as_deref())
    .arg(t.created_at)
    .arg(t.updated_at);
    db.execute(Conn::Write, q).await?;
    Ok(())
}

pub async fn get<B: Backend>(db: &B, id: &TenantId) -> Result<Tenant> {
    let q = Query::new(format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"
    ))
    .arg(id.as_str());
    let r: TenantRecord = db.fetch_one(Conn::Read, q).await?;
    Ok(r.into())
}

pub async fn list<B: Backend>(db: &B, page: &Page) -> Result<Paged<Tenant>> {
    let q = Query::new(format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .arg(page.cursor.as_deref().unwrap_or(""))
    .arg(i64::from(page.limit) + 1);
    let rows: Vec<TenantRecord> = db.fetch_all(Conn::Read, q).await?;
    Ok(paginate(rows, page.limit, |t: &Tenant| t.id.to_string()))
}

pub async fn update<B: Backend>(db: &B, t: &Tenant) -> Result<()> {
    let q = Query::new(
        "UPDATE tenants SET name = $2, contact_email = $3, updated_at = $4 WHERE id = $1",
    )
    .arg(t.id.as_str())
    .arg(t.name.as_str())
    .arg(t.contact_email.as_deref())
    .arg(t.updated_at);
    one_row(db.execute(Conn::Write, q).await?)
}

/// Deletes a tenant with its webhooks, keys, deliveries and attempts, in one transaction.
pub async fn delete<B: Backend>(db: &B, id: &TenantId) -> Result<()> {
    let mut tx = db.begin().await?;
    if !B::FOR_UPDATE.is_empty() {
        // The webhooks first, so no publish targets them any more.
        let lock = format!(
            "SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE tenant_id = $1 {}) AS l",
            B::FOR_UPDATE
        );
        db.execute(Conn::Tx(&mut tx), Query::new(lock).arg(id.as_str()))
            .await?;
    }
    delete_deliveries(
        db,
        &mut tx,
        "IN (SELECT id FROM webhooks WHERE tenant_id = $1)",
        id.as_str(),
    )
    .await?;
    // Its webhooks and keys go with it (their foreign keys cascade).
    let q = Query::new("DELETE FROM tenants WHERE id = $1").arg(id.as_str());
    one_row(db.execute(Conn::Tx(&mut tx), q).await?)?;
    B::commit(tx).await
}
