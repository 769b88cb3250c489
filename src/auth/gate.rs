//! Steps 1–3 of every API method (docs/contract.md §3–§4): API switch, GET switch, lockout,
//! signature. Shared by every method so that none has its own copy of the authentication rules.
//!
//! No answer, status or amount of work tells a known `u` from an unknown one: an unknown `u` is
//! checked like a caller in the admin's scope whose hash is always wrong, and an answer about a
//! reseller's own scope (his API switched off, his key empty) is given only to a request signed
//! with that scope's key; any other gets what an unknown `u` gets.

use super::hash::{self, Coverage};
use super::lockout::{self, Policy, Refused};
use crate::catalogue::errors::{GateError, PageError};
use crate::domain::{Caller, Outcome, Refusal, Role, UserType};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{Account, KeySlot, RequestStore, Result};
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
fn signed_with(params: &Params, keys: &[(KeySlot, String)], pad: usize, covers: Coverage) -> Option<KeySlot> {
    let supplied = params.get("hash").unwrap_or_default();
    let mut candidates: Vec<&str> = keys.iter().map(|(_, k)| k.as_str()).collect();
    candidates.resize(candidates.len().max(pad), "\u{0}no key");
    hash::which_covering(params, &candidates, supplied, covers).and_then(|i| keys.get(i)).map(|(slot, _)| *slot)
}

/// How a method is signed and what it makes of a caller nobody is (docs/contract.md §3–§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signing {
    /// What the signature covers.
    pub covers: Coverage,
    /// What a claim naming nobody gets once its signature is checked (in the admin's scope).
    pub unknown: Unknown,
}

impl Signing {
    /// `user_details_update`, the read methods, `user_delete`.
    pub const STANDARD: Signing = Signing { covers: Coverage::Global, unknown: Unknown::Refused };
}

/// What the gate does with a claim that names nobody (an unknown `u`, an unknown owner `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Its signature is always wrong: `Incorrect hash` (with hash checking off: `Access Denied`).
    Refused,
    /// Its signature is always wrong, but with hash checking off it passes as nobody: the
    /// method refuses it after its own earlier checks, counting the failure (`user_register`'s
    /// unknown `id`, refused after the registration switch).
    MethodRefuses,
    /// Checked with the admin's keys; when signed with one it passes as nobody and the method
    /// gives its ordinary answer for bad credentials (`users_get`, `user_login`, `user_logout`:
    /// their signature covers nothing that tells who exists).
    Anonymous,
}

/// Who a request claims to come from: the account named (if any), and the name its lockout is
/// kept under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub account: Option<Account>,
    /// The lockout key's name (docs/contract.md §4): `u` as sent, or for `user_register` the
    /// owner's username (empty when `id` names nobody).
    pub name: String,
}

impl Claim {
    /// The caller named by `u` (every method but `user_register`).
    pub fn by_username(repo: &mut dyn RequestStore, params: &Params) -> Result<Claim> {
        let username = caller_name(params);
        let account = if username.is_empty() { None } else { repo.account(username)? };
        Ok(Claim { account, name: values::storable_form(params.get("u").unwrap_or_default()) })
    }
}

/// Checks API switch, GET switch, lockout and hash for the caller named by `u`.
pub fn authenticate(repo: &mut dyn RequestStore, params: &Params, info: &RequestInfo) -> Outcome<Caller> {
    let claim = Claim::by_username(repo, params)?;
    match admit(repo, params, info, Signing::STANDARD, claim)? {
        Some(caller) => Ok(caller),
        // Unknown::Refused never lets nobody through; answered as for an unknown name anyway.
        None => Err(Refusal::page(PageError::AccessDenied).into()),
    }
}

/// Steps 1–3 of every method for the `claim`: API switch, GET switch, lockout, signature. The
/// caller, or `None` for a claim naming nobody that [`Unknown::Anonymous`] lets through.
pub fn admit(
    repo: &mut dyn RequestStore,
    params: &Params,
    info: &RequestInfo,
    signing: Signing,
    claim: Claim,
) -> Outcome<Option<Caller>> {
    let Claim { account: known, name } = claim;
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
    let proven = signed_with(params, &own.own_keys, OWN_CANDIDATES, signing.covers).is_some();
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
    if let Some(seconds) = policy.wait(repo.locks(&info.client_addr, &name, at.unix())?, at.unix()) {
        return Err(Refusal::Locked { seconds }.into());
    }
    let actor_id = caller.as_ref().map(|c| c.id);
    if path.skip_hash {
        return match (caller, signing.unknown) {
            (Some(account), _) => Ok(Some(Caller::new(account))),
            (None, Unknown::Anonymous | Unknown::MethodRefuses) => Ok(None),
            // Hash checking is off: an unknown user is refused like a simple user.
            (None, Unknown::Refused) => Err(Refusal::page(PageError::AccessDenied).into()),
        };
    }
    if path.keys.is_empty() {
        return Err(Refusal::Gate(GateError::NoSecretKey).into());
    }
    let slot = signed_with(params, &path.keys, CANDIDATES, signing.covers);
    match (caller, slot) {
        (Some(account), Some(slot)) => Ok(Some(Caller { signed_with: Some(slot), ..Caller::new(account) })),
        (None, Some(_)) if signing.unknown == Unknown::Anonymous => Ok(None),
        _ => {
            let error = GateError::IncorrectHash;
            count_failure(repo, &policy, info, &name, actor_id, error.text(), at)?;
            Err(Refusal::HashRefused(error).into())
        }
    }
}

/// Counts a refused credential of the key (client address, `name`) towards its lockout, and
/// starts the lock it completes: a refused hash here, a wrong password or `uniquehash` in the
/// methods that check them. Runs in the refused request's transaction, which must be kept
/// ([`Refusal::audited`]).
pub fn refuse_credential(
    repo: &mut dyn RequestStore,
    info: &RequestInfo,
    name: &str,
    actor_id: Option<i64>,
    error: &str,
) -> Result<()> {
    let policy = Policy::read(repo)?;
    count_failure(repo, &policy, info, name, actor_id, error, AuditTime::now())
}

fn count_failure(
    repo: &mut dyn RequestStore,
    policy: &Policy,
    info: &RequestInfo,
    name: &str,
    actor_id: Option<i64>,
    error: &str,
    at: AuditTime,
) -> Result<()> {
    let refused = Refused {
        client_addr: &info.client_addr,
        name,
        actor_id,
        endpoint: &info.endpoint,
        request_id: &info.request_id,
        error,
        at,
    };
    lockout::record(repo, policy, &refused)
}
