//! How an API request ends, for every method: an [`Answer`], or a [`Failure`] — a [`Refusal`]
//! (MOR's error document) or a storage or internal error. One transaction per request; what it
//! keeps follows from the outcome ([`in_transaction`]), never from a flag.

use super::view::{DetailsView, RawView, Registration, UserSummary};
use crate::catalogue::errors::{GateError, PageError};
use crate::storage::{Database, RequestStore, StoreError, Tx};

/// What a method answers when it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `user_details_update`: the change is committed (or there was nothing to change).
    Updated,
    /// `user_details_get`.
    Details(Box<DetailsView>),
    /// `user_details_raw_get`.
    Raw(RawView),
    /// `user_register`: the user and his device are created.
    Registered(Box<Registration>),
    /// `users_get`: the users the caller may list, by id.
    Users(Vec<UserSummary>),
    /// `user_delete`: the user and his records are removed.
    Deleted,
    /// `user_login`: the credentials are right.
    LoggedIn { user_id: i64 },
    /// `user_login`: they are not (MOR answers this as a document, not an error).
    LoginFailed,
    /// `user_logout`: `ok` unless `u` was missing or empty.
    LoggedOut { ok: bool },
}

/// Why a request was refused: the document the client is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `<status><error>`: refused before the method ran (API or GET switched off, no key).
    Gate(GateError),
    /// `<status><error>` for a refused signature. It is counted towards a lockout (and may start
    /// one), and that record is kept: the one refusal that writes.
    HashRefused(GateError),
    /// `<status><error>`: the name or the client address is locked out for `seconds` more.
    Locked { seconds: i64 },
    /// `<page><error>` with one `<message>` per problem, decided by the method.
    Page { error: PageError, messages: Vec<String> },
    /// A method's refusal whose failure was counted towards a lockout (and may have started
    /// one): kept like [`Refusal::HashRefused`], answered like [`Refusal::Page`] without messages.
    Counted(PageError),
    /// Several problems found by a step that lists them all (docs/contract.md, lifecycle §1.8):
    /// the first is the error; with more than one, every one (the first included) follows as a
    /// `<message>`. Never empty.
    Problems(Vec<String>),
}

impl Refusal {
    pub fn page(error: PageError) -> Refusal {
        Refusal::Page { error, messages: Vec::new() }
    }

    /// Whether the refusal wrote its record, so that its transaction must be committed.
    pub fn audited(&self) -> bool {
        matches!(self, Refusal::HashRefused(_) | Refusal::Counted(_))
    }

    /// The problems found, as one refusal (`None` when there are none).
    pub fn problems(problems: Vec<String>) -> Option<Refusal> {
        (!problems.is_empty()).then_some(Refusal::Problems(problems))
    }
}

/// Why a request ended without its answer.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not the database's fault and not the client's (a failed password hash).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Failure {
        Failure::Refused(r)
    }
}

/// The result of a method's step: its value, or why the request ends here.
pub type Outcome<T> = std::result::Result<T, Failure>;

/// Runs a method's work in one transaction. Its answer is committed; a refusal is rolled back
/// unless it wrote its audit row; a storage error rolls back (and the storage may retry the work,
/// which is why `work` is `Fn`).
pub async fn in_transaction<T, F>(db: &Database, work: F) -> Outcome<T>
where
    T: Send + 'static,
    F: Fn(&mut dyn RequestStore) -> Outcome<T> + Send + 'static,
{
    let decided = db
        .transact(move |store| match work(store) {
            Ok(answer) => Ok(Tx::Commit(Ok(answer))),
            Err(Failure::Refused(r)) if r.audited() => Ok(Tx::Commit(Err(Failure::Refused(r)))),
            Err(Failure::Store(e)) => Err(e),
            Err(other) => Ok(Tx::Rollback(Err(other))),
        })
        .await;
    decided.unwrap_or_else(|e| Err(Failure::Store(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_counted_refusals_are_kept() {
        assert!(Refusal::HashRefused(GateError::IncorrectHash).audited());
        assert!(Refusal::Counted(PageError::AccessDenied).audited());
        assert!(!Refusal::Problems(vec!["x".into()]).audited());
        assert_eq!(Refusal::problems(Vec::new()), None);
        assert!(!Refusal::Gate(GateError::ApiDisabled).audited());
        assert!(!Refusal::page(PageError::AccessDenied).audited());
    }
}
