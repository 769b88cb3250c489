//! What every database command shares: the `--database` flag, the `--actor` of the commands that
//! change something (their audit rows say who), one transaction helper, and the owner check of
//! users and settings.

use super::run::Usage;
use crate::domain::audit::{Actor, CLI_PREFIX};
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

/// Who runs a command that changes something, for its audit rows: `--actor NAME` (or
/// `MORAPI_ACTOR`), else the operating-system user (`$USER`, `$LOGNAME`, else `uid:N`). The name
/// is what the operator says: the audit trail records it as given (`cli:NAME`), it proves nothing.
#[derive(Debug, Clone, clap::Args)]
#[command(about = None, long_about = None)]
pub struct ActorArgs {
    /// Who is acting, for the audit trail (recorded as cli:NAME) [default: the OS user]
    #[arg(long, global = true, env = "MORAPI_ACTOR", hide_env_values = true, value_name = "NAME")]
    pub actor: Option<String>,
}

/// The longest name `--actor` takes (the audit column holds 255 characters).
const ACTOR_MAX_CHARS: usize = 64;

impl ActorArgs {
    /// The audit rows' actor for the command `endpoint` (`user add`, `settings set`, …), with a
    /// new request id. An unusable `--actor` is a usage error.
    pub fn actor(&self, endpoint: &str) -> anyhow::Result<Actor> {
        let name = match &self.actor {
            // An empty MORAPI_ACTOR (or --actor "") names nobody: the OS user acts.
            Some(given) if !given.trim().is_empty() => {
                let name = given.trim();
                let name = name.strip_prefix(CLI_PREFIX).unwrap_or(name);
                if let Some(problem) = actor_problem(name) {
                    return Err(Usage(format!("--actor {given:?}: {problem}")).into());
                }
                name.to_string()
            }
            _ => os_user(),
        };
        Ok(Actor::command_line(&name, endpoint))
    }
}

/// Why a name cannot be an actor, if it cannot.
fn actor_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("give a name".into())
    } else if name.chars().any(char::is_control) {
        Some("control characters are not allowed".into())
    } else if name.chars().count() > ACTOR_MAX_CHARS {
        Some(format!("at most {ACTOR_MAX_CHARS} characters"))
    } else {
        None
    }
}

/// The operating-system user running the command: `$USER`, else `$LOGNAME`, else `uid:N`.
fn os_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|n| n.trim().to_string())
        .find(|n| actor_problem(n).is_none())
        .unwrap_or_else(|| match uid() {
            Some(uid) => format!("uid:{uid}"),
            None => "unknown".into(),
        })
}

#[cfg(unix)]
fn uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    // The owner of this process's /proc entry is its real user (no libc call needed).
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn uid() -> Option<u32> {
    None
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

/// Why `id` cannot own users, records or settings, if it cannot: owners are 0 (the admin) or a
/// reseller.
pub fn owner_problem(repo: &mut dyn AdminStore, id: i64) -> Result<Option<String>, StoreError> {
    if id == 0 {
        return Ok(None);
    }
    Ok(match repo.user_by_id(id)?.and_then(User::from_row) {
        None => Some(format!("there is no user {id} (owners are 0 = admin or a reseller)")),
        Some(u) if u.user_type == UserType::Reseller => None,
        Some(u) => Some(format!(
            "user {id} ({}) is not a reseller but a {} (owners are 0 = admin or a reseller)",
            u.username,
            u.user_type.word()
        )),
    })
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
    fn actors_are_cli_names_and_bad_names_are_usage_errors() {
        let actor = |given: Option<&str>| ActorArgs { actor: given.map(str::to_string) }.actor("user add");
        let a = actor(Some("alice")).expect("alice");
        assert_eq!(
            (a.username.as_str(), a.endpoint.as_str(), a.client_addr.as_str()),
            ("cli:alice", "user add", "local")
        );
        assert_eq!(actor(Some(" cli:bob ")).expect("bob").username, "cli:bob", "the prefix is not doubled");
        // Nobody named: the OS user, whoever that is here.
        for nobody in [None, Some(""), Some("  ")] {
            let name = actor(nobody).expect("os user").username;
            assert!(name.starts_with("cli:") && name.len() > 4, "{name}");
        }
        for bad in ["a\nb", "esc\u{1b}[31m", &"x".repeat(ACTOR_MAX_CHARS + 1), "cli:"] {
            let e = actor(Some(bad)).expect_err(bad);
            assert!(e.is::<Usage>(), "{bad:?}: {e}");
        }
        assert!(actor(Some(&"x".repeat(ACTOR_MAX_CHARS))).is_ok());
    }

    #[test]
    fn open_errors_never_show_the_password() {
        let args = DbArgs { database: "oracle://bob:s3cret@h/db".into() };
        let e = args.open().map(|_| ()).expect_err("unsupported scheme").to_string();
        assert!(e.starts_with("cannot open the database oracle://bob:***@h/db: "), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
}
