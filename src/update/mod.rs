//! `user_details_update`: the order of checks of behaviour.md §4, run inside one transaction.
//!
//! Everything is decided before anything is written: gate (steps 1–3), caller and target
//! (4–6), field permissions (7), references (8), values (9); only then the writes and their audit
//! rows (10). The first failing step answers and the transaction keeps nothing (except the audit
//! row of a refused hash).

mod change;
mod references;

pub use change::{Change, password_rules, record_changes, valid_email};

use crate::auth::gate::{self, Caller, Refusal, RequestInfo};
use crate::auth::permissions::{self, FieldContext, Role};
use crate::catalogue::errors::{GateError, PageError, msg};
use crate::catalogue::params::{AccRight, PARAMS, Param};
use crate::params::Params;
use crate::storage::{GroupRights, Repo, Result, User};

/// What the method answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Gate(GateError),
    Page {
        error: PageError,
        messages: Vec<String>,
    },
    Updated,
    /// Everything passed and a new password was sent: hash it (slow, off the writer) and run
    /// again with [`UpdateRequest::password_hash`] set.
    NeedsPasswordHash,
}

impl Answer {
    pub fn page(error: PageError) -> Answer {
        Answer::Page { error, messages: Vec::new() }
    }
}

impl From<Refusal> for Answer {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Gate(g) => Answer::Gate(g),
            Refusal::Page(p) => Answer::page(p),
        }
    }
}

/// One update request, ready to run.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub params: Params,
    pub info: RequestInfo,
    /// The Argon2id hash of `pswd`, computed outside the transaction.
    pub password_hash: Option<String>,
}

/// The parameters of the request that the catalogue knows, in catalogue order, with their values.
fn sent_params(params: &Params) -> Vec<(&'static Param, &str)> {
    PARAMS.iter().filter_map(|p| params.get(p.name).map(|v| (p, v))).collect()
}

/// `user_id` as MOR reads it: digits only (leading zeros allowed), else absent.
pub fn parse_user_id(raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// Runs the whole method. Returns the answer and whether the transaction must be kept.
pub fn run(repo: &mut dyn Repo, req: &UpdateRequest) -> Result<(Answer, bool)> {
    repo.preload(req.params.get("u").unwrap_or_default(), parse_user_id(req.params.get("user_id")))?;
    let caller = match gate::authenticate(repo, &req.params, &req.info)? {
        Ok(caller) => caller,
        Err((refusal, keep)) => return Ok((refusal.into(), keep)),
    };
    // `Ok` means the changes were written and must be kept; `Err` that nothing may be.
    match decide(repo, req, &caller)? {
        Ok(answer) => Ok((answer, true)),
        Err(answer) => Ok((answer, false)),
    }
}

/// Steps 4–10 for an authenticated caller. `Err` carries a refusal (nothing written).
fn decide(repo: &mut dyn Repo, req: &UpdateRequest, caller: &Caller) -> Result<std::result::Result<Answer, Answer>> {
    let user_id = parse_user_id(req.params.get("user_id"));
    // Step 4.
    if !permissions::may_call_update(caller.role, caller.user.id, user_id) {
        return Ok(Err(Answer::page(PageError::AccessDenied)));
    }
    // Step 5.
    let target = match user_id {
        Some(id) => repo.user_for_update(id)?,
        None => None,
    };
    let Some(target) = target.filter(|t| permissions::can_see(caller.role, caller.user.id, t.id, t.owner_id)) else {
        return Ok(Err(Answer::page(PageError::UserNotFound)));
    };
    // Step 6. The caller's group rights are read once, for this step and the next.
    let rights = match caller.role {
        Role::Accountant | Role::Reseller => repo.group_rights(caller.user.acc_group_id)?,
        Role::Admin | Role::User => GroupRights::default(),
    };
    if caller.role == Role::Accountant
        && !permissions::accountant_may_edit(rights.value("user_manage"), rights.only_view)
    {
        return Ok(Err(Answer::page(PageError::NoEditingPermission)));
    }
    // Step 7.
    let sent = sent_params(&req.params);
    let refused = refused_fields(caller, &rights, &target, &sent);
    if !refused.is_empty() {
        return Ok(Err(Answer::Page { error: PageError::AccessDenied, messages: refused }));
    }
    // Step 8.
    if let Err(answer) = references::check(repo, caller, &target, &req.params)? {
        return Ok(Err(answer));
    }
    // Step 9.
    let changes = match change::build(repo, &target, &req.params, &sent)? {
        Ok(c) => c,
        Err(messages) => return Ok(Err(Answer::Page { error: PageError::UserNotUpdated, messages })),
    };
    // Step 10.
    if changes.password_plain.is_some() && req.password_hash.is_none() {
        return Ok(Err(Answer::NeedsPasswordHash));
    }
    change::write(repo, caller, &target, changes, req)?;
    Ok(Ok(Answer::Updated))
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
    let reseller_pbx = caller.role == Role::Reseller && rights.value("pbx_functions") >= 1;
    let ctx = FieldContext {
        role: caller.role,
        self_edit: caller.user.id == target.id,
        target_is_admin: target.id == 0 || target.usertype == "admin",
        reseller_pro: caller.user.own_providers == 1,
        reseller_pbx,
        accountant_rights: &granted,
    };
    sent.iter().filter(|(p, v)| !permissions::may_set(&ctx, p, v)).map(|(p, _)| msg::refused(p.name, p.label)).collect()
}
