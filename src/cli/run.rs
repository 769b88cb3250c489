//! Running a command: the one async runtime commands use, and how a command's error becomes its
//! message and exit status (the rule is in [`crate::cli`]'s module docs).

use std::future::Future;
use std::process::ExitCode;

/// Exit status of a command that failed (the default for any error).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of a command line that cannot be used as given (clap uses it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit status of `morapi call` when no answer came.
pub const EXIT_NO_ANSWER: u8 = 3;

/// The command line cannot be used as given: a check of the arguments' form that clap cannot
/// make itself (`NAME=VALUE` pairs, a URL, an empty time range). Exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// `morapi call` got no answer (connection, TLS, timeout). Exit status 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoAnswer(pub String);

/// The exit status of an error: the one place errors are mapped to statuses.
pub fn status(e: &anyhow::Error) -> u8 {
    if e.is::<Usage>() {
        EXIT_USAGE
    } else if e.is::<NoAnswer>() {
        EXIT_NO_ANSWER
    } else {
        EXIT_FAILURE
    }
}

/// Ends a command: nothing more on success; `WHAT: error` on stderr and the error's status.
pub fn finish(what: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{what}: {e:#}");
            ExitCode::from(status(&e))
        }
    }
}

/// Runs a command's future on a small single-threaded runtime (the server builds its own).
pub fn block_on<T>(f: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?
        .block_on(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn errors_map_to_their_status_through_context() {
        assert_eq!(status(&anyhow::anyhow!("there is no user 9")), EXIT_FAILURE);
        assert_eq!(status(&Usage("expected NAME=VALUE".into()).into()), EXIT_USAGE);
        let wrapped = Err::<(), _>(NoAnswer("refused".into())).context("no answer from http://h");
        assert_eq!(wrapped.map_err(|e| status(&e)), Err(EXIT_NO_ANSWER));
    }
}
