//! Settings per owner (0 = admin/global, or a reseller id), stored in `conflines`
//! (docs/contract.md §8). Names are the project's; meanings are MOR's.
//!
//! Every setting is one row of the `settings!` table below: its name, default, scope, kind and meaning.
//! Validation ([`Setting::check`]), typed reads ([`Setting::flag`], [`Setting::int`]), the CLI's
//! `settings list` and the README's table (`morapi docs settings`) all derive from that row.

use crate::storage::{RequestStore, Result};

/// Whose setting it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only owner 0 has it; reads for any owner read owner 0's.
    Global,
    /// Owner 0 and every reseller have their own.
    PerOwner,
}

/// How MOR reads a stored switch. Values written through morapi are always `0` or `1`; the
/// difference matters for values written by MOR itself or by hand (blank, `2`, `yes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    /// On only when the value is `1` (MOR's `== "1"`).
    One,
    /// On unless the value is `0`: blank counts as on (MOR's `!= "0"`).
    NotZero,
}

/// What a setting holds, and so which values `morapi settings set` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A switch, stored `0` or `1`, read by its [`Truth`].
    Flag(Truth),
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A privacy mask: 0 to 7 (1 GUI, 2 CSV, 4 PDF), or -1 for "use the global one".
    PrivacyMask,
    /// Text that is never shown unless asked for (the API key); any value, trimmed.
    Secret,
    /// Plain text of at most [`crate::values::TEXT_MAX`] characters, trimmed, no control characters.
    Text,
}

use crate::catalogue::params::PRIVACY_MASK;

/// One row of the settings table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Def {
    pub name: &'static str,
    /// The value a missing row reads as.
    pub default: &'static str,
    pub scope: Scope,
    pub kind: Kind,
    /// What it means, for `settings list` and the README.
    pub description: &'static str,
}

/// Declares the [`Setting`] enum and its table together, so that a setting cannot exist without
/// its row (and [`Setting::def`] needs no fallible lookup).
macro_rules! settings {
    ($($variant:ident => $def:expr,)*) => {
        /// An API setting; its row in the table below says everything about it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Setting {
            $($variant,)*
        }

        /// The rows, in the order of [`Setting`]'s variants.
        const TABLE: &[Def] = &[$($def,)*];

        impl Setting {
            pub const ALL: [Setting; TABLE.len()] = [$(Setting::$variant,)*];
        }
    };
}

const fn flag(name: &'static str, default: &'static str, scope: Scope, description: &'static str) -> Def {
    Def { name, default, scope, kind: Kind::Flag(Truth::One), description }
}

