//! Step 8: every id the request refers to must exist and be usable by the caller for this
//! target. The first five checks answer with their own MOR error, in MOR's order; the rest are
//! collected into `User was not updated` with one message each.

use crate::catalogue::errors::{PageError, msg};
use crate::catalogue::params::{self, Kind, RefKind};
use crate::domain::{Caller, Outcome, Refusal, Role, User, UserType};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{RequestStore, Result, Table};
use crate::values::int as parse_id;

/// The references checked after the first five, in docs/contract.md §5.3's order.
const OTHER_REFERENCES: &[&str] =
    &["u4", "u14", "a6", "u24", "u7", "static_source_list_id", "static_list_id", "u11", "accountant_type"];

/// The value sent for a reference, unless it is the one the user already has. Sending back what
/// was read (the same tariff, LCR, rule, …) changes nothing and is never refused, whoever owns
/// the record; only changes are checked.
fn changed<'a>(params: &'a Params, target: &User, name: &str) -> Option<&'a str> {
    let raw = params.get(name)?;
    let column = params::find(name).filter(|p| p.target.table() == Some(Table::Users)).and_then(|p| p.target.column());
    let current = column.and_then(|c| target.int(c));
    let unchanged = current.is_some() && parse_id(raw) == current;
    (!unchanged).then_some(raw)
}

pub fn check(repo: &mut dyn RequestStore, caller: &Caller, target: &User, params: &Params) -> Outcome<()> {
    let fail = |e| Err(Refusal::page(e).into());
    if let Some(v) = changed(params, target, "u5")
        && !tariff_ok(repo, caller, v)?
    {
        return fail(PageError::TariffNotFound);
    }
    if let Some(v) = changed(params, target, "u29")
        && !pbx_pool_ok(repo, caller, v)?
    {
        return fail(PageError::PbxPoolNotFound);
    }
    if let Some(v) = changed(params, target, "u1")
        && !lcr_ok(repo, target, v)?
    {
        return fail(PageError::LcrNotFound);
    }
    if let Some(v) = changed(params, target, "u31")
        && !responsible_accountant_ok(repo, caller, target, v)?
    {
        return fail(PageError::ResponsibleAccountantInvalid);
    }
    if let Some(v) = changed(params, target, "u16")
        && !quickforward_rule_ok(repo, caller, v)?
    {
        return fail(PageError::QuickforwardRuleNotFound);
    }
    let mut messages = Vec::new();
    for name in OTHER_REFERENCES {
        let Some(p) = params::find(name) else { continue };
        let Kind::Ref(kind) = p.kind else { continue };
        if let Some(v) = changed(params, target, p.name)
            && !other_reference_ok(repo, caller, kind, v)?
        {
            messages.push(msg::not_found(p.name, p.label, v));
        }
    }
    if messages.is_empty() { Ok(()) } else { Err(Refusal::Page { error: PageError::UserNotUpdated, messages }.into()) }
}

/// MOR's tariff rule (docs/contract.md §5.3). A reseller may use the admin's retail and
/// wholesale tariffs when the admin allows it (the user's current tariff never reaches here).
pub fn tariff_ok(repo: &mut dyn RequestStore, caller: &Caller, raw: &str) -> Result<bool> {
    let Some(id) = parse_id(raw) else { return Ok(false) };
    let Some(tariff) = repo.reference(RefKind::Tariff, id)? else { return Ok(false) };
    if caller.role == Role::Reseller {
        if Setting::AllowResellersToUseAdminTariffs.flag(repo, 0)? {
            return Ok((tariff.owner_id == caller.id || tariff.owner_id == 0) && tariff.kind != "provider");
        }
        return Ok(tariff.owner_id == caller.id);
    }
    // Admin and accountants: any admin tariff, whatever its purpose.
    Ok(tariff.owner_id == 0)
}

/// A PBX pool of the caller's own (0 takes the user out of any pool).
fn pbx_pool_ok(repo: &mut dyn RequestStore, caller: &Caller, raw: &str) -> Result<bool> {
    match parse_id(raw) {
        Some(0) => Ok(true),
        Some(id) => Ok(repo.reference(RefKind::PbxPool, id)?.is_some_and(|p| p.owner_id == caller.id)),
        None => Ok(false),
    }
}

/// The LCR must belong to the target's owner: the admin's LCRs for admin users; for a reseller's
/// user, a PRO reseller's own LCRs, else only the reseller's assigned LCR.
fn lcr_ok(repo: &mut dyn RequestStore, target: &User, raw: &str) -> Result<bool> {
    lcr_usable(repo, target.owner_id, raw)
}

