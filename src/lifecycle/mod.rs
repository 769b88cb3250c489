//! The user lifecycle methods (docs/contract.md §12–§16): `user_register` ([`register`]),
//! `users_get` ([`users`]), `user_delete` ([`delete`]), `user_login` and `user_logout`
//! ([`login`]). Each runs like the update and the reads: the gate of every method
//! ([`crate::auth::gate::admit`]), then the method's steps in the contract's order, in one
//! transaction ([`crate::domain::in_transaction`]).

pub mod delete;
pub mod login;
pub mod register;
pub mod users;

use crate::auth::gate::RequestInfo;
use crate::params::Params;

/// One request to a lifecycle method, ready to run.
#[derive(Debug, Clone)]
pub struct LifecycleRequest {
    pub params: Params,
    pub info: RequestInfo,
}
