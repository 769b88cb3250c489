//! The domain's vocabulary: the typed people a request is about ([`user`]), how a request ends
//! ([`outcome`]: an answer, or a refusal, in one transaction), what the read methods return
//! ([`view`]), the columns computed from several parameters ([`derived`]), and the audit rows of
//! records created, deleted and changed ([`audit`]).
//!
//! The methods themselves ([`crate::update`], [`crate::read`]) and the gate and permissions
//! ([`crate::auth`]) are built from these; [`crate::http`] turns their outcome into XML.

pub mod audit;
pub mod derived;
pub mod outcome;
pub mod rules;
pub mod user;
pub mod view;

pub use outcome::{Answer, Failure, Outcome, Refusal, in_transaction};
pub use user::{Caller, Role, User, UserType};
pub use view::{DetailsView, RawView, Registration, UserSummary};