settings! {
    AllowApi => flag("allow_api", "0", Scope::PerOwner, "API enabled for this owner (admin: globally)"),
    ApiSecretKey => Def {
        name: "api_secret_key",
        default: "",
        scope: Scope::PerOwner,
        kind: Kind::Secret,
        description: "secret key requests are signed with",
    },
    ApiSecretKeyNext => Def {
        name: "api_secret_key_next",
        default: "",
        scope: Scope::PerOwner,
        kind: Kind::Secret,
        description: "the next key of a rotation: accepted alongside api_secret_key until promoted",
    },
    ApiDisableHashChecking =>
        flag("api_disable_hash_checking", "0", Scope::PerOwner, "1 = accept requests without a valid hash"),
    AllowGetApi => flag("allow_get_api", "0", Scope::Global, "1 = accept GET as well as POST (global only)"),
    AllowResellersToUseAdminTariffs => flag(
        "allow_resellers_to_use_admin_tariffs",
        "0",
        Scope::Global,
        "resellers may assign admin retail/wholesale tariffs",
    ),
    AllowResellersToUseAdminQuickforwardRules => flag(
        "allow_resellers_to_use_admin_quickforward_rules",
        "0",
        Scope::Global,
        "resellers may assign admin quick-forward rules",
    ),
    // MOR treats a blank setting as on: strong passwords by default.
    UseStrongPasswordsForUsers => Def {
        name: "use_strong_passwords_for_users",
        default: "1",
        scope: Scope::Global,
        kind: Kind::Flag(Truth::NotZero),
        description: "passwords need a digit, a capital and a lower-case letter",
    },
    DefaultUserPasswordLength => Def {
        name: "default_user_password_length",
        default: "6",
        scope: Scope::PerOwner,
        kind: Kind::Int { min: 1, max: 100 },
        description: "minimum password length (at least 6; 8 with strong passwords)",
    },
    DefaultUserUsernameLength => Def {
        name: "default_user_username_length",
        default: "1",
        scope: Scope::PerOwner,
        kind: Kind::Int { min: 1, max: 100 },
        description: "minimum username length",
    },
    AllowIdenticalEmailAddressesToDifferentUsers => flag(
        "allow_identical_email_addresses_to_different_users",
        "0",
        Scope::Global,
        "1 = e-mail addresses need not be unique",
    ),
    TwoFaEnabled => flag("two_fa_enabled", "0", Scope::Global, "two-factor authentication available system-wide"),
    HideDestinationEnd => Def {
        name: "hide_destination_end",
        default: "0",
        scope: Scope::PerOwner,
        kind: Kind::PrivacyMask,
        description: "global privacy mask used by users whose own value is -1",
    },
    LockoutAttempts => Def {
        name: "lockout_attempts",
        default: "5",
        scope: Scope::Global,
        kind: Kind::Int { min: 0, max: 1000 },
        description: "refused credentials for one name from one address that lock the pair (0 = no lockout)",
    },
    LockoutWindowSeconds => Def {
        name: "lockout_window_seconds",
        default: "900",
        scope: Scope::Global,
        kind: Kind::Int { min: 1, max: 86_400 },
        description: "how far back refusals count towards a lockout; refusals are recorded per window",
    },
    LockoutSeconds => Def {
        name: "lockout_seconds",
        default: "900",
        scope: Scope::Global,
        kind: Kind::Int { min: 1, max: 604_800 },
        description: "how long a lockout lasts",
    },
    LockoutAddressUsernames => Def {
        name: "lockout_address_usernames",
        default: "10",
        scope: Scope::Global,
        kind: Kind::Int { min: 0, max: 1000 },
        description: "different names refused from one address that lock the address (0 = never)",
    },
    AllowApiRegistration => flag(
        "allow_api_registration",
        "0",
        Scope::Global,
        "1 = user_register may create users (MOR's API_Allow_registration_ower_API)",
    ),
    AsteriskServerIp => Def {
        name: "asterisk_server_ip",
        default: "",
        scope: Scope::Global,
        kind: Kind::Text,
        description: "the address devices register with, answered by user_register as server_ip",
    },
    DeviceRangeMin => Def {
        name: "device_range_min",
        default: "1001",
        scope: Scope::Global,
        kind: Kind::Int { min: 1, max: 999_999_999 },
        description: "lowest extension user_register gives a new device",
    },
    DeviceRangeMax => Def {
        name: "device_range_max",
        default: "9999",
        scope: Scope::Global,
        kind: Kind::Int { min: 1, max: 999_999_999 },
        description: "highest extension user_register gives a new device",
    },
    DevicePinLength => Def {
        name: "device_pin_length",
        default: "6",
        scope: Scope::Global,
        kind: Kind::Int { min: 4, max: 20 },
        description: "digits of a new device's PIN",
    },
    AgreementNumberLength => Def {
        name: "agreement_number_length",
        default: "10",
        scope: Scope::Global,
        kind: Kind::Int { min: 1, max: 30 },
        description: "a new user's agreement number is zero-padded to this many digits",
    },
    AllowLoginByEmail => flag(
        "allow_login_by_email",
        "0",
        Scope::Global,
        "1 = user_login also finds a user by his address e-mail (when it is one user's only)",
    ),
    DefaultDeviceLocationId => Def {
        name: "default_device_location_id",
        default: "1",
        scope: Scope::PerOwner,
        kind: Kind::Int { min: 0, max: i64::MAX },
        description: "location of a device user_register creates without device_location_id",
    },
    AuditReads => flag(
        "audit_reads",
        "0",
        Scope::Global,
        "1 = record every successful user_details_get / user_details_raw_get in the audit trail",
    ),
}

/// The fewest characters of an API secret key (`api_secret_key`, `api_secret_key_next`) that
/// morapi stores unless told to accept a weak one (`--allow-weak`). Keys morapi makes are 64.
/// MOR's demo key (6 characters) comes in with the demo data, not through this rule.
pub const API_KEY_MIN_CHARS: usize = 16;

