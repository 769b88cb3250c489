//! The command line. One file per subcommand: its options and its `run`.

pub mod audit;
#[cfg(feature = "client")]
pub mod call;
pub mod groups;
pub mod hash;
pub mod init;
pub mod migrate;
pub mod output;
pub mod records;
pub mod serve;
pub mod settings;
pub mod user;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::future::Future;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "morapi", version, about = "A MOR-compatible billing API server (user_details_update)")]
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
    /// Show the audit trail, newest first: changes (old → new), refused hashes; --json to export.
    Audit(audit::Opts),
    /// Send a signed request to morapi or any MOR server and print the XML answer (--dry-run: show it).
    #[cfg(feature = "client")]
    Call(call::Opts),
    /// Create a database with its admin and a new API secret key.
    Init(init::Opts),
    /// Create or update the database schema (every start does it too).
    Migrate(migrate::Opts),
    /// Billing users: add, list, show, passwd, delete.
    User(user::Opts),
    /// API settings per owner: list, get, set.
    Settings(settings::Opts),
}

/// The whole command line: the commands above plus one per record kind (`records::KINDS`).
pub fn command() -> clap::Command {
    Cli::command().subcommands(records::commands())
}

pub fn main() -> ExitCode {
    let matches = command().get_matches();
    if let Some((name, sub)) = matches.subcommand()
        && let Some(code) = records::run(name, sub)
    {
        return code;
    }
    let cli = match Cli::from_arg_matches(&matches) {
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
    }
}

/// Runs an administration command's future on a small runtime.
pub fn block_on<T>(f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(f)
}

/// Prints a command's result: the text on stdout, or `WHAT: error` on stderr with exit code 1.
pub fn finish(what: &str, result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{what}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        super::command().debug_assert();
    }
}
