//! The event type catalog.

use super::{one_row, paginate};
use crate::store::backend::{Backend, Conn};
use crate::store::query::Query;
use crate::store::records::EventTypeRecord;
use crate::store::{EventType, Page, Paged, Result};

const COLUMNS: &str = "name, description, example, json_schema, created_at, updated_at";

pub async fn create<B: Backend>(db: &B, t: &EventType) -> Result<()> {
    let q = Query::new(format!(
        "INSERT INTO event_types ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .arg(t.name.as_str())
    .arg(t.description.as_str())
    .arg(t.example.as_deref())
    .arg(t.schema.as_deref())
    .arg(t.created_at)
    .arg(t.updated_at);
    db.execute(Conn::Write, q).await?;
    Ok(())
}

pub async fn get<B: Backend>(db: &B, name: &str) -> Result<EventType> {
    let q = Query::new(format!("SELECT {COLUMNS} FROM event_types WHERE name = $1")).arg(name);
    let r: EventTypeRecord = db.fetch_one(Conn::Read, q).await?;
    Ok(r.into())
}

pub async fn list<B: Backend>(db: &B, page: &Page) -> Result<Paged<EventType>> {
    let q = Query::new(format!(
        "SELECT {COLUMNS} FROM event_types WHERE name > $1 ORDER BY name LIMIT $2"
    ))
    .arg(page.cursor.as_deref().unwrap_or(""))
    .arg(i64::from(page.limit) + 1);
    let rows: Vec<EventTypeRecord> = db.fetch_all(Conn::Read, q).await?;
    Ok(paginate(rows, page.limit, |t: &EventType| t.name.clone()))
}

pub async fn update<B: Backend>(db: &B, t: &EventType) -> Result<()> {
    let q = Query::new(
        "UPDATE event_types SET description = $2, example = $3, json_schema = $4, \
         updated_at = $5 WHERE name = $1",
    )
    .arg(t.name.as_str())
    .arg(t.description.as_str())
    .arg(t.example.as_deref())
    .arg(t.schema.as_deref())
    .arg(t.updated_at);
    one_row(db.execute(Conn::Write, q).await?)
}

pub async fn delete<B: Backend>(db: &B, name: &str) -> Result<()> {
    let q = Query::new("DELETE FROM event_types WHERE name = $1").arg(name);
    one_row(db.execute(Conn::Write, q).await?)
}
