//! The demo dataset (docs/contract.md §9), loaded by `morapi serve --demo` into an empty database.

use super::{Database, Result};

/// The dataset as SQL; plain INSERTs so every engine can run it.
pub const SQL: &str = include_str!("demo.sql");

/// Loads the demo data if the database has no users. Returns whether it did.
pub async fn load(db: &Database) -> Result<bool> {
    db.administer(|store| {
        if store.user_count()? > 0 {
            return Ok(super::Tx::Rollback(false));
        }
        store.execute_script(SQL)?;
        Ok(super::Tx::Commit(true))
    })
    .await
}
