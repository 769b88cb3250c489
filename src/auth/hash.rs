//! MOR's request signature: SHA-1 over the values of the hashed parameters in MOR's fixed global
//! order, then the secret key (docs/contract.md §3).
//!
//! Two variants exist because MOR's code has a missing comma that drops `user_warning_email_hour`
//! and `pgui` from the hash while the documentation includes them; clients follow either.

use crate::catalogue::hash_position;
use crate::params::Params;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Which of MOR's two hash strings to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Every listed parameter, as the documentation says.
    Documented,
    /// What MOR X8 actually hashes: without `user_warning_email_hour` and `pgui`.
    MorActual,
}

impl Variant {
    pub const ALL: [Variant; 2] = [Variant::Documented, Variant::MorActual];

    fn skips(self, name: &str) -> bool {
        self == Variant::MorActual && matches!(name, "user_warning_email_hour" | "pgui")
    }
}

/// Which parameters a method's signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The hashed parameters present, in MOR's global order (most methods).
    Global,
    /// `u` then `p`, raw, and nothing else: MOR's own list for `users_get` and `user_login`
    /// (missing ones count as empty).
    Credentials,
}

impl Coverage {
    /// The coverage of the API method a path names (by any of its names).
    pub fn of_method(name: &str) -> Coverage {
        match name {
            "users_get" | "user_login" | "login" => Coverage::Credentials,
            _ => Coverage::Global,
        }
    }
}

/// The value a parameter contributes to the hash, or `None` when it is left out.
fn hashed_value<'a>(name: &str, raw: &'a str) -> Option<std::borrow::Cow<'a, str>> {
    if name == "user_id" {
        // Only all-digit ids count, and as their integer rendering (`0123` → `123`).
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = raw.trim_start_matches('0');
        return Some(if trimmed.is_empty() { "0".into() } else { trimmed.into() });
    }
    Some(raw.into())
}

/// The concatenated parameter values, without the key: the request's hashed parameters sorted
/// by MOR's order (so the cost follows the request's size, not the 209-name list).
pub fn hash_string(params: &Params, variant: Variant) -> String {
    let mut present: Vec<(usize, &str, &str)> = params
        .iter()
        .filter(|(name, _)| !variant.skips(name))
        .filter_map(|(name, raw)| hash_position(name).map(|pos| (pos, name, raw)))
        .collect();
    present.sort_unstable_by_key(|(pos, ..)| *pos);
    let mut s = String::new();
    for (_, name, raw) in present {
        if let Some(v) = hashed_value(name, raw) {
            s.push_str(&v);
        }
    }
    s
}

/// The hash string of `coverage` (without the key).
pub fn covered_string(params: &Params, coverage: Coverage, variant: Variant) -> String {
    match coverage {
        Coverage::Global => hash_string(params, variant),
        Coverage::Credentials => {
            format!("{}{}", params.get("u").unwrap_or_default(), params.get("p").unwrap_or_default())
        }
    }
}

/// Lower-case hex SHA-1 of the hash string plus the key.
pub fn sign(params: &Params, key: &str, variant: Variant) -> String {
    sign_covering(params, key, variant, Coverage::Global)
}

