//! The read methods (read-back.md): `user_details_get` (old name `user_details`), MOR's document,
//! and `user_details_raw_get`, every value `user_details_update` can change, named and written as
//! the update accepts it back.
//!
//! Both run the same way: the gate of every method ([`gate::authenticate`]: API switch, GET
//! switch, signature), then the target named by `user_id` and/or `username`, then who may read
//! whom ([`permissions::may_read`]); only the answer's shape differs ([`details`], [`raw`]).
//! Nothing is written, except the audit row of a refused hash that the gate keeps.

mod details;
mod raw;

use crate::auth::gate::{self, Caller, Refusal, RequestInfo};
use crate::auth::permissions::{self, Role};
use crate::catalogue::errors::{GateError, PageError, msg};
use crate::http::xml::Element;
use crate::params::Params;
use crate::storage::{Repo, Result, Row, Table, User, Value};
use crate::update::parse_user_id;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Which answer a read method gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `user_details_get`: MOR's `Personal_details` page.
    Details,
    /// `user_details_raw_get`: one element per update parameter.
    Raw,
}

/// One read request, ready to run.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub params: Params,
    pub info: RequestInfo,
}

/// What a read method answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `<status><error>…</error></status>` (gate).
    Gate(GateError),
    /// `<page><error>…</error><message>…</message>…</page>`.
    Page { error: PageError, messages: Vec<String> },
    /// The document's root element.
    Found(Element),
}

impl Answer {
    pub fn page(error: PageError) -> Answer {
        Answer::Page { error, messages: Vec::new() }
    }
}

/// Runs a read method inside one transaction. Returns the answer and whether the transaction
/// must be kept: only when the gate wrote the audit row of a refused hash.
pub fn run(repo: &mut dyn Repo, req: &ReadRequest, shape: Shape) -> Result<(Answer, bool)> {
    repo.preload(req.params.get("u").unwrap_or_default(), None)?;
    let caller = match gate::authenticate(repo, &req.params, &req.info)? {
        Ok(caller) => caller,
        Err((Refusal::Gate(g), keep)) => return Ok((Answer::Gate(g), keep)),
        Err((Refusal::Page(p), keep)) => return Ok((Answer::page(p), keep)),
    };
    let answer = match target(repo, &caller, &req.params)? {
        Err(refusal) => refusal,
        Ok(user) => Answer::Found(match shape {
            Shape::Details => details::page(repo, &user)?,
            Shape::Raw => raw::page(repo, &user)?,
        }),
    };
    Ok((answer, false))
}

/// The user the request names, if the caller may read him.
///
/// `user_id` (digits only, as the hash reads it) and `username` (exact match) each name a user;
/// when both are sent they must name the same one. A parameter sent empty counts as not sent;
/// when neither is left the answer is `User was not found` with a message saying what to send.
/// A user the caller may not read is answered exactly like one that does not exist.
fn target(repo: &mut dyn Repo, caller: &Caller, params: &Params) -> Result<std::result::Result<User, Answer>> {
    let raw_id = params.get("user_id").filter(|v| !v.is_empty());
    let username = params.get("username").filter(|v| !v.is_empty());
    let not_found = || Ok(Err(Answer::page(PageError::UserNotFound)));
    let found = match (raw_id, username) {
        (None, None) => {
            return Ok(Err(Answer::Page {
                error: PageError::UserNotFound,
                messages: vec![msg::USER_ID_OR_USERNAME_REQUIRED.to_string()],
            }));
        }
        (Some(raw), name) => {
            let Some(id) = parse_user_id(Some(raw)) else { return not_found() };
            repo.user_by_id(id)?.filter(|u| name.is_none_or(|n| u.username == n))
        }
        (None, Some(name)) => repo.user_by_username(name)?,
    };
    let Some(user) = found else { return not_found() };
    let user_manage = if caller.role == Role::Accountant {
        let (value, only_view) = repo.group_right(caller.user.acc_group_id, "user_manage")?;
        permissions::effective_right(value, only_view)
    } else {
        0
    };
    if permissions::may_read(caller.role, caller.user.id, user.id, user.owner_id, user_manage) {
        Ok(Ok(user))
    } else {
        not_found()
    }
}

/// The user's row of `table` (`addresses`, `taxes`) through the user's `fk` column, if any.
fn linked_row(repo: &mut dyn Repo, user: &User, table: Table, fk: &str) -> Result<Option<Row>> {
    match user.int(fk) {
        Some(id) => repo.row(table, id),
        None => Ok(None),
    }
}

/// A stored decimal (canonical text on every engine; integers tolerated).
fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Text(s) => Decimal::from_str(s.trim()).ok(),
    }
}

/// A decimal in its shortest exact form (`10.50` → `10.5`, `-0` → `0`): the form the update
/// stores, so writing it back changes nothing.
fn canonical(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d.to_string()
}

/// A decimal with exactly four decimals, rounded half away from zero (MOR's `0.0000`).
fn four_decimals(d: Decimal) -> String {
    let mut d = d.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d.rescale(4);
    d.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_render_canonically_and_with_four_places() {
        let d = |s: &str| decimal(&Value::from(s)).unwrap_or_else(|| panic!("{s} parses"));
        assert_eq!(canonical(d("10.50")), "10.5");
        assert_eq!(canonical(d("100")), "100");
        assert_eq!(canonical(d("-0.000")), "0");
        assert_eq!(canonical(d("0.920000000000000")), "0.92");
        assert_eq!(four_decimals(d("0")), "0.0000");
        assert_eq!(four_decimals(d("100")), "100.0000");
        assert_eq!(four_decimals(d("12.34565")), "12.3457");
        assert_eq!(four_decimals(d("-12.34565")), "-12.3457");
        assert_eq!(four_decimals(d("-0.00001")), "0.0000");
        assert_eq!(four_decimals(d("1.5")), "1.5000");
        assert_eq!(decimal(&Value::Int(7)).map(canonical), Some("7".into()));
        assert_eq!(decimal(&Value::Null), None);
        assert_eq!(decimal(&Value::from("junk")), None);
    }
}
