//! What every database command shares: the `--database` / `--database-file` flags, the `--actor` of the commands that
//! change something (their audit rows say who), one transaction helper, and the owner check of
//! users and settings.

use super::run::Usage;
use crate::domain::audit::{Actor, CLI_PREFIX};
use crate::domain::{User, UserType};
use crate::storage::{AdminStore, Database, PoolOptions, StoreError, Tx, redact, redact_message};
use std::path::PathBuf;

/// The database a command opens: `--database URL` (`MORAPI_DATABASE`), or `--database-file FILE`
/// (`MORAPI_DATABASE_FILE`), whose contents are the URL, so that the password need not be on a
/// command line or in the environment (systemd's `LoadCredential=`). Flattened into every command
/// that opens a database; both arguments are global. Built by hand rather than derived because
/// which of the two wins depends on where each was given ([`resolve`]).
#[derive(Debug, Clone)]
pub struct DbArgs {
    /// The URL, read from the file when the file wins.
    pub database: String,
}

/// The argument ids of the two ways to name the database, which exclude each other.
pub const DATABASE: &str = "database";
pub const DATABASE_FILE: &str = "database_file";

impl clap::Args for DbArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        use clap::{Arg, value_parser};
        cmd.arg(
            Arg::new(DATABASE)
                .long("database")
                .global(true)
                .env("MORAPI_DATABASE")
                .hide_env_values(true)
                .value_name("URL")
                .default_value("sqlite://morapi.db")
                .help("Database URL: sqlite://PATH, postgres://… or mysql://…"),
        )
        .arg(
            Arg::new(DATABASE_FILE)
                .long("database-file")
                .global(true)
                .env("MORAPI_DATABASE_FILE")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help(
                    "Read the database URL from this file (white space around it ignored), e.g. a systemd \
                     credential; instead of --database",
                ),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for DbArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let url = resolve(matches)
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n")))?;
        Ok(DbArgs { database: url.url })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The database URL a command line names, and the file it was read from, if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub url: String,
    pub file: Option<PathBuf>,
}

/// Which of `--database` and `--database-file` names the database: the one given at the higher
/// level (flag > environment > default; the config file's values come in as flags only when
/// neither is given above it, see `config`). Both at the same level is refused rather than
/// guessed.
pub fn resolve(matches: &clap::ArgMatches) -> Result<DatabaseUrl, String> {
    let url = matches.get_one::<String>(DATABASE).cloned().unwrap_or_default();
    let (url_level, file_level) = (matches.value_source(DATABASE), matches.value_source(DATABASE_FILE));
    match matches.get_one::<PathBuf>(DATABASE_FILE) {
        Some(path) if file_level > url_level => Ok(DatabaseUrl { url: read_url(path)?, file: Some(path.clone()) }),
        Some(_) if file_level == url_level => Err(match url_level {
            Some(clap::parser::ValueSource::EnvVariable) => {
                "MORAPI_DATABASE and MORAPI_DATABASE_FILE are both set: keep one".to_string()
            }
            _ => "--database and --database-file both name the database: give one".to_string(),
        }),
        _ => Ok(DatabaseUrl { url, file: None }),
    }
}

/// Checks, before any command runs, how its command line names the database (when the command
/// opens one), so that an unreadable `--database-file` is a usage error like any other, whichever
/// command it is given to. Global arguments reach every level below the one that defines them;
/// the first level that knows them is asked.
pub fn check(matches: &clap::ArgMatches) -> Result<(), Usage> {
    let mut level = matches;
    loop {
        if level.try_get_one::<String>(DATABASE).is_ok() {
            return resolve(level).map(drop).map_err(Usage);
        }
        match level.subcommand() {
            Some((_, sub)) => level = sub,
            None => return Ok(()),
        }
    }
}

/// The URL held by `path`, without the white space around it (the newline editors and `echo` add).
fn read_url(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the database URL from {}: {e}", path.display()))?;
    let url = text.trim();
    if url.is_empty() {
        return Err(format!("the database URL file {} is empty", path.display()));
    }
    if url.contains(['\n', '\r']) {
        return Err(format!("the database URL file {} holds more than one line", path.display()));
    }
    Ok(url.to_string())
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
