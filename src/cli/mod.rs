//! The command line. One file per subcommand: its options and its `run`, which returns
//! `anyhow::Result<()>` and prints its own output. Shared parts are leaf modules that import no
//! command: `db` (the `--database` / `--database-file` flags, one transaction helper), `run` (the
//! async runtime, exit statuses) and `output` (tables, JSON, prompts). `config` takes serve's
//! settings from `--config FILE` before any command runs, and makes every boolean flag read from
//! the environment take `1`/`0` as well as `true`/`false`.
//!
//! Exit status, the same for every command (mapped in one place, [`run::status`]):
//! * 0: done;
//! * 1: the command ran and failed: a value refused by a field's or a setting's rule, a record
//!   that does not exist or is still used, the database unreachable; for `call`, the server
//!   answered with an error;
//! * 2: the command line itself is unusable: clap's own errors, and the checks clap cannot make
//!   of how arguments are written or combined ([`run::Usage`]: `NAME=VALUE` pairs, URLs,
//!   `--timeout`, `--since` after `--until`, no key for `call`; a config file or a database URL
//!   file that cannot be read or used);
//! * 3: `call` only: no answer came (connection, TLS, timeout).
//!
//! Every command that changes the database writes its audit rows in the same transaction
//! (`domain::audit`): actor `cli:NAME` (`--actor NAME`, `MORAPI_ACTOR`, else the OS user), no
//! actor id, client `local`, the command as the endpoint, one request id per command.

pub mod audit;
pub mod backup;
#[cfg(feature = "client")]
pub mod call;
pub mod completions;
pub mod config;
pub mod db;
pub mod docs;
pub mod groups;
pub mod hash;
pub mod init;
pub mod lockouts;
pub mod man;
pub mod migrate;
pub mod output;
pub mod records;
pub mod run;
pub mod serve;
pub mod settings;
pub mod user;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "morapi",
    version,
    about = "A MOR-compatible billing API server (user_details_update, user_details_get, user_details_raw_get)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the MOR API over HTTP.
    Serve(serve::Opts),
    /// Compute the hash MOR expects for a request, and show the exact string that was hashed.
    Hash(hash::Opts),
    /// Show the audit trail, newest first: changes (old → new), creations, deletions, settings, lockouts; --json to export.
    Audit(audit::Opts),
    /// Send a signed request to morapi or any MOR server and print the XML answer (--dry-run: show it).
    #[cfg(feature = "client")]
    Call(call::Opts),
    /// Create a database with its admin and a new API secret key.
    Init(init::Opts),
    /// Bring the database schema to this morapi's version (--status: only show it).
    Migrate(migrate::Opts),
    /// Billing users: add, list, show, passwd, set (owner, group), delete.
    User(user::Opts),
    /// API settings per owner: list, get, set; API keys: generate-key, rotate-key, promote-key.
    Settings(settings::Opts),
    /// Refused credentials and lockouts: list them, lift a lock.
    Lockouts(lockouts::Opts),
    /// Print the settings or the parameter table as Markdown (README.md's tables come from here).
    Docs(docs::Opts),
    /// Print serve's effective configuration (secrets masked) and where each value comes from;
    /// --sample: a commented config file with every key.
    Config(config::Opts),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(completions::Opts),
    /// Print the manual page in roff (--out-dir: write one page per command).
    Man(man::Opts),
    /// Copy a SQLite database to a file, consistently, while servers use it.
    Backup(backup::Opts),
}

/// The whole command line: the commands above plus one per record kind (`records::KINDS`).
pub fn command() -> clap::Command {
    config::boolish_env(Cli::command().subcommands(records::commands()))
}

pub fn main() -> ExitCode {
    let matches = command().get_matches();
    let label = label(&matches);
    // `serve` and `config` take the settings of `--config FILE` that no flag or variable gives.
    let result = config::layer(matches, std::env::args_os().collect()).and_then(|layered| {
        db::check(&layered.matches)?;
        dispatch(&layered)
    });
    run::finish(&label, result)
}

/// What a command's error messages start with: `morapi NAME`, `morapi KIND ACTION` for a record
/// kind, and plain `morapi` for the server (as its other lines).
fn label(matches: &ArgMatches) -> String {
    match matches.subcommand() {
        None | Some(("serve", _)) => "morapi".into(),
        Some((name, sub)) if records::kind(name).is_some() => {
            format!("morapi {name} {}", sub.subcommand_name().unwrap_or_default())
        }
        Some((name, _)) => format!("morapi {name}"),
    }
}

fn dispatch(layered: &config::Layered) -> anyhow::Result<()> {
    let matches = &layered.matches;
    if let Some((name, sub)) = matches.subcommand()
        && let Some(result) = records::run(name, sub)
    {
        return result;
    }
    let cli = match Cli::from_arg_matches(matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Serve(opts) => serve::run(opts),
        Command::Hash(opts) => hash::run(opts),
        Command::Audit(opts) => audit::run(opts),
        #[cfg(feature = "client")]
        Command::Call(opts) => call::run(opts),
        Command::Init(opts) => init::run(opts),
        Command::Migrate(opts) => migrate::run(opts),
        Command::User(opts) => user::run(opts),
        Command::Settings(opts) => settings::run(opts),
        Command::Lockouts(opts) => lockouts::run(opts),
        Command::Docs(opts) => docs::run(opts),
        Command::Config(opts) => config::run(opts, layered),
        Command::Completions(opts) => completions::run(opts),
        Command::Man(opts) => man::run(opts),
        Command::Backup(opts) => backup::run(opts),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        super::command().debug_assert();
    }
}
