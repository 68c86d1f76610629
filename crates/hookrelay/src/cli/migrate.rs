//! `hookrelay migrate`: applies the embedded migrations and exits (`serve` does this too).

use crate::app::{pool_settings, redact};
use crate::config::Config;
use crate::store;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = store::connect(&config.database_url, &pool_settings(&config)).await?;
    store.migrate().await?;
    println!("migrated {}", redact(&config.database_url));
    Ok(())
}
