//! `user_delete`: removes a user with everything that is only his, in one transaction, or refuses
//! and changes nothing (docs/contract.md, `user_delete`).
//!
//! Steps: the gate (1), who may call (2), the target as the update finds it (3), who may delete
//! whom (4), the sys.admin and oneself (5), every record that would be left naming him (6, all
//! listed), then the delete with one `delete` audit row per removed record (7). Steps 5–7 are
//! [`check`] and [`delete`], which `morapi user delete` runs too, so the CLI cannot delete what
//! the API would refuse to.

use super::LifecycleRequest;
use crate::auth::gate;
use crate::auth::permissions;
use crate::catalogue::errors::{PageError, msg};
use crate::catalogue::rights::USER_MANAGE;
use crate::domain::audit::Actor;
use crate::domain::{Answer, Outcome, Refusal, Role, User, in_transaction};
use crate::settings::DEFAULT_USER_RESPONSIBLE_ACCOUNTANT;
use crate::storage::{AuditEntry, Database, Dependent, Removal, RequestStore, Result, Row, Table};
use crate::values;

/// Who deletes: decides step 5's "yourself".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleter {
    /// An API caller, by id: he cannot delete himself.
    Caller(i64),
    /// The operator of the administration CLI, who is no user.
    Operator,
}

/// Runs the method in one transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn serve(db: &Database, request: LifecycleRequest) -> Outcome<Answer> {
    in_transaction(db, move |store| run(store, &request)).await
}

/// The whole method inside one transaction.
fn run(store: &mut dyn RequestStore, req: &LifecycleRequest) -> Outcome<Answer> {
    let user_id = req.params.get("user_id").and_then(values::user_id);
    gate::preload(store, &req.params, &req.info)?;
    let caller = gate::authenticate(store, &req.params, &req.info)?;
    // Steps 2 and 3: who may name a target, and the target, as the update has them; locked.
    let target = crate::update::locked_target(store, &caller, user_id)?;
    // Step 4.
    let user_manage = match caller.role {
        Role::Accountant => {
            let rights = store.group_rights(caller.acc_group_id)?;
            permissions::effective_right(rights.value(USER_MANAGE), rights.only_view)
        }
        Role::Admin | Role::Reseller | Role::User => 0,
    };
    if !permissions::may_delete(caller.role, user_manage, target.user_type, caller.id == target.id) {
        return Err(Refusal::page(PageError::NoEditingPermission).into());
    }
    // Steps 5–7.
    let actor = Actor::api(&caller, &req.info.request_id, &req.info.client_addr, &req.info.endpoint);
    delete(store, &actor, &target, Deleter::Caller(caller.id))?;
    Ok(Answer::Deleted)
}

/// Steps 5 and 6: why `target` cannot be deleted by `deleter`, if he cannot (nothing is written).
/// Step 6 lists every record that would be left naming him, in the contract's order.
pub fn check(store: &mut dyn RequestStore, target: &User, deleter: Deleter) -> Outcome<()> {
    if target.is_admin() {
        return Err(Refusal::page(PageError::CannotDeleteSysAdmin).into());
    }
    if deleter == Deleter::Caller(target.id) {
        return Err(Refusal::page(PageError::UnableToDeleteYourself).into());
    }
    match Refusal::problems(problems(store, target.id)?) {
        Some(refusal) => Err(refusal.into()),
        None => Ok(()),
    }
}

/// Steps 5–7: checks, then deletes `target` with the caller ids of his devices, his devices, his
/// settings, his address and tax row, writing one `delete` audit row per removed record (the
/// whole row, secrets shown `changed`; `target_id` the deleted user). The user's row is locked
/// (`FOR UPDATE`) before the checks that must still hold when he is gone.
pub fn delete(store: &mut dyn RequestStore, actor: &Actor, target: &User, deleter: Deleter) -> Outcome<()> {
    // Already locked by step 3 (or by the CLI's lookup); read from the transaction's cache then.
    let Some(row) = store.user_for_update(target.id)? else {
        return Err(Refusal::page(PageError::UserNotFound).into());
    };
    check(store, target, deleter)?;
    let removal = store.removal(row)?;
    store.remove(&removal)?;
    store.insert_audit(&audit_rows(actor, target.id, &removal))?;
    Ok(())
}

/// Step 6's problems, in order: users he owns, users naming him responsible accountant, an
/// owner's default user naming him so, then the records he owns kind by kind and the users
/// spying on his devices.
fn problems(store: &mut dyn RequestStore, id: i64) -> Result<Vec<String>> {
    let found = store.dependents(id)?;
    let mut problems = Vec::new();
    for kind in Dependent::ALL {
        let ids: Vec<i64> = found.iter().filter(|(k, _)| *k == kind).map(|(_, id)| *id).collect();
        if !ids.is_empty() {
            problems.push(msg::dependents(kind, &ids));
        }
        if kind == Dependent::AccountedUser && in_default_user(store, id)? {
            problems.push(msg::ACCOUNTANT_IN_DEFAULT_USER.to_string());
        }
    }
    Ok(problems)
}

/// Whether any owner's default user names `id` as responsible accountant (the next user that
/// owner registers would name nobody).
fn in_default_user(store: &mut dyn RequestStore, id: i64) -> Result<bool> {
    let stored = store.setting_of_every_owner(DEFAULT_USER_RESPONSIBLE_ACCOUNTANT)?;
    Ok(stored.iter().any(|(_, value)| values::int(value.trim()) == Some(id)))
}

/// One `delete` row per removed record, in the order they are removed.
fn audit_rows(actor: &Actor, target: i64, removal: &Removal) -> Vec<AuditEntry> {
    let listed: [(Table, &[Row]); 3] = [
        (Table::Callerids, &removal.callerids),
        (Table::Devices, &removal.devices),
        (Table::Conflines, &removal.settings),
    ];
    let single = [
        (Table::Users, Some(&removal.user)),
        (Table::Addresses, removal.address.as_ref()),
        (Table::Taxes, removal.tax.as_ref()),
    ];
    let rows = listed
        .into_iter()
        .flat_map(|(table, rows)| rows.iter().map(move |r| (table, r)))
        .chain(single.into_iter().filter_map(|(table, row)| row.map(|r| (table, r))));
    rows.map(|(table, row)| actor.deleted(table.name(), Some(target), row)).collect()
}
