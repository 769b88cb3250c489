//! `users_get` (lifecycle §3.2): the users a caller may list, after his credentials — `p`
//! (Argon2id) and/or his `uniquehash` — are checked like `user_login`'s ([`Claimed`]). Nothing
//! is written on success; a failed check writes its `login_failed` row and counts towards the
//! key's lockout.

use super::LifecycleRequest;
use super::login::Claimed;
use crate::auth::gate::{self, Claim};
use crate::auth::permissions::{self, Listing};
use crate::catalogue::errors::PageError;
use crate::catalogue::rights::USER_MANAGE;
use crate::domain::audit::LoginFailure;
use crate::domain::{Answer, Caller, Outcome, Refusal, Role, UserSummary, in_transaction};
use crate::params::Params;
use crate::storage::{Database, ListedUser, RequestStore};
use crate::values::amount;
use subtle::ConstantTimeEq;

/// A credential parameter, when sent with a value (sent empty counts as not sent).
fn sent<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params.get(name).filter(|v| !v.is_empty())
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn serve(db: &Database, request: LifecycleRequest) -> Outcome<Answer> {
    let first = request.clone();
    let claimed = in_transaction(db, move |store| {
        gate::preload(store, &first.params, &first.info)?;
        let claim = Claim::by_username(store, &first.params)?;
        let claimed = Claimed::admit(store, &first, claim)?;
        // No credential at all: refused, but nothing was tried, so nothing is counted.
        if sent(&first.params, "p").is_none() && sent(&first.params, "uniquehash").is_none() {
            return Err(Refusal::page(PageError::AccessDenied).into());
        }
        Ok(claimed)
    })
    .await?;
    let password = match sent(&request.params, "p") {
        Some(p) => Some(claimed.password_matches(p).await?),
        None => None,
    };
    in_transaction(db, move |store| list(store, &request, &claimed, password)).await
}

/// The second transaction: the credentials' verdict recorded, then steps 3–5.
fn list(
    store: &mut dyn RequestStore,
    req: &LifecycleRequest,
    claimed: &Claimed,
    password: Option<bool>,
) -> Outcome<Answer> {
    claimed.still_admitted(store, &req.info)?;
    let wrong_uniquehash = |stored: &str| {
        sent(&req.params, "uniquehash").is_some_and(|u| !bool::from(u.as_bytes().ct_eq(stored.as_bytes())))
    };
    // Each credential sent must match.
    let verdict = match (claimed.known(), password) {
        (None, _) => Err(LoginFailure::Unknown),
        (Some(_), Some(false)) => Err(LoginFailure::Password),
        (Some((_, stored)), _) if wrong_uniquehash(&stored.uniquehash) => Err(LoginFailure::Uniquehash),
        (Some((caller, _)), _) => Ok(caller),
    };
    let caller = match verdict {
        Ok(caller) => caller,
        Err(failure) => {
            let error = PageError::AccessDenied;
            claimed.refuse(store, &req.info, failure, error.text())?;
            return Err(Refusal::Counted(error).into());
        }
    };
    match permissions::users_listing(caller.role, caller.id, user_manage(store, caller)?) {
        Listing::Denied => Err(Refusal::page(PageError::AccessDenied).into()),
        Listing::NotAuthorized => Err(Refusal::page(PageError::NotAuthorizedToView).into()),
        Listing::Users(filter) => {
            let users = store.users_listed(&filter)?;
            if users.is_empty() {
                return Err(Refusal::page(PageError::NoUsersFound).into());
            }
            Ok(Answer::Users(users.into_iter().map(summary).collect()))
        }
    }
}

/// An accountant's effective right on `user_manage` (0 for everyone else: not consulted).
fn user_manage(store: &mut dyn RequestStore, caller: &Caller) -> Outcome<i64> {
    if caller.role != Role::Accountant {
        return Ok(0);
    }
    let rights = store.group_rights(caller.acc_group_id)?;
    Ok(permissions::effective_right(rights.value(USER_MANAGE), rights.only_view))
}

/// A listed user as MOR prints him: the balance as Rails prints a decimal (`0.0`).
fn summary(u: ListedUser) -> UserSummary {
    UserSummary {
        balance: amount::stored(&u.balance).map(amount::with_point).unwrap_or(u.balance),
        id: u.id,
        username: u.username,
        first_name: u.first_name,
        last_name: u.last_name,
        blocked: u.blocked,
        lcr_id: u.lcr_id,
        tariff_id: u.tariff_id,
        owner_id: u.owner_id,
        usertype: u.usertype,
        hidden: u.hidden,
    }
}
