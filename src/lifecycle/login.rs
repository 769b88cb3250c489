//! `user_login` (alias `login`) and `user_logout` (alias `logout`), lifecycle §5–§6, and the
//! credential check `users_get` shares with `user_login` (§1.2–§1.5).
//!
//! A password is verified with Argon2id, slow by design, so a credential check takes three
//! steps: a first transaction passes the gate and reads what the claim's user has stored
//! ([`Claimed::admit`]); the password is verified outside any transaction, off the async
//! threads ([`Claimed::password_matches`]); a second transaction records the result (a
//! `login_failed` row and a counted failure, or a `login` row and the key's failures forgiven)
//! and answers. An unknown name takes the same path as a wrong password, against a dummy hash:
//! answer, status and work are the same, only the audit row's reason and user differ.

use super::LifecycleRequest;
use crate::auth::gate::{self, Claim, RequestInfo, Signing, Unknown};
use crate::auth::hash::Coverage;
use crate::auth::lockout::{self, Policy};
use crate::catalogue::errors::action;
use crate::domain::audit::{Actor, LoginFailure};
use crate::domain::{Answer, Caller, Failure, Outcome, Refusal, in_transaction};
use crate::params::Params;
use crate::password;
use crate::settings::Setting;
use crate::storage::{Credentials, Database, KeySlot, RequestStore};
use crate::values::AuditTime;

/// How `users_get` and `user_login` are signed: over `u` and `p` only, so an unknown `u` is
/// checked with the admin's keys and then answered as bad credentials (lifecycle §1.2).
pub(super) const CREDENTIALS: Signing = Signing { covers: Coverage::Credentials, unknown: Unknown::Anonymous };

/// `user_logout`: MOR's global order (`u` and `p` are not in it); an unknown `u` gets the same
/// answer as a known one.
const LOGOUT: Signing = Signing { covers: Coverage::Global, unknown: Unknown::Anonymous };

/// What the gate's transaction found for a credential check.
#[derive(Debug, Clone)]
pub(super) struct Claimed {
    /// The user the claim names, admitted by the gate; `None`: nobody.
    pub caller: Option<Caller>,
    /// The lockout key's name: `u` as sent.
    pub name: String,
    /// What the caller has stored (`None` also when he was deleted meanwhile).
    pub stored: Option<Credentials>,
}

impl Claimed {
    /// Gate steps 1–4 for `claim` (with [`CREDENTIALS`]), then the credentials of the user it
    /// names. Runs in the first transaction.
    pub(super) fn admit(store: &mut dyn RequestStore, req: &LifecycleRequest, claim: Claim) -> Outcome<Claimed> {
        let name = claim.name.clone();
        let caller = gate::admit(store, &req.params, &req.info, CREDENTIALS, claim)?;
        let stored = match &caller {
            Some(c) => store.credentials(c.id)?,
            None => None,
        };
        Ok(Claimed { caller, name, stored })
    }

    /// Whether `p` is the caller's password: Argon2id, off the async threads and outside any
    /// transaction; nobody's password, or none stored, costs the same and never matches.
    pub(super) async fn password_matches(&self, p: &str) -> Outcome<bool> {
        let stored = self.stored.as_ref().map(|c| c.password.clone());
        password::verify_bounded(p.to_string(), stored).await.map_err(Failure::Internal)
    }

    /// The caller, when he exists and his credentials were read.
    pub(super) fn known(&self) -> Option<(&Caller, &Credentials)> {
        self.caller.as_ref().zip(self.stored.as_ref())
    }

    /// Starts the second transaction: the key's lock is read again, since another request may
    /// have started one while the password was being verified; a locked key is refused as at
    /// the gate, nothing counted. The lockout settings in force.
    pub(super) fn still_admitted(&self, store: &mut dyn RequestStore, info: &RequestInfo) -> Outcome<Policy> {
        let policy = Policy::read(store)?;
        match lockout::wait(store, &policy, &info.client_addr, &self.name, AuditTime::now().unix())? {
            Some(seconds) => Err(Refusal::Locked { seconds }.into()),
            None => Ok(policy),
        }
    }

