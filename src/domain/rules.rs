//! The rules for a user's login name, e-mail addresses and password that need the database
//! (uniqueness, per-owner settings). The API's update and the administration CLI both decide
//! with these, so a value one accepts the other accepts too.

use super::user::{User, UserType};
use crate::catalogue::errors::msg;
use crate::catalogue::params;
use crate::settings::Setting;
use crate::storage::{RequestStore, Result};
use crate::values::email;

/// Whose length settings apply to a user of `owner_id`: the owner's when that is a reseller, else
/// the admin's (0).
pub fn settings_owner(store: &mut dyn RequestStore, owner_id: i64) -> Result<i64> {
    if owner_id == 0 {
        return Ok(0);
    }
    let owner = store.user_by_id(owner_id)?.and_then(User::from_row);
    Ok(owner.filter(|o| o.user_type == UserType::Reseller).map_or(0, |o| o.id))
}

/// The longest e-mail list, as the catalogue's `a8` says.
pub fn email_max() -> usize {
    match params::find("a8").map(|p| p.kind) {
        Some(params::Kind::Email { max }) => max,
        _ => crate::values::TEXT_MAX,
    }
}

/// The longest username, as the catalogue's `u9` says.
pub fn username_max() -> usize {
    match params::find("u9").map(|p| p.kind) {
        Some(params::Kind::Username { max }) => max,
        _ => crate::values::TEXT_MAX,
    }
}

/// What is wrong with `username` for the user `user_id` (`None` for a new one) whose settings
/// come from `settings_owner`: blank, shorter than the owner's minimum, too long, or taken.
pub fn username_problems(
    store: &mut dyn RequestStore,
    settings_owner: i64,
    username: &str,
    user_id: Option<i64>,
) -> Result<Vec<String>> {
    Ok(username_problem(store, settings_owner, username, user_id)?
        .map(|p| match p {
            UsernameProblem::Blank => msg::USERNAME_BLANK.to_string(),
            UsernameProblem::TooShort(min) => msg::username_too_short(min),
            UsernameProblem::TooLong(max) => msg::too_long("u9", "username", max),
            UsernameProblem::Taken => msg::USERNAME_TAKEN.to_string(),
        })
        .into_iter()
        .collect())
}

/// What is wrong with a user's e-mail list `raw` (not empty): an invalid address, or one another
/// user's address row has (unless the admin allows shared addresses). `own_address` is the
/// user's own address row, which may keep its addresses.
pub fn email_problems(store: &mut dyn RequestStore, raw: &str, own_address: Option<i64>) -> Result<Vec<String>> {
    Ok(match email_problem(store, raw, own_address)? {
        None => Vec::new(),
        Some(EmailProblem::TooLong(max)) => vec![msg::too_long("a8", "e-mail", max)],
        Some(EmailProblem::Invalid) => vec![msg::EMAIL_INVALID.to_string()],
        Some(EmailProblem::InUse(used)) => used.iter().map(|e| msg::email_used(e)).collect(),
    })
}

/// What is wrong with a new password for a user whose settings come from `settings_owner`
/// (strength, minimum length).
pub fn password_problems(store: &mut dyn RequestStore, settings_owner: i64, password: &str) -> Result<Vec<String>> {
    let strong = Setting::UseStrongPasswordsForUsers.flag(store, 0)?;
    let configured = Setting::DefaultUserPasswordLength.int(store, settings_owner)?;
    let min = usize::try_from(configured.max(if strong { 8 } else { 6 })).unwrap_or(8);
    let mut out = Vec::new();
    if strong && !is_strong(password) {
        out.push(msg::PASSWORD_WEAK.to_string());
    }
    if password.chars().count() < min {
        out.push(msg::password_too_short(min));
    }
    Ok(out)
}

fn is_strong(p: &str) -> bool {
    p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(char::is_uppercase) && p.chars().any(char::is_lowercase)
}

// --- user_register ---

/// What is wrong with a username, as a fact; each method words it (the update in MOR's
/// `user_details_update` texts, `user_register` in MOR's registration texts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernameProblem {
    Blank,
    /// Shorter than this many characters.
    TooShort(usize),
    /// Longer than this many characters.
    TooLong(usize),
    Taken,
}

/// The username rule: blank, shorter than the owner's minimum, too long, or taken by a user
/// other than `user_id`; the first that applies.
pub fn username_problem(
    store: &mut dyn RequestStore,
    settings_owner: i64,
    username: &str,
    user_id: Option<i64>,
) -> Result<Option<UsernameProblem>> {
    let min = usize::try_from(Setting::DefaultUserUsernameLength.int(store, settings_owner)?.max(1)).unwrap_or(1);
    let max = username_max();
    let len = username.chars().count();
    Ok(if username.is_empty() {
        Some(UsernameProblem::Blank)
    } else if len < min {
        Some(UsernameProblem::TooShort(min))
    } else if len > max {
        Some(UsernameProblem::TooLong(max))
    } else if store.username_taken(username, user_id.unwrap_or(-1))? {
        Some(UsernameProblem::Taken)
    } else {
        None
    })
}

/// What is wrong with an e-mail list, as a fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailProblem {
    /// Longer than this many characters in all.
    TooLong(usize),
    Invalid,
    /// These addresses of the list are another address row's, in the list's order.
    InUse(Vec<String>),
}

/// The e-mail rule of the update's `a8` (see [`email_problems`]).
pub fn email_problem(
    store: &mut dyn RequestStore,
    raw: &str,
    own_address: Option<i64>,
) -> Result<Option<EmailProblem>> {
    // Bounded before any address is looked up.
    let max = email_max();
    if raw.chars().count() > max {
        return Ok(Some(EmailProblem::TooLong(max)));
    }
    let Some(addresses) = email::valid_list(raw) else { return Ok(Some(EmailProblem::Invalid)) };
    if Setting::AllowIdenticalEmailAddressesToDifferentUsers.flag(store, 0)? {
        return Ok(None);
    }
    // The whole list in one lookup.
    let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let used: Vec<String> = store.emails_in_use(&addresses, own_address)?.into_iter().map(str::to_string).collect();
    Ok((!used.is_empty()).then_some(EmailProblem::InUse(used)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_passwords() {
        assert!(is_strong("Secret123"));
        assert!(!is_strong("ccaassdd"));
        assert!(!is_strong("CCAA1122"));
    }

    #[test]
    fn the_limits_are_the_catalogues() {
        assert_eq!(username_max(), 30);
        assert_eq!(email_max(), 255);
    }
}
