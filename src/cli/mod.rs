//! The command line. One file per subcommand: its options and its `run`.

pub mod hash;
pub mod serve;

use clap::{Parser, Subcommand};
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
}

pub fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(opts) => serve::run(opts),
        Command::Hash(opts) => hash::run(opts),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