/// [`lcr_ok`] for a user of `owner_id` (`user_register` checks a new user's LCR with it).
pub fn lcr_usable(repo: &mut dyn RequestStore, owner_id: i64, raw: &str) -> Result<bool> {
    let Some(id) = parse_id(raw) else { return Ok(false) };
    let Some(lcr) = repo.reference(RefKind::Lcr, id)? else { return Ok(false) };
    if owner_id == 0 {
        return Ok(lcr.owner_id == 0);
    }
    let Some(owner) = repo.user_by_id(owner_id)?.and_then(User::from_row) else { return Ok(false) };
    if owner.reseller_pro { Ok(lcr.owner_id == owner.id) } else { Ok(owner.lcr_id == Some(id)) }
}

/// `-1` unassigns; otherwise a visible (not hidden) accountant, and the target must be a user or
/// reseller of the admin (MOR's rule, docs/contract.md §5.3).
///
/// The accountant is read locked (`FOR UPDATE` on a server engine) until the transaction ends:
/// `user_delete` locks the user it deletes before checking that nobody names him, so either the
/// delete waits and then sees this reference, or this update waits and then finds no
/// accountant. The target's side is checked first, so a refused request locks nobody.
fn responsible_accountant_ok(repo: &mut dyn RequestStore, caller: &Caller, target: &User, raw: &str) -> Result<bool> {
    if raw.trim() == "-1" {
        return Ok(true);
    }
    let Some(id) = parse_id(raw).filter(|id| *id > 0) else { return Ok(false) };
    if caller.owner_id != 0 || matches!(target.user_type, UserType::Accountant | UserType::Partner | UserType::Admin) {
        return Ok(false);
    }
    let Some(acc) = repo.user_for_update(id)?.and_then(User::from_row) else { return Ok(false) };
    Ok(acc.user_type == UserType::Accountant && !acc.hidden)
}

/// Admin and accountants use admin rules; a reseller his own, and the admin's when allowed (the
/// user's current rule never reaches here). 0 clears the rule.
fn quickforward_rule_ok(repo: &mut dyn RequestStore, caller: &Caller, raw: &str) -> Result<bool> {
    let id = match parse_id(raw) {
        Some(0) => return Ok(true),
        Some(id) => id,
        None => return Ok(false),
    };
    let Some(rule) = repo.reference(RefKind::QuickforwardRule, id)? else { return Ok(false) };
    if caller.role != Role::Reseller {
        return Ok(rule.owner_id == 0);
    }
    if rule.owner_id == caller.id {
        return Ok(true);
    }
    Ok(rule.owner_id == 0 && Setting::AllowResellersToUseAdminQuickforwardRules.flag(repo, 0)?)
}

/// Currencies, countries, sound files, devices, number pools and groups: the id must exist and,
/// for owned records, belong to the admin or to the calling reseller.
fn other_reference_ok(repo: &mut dyn RequestStore, caller: &Caller, kind: RefKind, raw: &str) -> Result<bool> {
    let Some(id) = parse_id(raw) else { return Ok(false) };
    if id == 0 && kind.zero_clears() {
        return Ok(true);
    }
    if id < 0 {
        return Ok(false);
    }
    let Some(mut record) = repo.reference(kind, id)? else { return Ok(false) };
    if kind == RefKind::Device {
        // The device's owner is locked, as `user_delete` locks the user it deletes before
        // checking that no spy device of another user is his, and the device is read again:
        // either the delete then sees this reference, or this update finds the device gone.
        if repo.user_for_update(record.owner_id)?.is_none() {
            return Ok(false);
        }
        let Some(again) = repo.reference(kind, id)? else { return Ok(false) };
        record = again;
    }
    if caller.role != Role::Reseller {
        return Ok(true);
    }
    let mine = record.owner_id == caller.id;
    Ok(match kind {
        RefKind::Currency | RefKind::Direction => true,
        RefKind::SoundFile | RefKind::AccGroup | RefKind::NumberPool => mine || record.owner_id == 0,
        // A device belongs to a user: the reseller's own, or one of his users'.
        RefKind::Device => {
            mine || repo.user_by_id(record.owner_id)?.and_then(User::from_row).is_some_and(|u| u.owner_id == caller.id)
        }
        RefKind::Tariff | RefKind::Lcr | RefKind::PbxPool | RefKind::QuickforwardRule => false,
    })
}

#[cfg(test)]
mod tests {
    use super::OTHER_REFERENCES;
    use crate::catalogue::params::{Kind, PARAMS, RefKind};

    #[test]
    fn every_reference_parameter_is_checked() {
        let first_five = [RefKind::Tariff, RefKind::PbxPool, RefKind::Lcr, RefKind::QuickforwardRule];
        for p in PARAMS {
            if let Kind::Ref(kind) = p.kind
                && !first_five.contains(&kind)
            {
                assert!(OTHER_REFERENCES.contains(&p.name), "{} is never checked", p.name);
            }
        }
        for name in OTHER_REFERENCES {
            assert!(matches!(crate::catalogue::params::find(name).map(|p| p.kind), Some(Kind::Ref(_))), "{name}");
        }
    }
}
