//! How an API request ended, as the request log and the metrics say it: a short class from a
//! fixed set (a metric label: never free text, so the number of series stays bounded) and the
//! text the client was answered. Never a parameter's value: a refusal's `<message>`s (which can
//! quote values, e.g. an e-mail address already in use) are counted, not written.

use super::Error;
use super::error::storage_answer;
use crate::catalogue::errors::{GateError, PageError, msg};
use crate::domain::{Answer, Failure, Refusal};
use std::borrow::Cow;

/// One request's ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `updated`, `answered`, `created`, `deleted`, `logged_in`, `login_failed`, `refused`,
    /// `denied`, `bad_hash`, `locked`, `not_found`,
    /// `method_not_allowed`, `too_large`, `bad_request`, `timed_out`, `db_unavailable`, `db_busy`,
    /// `commit_unknown` or `error`.
    pub class: &'static str,
    /// What the client was told (the `<status>` or `<error>` text), without its `<message>`s.
    pub text: Cow<'static, str>,
    /// How many `<message>`s came with it.
    pub messages: usize,
}

impl Outcome {
    fn of(class: &'static str, text: impl Into<Cow<'static, str>>) -> Outcome {
        Outcome { class, text: text.into(), messages: 0 }
    }

    pub fn answered(answer: &Answer) -> Outcome {
        match answer {
            Answer::Updated => Outcome::of("updated", crate::catalogue::errors::USER_UPDATED),
            Answer::Details(_) | Answer::Raw(_) | Answer::Users(_) => Outcome::of("answered", "answered"),
            Answer::Registered(_) => Outcome::of("created", crate::catalogue::errors::registration::SUCCESSFUL),
            Answer::Deleted => Outcome::of("deleted", crate::catalogue::errors::USER_DELETED),
            Answer::LoggedIn { .. } => Outcome::of("logged_in", crate::catalogue::errors::action::LOGGED_IN),
            Answer::LoginFailed => Outcome::of("login_failed", crate::catalogue::errors::action::LOGIN_FAILED),
            Answer::LoggedOut { ok } => Outcome::of("answered", if *ok { "ok" } else { "failed" }),
        }
    }

    pub fn failed(error: &Error) -> Outcome {
        match error {
            Error::NotFound => Outcome::of("not_found", GateError::NoSuchApi.text()),
            Error::MethodNotAllowed => Outcome::of("method_not_allowed", GateError::MethodNotAllowed.text()),
            Error::BodyTooLarge => Outcome::of("too_large", GateError::BodyTooLarge.text()),
            Error::HeadersTooLarge => Outcome::of("too_large", GateError::HeadersTooLarge.text()),
            Error::UriTooLong => Outcome::of("too_large", GateError::UriTooLong.text()),
            Error::BodyNotRead => Outcome::of("bad_request", GateError::BodyNotRead.text()),
            Error::BodyTimedOut => Outcome::of("timed_out", GateError::BodyTimedOut.text()),
            Error::TimedOut => Outcome::of("timed_out", GateError::TimedOut.text()),
            Error::TimedOutRead => Outcome::of("timed_out", PageError::TimedOutRead.text()),
            Error::TimedOutMayApply => Outcome::of("timed_out", PageError::TimedOutMayApply.text()),
            Error::TimedOutOther => Outcome::of("timed_out", "request timed out"),
            Error::Failed(Failure::Refused(r)) => refused(r),
            Error::Failed(Failure::Store(e)) => {
                let answer = storage_answer(e);
                let class = match answer {
                    PageError::DatabaseUnavailable => "db_unavailable",
                    PageError::DatabaseBusy => "db_busy",
                    PageError::CommitUnknown => "commit_unknown",
                    _ => "error",
                };
                Outcome::of(class, answer.text())
            }
            Error::Failed(Failure::Internal(_)) => Outcome::of("error", PageError::Internal.text()),
        }
    }

    /// Whether this is a refused hash (counted on its own: the attempts lockouts are made of).
    pub fn bad_hash(&self) -> bool {
        self.class == "bad_hash"
    }
}

fn refused(r: &Refusal) -> Outcome {
    match r {
        Refusal::Gate(GateError::NoSuchApi) => Outcome::of("not_found", GateError::NoSuchApi.text()),
        Refusal::Gate(g) => Outcome::of("refused", g.text()),
        Refusal::HashRefused(g) => Outcome::of("bad_hash", g.text()),
        Refusal::Locked { seconds } => Outcome::of("locked", msg::locked(*seconds)),
        Refusal::Page { error, messages } => {
            let class = match error {
                PageError::AccessDenied | PageError::NoEditingPermission => "denied",
                _ => "refused",
            };
            Outcome { class, text: error.text().into(), messages: messages.len() }
        }
        Refusal::Counted(error) => Outcome::of("denied", error.text()),
        // The problems' texts can quote values (a user type sent): counted, not written.
        Refusal::Problems(problems) => {
            Outcome { class: "refused", text: "problems listed".into(), messages: problems.len() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_counted_not_written() {
        let r = Refusal::Page { error: PageError::UserNotUpdated, messages: vec![msg::email_used("a@b.lt")] };
        let o = Outcome::failed(&Error::Failed(Failure::Refused(r)));
        assert_eq!((o.class, o.text.as_ref(), o.messages), ("refused", "User was not updated", 1));
        let o = Outcome::failed(&Error::Failed(Failure::Refused(Refusal::HashRefused(GateError::IncorrectHash))));
        assert!(o.bad_hash() && o.text == "Incorrect hash");
        let o = Outcome::failed(&Error::Failed(Failure::Store(crate::storage::StoreError::Conflict("x".into()))));
        assert_eq!(o.class, "db_busy");
    }
}