/// Why `key` cannot be stored as an API secret key, if it cannot: empty, white space around it
/// (values are read trimmed, so it would not be the key the clients have), control characters
/// (no client can send them), or shorter than [`API_KEY_MIN_CHARS`] unless `allow_weak`.
pub fn api_key_problem(key: &str, allow_weak: bool) -> Option<String> {
    let chars = key.chars().count();
    if key.is_empty() {
        Some("the key is empty".into())
    } else if key.trim() != key {
        Some("the key starts or ends with white space".into())
    } else if key.chars().any(char::is_control) {
        Some("the key contains control characters (a line break, a tab, …)".into())
    } else if chars < API_KEY_MIN_CHARS && !allow_weak {
        Some(format!("the key has {chars} characters; an API secret key needs at least {API_KEY_MIN_CHARS}"))
    } else {
        None
    }
}

impl Setting {
    /// This setting's row of the table.
    pub fn def(self) -> &'static Def {
        // The macro builds TABLE and the variants from the same list, in the same order.
        &TABLE[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The value a missing row reads as.
    pub fn default_value(self) -> &'static str {
        self.def().default
    }

    /// What it means, for `--help` and the README.
    pub fn description(self) -> &'static str {
        self.def().description
    }

    /// Whether only owner 0 has this setting.
    pub fn global_only(self) -> bool {
        self.def().scope == Scope::Global
    }

    pub fn kind(self) -> Kind {
        self.def().kind
    }

    /// The value to store for `raw`, or why it is refused.
    pub fn check(self, raw: &str) -> std::result::Result<String, String> {
        let v = raw.trim();
        let name = self.name();
        match self.kind() {
            Kind::Secret => Ok(v.to_string()),
            Kind::Text if v.chars().count() > crate::values::TEXT_MAX => {
                Err(format!("{name} is too long (maximum {} characters)", crate::values::TEXT_MAX))
            }
            Kind::Text if v.chars().any(char::is_control) => Err(format!("{name} contains control characters")),
            Kind::Text => Ok(v.to_string()),
            Kind::Flag(_) if v == "0" || v == "1" => Ok(v.to_string()),
            Kind::Flag(_) => Err(format!("{name} must be 0 or 1")),
            Kind::Int { min, max } => match crate::values::int(v) {
                Some(n) if (min..=max).contains(&n) => Ok(n.to_string()),
                _ => Err(format!("{name} must be a whole number from {min} to {max}")),
            },
            Kind::PrivacyMask => match crate::values::int(v) {
                Some(n) if PRIVACY_MASK.contains(&n) => Ok(n.to_string()),
                _ => Err(format!(
                    "{name} must be {} (global) or a mask from 0 to {}",
                    PRIVACY_MASK.start(),
                    PRIVACY_MASK.end()
                )),
            },
        }
    }

    /// Whether the value is never shown unless asked for: the crate's one notion of a secret
    /// (a test keeps [`Kind::Secret`] in step with it).
    pub fn secret(self) -> bool {
        crate::catalogue::is_secret(self.name())
    }

    pub fn by_name(name: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Reads the setting of `owner`, falling back to the default when never set. Values are
    /// stored trimmed, as MOR does.
    pub fn read(self, repo: &mut dyn RequestStore, owner: i64) -> Result<String> {
        let owner = if self.global_only() { 0 } else { owner };
        Ok(repo
            .setting(owner, self.name())?
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| self.default_value().to_string()))
    }

    /// Whether the switch is on for `owner`, read as MOR reads this switch ([`Truth`]).
    pub fn flag(self, repo: &mut dyn RequestStore, owner: i64) -> Result<bool> {
        Ok(self.is_on(&self.read(repo, owner)?))
    }

    /// Whether a stored value means on. Non-switch settings read like [`Truth::One`].
    pub fn is_on(self, value: &str) -> bool {
        match self.kind() {
            Kind::Flag(Truth::NotZero) => value != "0",
            _ => value == "1",
        }
    }

    /// The number set for `owner`; a value that is not a whole number reads as the default (and
    /// a default that is not a number as 0).
    pub fn int(self, repo: &mut dyn RequestStore, owner: i64) -> Result<i64> {
        Ok(self.int_of(&self.read(repo, owner)?))
    }

    /// [`Setting::int`] of a stored value.
    pub fn int_of(self, value: &str) -> i64 {
        crate::values::int(value).or_else(|| crate::values::int(self.default_value())).unwrap_or(0)
    }
}

// --- user_delete ---

