//! The shared value rules: how ids, whole numbers, amounts, e-mail lists, audit times, request ids
//! and XML-safe text are read and written. Every layer (the API, the CLI, storage) reads them
//! from here, so a rule cannot drift between two copies. This module imports nothing else of the
//! crate.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::str::FromStr;

/// A whole number as MOR clients send them: surrounding spaces allowed, optional sign.
pub fn int(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// A switch as MOR reads it (`to_i`): blank is 0, otherwise a whole number (> 0 means on).
pub fn flag(raw: &str) -> Option<i64> {
    let v = raw.trim();
    if v.is_empty() { Some(0) } else { int(v) }
}

/// `user_id` as MOR reads it: digits only (leading zeros allowed, no sign, no spaces), else
/// absent. The hash and every method read it through this one rule.
pub fn user_id(raw: &str) -> Option<i64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// Exact decimal amounts (balances, credit, tax rates).
pub mod amount {
    use super::*;

    /// Digits an amount holds before and after the point: the server engines' `DECIMAL(30,15)`,
    /// and the same limit on SQLite so that every engine accepts the same values.
    pub const DIGITS: u32 = 15;

    /// An amount as sent: `,` accepted as the decimal point, no exponent, spaces trimmed.
    pub fn parse(raw: &str) -> Option<Decimal> {
        let s = raw.trim().replace(',', ".");
        if s.is_empty() || s.contains(['e', 'E']) {
            return None;
        }
        Decimal::from_str(&s).ok()
    }

    /// An amount as stored (canonical text, or any number a database returns).
    pub fn stored(raw: &str) -> Option<Decimal> {
        Decimal::from_str(raw.trim()).ok()
    }

    /// Whether it fits every engine's decimal columns ([`DIGITS`] before and after the point).
    pub fn fits(d: &Decimal) -> bool {
        let d = d.normalize();
        d.scale() <= DIGITS && d.abs() < Decimal::from(10_i64.pow(DIGITS))
    }

    /// What a value that does not fit must be, for messages.
    pub fn expected() -> String {
        format!("a number with at most {DIGITS} digits before and {DIGITS} after the point")
    }

    /// The one stored and shown form: shortest exact (`10.50` → `10.5`), never `-0`. Two
    /// amounts are the same exactly when their canonical forms are.
    pub fn canonical(d: Decimal) -> String {
        let mut d = d.normalize();
        if d.is_zero() {
            d.set_sign_positive(true);
        }
        d.to_string()
    }

    /// The shortest exact form with at least one digit after the point, as MOR (Rails) prints a
    /// stored decimal: `0.0`, `12.5`, `-3.25` (`users_get`'s balance).
    pub fn with_point(d: Decimal) -> String {
        let s = canonical(d);
        if s.contains('.') { s } else { format!("{s}.0") }
    }

    /// Exactly four decimals, rounded half away from zero (MOR's `0.0000`).
    pub fn four_decimals(d: Decimal) -> String {
        let mut d = d.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        if d.is_zero() {
            d.set_sign_positive(true);
        }
        d.rescale(4);
        d.to_string()
    }
}

/// E-mail addresses: MOR's rule for one address, and lists separated by `;`.
pub mod email {
    /// `local@domain.tld` with a 2–15 letter TLD, after removing spaces (MOR's e-mail rule).
    pub fn valid(e: &str) -> bool {
        let e: String = e.chars().filter(|c| !c.is_whitespace()).collect();
        let Some((local, domain)) = e.split_once('@') else { return false };
        let Some((host, tld)) = domain.rsplit_once('.') else { return false };
        !local.is_empty()
            && !host.is_empty()
            && !domain.contains('@')
            && !host.starts_with('.')
            && !host.ends_with('.')
            && (2..=15).contains(&tld.len())
            && tld.chars().all(|c| c.is_ascii_alphabetic())
    }

    /// The addresses of a `;`-separated list, spaces removed, empty entries dropped (MOR
    /// tolerates `a@b.lt;`).
    pub fn list(raw: &str) -> Vec<String> {
        entries(raw).collect()
    }

    /// The entries of a list as [`list`] reads them.
    fn entries(raw: &str) -> impl Iterator<Item = String> {
        raw.split(';').map(spaceless).filter(|e| !e.is_empty())
    }

    fn spaceless(e: &str) -> String {
        e.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// An address as the uniqueness rule compares it: spaces removed (as [`list`] reads it),
    /// ASCII letters lower-cased (`John@Example.COM` is `john@example.com`; other letters compare
    /// exactly).
    pub fn key(address: &str) -> String {
        spaceless(address).to_ascii_lowercase()
    }

    /// The addresses of a stored list as the uniqueness rule compares them: [`list`]'s entries,
    /// each read by [`key`].
    pub fn addresses(stored: &str) -> impl Iterator<Item = String> {
        entries(stored).map(|e| e.to_ascii_lowercase())
    }

    /// The addresses of a list when there is at least one and every one is valid.
    pub fn valid_list(raw: &str) -> Option<Vec<String>> {
        let all = list(raw);
        (!all.is_empty() && all.iter().all(|e| valid(e))).then_some(all)
    }
}

/// When an audit row was written: UTC with microseconds. Stored as RFC 3339 text in one fixed
/// format, so that text order is time order on every engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AuditTime(pub DateTime<Utc>);

impl AuditTime {
    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

    pub fn now() -> AuditTime {
        AuditTime(Utc::now())
    }

    /// The stored text.
    pub fn stored(self) -> String {
        self.0.format(Self::FORMAT).to_string()
    }

    /// Whole seconds since the Unix epoch (lockouts count in seconds).
    pub fn unix(self) -> i64 {
        self.0.timestamp()
    }

    /// The time `secs` seconds after the Unix epoch (a lock's end, shown).
    pub fn from_unix(secs: i64) -> AuditTime {
        AuditTime(DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }
}

/// The most characters a text column holds on every engine (MariaDB's `VARCHAR(255)`); longer
/// values (a comment) have a column type of their own.
pub const TEXT_MAX: usize = 255;

/// Whether every engine can store `s` in a text column: no NUL (PostgreSQL refuses it) and at most
/// [`TEXT_MAX`] characters (MariaDB).
pub fn storable(s: &str) -> bool {
    !s.contains('\0') && s.chars().count() <= TEXT_MAX
}

/// `s` in a form every engine stores, for the audit trail of what a client sent: NUL replaced,
/// cut to [`TEXT_MAX`] characters.
pub fn storable_form(s: &str) -> String {
    s.chars().take(TEXT_MAX).map(|c| if c == '\0' { '\u{FFFD}' } else { c }).collect()
}

/// The id of one request, as answered in `X-Request-Id` and kept in its audit rows.
pub fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Random credentials morapi hands out: every one drawn from the operating system's CSPRNG
/// (through `rand`'s thread generator, reseeded from it).
pub mod secrets {
    use rand::Rng;
    use rand::seq::SliceRandom;

    /// MOR's alphabet for a user's `uniquehash` with strong passwords off: lower-case letters and
    /// digits without the look-alikes `i`, `l`, `o`, `0`, `1`.
    pub const UNIQUEHASH_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    /// The length of a `uniquehash`.
    pub const UNIQUEHASH_LEN: usize = 10;

    /// A new `uniquehash` (users.uniquehash): 10 characters of [`UNIQUEHASH_ALPHABET`]. Unique
    /// in the database by its index; a collision (1 in 8·10¹⁴ per pair) is retried by the writer.
    pub fn uniquehash() -> String {
        let mut rng = rand::rng();
        (0..UNIQUEHASH_LEN)
            .map(|_| char::from(UNIQUEHASH_ALPHABET[rng.random_range(0..UNIQUEHASH_ALPHABET.len())]))
            .collect()
    }

    /// A SIP/IAX2 device secret in MOR's strong form: four lower-case letters, four capitals and
    /// four digits, shuffled.
    pub fn device_secret() -> String {
        let mut rng = rand::rng();
        let mut chars: Vec<char> = (0..4)
            .flat_map(|_| {
                [
                    char::from(rng.random_range(b'a'..=b'z')),
                    char::from(rng.random_range(b'A'..=b'Z')),
                    char::from(rng.random_range(b'0'..=b'9')),
                ]
            })
            .collect();
        chars.shuffle(&mut rng);
        chars.into_iter().collect()
    }

    /// `len` random decimal digits (a device PIN; leading zeros allowed).
    pub fn digits(len: usize) -> String {
        let mut rng = rand::rng();
        (0..len).map(|_| char::from(rng.random_range(b'0'..=b'9'))).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn shapes() {
            for _ in 0..200 {
                let h = uniquehash();
                assert_eq!(h.len(), UNIQUEHASH_LEN);
                assert!(h.bytes().all(|b| UNIQUEHASH_ALPHABET.contains(&b)), "{h}");
                let s = device_secret();
                assert_eq!(s.len(), 12);
                assert_eq!(s.bytes().filter(u8::is_ascii_lowercase).count(), 4, "{s}");
                assert_eq!(s.bytes().filter(u8::is_ascii_uppercase).count(), 4, "{s}");
                assert_eq!(s.bytes().filter(u8::is_ascii_digit).count(), 4, "{s}");
                let d = digits(6);
                assert!(d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()), "{d}");
            }
            assert_ne!(uniquehash(), uniquehash());
        }
    }
}

/// A duration in seconds as flags and configuration files give it: a plain decimal number
/// (`5`, `0.25`), no sign, exponent, `inf` or `nan`, within `min..=max` seconds. Every duration
/// an operator sets is read through this one rule, so a typo is refused at start with the range
/// in the message instead of panicking (`Duration::from_secs_f64` panics on -1, NaN or 1e30).
pub fn seconds(raw: &str, min: f64, max: f64) -> Result<std::time::Duration, String> {
    let s = raw.trim();
    let plain =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && s.bytes().any(|b| b.is_ascii_digit());
    let value = if plain { s.parse::<f64>().ok() } else { None };
    match value {
        Some(v) if (min..=max).contains(&v) => Ok(std::time::Duration::from_secs_f64(v)),
        _ => Err(format!("give a number of seconds from {min} to {max}")),
    }
}

/// The longest `X-Request-Id` of a client's that morapi keeps.
pub const CLIENT_REQUEST_ID_MAX: usize = 128;

/// A client's own request id (`X-Request-Id`), when it is sane enough to log and echo: 1 to
/// [`CLIENT_REQUEST_ID_MAX`] characters of `A-Z a-z 0-9 . _ : -` (UUIDs, trace ids). Anything else
/// is ignored. It never replaces [`new_request_id`]'s id in the audit rows: a client may send the
/// same id twice, and storage proves a lost commit by that id (docs/decisions.md, "Operations").
pub fn client_request_id(raw: &str) -> Option<&str> {
    let sane = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    (!raw.is_empty() && raw.len() <= CLIENT_REQUEST_ID_MAX && raw.bytes().all(sane)).then_some(raw)
}

/// Whether `c` may appear in an XML 1.0 document: answers are XML, so values are limited to
/// what can be written back.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

// --- cli ---
/// A device's types, spelled exactly as MOR spells them (`devices.device_type`).
pub const DEVICE_TYPES: &[&str] = &["SIP", "IAX2", "Virtual"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_plain_bounded_numbers() {
        use std::time::Duration;
        assert_eq!(seconds("5", 0.1, 60.0), Ok(Duration::from_secs(5)));
        assert_eq!(seconds(" 0.25 ", 0.1, 60.0), Ok(Duration::from_millis(250)));
        assert_eq!(seconds("60", 0.1, 60.0), Ok(Duration::from_secs(60)));
        for bad in ["-1", "1e30", "nan", "NaN", "inf", "", ".", "5s", "0.05", "61", "1.2.3", "+5"] {
            let e = seconds(bad, 0.1, 60.0).unwrap_err();
            assert!(e.contains("from 0.1 to 60"), "{bad}: {e}");
        }
    }

    #[test]
    fn whole_numbers_and_switches() {
        assert_eq!(int(" 7 "), Some(7));
        assert_eq!(int("-3"), Some(-3));
        assert_eq!(int("1.5"), None);
        assert_eq!(flag(""), Some(0));
        assert_eq!(flag(" 2 "), Some(2));
        assert_eq!(flag("on"), None);
    }

    #[test]
    fn user_ids_are_digits_only() {
        assert_eq!(user_id("0123"), Some(123));
        for bad in ["", " 1", "+1", "-1", "1a", "99999999999999999999"] {
            assert_eq!(user_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn amounts_accept_a_comma_and_have_one_canonical_form() {
        let c = |s: &str| amount::parse(s).map(amount::canonical);
        assert_eq!(c("1,5"), Some("1.5".into()));
        assert_eq!(c(" 10.50 "), Some("10.5".into()));
        assert_eq!(c("-5"), Some("-5".into()));
        assert_eq!(c("-0.000"), Some("0".into()));
        for bad in ["abc", "1e5", ""] {
            assert_eq!(amount::parse(bad), None, "{bad}");
        }
        let d = |s: &str| amount::stored(s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(amount::four_decimals(d("12.34565")), "12.3457");
        assert_eq!(amount::four_decimals(d("-12.34565")), "-12.3457");
        assert_eq!(amount::four_decimals(d("-0.00001")), "0.0000");
        assert_eq!(amount::four_decimals(d("1.5")), "1.5000");
        assert!(amount::fits(&d("999999999999999.9999999999999")));
        assert!(amount::fits(&d("1.500000000000000000")), "trailing zeros do not count");
        assert!(!amount::fits(&d("1000000000000000")));
        assert!(!amount::fits(&d("0.0000000000000001")));
    }

    #[test]
    fn amounts_as_mor_prints_them_keep_a_digit_after_the_point() {
        let p = |s: &str| amount::with_point(amount::stored(s).unwrap_or_else(|| panic!("{s}")));
        assert_eq!(p("0"), "0.0");
        assert_eq!(p("0.000000000000000"), "0.0");
        assert_eq!(p("-0.00"), "0.0");
        assert_eq!(p("12.500000000000000"), "12.5");
        assert_eq!(p("-3.25"), "-3.25");
        assert_eq!(p("100"), "100.0");
        assert_eq!(p("-7"), "-7.0");
        assert_eq!(p("0.000000000000001"), "0.000000000000001");
        assert_eq!(p("999999999999999.9999999999999"), "999999999999999.9999999999999");
    }

    #[test]
    fn emails_follow_mors_rule() {
        for ok in ["a@b.com", "john.doe@example.co.uk", "x@y.museum", " a @ b.lt "] {
            assert!(email::valid(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "@b.com", "a@.com", "a@b.c", "a@b.c0m", "a@@b.com", "a@b.abcdefghijklmnop"] {
            assert!(!email::valid(bad), "{bad}");
        }
        assert_eq!(email::valid_list("solo@x.lt;"), Some(vec!["solo@x.lt".to_string()]));
        assert_eq!(email::valid_list(" a@b.lt ; c@d.lt"), Some(vec!["a@b.lt".to_string(), "c@d.lt".to_string()]));
        assert_eq!(email::valid_list(";"), None);
        assert_eq!(email::valid_list("a@b.lt;nope"), None);
    }

    #[test]
    fn stored_lists_as_the_uniqueness_rule_reads_them() {
        let all: Vec<String> = email::addresses(" First@Example.COM ; a b@Ž.lt;;").collect();
        assert_eq!(all, ["first@example.com", "ab@Ž.lt"], "ASCII letters only are lower-cased");
        assert_eq!(email::key(" John@Example.com"), "john@example.com");
        assert_eq!(email::list(" a@b.lt ; c@d.lt"), email::addresses(" a@b.lt ; c@d.lt").collect::<Vec<_>>());
    }

    #[test]
    fn audit_times_sort_as_text() {
        let t = AuditTime(DateTime::from_timestamp(1_700_000_000, 5_000).unwrap_or_default());
        assert_eq!(t.stored(), "2023-11-14T22:13:20.000005Z");
        assert_eq!(new_request_id().len(), 16);
    }

    #[test]
    fn client_request_ids() {
        for sane in ["a", "0f8e-4c2a:trace_1.2", "550e8400-e29b-41d4-a716-446655440000", &"x".repeat(128)] {
            assert_eq!(client_request_id(sane), Some(sane));
        }
        for insane in ["", "a b", "a\nb", "é", "x=1", "a\"b", &"x".repeat(129)] {
            assert_eq!(client_request_id(insane), None, "{insane:?}");
        }
    }

    #[test]
    fn what_every_engine_stores() {
        assert!(storable("john") && storable(&"x".repeat(TEXT_MAX)));
        assert!(!storable("jo\0hn") && !storable(&"x".repeat(TEXT_MAX + 1)));
        assert_eq!(storable_form("a\0b"), "a\u{FFFD}b");
        assert_eq!(storable_form(&"é".repeat(300)).chars().count(), TEXT_MAX);
    }

    #[test]
    fn xml_characters() {
        assert!(is_xml_char('a') && is_xml_char('\n') && is_xml_char('ž'));
        assert!(!is_xml_char('\u{0}') && !is_xml_char('\u{1b}') && !is_xml_char('\u{FFFE}'));
    }
}