/// [`sign`] over what `coverage` covers.
pub fn sign_covering(params: &Params, key: &str, variant: Variant, coverage: Coverage) -> String {
    let mut h = Sha1::new();
    h.update(covered_string(params, coverage, variant).as_bytes());
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `supplied` is a valid signature of `params` under any of `keys`, in either variant.
/// Hex case is ignored; anything not 40 characters long is simply wrong. Constant time per
/// candidate, so the comparison leaks nothing about how close a guess was.
pub fn verify(params: &Params, keys: &[&str], supplied: &str) -> bool {
    which(params, keys, supplied).is_some()
}

/// The index in `keys` of the first key `supplied` is a valid signature under (see [`verify`]).
/// Every candidate is computed, whichever matches.
pub fn which(params: &Params, keys: &[&str], supplied: &str) -> Option<usize> {
    which_covering(params, keys, supplied, Coverage::Global)
}

/// [`which`] over what `coverage` covers.
pub fn which_covering(params: &Params, keys: &[&str], supplied: &str, coverage: Coverage) -> Option<usize> {
    let supplied = supplied.to_ascii_lowercase();
    let mut found = None;
    for (i, key) in keys.iter().enumerate() {
        let mut ok = subtle::Choice::from(0u8);
        for variant in Variant::ALL {
            let expected = sign_covering(params, key, variant, coverage);
            ok |= expected.as_bytes().ct_eq(supplied.as_bytes());
        }
        if bool::from(ok) && found.is_none() {
            found = Some(i);
        }
    }
    // Any length other than 40 never equals a SHA-1 hex digest.
    found.filter(|_| supplied.len() == 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    /// The hash vectors of docs/contract.md §11: (parameters, key, documented string, documented
    /// hash, MOR-actual hash).
    #[allow(clippy::type_complexity)]
    const VECTORS: &[(&str, &[(&str, &str)], &str, &str, &str)] = &[
        ("H1", &[("user_id", "123"), ("u15", "1")], "456789", "1231456789", "0ab3ede4e93a55c38855a2cc9b9e169d35442c48"),
        ("H2", &[("user_id", "123")], "456789", "123456789", "f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
        (
            "H5",
            &[("user_id", "6"), ("u15", "0"), ("u25", "1")],
            "secret",
            "601secret",
            "51ba7ae4d5742527ba30e8dbe766e1b904611c3b",
        ),
        (
            "H6",
            &[("user_id", "5"), ("u15", "1"), ("u25", "0")],
            "secret",
            "510secret",
            "136aa47d908785cb053cabedc90d6993912a57c2",
        ),
        (
            "H7",
            &[("user_id", "0"), ("u15", "1"), ("u25", "0"), ("u5", "1")],
            "secret",
            "0110secret",
            "4b63372c04043de439e7badcbb5dca7adfce3c46",
        ),
        (
            "H8",
            &[("user_id", "2"), ("u15", "0"), ("u25", "1")],
            "secret",
            "201secret",
            "1fe850b1e66401c7e89f34b801f5c925f0816e31",
        ),
        (
            "H9",
            &[("user_id", "3"), ("own_providers", "1"), ("u15", "0"), ("u25", "1")],
            "secret",
            "3011secret",
            "a2954da4d6ad8bb8f0f5719d7f153a694a81daa9",
        ),
        (
            "H10",
            &[("user_id", "6"), ("u15", "0"), ("u25", "1"), ("i1", "2"), ("i2", "4"), ("i3", "8"), ("i4", "16")],
            "secret",
            "60116248secret",
            "20ab5a816cf25c00f94bea4cd31d428940065f3e",
        ),
        (
            "H11",
            &[("user_id", "6"), ("i1", "2"), ("i2", "4"), ("i3", "8"), ("i4", "16")],
            "secret",
            "616248secret",
            "fff425dbdebb6e863567b038851c6a15ef24d70e",
        ),
        (
            "H12",
            &[("user_id", "2"), ("a8", "test_reseller@email.test")],
            "secret",
            "2test_reseller@email.testsecret",
            "ab22e29a8ed57eae21cea69d354ef2992a135143",
        ),
        ("H13", &[("user_id", "2"), ("u30", "1")], "secret", "2secret", "38282ca5e65e63746498ef5b39a2fe71c6448df4"),
        ("H14", &[("warning_email_active", "1")], "secret", "1secret", "bc2f114099d16656d37e45fd9e8744cb9386d462"),
        (
            "H15",
            &[("user_id", "0123"), ("u15", "1")],
            "456789",
            "1231456789",
            "0ab3ede4e93a55c38855a2cc9b9e169d35442c48",
        ),
        (
            "H16",
            &[
                ("user_id", "123"),
                ("u15", "1"),
                ("u30", "1"),
                ("u31", "5"),
                ("time_zone", "UTC"),
                ("two_fa_enabled", "1"),
            ],
            "456789",
            "1231456789",
            "0ab3ede4e93a55c38855a2cc9b9e169d35442c48",
        ),
        (
            "H17",
            &[
                ("user_id", "123"),
                ("u5", "2"),
                ("u15", "0"),
                ("u25", "1"),
                ("credit", "10.5"),
                ("a8", "john@example.com"),
                ("company_name", "ACME"),
            ],
            "456789",
            "12320110.5john@example.comACME456789",
            "6dfdac221d1a13091cf6d95128b075bd3daad48d",
        ),
        (
            "H18",
            &[("user_id", "123"), ("u15", "1"), ("id", "17")],
            "456789",
            "123117456789",
            "e4660e665ea39567abcf8acdcde0032340b1fd7b",
        ),
        ("H19", &[("user_id", "581")], "asdfghjkl", "581asdfghjkl", "b3b8a6f4063a0569212c91098627a9c394283bd6"),
        (
            "H20",
            &[("user_id", "123"), ("period_start", "1252454580"), ("calltype", "answered")],
            "Very Sercet Key",
            "1231252454580answeredVery Sercet Key",
            "b93c35d5c6183288322122561a3da7e09abb63b7",
        ),
    ];

    #[test]
    fn every_reference_vector_signs_and_verifies() {
        for (id, pairs, key, string, sha) in VECTORS {
            let p = params(pairs);
            for variant in Variant::ALL {
                assert_eq!(format!("{}{key}", hash_string(&p, variant)), *string, "{id} string");
                assert_eq!(sign(&p, key, variant), *sha, "{id} hash");
            }
            assert!(verify(&p, &[key], sha), "{id} verify");
        }
    }

    #[test]
    fn h3_h4_documented_and_mor_actual_variants_differ_and_both_verify() {
        let p = params(&[("user_id", "123"), ("user_warning_email_hour", "15"), ("pgui", "1"), ("pcsv", "0")]);
        assert_eq!(hash_string(&p, Variant::Documented), "1231510");
        assert_eq!(sign(&p, "456789", Variant::Documented), "3574cbfc236bf319d40b95b7d17fbb7a71b27a71");
        assert_eq!(hash_string(&p, Variant::MorActual), "1230");
        assert_eq!(sign(&p, "456789", Variant::MorActual), "23a5355933c87c9cd46dc46b23f5f3213532cb15");
        assert!(verify(&p, &["456789"], "3574cbfc236bf319d40b95b7d17fbb7a71b27a71"));
        assert!(verify(&p, &["456789"], "23a5355933c87c9cd46dc46b23f5f3213532cb15"));
    }

    #[test]
    fn negative_hash_cases() {
        let p = params(&[("user_id", "123"), ("u15", "1")]);
        let good = "0ab3ede4e93a55c38855a2cc9b9e169d35442c48";
        // Upper case is accepted deliberately (docs/contract.md §3).
        assert!(verify(&p, &["456789"], &good.to_uppercase()));
        assert!(!verify(&p, &["456789"], &good[..39]));
        assert!(!verify(&p, &["456789"], &format!("{good}0")));
        assert!(!verify(&p, &["wrong"], good));
        assert!(!verify(&p, &[], good));
        // A reseller is accepted with either of his candidate keys.
        assert!(verify(&p, &["reseller-secret", "456789"], good));
        assert!(verify(&p, &["456789", "reseller-secret"], good));
    }

    #[test]
    fn credentials_cover_u_and_p_only() {
        // MOR's wiki vector for users_get (u=admin, p=admin1, key secret), and the lifecycle
        // contract's vectors: other parameters, even hashed ones, do not enter.
        let p = params(&[("u", "admin"), ("p", "admin1"), ("user_id", "5"), ("email", "x@y.z")]);
        assert_eq!(covered_string(&p, Coverage::Credentials, Variant::Documented), "adminadmin1");
        assert_eq!(
            sign_covering(&p, "secret", Variant::Documented, Coverage::Credentials),
            "c420ef706a02e6449994b7575b25ef5f74cc722b"
        );
        let q = params(&[("u", "admin"), ("p", "Admin1234")]);
        assert_eq!(
            which_covering(&q, &["x", "456789"], "6FF40F671A3D7AF005C3C6F9199485CCC48A22ED", Coverage::Credentials),
            Some(1)
        );
        // Global order: u and p are not in it (user_logout's vector is SHA-1 of the key alone).
        assert_eq!(sign(&q, "456789", Variant::Documented), "df2983700ffecb52e6649f0cb3981b66537083a4");
        assert_eq!(Coverage::of_method("login"), Coverage::Credentials);
        assert_eq!(Coverage::of_method("users_get"), Coverage::Credentials);
        assert_eq!(Coverage::of_method("user_logout"), Coverage::Global);
        assert_eq!(Coverage::of_method("user_register"), Coverage::Global);
    }

    #[test]
    fn non_digit_user_id_is_left_out() {
        let p = params(&[("user_id", "12a"), ("u15", "1")]);
        assert_eq!(hash_string(&p, Variant::Documented), "1");
        let p = params(&[("user_id", ""), ("u15", "1")]);
        assert_eq!(hash_string(&p, Variant::Documented), "1");
        let p = params(&[("user_id", "000"), ("u15", "1")]);
        assert_eq!(hash_string(&p, Variant::Documented), "01");
    }
}
