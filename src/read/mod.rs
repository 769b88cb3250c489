//! The read methods (docs/contract.md §7): `user_details_get` (old name `user_details`), MOR's document,
//! and `user_details_raw_get`, every value `user_details_update` can change, named and written as
//! the update accepts it back.
//!
//! Both run the same way: the gate of every method ([`gate::authenticate`]: API switch, GET
//! switch, signature), then the target named by `user_id` and/or `username`, then who may read
//! whom ([`permissions::may_read`]); only the view differs ([`details`], [`raw`]). Nothing is
//! written, except what the gate keeps of a refused hash and, when `audit_reads` is on, one
//! audit row per successful read.

mod details;
mod raw;

use crate::auth::gate::{self, RequestInfo};
use crate::auth::permissions;
use crate::catalogue::errors::{PageError, msg};
use crate::domain::{Answer, Caller, Outcome, Refusal, Role, User, in_transaction};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{AuditEntry, AuditEvent, Database, KeySlot, RequestStore};
use crate::values::{self, AuditTime};

/// Which view a read method answers with.
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

/// Runs a read method in its own transaction.
#[tracing::instrument(level = "debug", skip_all, fields(shape = ?shape))]
pub async fn serve(db: &Database, request: ReadRequest, shape: Shape) -> Outcome<Answer> {
    in_transaction(db, move |store| run(store, &request, shape)).await
}

/// The whole method inside one transaction.
fn run(store: &mut dyn RequestStore, req: &ReadRequest, shape: Shape) -> Outcome<Answer> {
    gate::preload(store, &req.params, &req.info)?;
    let caller = gate::authenticate(store, &req.params, &req.info)?;
    let user = target(store, &caller, &req.params)?;
    if Setting::AuditReads.flag(store, 0)? {
        store.insert_audit(&[read_entry(&caller, &user, &req.info)])?;
    }
    Ok(match shape {
        Shape::Details => Answer::Details(Box::new(details::view(store, &user)?)),
        Shape::Raw => Answer::Raw(raw::view(store, &user)?),
    })
}

/// The audit row of a successful read of personal data (setting `audit_reads`): who read whom,
/// when, from where; no values.
fn read_entry(caller: &Caller, user: &User, info: &RequestInfo) -> AuditEntry {
    AuditEntry {
        created_at: AuditTime::now().stored(),
        request_id: info.request_id.clone(),
        event: AuditEvent::Read,
        actor_id: Some(caller.id),
        actor_username: caller.username.clone(),
        client_addr: info.client_addr.clone(),
        endpoint: info.endpoint.clone(),
        target_id: Some(user.id),
        field: String::new(),
        old_value: None,
        new_value: None,
        signed_with: caller.signed_with.map(KeySlot::stored).unwrap_or_default(),
    }
}

/// The user the request names, if the caller may read him.
///
/// `user_id` (digits only, as the hash reads it) and `username` (exact match) each name a user;
/// when both are sent they must name the same one. A parameter sent empty counts as not sent;
/// when neither is left the answer is `User was not found` with a message saying what to send.
/// A user the caller may not read is answered exactly like one that does not exist.
fn target(store: &mut dyn RequestStore, caller: &Caller, params: &Params) -> Outcome<User> {
    let raw_id = params.get("user_id").filter(|v| !v.is_empty());
    let username = params.get("username").filter(|v| !v.is_empty());
    let not_found = || Refusal::page(PageError::UserNotFound);
    let found = match (raw_id, username) {
        (None, None) => {
            return Err(Refusal::Page {
                error: PageError::UserNotFound,
                messages: vec![msg::USER_ID_OR_USERNAME_REQUIRED.to_string()],
            }
            .into());
        }
        (Some(raw), name) => {
            let Some(id) = values::user_id(raw) else { return Err(not_found().into()) };
            store.user_by_id(id)?.and_then(User::from_row).filter(|u| name.is_none_or(|n| u.username == n))
        }
        // A name no engine could store names nobody (and is never looked up).
        (None, Some(name)) if !values::storable(name) => None,
        (None, Some(name)) => store.user_by_username(name)?.and_then(User::from_row),
    };
    let user = found.ok_or_else(not_found)?;
    let user_manage = if caller.role == Role::Accountant {
        let rights = store.group_rights(caller.acc_group_id)?;
        permissions::effective_right(rights.value(crate::catalogue::rights::USER_MANAGE), rights.only_view)
    } else {
        0
    };
    if permissions::may_read(caller.role, caller.id, user.id, user.owner_id, user_manage) {
        Ok(user)
    } else {
        Err(not_found().into())
    }
}
