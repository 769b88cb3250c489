//! Steps 1–3 of every API method (behaviour.md §3–§4): API switch, GET switch, signature.
//! Shared by every method so that none has its own copy of the authentication rules.

use super::hash;
use crate::catalogue::errors::{GateError, PageError};
use crate::domain::{Caller, Outcome, Refusal, Role, UserType};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{AuditEntry, AuditEvent, RequestStore};
use crate::values::{self, AuditTime};

/// Facts about the request that the audit trail records.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub request_id: String,
    pub client_addr: String,
    pub endpoint: String,
    pub is_get: bool,
}

/// The username `u` names, when a stored user could have it; any other `u` (a NUL byte, longer
/// than a text column) names nobody and is never looked up: it is refused like an unknown user.
pub fn caller_name(params: &Params) -> &str {
    Some(params.get("u").unwrap_or_default()).filter(|u| values::storable(u)).unwrap_or_default()
}

/// Checks API switch, GET switch and hash for the caller named by `u`.
///
/// An unknown `u` is handled as an admin-scope user whose hash is always wrong, so the answers
/// never reveal which usernames exist.
pub fn authenticate(repo: &mut dyn RequestStore, params: &Params, info: &RequestInfo) -> Outcome<Caller> {
    let username = caller_name(params);
    let caller = if username.is_empty() { None } else { repo.account(username)? };
    let role = caller.as_ref().map_or(Role::User, |c| Role::of(UserType::stored(&c.usertype)));
    let scope = match (&caller, role) {
        (None, _) | (Some(_), Role::Admin | Role::Accountant) => 0,
        (Some(c), Role::Reseller) => c.id,
        (Some(c), Role::User) => c.owner_id,
    };
    let is_reseller = role == Role::Reseller && caller.is_some();

    let scope_api = Setting::AllowApi.flag(repo, scope)?;
    let global_api = if scope == 0 { scope_api } else { Setting::AllowApi.flag(repo, 0)? };
    if !(scope_api || (is_reseller && global_api)) {
        return Err(Refusal::Gate(GateError::ApiDisabled).into());
    }
    if info.is_get && !Setting::AllowGetApi.flag(repo, 0)? {
        return Err(Refusal::Gate(GateError::GetDisabled).into());
    }

    let skip_hash = (scope_api && Setting::ApiDisableHashChecking.flag(repo, scope)?)
        || (is_reseller && global_api && Setting::ApiDisableHashChecking.flag(repo, 0)?);
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
                created_at: AuditTime::now().stored(),
                request_id: info.request_id.clone(),
                event: AuditEvent::HashRefused,
                actor_id: caller.as_ref().map(|c| c.id),
                // What was sent, in a form every engine stores.
                actor_username: values::storable_form(params.get("u").unwrap_or_default()),
                client_addr: info.client_addr.clone(),
                endpoint: info.endpoint.clone(),
                target_id: None,
                field: String::new(),
                old_value: Some(String::new()),
                new_value: Some(error.text().to_string()),
                signed_with: String::new(),
            }])?;
            return Err(Refusal::HashRefused(error).into());
        }
    }
    match caller {
        Some(account) => Ok(Caller::new(account)),
        // Hash checking is off: an unknown user is refused like a simple user.
        None => Err(Refusal::page(PageError::AccessDenied).into()),
    }
}