/// The responsible accountant of the users an owner registers: a member of the
/// `default_user_<column>` family (column `responsible_accountant_id`), MOR's
/// `Default_User_responsible_accountant_id`. An accountant named there by any owner is not
/// deleted (`user_delete`), or the next registration would name nobody.
pub const DEFAULT_USER_RESPONSIBLE_ACCOUNTANT: &str = "default_user_responsible_accountant_id";

// --- user_register ---

use crate::catalogue::params::{self as catalogue_params, Kind as ParamKind, Param};
use crate::storage::{Table, Value};

/// A family of per-owner settings named `<prefix><column>`: the values a user created by
/// `user_register` starts with (MOR's `Default_User_*` and `Default_Tax_*` conflines). Which
/// columns belong, and how a value is checked, come from the update's catalogue: a column is
/// in a family when an update parameter writes it with a value of its own
/// ([`catalogue_params::writing`]) or, for a mask column, with bits ([`catalogue_params::mask_bits`]),
/// and that parameter's rule checks the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    DefaultUser,
    DefaultTax,
}

/// `users` columns never taken from `default_user_<column>`: those `user_register` takes from
/// the request or makes itself, and those a new user never starts with (docs/contract.md,
/// `user_register`, "What is created").
const NOT_DEFAULTED: &[&str] = &[
    "username",
    "password",
    "usertype",
    "owner_id",
    "first_name",
    "last_name",
    "clientid",
    "vat_number",
    "accounting_number",
    "acc_group_id",
    "taxation_country",
    "agreement_date",
    "agreement_number",
    "uniquehash",
    "address_id",
    "tax_id",
    "blocked",
    "hidden",
    "own_providers",
    "max_devices",
    "two_fa_enabled",
    "comment",
];

/// How a family's column is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRule {
    /// The update parameter that writes the column.
    Param(&'static Param),
    /// A mask of these bits (`send_invoice_types`).
    Mask(i64),
}

impl Family {
    pub const ALL: [Family; 2] = [Family::DefaultUser, Family::DefaultTax];

    pub fn prefix(self) -> &'static str {
        match self {
            Family::DefaultUser => "default_user_",
            Family::DefaultTax => "default_tax_",
        }
    }

    pub fn table(self) -> Table {
        match self {
            Family::DefaultUser => Table::Users,
            Family::DefaultTax => Table::Taxes,
        }
    }

    /// The family as `settings list` and the README name it: `default_user_<column>`.
    pub fn pattern(self) -> String {
        format!("{}<column>", self.prefix())
    }

    pub fn description(self) -> &'static str {
        match self {
            Family::DefaultUser => {
                "what a user registered by this owner starts with (else the schema default); default_user_tariff_id \
                 and default_user_lcr_id are needed unless the request names them"
            }
            Family::DefaultTax => "the tax row of a user registered by this owner (else the schema default)",
        }
    }

    /// The rule of `column`, when the column belongs to the family.
    pub fn rule(self, column: &str) -> Option<ColumnRule> {
        let table = self.table();
        if table == Table::Users && NOT_DEFAULTED.contains(&column) {
            return None;
        }
        let known = crate::storage::schema::TABLES
            .iter()
            .find(|t| t.name == table.name())
            .is_some_and(|t| t.columns.iter().any(|c| c.name == column));
        if !known {
            return None;
        }
        if let Some(p) = catalogue_params::writing(table, column) {
            return Some(ColumnRule::Param(p));
        }
        let bits = catalogue_params::mask_bits(column);
        (bits > 0).then_some(ColumnRule::Mask(bits))
    }

    /// Every column of the family, in schema order.
    pub fn columns(self) -> Vec<&'static str> {
        crate::storage::schema::TABLES
            .iter()
            .filter(|t| t.name == self.table().name())
            .flat_map(|t| t.columns.iter().map(|c| c.name))
            .filter(|c| self.rule(c).is_some())
            .collect()
    }

    /// The family and column a setting's name means, when it names one.
    pub fn of(name: &str) -> Option<(Family, &'static str)> {
        Family::ALL.into_iter().find_map(|f| {
            let column = name.strip_prefix(f.prefix())?;
            f.columns().into_iter().find(|c| *c == column).map(|c| (f, c))
        })
    }

    /// The value to store for `column` (the stored form of the update parameter's value), or
    /// why it is refused. A reference is checked here for its form only; whether the record
    /// exists and the owner may use it is the caller's to check (the CLI when the value is set,
    /// `user_register` when it is used).
    pub fn check(self, column: &str, raw: &str) -> std::result::Result<Value, String> {
        let name = format!("{}{column}", self.prefix());
        let v = raw.trim();
        match self.rule(column) {
            None => Err(format!("{name} is not a setting")),
            Some(ColumnRule::Mask(bits)) => match crate::values::int(v) {
                Some(n) if n >= 0 && n & !bits == 0 => Ok(Value::Int(n)),
                _ => Err(format!("{name} must be a sum of the bits {}", bit_list(bits))),
            },
            Some(ColumnRule::Param(p)) => match p.plain_value(v) {
                Some(Ok(value)) => Ok(value),
                Some(Err(message)) => Err(format!("{name}: {message}")),
                None => match p.kind {
                    ParamKind::Ref(kind) => match crate::values::int(v) {
                        Some(id) if id > 0 || (id == 0 && kind.zero_clears()) => Ok(Value::Int(id)),
                        _ => Err(format!("{name} must be the id of a record")),
                    },
                    ParamKind::ResponsibleAccountant => match crate::values::int(v) {
                        Some(id) if id == -1 || id > 0 => Ok(Value::Int(id)),
                        _ => Err(format!("{name} must be -1 (none) or an accountant's id")),
                    },
                    _ => Err(format!("{name} cannot be set")),
                },
            },
        }
    }

    /// The owner's value for `column`, `None` when never set (the schema default applies).
    pub fn read(self, repo: &mut dyn RequestStore, owner: i64, column: &str) -> Result<Option<String>> {
        Ok(repo.setting(owner, &format!("{}{column}", self.prefix()))?.map(|v| v.trim().to_string()))
    }
}

