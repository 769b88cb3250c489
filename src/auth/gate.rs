//! Steps 1–3 of every API method (behaviour.md §3–§4): API switch, GET switch, signature.
//! Shared by every method so that none has its own copy of the authentication rules.

use super::hash;
use super::permissions::Role;
use crate::catalogue::errors::{GateError, PageError};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{Account, AuditEntry, AuditEvent, Repo, Result};

/// Facts about the request that the audit trail records.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub request_id: String,
    pub client_addr: String,
    pub endpoint: String,
    pub now: String,
    pub is_get: bool,
}

/// A caller that passed the gate.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Account,
    pub role: Role,
}

/// Why the gate refused, and whether the refusal itself must be kept (an audit row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Gate(GateError),
    Page(PageError),
}

/// The outcome of the gate: a caller, or a refusal and whether it wrote an audit row.
pub type GateResult = std::result::Result<Caller, (Refusal, bool)>;

fn on(repo: &mut dyn Repo, owner: i64, setting: Setting) -> Result<bool> {
    Ok(setting.read(repo, owner)? == "1")
}

/// Checks API switch, GET switch and hash for the caller named by `u`.
///
/// An unknown `u` is handled as an admin-scope user whose hash is always wrong, so the answers
/// never reveal which usernames exist.
pub fn authenticate(repo: &mut dyn Repo, params: &Params, info: &RequestInfo) -> Result<GateResult> {
    let username = params.get("u").unwrap_or_default();
    let caller = if username.is_empty() { None } else { repo.account(username)? };
    let role = caller.as_ref().map_or(Role::User, |c| Role::of(&c.usertype));
    let scope = match (&caller, role) {
        (None, _) | (Some(_), Role::Admin | Role::Accountant) => 0,
        (Some(c), Role::Reseller) => c.id,
        (Some(c), Role::User) => c.owner_id,
    };
    let is_reseller = role == Role::Reseller && caller.is_some();

    let scope_api = on(repo, scope, Setting::AllowApi)?;
    let global_api = if scope == 0 { scope_api } else { on(repo, 0, Setting::AllowApi)? };
    if !(scope_api || (is_reseller && global_api)) {
        return Ok(Err((Refusal::Gate(GateError::ApiDisabled), false)));
    }
    if info.is_get && !on(repo, 0, Setting::AllowGetApi)? {
        return Ok(Err((Refusal::Gate(GateError::GetDisabled), false)));
    }

    let skip_hash = (scope_api && on(repo, scope, Setting::ApiDisableHashChecking)?)
        || (is_reseller && global_api && on(repo, 0, Setting::ApiDisableHashChecking)?);
    if !skip_hash {
        // Candidate keys: the scope's own key, and for a reseller also the admin's.
        let mut selected = Vec::new();
        if scope_api {
            selected.push(Setting::ApiSecretKey.read(repo, scope)?);
        }
        if is_reseller && global_api {
            selected.push(Setting::ApiSecretKey.read(repo, 0)?);
        }
        let keys: Vec<&str> = selected.iter().map(String::as_str).filter(|k| !k.is_empty()).collect();
        let refusal = if keys.is_empty() {
            Some(if selected.is_empty() { GateError::IncorrectHash } else { GateError::NoSecretKey })
        } else if caller.is_none() || !hash::verify(params, &keys, params.get("hash").unwrap_or_default()) {
            Some(GateError::IncorrectHash)
        } else {
            None
        };
        if let Some(error) = refusal {
            repo.insert_audit(&[AuditEntry {
                created_at: info.now.clone(),
                request_id: info.request_id.clone(),
                event: AuditEvent::HashRefused,
                actor_id: caller.as_ref().map(|c| c.id),
                actor_username: username.to_string(),
                client_addr: info.client_addr.clone(),
                endpoint: info.endpoint.clone(),
                target_id: None,
                field: String::new(),
                old_value: Some(String::new()),
                new_value: Some(error.text().to_string()),
            }])?;
            return Ok(Err((Refusal::Gate(error), true)));
        }
    }
    match caller {
        Some(user) => Ok(Ok(Caller { user, role })),
        // Hash checking is off: an unknown user is refused like a simple user.
        None => Ok(Err((Refusal::Page(PageError::AccessDenied), false))),
    }
}
