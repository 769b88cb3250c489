//! What every database command shares: the `--database` flag, one transaction helper, and the
//! owner check of users and settings.

use crate::domain::{User, UserType};
use crate::storage::{AdminStore, Database, PoolOptions, StoreError, Tx, redact, redact_message};

/// The `--database` flag (or `MORAPI_DATABASE`), flattened into every command that opens one.
#[derive(Debug, Clone, clap::Args)]
// No `about` from the doc comment: it would replace the about of the command it is added to.
#[command(about = None, long_about = None)]
pub struct DbArgs {
    /// Database URL: sqlite://PATH, postgres://… or mysql://…
    #[arg(long, global = true, env = "MORAPI_DATABASE", hide_env_values = true, default_value = "sqlite://morapi.db")]
    pub database: String,
}

impl DbArgs {
    /// Opens (creating and migrating when needed) the database.
    pub fn open(&self) -> anyhow::Result<Database> {
        self.open_with(PoolOptions::default())
    }

    /// [`DbArgs::open`] with pool options (`serve`).
    pub fn open_with(&self, options: PoolOptions) -> anyhow::Result<Database> {
        Database::open_with(&self.database, options).map_err(|e| {
            // The password kept out of both the URL and the driver's message.
            anyhow::anyhow!(
                "cannot open the database {}: {}",
                self.shown(),
                redact_message(&e.to_string(), &self.database)
            )
        })
    }

    /// The URL as it may be printed: the password, if any, as `***`.
    pub fn shown(&self) -> String {
        redact(&self.database)
    }
}

/// Runs `f` in one transaction and keeps its writes when it returns `Ok`. An error from `f`
/// rolls back and becomes the command's error; a storage error (`?` on a [`AdminStore`] call) reaches
/// the runner as it is, so that conflicts are retried.
pub async fn transact<T: Send + 'static>(
    db: &Database,
    f: impl Fn(&mut dyn AdminStore) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    db.administer(move |repo| match f(repo) {
        Ok(v) => Ok(Tx::Commit(Ok(v))),
        Err(e) => match e.downcast::<StoreError>() {
            Ok(store) => Err(store),
            Err(refused) => Ok(Tx::Rollback(Err(refused))),
        },
    })
    .await?
}

/// Whether user `id` is a reseller: the one kind of owner besides the admin (0).
pub fn is_reseller(repo: &mut dyn AdminStore, id: i64) -> Result<bool, StoreError> {
    Ok(repo.user_by_id(id)?.and_then(User::from_row).is_some_and(|u| u.user_type == UserType::Reseller))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "sqlite")]
    fn db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = DbArgs { database: url }.open().expect("open");
        (dir, db)
    }

    #[test]
    #[cfg(feature = "sqlite")]
    fn an_error_rolls_back_and_ok_keeps() {
        use crate::storage::Table;
        let (_dir, db) = db();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let refused = rt.block_on(transact(&db, |repo| -> anyhow::Result<()> {
            repo.insert_row(Table::Lcrs, &[("name", "gone".into())])?;
            anyhow::bail!("refused after a write")
        }));
        assert_eq!(refused.map_err(|e| e.to_string()), Err("refused after a write".to_string()));
        let kept = rt.block_on(transact(&db, |repo| Ok(repo.insert_row(Table::Lcrs, &[("name", "kept".into())])?)));
        assert!(kept.is_ok());
        let names = rt.block_on(transact(&db, |repo| Ok(repo.list_rows(Table::Lcrs, &[])?))).expect("list");
        let names: Vec<String> = names.iter().map(|r| crate::storage::text(r, "name")).collect();
        assert_eq!(names, ["kept"]);
    }

    #[test]
    fn open_errors_never_show_the_password() {
        let args = DbArgs { database: "oracle://bob:s3cret@h/db".into() };
        let e = args.open().map(|_| ()).expect_err("unsupported scheme").to_string();
        assert!(e.starts_with("cannot open the database oracle://bob:***@h/db: "), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
}
