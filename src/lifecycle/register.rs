//! Not built yet (issue 12 in progress): answers as a method morapi does not serve.

use super::LifecycleRequest;
use crate::catalogue::errors::GateError;
use crate::domain::{Answer, Outcome, Refusal};
use crate::storage::Database;

pub async fn serve(_db: &Database, _request: LifecycleRequest) -> Outcome<Answer> {
    Err(Refusal::Gate(GateError::NoSuchApi).into())
}
