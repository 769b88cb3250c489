//! `user_details_update`: the order of checks of docs/contract.md §5, run inside one transaction.
//!
//! Everything is decided before anything is written: gate (steps 1–3), caller and target
//! (4–6), field permissions (7), references (8), values (9); only then the writes and their audit
//! rows (10). The first failing step answers and the transaction keeps nothing (except the audit
//! row of a refused hash).

mod change;
pub mod references;

pub use change::{Change, record_changes};

use crate::auth::gate::{self, RequestInfo};
use crate::auth::permissions::{self, FieldContext};
use crate::catalogue::errors::PageError;
use crate::catalogue::params::{AccRight, PARAMS, Param};
use crate::catalogue::rights::{PBX_FUNCTIONS, USER_MANAGE};
use crate::domain::{Answer, Caller, Failure, Outcome, Refusal, Role, User, in_transaction};
use crate::params::Params;
use crate::storage::{Database, GroupRights, RequestStore};
use crate::values;

/// One update request, ready to run.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub params: Params,
    pub info: RequestInfo,
}

/// How far one run of the method got. Private: only [`serve`] acts on it.
enum Step {
    Done(Answer),
    /// Everything passed and a new password was sent: hash it, off the transaction, and run
    /// again with the hash.
    HashPassword,
}

/// Runs the method. When a password must be hashed, it is hashed off the async threads (and off
/// SQLite's writer) and the method runs again, so Argon2 never runs for a request that fails
/// authentication or validation.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn serve(db: &Database, request: UpdateRequest) -> Outcome<Answer> {
    let first = request.clone();
    match in_transaction(db, move |store| run(store, &first, None)).await? {
        Step::Done(answer) => Ok(answer),
        Step::HashPassword => {
            let plain = request.params.get("pswd").unwrap_or_default().to_string();
            let hash = crate::password::hash_bounded(plain).await.map_err(Failure::Internal)?;
            match in_transaction(db, move |store| run(store, &request, Some(&hash))).await? {
                Step::Done(answer) => Ok(answer),
                // The second run has the hash, so it never asks for one.
                Step::HashPassword => Err(Failure::Internal("password hash requested twice".into())),
            }
        }
    }
}

/// The whole method inside one transaction; `password_hash` is the Argon2id hash of `pswd`,
/// once computed.
fn run(store: &mut dyn RequestStore, req: &UpdateRequest, password_hash: Option<&str>) -> Outcome<Step> {
    let user_id = req.params.get("user_id").and_then(values::user_id);
    gate::preload(store, &req.params, &req.info)?;
    let caller = gate::authenticate(store, &req.params, &req.info)?;
    // Steps 4 and 5.
    let target = locked_target(store, &caller, user_id)?;
    // Step 6. The caller's group rights are read once, for this step and the next.
    let rights = match caller.role {
        Role::Accountant | Role::Reseller => store.group_rights(caller.acc_group_id)?,
        Role::Admin | Role::User => GroupRights::default(),
    };
    if caller.role == Role::Accountant && !permissions::accountant_may_edit(rights.value(USER_MANAGE), rights.only_view)
    {
        return Err(Refusal::page(PageError::NoEditingPermission).into());
    }
    // Step 7.
    let sent = sent_params(&req.params);
    let refused = refused_fields(&caller, &rights, &target, &sent);
    if !refused.is_empty() {
        return Err(Refusal::Page { error: PageError::AccessDenied, messages: refused }.into());
    }
    // Step 8.
    references::check(store, &caller, &target, &req.params)?;
    // Step 9.
    let changes = change::build(store, &target, &req.params, &sent)?;
    // Step 10.
    if changes.new_password() && password_hash.is_none() {
        return Ok(Step::HashPassword);
    }
    change::write(store, &caller, &target, changes, password_hash, &req.info)?;
    Ok(Step::Done(Answer::Updated))
}

/// Steps 4–5, shared with `user_delete` (its steps 2–3 are these): whether the caller may name
/// a target at all (`Access Denied`), and the user `user_id` names as the caller sees him (`User
/// was not found` otherwise), locked until the transaction ends, so that what the method checks
/// and writes is not changed or deleted by another request in between.
pub fn locked_target(store: &mut dyn RequestStore, caller: &Caller, user_id: Option<i64>) -> Outcome<User> {
    if !permissions::may_call_update(caller.role, caller.id, user_id) {
        return Err(Refusal::page(PageError::AccessDenied).into());
    }
    let target = match user_id {
        Some(id) => store.user_for_update(id)?.and_then(User::from_row),
        None => None,
    };
    target
        .filter(|t| permissions::can_see(caller.role, caller.id, t.id, t.owner_id))
        .ok_or_else(|| Refusal::page(PageError::UserNotFound).into())
}

/// The parameters of the request that the catalogue knows, in catalogue order, with their values.
fn sent_params(params: &Params) -> Vec<(&'static Param, &str)> {
    PARAMS.iter().filter_map(|p| params.get(p.name).map(|v| (p, v))).collect()
}

/// Step 7: one message per sent parameter the caller may not set, in catalogue order.
fn refused_fields(
    caller: &Caller,
    rights: &GroupRights,
    target: &User,
    sent: &[(&'static Param, &str)],
) -> Vec<String> {
    let granted: Vec<AccRight> = if caller.role == Role::Accountant {
        AccRight::ALL
            .into_iter()
            .filter(|r| permissions::effective_right(rights.value(r.name()), rights.only_view) == 2)
            .collect()
    } else {
        Vec::new()
    };
    let ctx = FieldContext {
        role: caller.role,
        self_edit: caller.id == target.id,
        target_is_admin: target.is_admin(),
        reseller_pro: caller.reseller_pro,
        reseller_pbx: caller.role == Role::Reseller && rights.value(PBX_FUNCTIONS) >= 1,
        accountant_rights: &granted,
    };
    sent.iter()
        .filter(|(p, v)| !permissions::may_set(&ctx, p, v))
        .map(|(p, _)| crate::catalogue::errors::msg::refused(p.name, p.label))
        .collect()
}