fn bit_list(bits: i64) -> String {
    (0..63).map(|i| 1i64 << i).filter(|b| bits & b != 0).map(|b| b.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert_eq!(Setting::AllowApi.check(" 1 "), Ok("1".into()));
        assert!(Setting::AllowApi.check("yes").is_err());
        assert_eq!(Setting::DefaultUserPasswordLength.check("10"), Ok("10".into()));
        assert_eq!(Setting::DefaultUserPasswordLength.check("+010"), Ok("10".into()));
        assert_eq!(
            Setting::DefaultUserPasswordLength.check("0"),
            Err("default_user_password_length must be a whole number from 1 to 100".into())
        );
        assert!(Setting::DefaultUserUsernameLength.check("101").is_err());
        assert_eq!(
            Setting::HideDestinationEnd.check("8"),
            Err("hide_destination_end must be -1 (global) or a mask from 0 to 7".into())
        );
        assert!(Setting::HideDestinationEnd.check("-2").is_err());
        assert_eq!(Setting::HideDestinationEnd.check("-1"), Ok("-1".into()));
        assert_eq!(Setting::ApiSecretKey.check(" k "), Ok("k".into()));
        assert_eq!(Setting::TwoFaEnabled.check("2"), Err("two_fa_enabled must be 0 or 1".into()));
    }

    #[test]
    fn api_keys_need_sixteen_characters_unless_weak_ones_are_allowed() {
        let sixteen = "a".repeat(API_KEY_MIN_CHARS);
        assert_eq!(api_key_problem(&sixteen, false), None);
        let short = api_key_problem("456789", false).expect("too short");
        assert!(short.contains("has 6 characters") && short.contains("at least 16"), "{short}");
        assert_eq!(api_key_problem("456789", true), None);
        // Characters, not bytes.
        assert!(api_key_problem(&"é".repeat(15), false).is_some());
        assert_eq!(api_key_problem(&"é".repeat(16), false), None);
        for bad in ["", " leading-space-key-123", "trailing-space-key-1 ", "line\nbreak-in-the-key"] {
            assert!(api_key_problem(bad, true).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in Setting::ALL {
            assert_eq!(Setting::by_name(s.name()), Some(s));
        }
        assert_eq!(Setting::by_name("nope"), None);
    }

    #[test]
    fn every_default_is_a_value_the_setting_accepts() {
        for s in Setting::ALL {
            assert_eq!(s.check(s.default_value()), Ok(s.default_value().to_string()), "{}", s.name());
        }
    }

    #[test]
    fn scopes_and_secrets_come_from_the_table() {
        let per_owner: Vec<&str> = Setting::ALL.into_iter().filter(|s| !s.global_only()).map(Setting::name).collect();
        assert_eq!(
            per_owner,
            [
                "allow_api",
                "api_secret_key",
                "api_secret_key_next",
                "api_disable_hash_checking",
                "default_user_password_length",
                "default_user_username_length",
                "hide_destination_end",
                "default_device_location_id"
            ]
        );
        let secrets: Vec<Setting> = Setting::ALL.into_iter().filter(|s| s.secret()).collect();
        assert_eq!(secrets, [Setting::ApiSecretKey, Setting::ApiSecretKeyNext]);
        for s in Setting::ALL {
            assert_eq!(s.kind() == Kind::Secret, s.secret(), "{}: kind and name disagree on secrecy", s.name());
        }
    }

    #[test]
    fn switches_read_as_mor_reads_them() {
        // Most switches are on only at exactly 1.
        for s in [Setting::AllowApi, Setting::AllowGetApi, Setting::TwoFaEnabled] {
            assert!(s.is_on("1"));
            for off in ["0", "", "2", "yes"] {
                assert!(!s.is_on(off), "{} {off:?}", s.name());
            }
        }
        // Strong passwords are off only at exactly 0: blank (and a missing row) is on.
        let strong = Setting::UseStrongPasswordsForUsers;
        assert!(!strong.is_on("0"));
        for on in ["1", "", "2"] {
            assert!(strong.is_on(on), "{on:?}");
        }
        assert!(strong.is_on(strong.default_value()));
        for s in Setting::ALL.into_iter().filter(|s| *s != strong && matches!(s.kind(), Kind::Flag(_))) {
            assert!(!s.is_on(s.default_value()), "{} is on by default", s.name());
        }
    }

    #[test]
    fn numbers_fall_back_to_the_default() {
        let len = Setting::DefaultUserPasswordLength;
        assert_eq!(len.int_of(" 12 "), 12);
        assert_eq!(len.int_of(""), 6);
        assert_eq!(len.int_of("many"), 6);
        assert_eq!(Setting::DefaultUserUsernameLength.int_of("x"), 1);
        assert_eq!(Setting::HideDestinationEnd.int_of("-1"), -1);
        // No numeric default: 0.
        assert_eq!(Setting::ApiSecretKey.int_of("key"), 0);
    }

    // --- user_register ---

    #[test]
    fn families_hold_the_columns_the_update_writes_and_check_them_with_its_rules() {
        let user = Family::DefaultUser.columns();
        for c in ["tariff_id", "lcr_id", "currency_id", "postpaid", "credit", "call_limit", "time_zone", "language"] {
            assert!(user.contains(&c), "{c} in {user:?}");
        }
        for c in ["hide_destination_end", "warning_email_hour", "send_invoice_types", "responsible_accountant_id"] {
            assert!(user.contains(&c), "{c}");
        }
        for c in NOT_DEFAULTED {
            assert!(!user.contains(c), "{c}");
        }
        let tax = Family::DefaultTax.columns();
        assert!(tax.contains(&"tax2_enabled") && tax.contains(&"tax1_value") && !tax.contains(&"id"), "{tax:?}");
        // Every column exists in its table (a family never names a column the schema lacks).
        for f in Family::ALL {
            let table = crate::storage::schema::TABLES.iter().find(|t| t.name == f.table().name()).expect("table");
            for c in f.columns() {
                assert!(table.columns.iter().any(|col| col.name == c), "{}{c}", f.prefix());
            }
        }
        assert_eq!(Family::of("default_user_tariff_id"), Some((Family::DefaultUser, "tariff_id")));
        assert_eq!(Family::of("default_tax_tax2_name"), Some((Family::DefaultTax, "tax2_name")));
        assert_eq!(Family::of("default_user_username"), None);
        assert_eq!(Family::of("default_user_password_length"), None);
        let u = Family::DefaultUser;
        assert_eq!(u.check("credit", "-1"), Ok(Value::from("-1")));
        assert_eq!(u.check("postpaid", "5"), Ok(Value::Int(1)));
        assert!(u.check("time_zone", "Mars/Olympus").is_err());
        assert_eq!(u.check("tariff_id", " 4 "), Ok(Value::Int(4)));
        assert!(u.check("tariff_id", "0").is_err());
        assert!(u.check("warning_email_hour", "24").is_err());
        assert_eq!(u.check("send_invoice_types", "6"), Ok(Value::Int(6)));
        assert!(u.check("send_invoice_types", "1").is_err());
        assert_eq!(u.check("responsible_accountant_id", "-1"), Ok(Value::Int(-1)));
        assert!(Family::DefaultTax.check("tax2_enabled", "x").is_err());
    }
}