    /// Records a failed check: its `login_failed` row, then the failure counted towards the
    /// key's lockout (which it may start). `error` is the answer, for the lockout's record.
    pub(super) fn refuse(
        &self,
        store: &mut dyn RequestStore,
        info: &RequestInfo,
        failure: LoginFailure,
        error: &str,
    ) -> Outcome<()> {
        let actor_id = self.caller.as_ref().map(|c| c.id);
        // The name as sent, and no key: an unknown name's row looks like a known one's.
        let actor = actor(info, actor_id, &self.name, None);
        store.insert_audit(&[actor.login_failed(failure)])?;
        gate::refuse_credential(store, info, &self.name, actor_id, error)?;
        Ok(())
    }
}

/// The audit trail's actor of a credential check.
fn actor(info: &RequestInfo, actor_id: Option<i64>, username: &str, signed_with: Option<KeySlot>) -> Actor {
    Actor {
        created_at: AuditTime::now().stored(),
        request_id: info.request_id.clone(),
        actor_id,
        username: username.to_string(),
        client_addr: info.client_addr.clone(),
        endpoint: info.endpoint.clone(),
        signed_with: signed_with.map(KeySlot::stored).unwrap_or_default(),
    }
}

/// `user_login` (lifecycle §5.2).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn serve(db: &Database, request: LifecycleRequest) -> Outcome<Answer> {
    let first = request.clone();
    let claimed = in_transaction(db, move |store| {
        gate::preload(store, &first.params, &first.info)?;
        let claim = login_claim(store, &first.params)?;
        Claimed::admit(store, &first, claim)
    })
    .await?;
    let matches = claimed.password_matches(request.params.get("p").unwrap_or_default()).await?;
    in_transaction(db, move |store| decide(store, &request.info, &claimed, matches)).await
}

/// Whom `u` names: the user with that username; with `allow_login_by_email` on and no such
/// user, the one user whose address holds that e-mail. The lockout's name is `u` as sent
/// either way. With the switch on, the e-mail is looked up for every `u`, so that the work does
/// not tell a known username from an unknown one.
fn login_claim(store: &mut dyn RequestStore, params: &Params) -> Outcome<Claim> {
    let claim = Claim::by_username(store, params)?;
    let u = gate::caller_name(params);
    if u.is_empty() || !Setting::AllowLoginByEmail.flag(store, 0)? {
        return Ok(claim);
    }
    let by_email = store.account_by_email(u)?;
    Ok(Claim { account: claim.account.or(by_email), ..claim })
}

/// The second transaction of `user_login`: record the result and answer it.
fn decide(store: &mut dyn RequestStore, info: &RequestInfo, claimed: &Claimed, matches: bool) -> Outcome<Answer> {
    let policy = claimed.still_admitted(store, info)?;
    let failure = match claimed.known() {
        None => LoginFailure::Unknown,
        Some(_) if !matches => LoginFailure::Password,
        Some((_, stored)) if stored.blocked => LoginFailure::Blocked,
        Some((caller, _)) => {
            lockout::forgive(store, &policy, &info.client_addr, &claimed.name, AuditTime::now().unix())?;
            let actor = actor(info, Some(caller.id), &caller.username, caller.signed_with);
            store.insert_audit(&[actor.logged_in()])?;
            return Ok(Answer::LoggedIn { user_id: caller.id });
        }
    };
    claimed.refuse(store, info, failure, action::LOGIN_FAILED)?;
    Ok(Answer::LoginFailed)
}

/// `user_logout` (lifecycle §6.2): nothing is stored or audited; `ok` for any non-empty `u`,
/// known or not, so no username can be probed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn logout(db: &Database, request: LifecycleRequest) -> Outcome<Answer> {
    in_transaction(db, move |store| {
        let (params, info) = (&request.params, &request.info);
        gate::preload(store, params, info)?;
        let claim = Claim::by_username(store, params)?;
        gate::admit(store, params, info, LOGOUT, claim)?;
        Ok(Answer::LoggedOut { ok: !params.get("u").unwrap_or_default().is_empty() })
    })
    .await
}
