//! Steps 1–3 of every API method (docs/contract.md §3–§4): API switch, GET switch, lockout,
//! signature. Shared by every method so that none has its own copy of the authentication rules.
//!
//! No answer, status or amount of work tells a known `u` from an unknown one: an unknown `u` is
//! checked like a caller in the admin's scope whose hash is always wrong, and an answer about a
//! reseller's own scope (his API switched off, his key empty) is given only to a request signed
//! with that scope's key; any other gets what an unknown `u` gets.

use super::hash;
use super::lockout::{self, Policy, Refused};
use crate::catalogue::errors::{GateError, PageError};
use crate::domain::{Caller, Outcome, Refusal, Role, UserType};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{KeySlot, RequestStore, Result};
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

/// The first reads of every request, in one round trip on a server engine: the caller, the
/// settings the gate consults, the locks in force for `u` and the client address.
pub fn preload(store: &mut dyn RequestStore, params: &Params, info: &RequestInfo) -> Result<()> {
    store.preload(caller_name(params), &info.client_addr, AuditTime::now().unix())
}

/// The most keys a request is checked against (a reseller's current and next, the admin's
/// current and next), and the most of the caller's own scope. Every request computes this many
/// signatures, whoever it names, so the work does not tell who exists.
const CANDIDATES: usize = 4;
const OWN_CANDIDATES: usize = 2;

/// How a caller's scope admits requests: the settings of docs/contract.md §3 for one caller.
struct Path {
    api_on: bool,
    skip_hash: bool,
    /// The keys the request may be signed with, non-empty ones only, with where each is from.
    keys: Vec<(KeySlot, String)>,
    /// The keys of the caller's own scope, whatever its switch: a request signed with one of
    /// them proves the caller holds it, and may learn why his scope refuses it.
    own_keys: Vec<(KeySlot, String)>,
}

impl Path {
    /// The path of a caller whose API scope is `scope` (0: the admin's); `reseller` adds the
    /// admin's keys when the global API is on.
    fn read(repo: &mut dyn RequestStore, scope: i64, reseller: bool) -> Result<Path> {
        let scope_api = Setting::AllowApi.flag(repo, scope)?;
        let global_api = if scope == 0 { scope_api } else { Setting::AllowApi.flag(repo, 0)? };
        let via_admin = reseller && global_api;
        let skip_hash = (scope_api && Setting::ApiDisableHashChecking.flag(repo, scope)?)
            || (via_admin && Setting::ApiDisableHashChecking.flag(repo, 0)?);
        let own_keys = keys_of(repo, scope)?;
        let mut keys = if scope_api { own_keys.clone() } else { Vec::new() };
        if via_admin {
            keys.extend(keys_of(repo, 0)?);
        }
        Ok(Path { api_on: scope_api || via_admin, skip_hash, keys, own_keys })
    }

    /// What this path answers before the hash, if anything: API off, or no key to check.
    fn refusal(&self) -> Option<GateError> {
        if !self.api_on {
            Some(GateError::ApiDisabled)
        } else if !self.skip_hash && self.keys.is_empty() {
            Some(GateError::NoSecretKey)
        } else {
            None
        }
    }
}

/// An owner's current key and next key (a rotation in progress), the non-empty ones.
fn keys_of(repo: &mut dyn RequestStore, owner_id: i64) -> Result<Vec<(KeySlot, String)>> {
    let current = Setting::ApiSecretKey.read(repo, owner_id)?;
    let next = Setting::ApiSecretKeyNext.read(repo, owner_id)?;
    Ok([(false, current), (true, next)]
        .into_iter()
        .filter(|(_, key)| !key.is_empty())
        .map(|(next, key)| (KeySlot { owner_id, next }, key))
        .collect())
}

/// The key among `keys` the request is signed with. Always computes at least `pad` signatures
/// (padding with a key nobody has), so the work does not depend on how many keys there are.
fn signed_with(params: &Params, keys: &[(KeySlot, String)], pad: usize) -> Option<KeySlot> {
    let supplied = params.get("hash").unwrap_or_default();
    let mut candidates: Vec<&str> = keys.iter().map(|(_, k)| k.as_str()).collect();
    candidates.resize(candidates.len().max(pad), "\u{0}no key");
    hash::which(params, &candidates, supplied).and_then(|i| keys.get(i)).map(|(slot, _)| *slot)
}

/// Checks API switch, GET switch, lockout and hash for the caller named by `u`.
pub fn authenticate(repo: &mut dyn RequestStore, params: &Params, info: &RequestInfo) -> Outcome<Caller> {
    let username = caller_name(params);
    let known = if username.is_empty() { None } else { repo.account(username)? };
    // The API scope: the admin's (0) for an unknown name, admins and accountants.
    let (scope, reseller) = match &known {
        None => (0, false),
        Some(c) => match Role::of(UserType::stored(&c.usertype)) {
            Role::Admin | Role::Accountant => (0, false),
            Role::Reseller => (c.id, true),
            Role::User => (c.owner_id, false),
        },
    };
    let own = Path::read(repo, scope, reseller)?;
    // Computed for every request (see CANDIDATES), needed only when the scope refuses.
    let proven = signed_with(params, &own.own_keys, OWN_CANDIDATES).is_some();
    let (path, caller) = match own.refusal() {
        Some(reason) if scope != 0 && !proven => {
            // The caller has not proved he holds his scope's key: he is answered as an unknown
            // name would be, and only the log says why.
            tracing::debug!(
                reason = reason.text(),
                "refused in the caller's own scope; answered as for an unknown name"
            );
            (Path::read(repo, 0, false)?, None)
        }
        _ => (own, known),
    };

    if !path.api_on {
        return Err(Refusal::Gate(GateError::ApiDisabled).into());
    }
    if info.is_get && !Setting::AllowGetApi.flag(repo, 0)? {
        return Err(Refusal::Gate(GateError::GetDisabled).into());
    }
    let at = AuditTime::now();
    let policy = Policy::read(repo)?;
    let name = values::storable_form(params.get("u").unwrap_or_default());
    if let Some(seconds) = policy.wait(repo.locks(&info.client_addr, &name, at.unix())?, at.unix()) {
        return Err(Refusal::Locked { seconds }.into());
    }
    if path.skip_hash {
        return match caller {
            Some(account) => Ok(Caller::new(account)),
            // Hash checking is off: an unknown user is refused like a simple user.
            None => Err(Refusal::page(PageError::AccessDenied).into()),
        };
    }
    if path.keys.is_empty() {
        return Err(Refusal::Gate(GateError::NoSecretKey).into());
    }
    let slot = signed_with(params, &path.keys, CANDIDATES);
    match (caller, slot) {
        (Some(account), Some(slot)) => Ok(Caller { signed_with: Some(slot), ..Caller::new(account) }),
        (caller, _) => {
            let error = GateError::IncorrectHash;
            let refused = Refused {
                client_addr: &info.client_addr,
                name: &name,
                actor_id: caller.as_ref().map(|c| c.id),
                endpoint: &info.endpoint,
                request_id: &info.request_id,
                error: error.text(),
                at,
            };
            lockout::record(repo, &policy, &refused)?;
            Err(Refusal::HashRefused(error).into())
        }
    }
}
