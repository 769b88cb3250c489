//! Knowledge kept as data: parameters, error strings, MOR's hash order and the time zone names.

pub mod errors;
pub mod params;
pub mod rights;

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// MOR's global hash order (docs/contract.md §3): 209 names shared by every API method.
pub fn hash_order() -> impl Iterator<Item = &'static str> {
    include_str!("hash_order.txt").lines().filter(|l| !l.is_empty())
}

/// Position of each name in [`hash_order`], built once: every request looks names up here.
static HASH_POSITIONS: LazyLock<HashMap<&'static str, usize>> =
    LazyLock::new(|| hash_order().enumerate().map(|(i, n)| (n, i)).collect());

/// Where `name` stands in MOR's hash order, if it is hashed at all.
pub fn hash_position(name: &str) -> Option<usize> {
    HASH_POSITIONS.get(name).copied()
}

/// The Rails time zone names MOR accepts (the "time zone name" column of MOR's Time Zone list).
pub fn time_zones() -> impl Iterator<Item = &'static str> {
    include_str!("../../data/time_zones.txt").lines().filter(|l| !l.is_empty())
}

static TIME_ZONES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| time_zones().collect());

/// Whether `name` is one of [`time_zones`].
pub fn is_time_zone(name: &str) -> bool {
    TIME_ZONES.contains(name)
}

/// Whether a column, parameter or setting holds a secret (a password, a key): its values are
/// never stored in clear in the audit trail nor shown, only that it changed. The one notion of a
/// secret for the update, the audit display and the settings.
pub fn is_secret(name: &str) -> bool {
    SECRETS.contains(&name.rsplit('.').next().unwrap_or(name))
}

/// The secrets by name: the password column, its parameter, the API key settings, the user's
/// `uniquehash` (it stands in for a password in `users_get`) and a device's SIP/IAX2 `secret`
/// and `pin`.
const SECRETS: &[&str] = &["password", "pswd", "api_secret_key", "api_secret_key_next", "uniquehash", "secret", "pin"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_order_has_mors_209_names() {
        assert_eq!(hash_order().count(), 209);
        assert_eq!(hash_order().next(), Some("user_id"));
        assert_eq!(hash_position("user_id"), Some(0));
        assert_eq!(hash_position("service_id"), Some(208));
        assert_eq!(hash_position("u29"), None);
    }

    #[test]
    fn secrets() {
        for name in ["password", "pswd", "api_secret_key", "users.password"] {
            assert!(is_secret(name), "{name}");
        }
        for name in ["blocked", "addresses.email", "api_disable_hash_checking", "default_user_password_length"] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn time_zones_include_the_usual_names() {
        for z in ["UTC", "Vilnius", "International Date Line West", "Eastern Time (US & Canada)"] {
            assert!(is_time_zone(z), "{z}");
        }
        assert!(!is_time_zone("Mars/Olympus"));
    }
}
