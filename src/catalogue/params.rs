//! The parameter catalogue of `user_details_update`: the single source of truth for every
//! parameter's name, meaning, value type, destination and who may set it.
//!
//! Hash membership and position are not repeated here: they come from MOR's global order list
//! (`hash_order.txt`, see [`crate::auth::hash`]). Parsing, permissions, validation, the docs and
//! the tests all read this table.

/// What kind of value a parameter carries, and so how it is parsed and validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text, whitespace-trimmed, at most `max` characters.
    Text { max: usize },
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A whole number; negative values are stored as 0 (MOR's clamp for call limits).
    IntClampZero,
    /// A whole number; > 0 means on (stored 1), anything else off (stored 0).
    Flag,
    /// A decimal number; `,` is accepted as decimal separator.
    Decimal,
    /// A decimal number where 0 or less means "unlimited" and is stored as 0.
    DecimalClampZero,
    /// A non-negative decimal number.
    DecimalNonNegative,
    /// The id of a record that must exist and be visible (checked with the reference checks).
    Ref(RefKind),
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// A Rails time zone name (`data/time_zones.txt`).
    TimeZone,
    /// One or more e-mail addresses separated by `;`, unique unless allowed (address e-mail), at
    /// most `max` characters in all.
    Email { max: usize },
    /// One or more e-mail addresses separated by `;` (recordings e-mail), at most `max` characters.
    RecordingsEmail { max: usize },
    /// A login name: length limits and uniqueness.
    Username { max: usize },
    /// A new password: strength and length rules; stored as Argon2id.
    Password,
    /// One part (year, month or day) of a date sent in three parameters.
    DatePart,
    /// A privacy switch: 0 = off, 1 or `bit` = on (contributes `bit` to `hide_destination_end`).
    PrivacyBit { bit: i64 },
    /// An invoice type: 0 = off, `bit` = on (contributes `bit` to `send_invoice_types`).
    InvoiceBit { bit: i64 },
    /// A user type word (`u13`).
    UserType,
    /// A responsible accountant id, or -1 for none (`u31`).
    ResponsibleAccountant,
    /// Hashed by MOR but meaningless (GUI leftovers): accepted, changes nothing.
    Inert,
}

/// Tables a parameter may reference by id (storage knows how to look each up).
pub use crate::storage::RefKind;
use crate::storage::Table;

/// Where a parameter's value ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A column of `users`.
    User(&'static str),
    /// A column of the user's `addresses` row.
    Address(&'static str),
    /// A column of the user's `taxes` row.
    Tax(&'static str),
    /// A `users` column computed from several parameters by a rule in `update::change`.
    Derived(&'static str),
    /// Nothing (inert parameters).
    None,
}

impl Target {
    /// The table the value is written to.
    pub fn table(self) -> Option<Table> {
        match self {
            Target::User(_) | Target::Derived(_) => Some(Table::Users),
            Target::Address(_) => Some(Table::Addresses),
            Target::Tax(_) => Some(Table::Taxes),
            Target::None => None,
        }
    }

    pub fn column(self) -> Option<&'static str> {
        match self {
            Target::User(c) | Target::Address(c) | Target::Tax(c) | Target::Derived(c) => Some(c),
            Target::None => None,
        }
    }
}

/// Accountant group rights (`acc_rights.name`) that gate single fields (docs/contract.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccRight {
    Password,
    UserType,
    Lcr,
    Tariff,
    PaymentType,
    CallLimit,
}

impl AccRight {
    pub const ALL: [AccRight; 6] = [
        AccRight::Password,
        AccRight::UserType,
        AccRight::Lcr,
        AccRight::Tariff,
        AccRight::PaymentType,
        AccRight::CallLimit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AccRight::Password => "user_create_opt_1",
            AccRight::UserType => "user_create_opt_2",
            AccRight::Lcr => "user_create_opt_3",
            AccRight::Tariff => "user_create_opt_4",
            AccRight::PaymentType => "user_create_opt_6",
            AccRight::CallLimit => "user_create_opt_7",
        }
    }
}

/// Who may set a parameter. Conditions that depend on the reseller (PRO, PBX rights) or on the
/// value are rules in [`crate::auth::permissions`], named by [`ResellerRule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub accountant: AccountantAccess,
    /// Reseller changing one of his own users.
    pub reseller_user: ResellerRule,
    /// Reseller changing his own account.
    pub reseller_self: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountantAccess {
    Allowed,
    Never,
    /// Allowed when the accountant's group grants this right with write (2).
    Needs(AccRight),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResellerRule {
    Allowed,
    Never,
    /// Only a Reseller PRO (`own_providers` = 1) may set it (LCR).
    ProOnly,
    /// Only a reseller who is not PRO may set it (privacy, cyberplat; MOR's whitelist).
    NotPro,
    /// Only a reseller whose group grants `pbx_functions` (PBX pool).
    PbxFunctions,
    /// Only the value `user` (`u13`).
    UserTypeUserOnly,
}

/// Which users a parameter can be set on (others are refused with a message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliesTo {
    Everyone,
    Resellers,
    AccountantsAndResellers,
}

impl AppliesTo {
    pub fn includes(self, usertype: &str) -> bool {
        match self {
            AppliesTo::Everyone => true,
            AppliesTo::Resellers => usertype == "reseller",
            AppliesTo::AccountantsAndResellers => matches!(usertype, "accountant" | "reseller"),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            AppliesTo::Everyone => "everyone",
            AppliesTo::Resellers => "resellers",
            AppliesTo::AccountantsAndResellers => "accountants and resellers",
        }
    }
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    /// What the parameter means, as an operator would say it; used in messages and docs.
    pub label: &'static str,
    pub kind: Kind,
    pub target: Target,
    pub access: Access,
    pub applies_to: AppliesTo,
}

impl Param {
    /// The same parameter, settable only on some kinds of user.
    const fn only(mut self, applies_to: AppliesTo) -> Self {
        self.applies_to = applies_to;
        self
    }
}

use AccountantAccess as C;
use Kind as K;
use ResellerRule as R;
use Target as T;

const fn p(name: &'static str, label: &'static str, kind: Kind, target: Target, access: Access) -> Param {
    Param { name, label, kind, target, access, applies_to: AppliesTo::Everyone }
}

/// Everybody who may edit users may set it, on others and (reseller) on himself.
const ALL: Access = Access { accountant: C::Allowed, reseller_user: R::Allowed, reseller_self: true };
/// Admin, accountants and a reseller on his users; not a reseller on himself.
const MANAGED: Access = Access { accountant: C::Allowed, reseller_user: R::Allowed, reseller_self: false };
/// Admin and accountants only.
const ADMIN_ACC: Access = Access { accountant: C::Allowed, reseller_user: R::Never, reseller_self: false };
const fn acc_right(right: AccRight) -> Access {
    Access { accountant: C::Needs(right), reseller_user: R::Allowed, reseller_self: false }
}
const fn reseller_rule(rule: ResellerRule) -> Access {
    Access { accountant: C::Allowed, reseller_user: rule, reseller_self: false }
}

/// A privacy mask (`hide_destination_end`): 1 GUI + 2 CSV + 4 PDF, or −1 for "the global mask".
/// `u3` and the setting of the same name take this range.
pub const PRIVACY_MASK: std::ops::RangeInclusive<i64> = -1..=7;

const STATIC_LIST_MODES: &[&str] = &["no", "blacklist", "whitelist"];
const TEXT30: Kind = K::Text { max: 30 };
const TEXT50: Kind = K::Text { max: 50 };
const TEXT255: Kind = K::Text { max: 255 };

/// Every parameter `user_details_update` understands, in the seed's order.
pub static PARAMS: &[Param] = &[
    p("u0", "VAT number", TEXT30, T::User("vat_number"), ALL),
    p(
        "u1",
        "LCR",
        K::Ref(RefKind::Lcr),
        T::User("lcr_id"),
        Access { accountant: C::Needs(AccRight::Lcr), reseller_user: R::ProOnly, reseller_self: false },
    ),
    p("u2", "warning e-mail hour", K::Int { min: -1, max: 23 }, T::Derived("warning_email_hour"), ALL),
    p(
        "u3",
        "hide destination end",
        K::Int { min: *PRIVACY_MASK.start(), max: *PRIVACY_MASK.end() },
        T::Derived("hide_destination_end"),
        reseller_rule(R::NotPro),
    ),
    p("u4", "currency", K::Ref(RefKind::Currency), T::User("currency_id"), ALL),
    p("u5", "tariff", K::Ref(RefKind::Tariff), T::User("tariff_id"), acc_right(AccRight::Tariff)),
    p("u6", "warning e-mail balance", K::Decimal, T::User("warning_email_balance"), ALL),
    p("u7", "spy device", K::Ref(RefKind::Device), T::User("spy_device_id"), ALL),
    p("u8", "language", K::Text { max: 10 }, T::User("language"), MANAGED),
    p("u9", "username", K::Username { max: 30 }, T::User("username"), MANAGED),
    p("u10", "warning balance call", K::Flag, T::User("warning_balance_call"), MANAGED),
    p("u11", "accountant/reseller group", K::Ref(RefKind::AccGroup), T::User("acc_group_id"), MANAGED),
    p("u12", "generate invoice", K::Flag, T::User("generate_invoice"), MANAGED),
    p(
        "u13",
        "usertype",
        K::UserType,
        T::None,
        Access { accountant: C::Needs(AccRight::UserType), reseller_user: R::UserTypeUserOnly, reseller_self: false },
    ),
    p("u14", "taxation country", K::Ref(RefKind::Direction), T::User("taxation_country"), ALL),
    p("u15", "blocked", K::Flag, T::User("blocked"), MANAGED),
    p("u16", "quick-forward rule", K::Ref(RefKind::QuickforwardRule), T::User("quickforwards_rule_id"), MANAGED),
    p("u17", "last name", TEXT50, T::User("last_name"), ALL),
    p("u18", "call limit", K::IntClampZero, T::User("call_limit"), acc_right(AccRight::CallLimit)),
    p("u19", "client id", TEXT30, T::User("clientid"), ALL),
    p("u20", "recording HDD quota", K::DecimalNonNegative, T::User("recording_hdd_quota"), ALL),
    p("u21", "cyberplat active", K::Flag, T::Derived("cyberplat_active"), reseller_rule(R::NotPro)),
    p("u22", "recordings e-mail", K::RecordingsEmail { max: 255 }, T::User("recordings_email"), ALL),
    p("u23", "first name", TEXT50, T::User("first_name"), ALL),
    p(
        "u24",
        "warning balance sound file",
        K::Ref(RefKind::SoundFile),
        T::User("warning_balance_sound_file_id"),
        MANAGED,
    ),
    p("u25", "postpaid", K::Flag, T::User("postpaid"), acc_right(AccRight::PaymentType)),
    p("u26", "accounting number", TEXT30, T::User("accounting_number"), MANAGED),
    p("u27", "agreement number", K::Text { max: 20 }, T::User("agreement_number"), MANAGED),
    p(
        "u28",
        "hidden",
        K::Flag,
        T::User("hidden"),
        Access { accountant: C::Needs(AccRight::PaymentType), reseller_user: R::Never, reseller_self: false },
    ),
    p("ay", "agreement date year", K::DatePart, T::Derived("agreement_date"), MANAGED),
    p("am", "agreement date month", K::DatePart, T::Derived("agreement_date"), MANAGED),
    p("ad", "agreement date day", K::DatePart, T::Derived("agreement_date"), MANAGED),
    p("by", "block at date year", K::DatePart, T::Derived("block_at"), MANAGED),
    p("bm", "block at date month", K::DatePart, T::Derived("block_at"), MANAGED),
    p("bd", "block at date day", K::DatePart, T::Derived("block_at"), MANAGED),
    p(
        "pswd",
        "password",
        K::Password,
        T::User("password"),
        Access { accountant: C::Needs(AccRight::Password), reseller_user: R::Allowed, reseller_self: true },
    ),
    p(
        "user_warning_email_hour",
        "warning e-mail hour of day",
        K::Int { min: 0, max: 23 },
        T::Derived("warning_email_hour"),
        ALL,
    ),
    p("pgui", "privacy GUI", K::PrivacyBit { bit: 1 }, T::Derived("hide_destination_end"), reseller_rule(R::NotPro)),
    p("pcsv", "privacy CSV", K::PrivacyBit { bit: 2 }, T::Derived("hide_destination_end"), reseller_rule(R::NotPro)),
    p("ppdf", "privacy PDF", K::PrivacyBit { bit: 4 }, T::Derived("hide_destination_end"), reseller_rule(R::NotPro)),
    p("recording_forced_enabled", "forced recording", K::Flag, T::User("recording_forced_enabled"), MANAGED),
    p("i4", "invoice detailed CSV", K::InvoiceBit { bit: 16 }, T::Derived("send_invoice_types"), MANAGED),
    p("tax4_enabled", "tax 4 enabled", K::Flag, T::Tax("tax4_enabled"), MANAGED),
    p("tax2_enabled", "tax 2 enabled", K::Flag, T::Tax("tax2_enabled"), MANAGED),
    p("accountant_type_invalid", "unused GUI field", K::Inert, T::None, ALL),
    p(
        "block_at_conditional",
        "conditional block day",
        K::Int { min: 1, max: 31 },
        T::User("block_at_conditional"),
        MANAGED,
    ),
    p("tax3_enabled", "tax 3 enabled", K::Flag, T::Tax("tax3_enabled"), MANAGED),
    p("accountant_type", "accountant group", K::Ref(RefKind::AccGroup), T::Derived("acc_group_id"), ADMIN_ACC)
        .only(AppliesTo::AccountantsAndResellers),
    p("tax1_value", "tax 1 value", K::Decimal, T::Tax("tax1_value"), MANAGED),
    p("show_zero_calls", "zero calls in invoices", K::Flag, T::User("invoice_zero_calls"), MANAGED),
    p("warning_email_active", "warning e-mail active", K::Flag, T::User("warning_email_active"), ALL),
    p("compound_tax", "compound tax", K::Flag, T::Tax("compound_tax"), MANAGED),
    p("tax4_name", "tax 4 name", TEXT255, T::Tax("tax4_name"), MANAGED),
    p("allow_loss_calls", "allow loss calls", K::Flag, T::User("allow_loss_calls"), MANAGED),
    p("tax3_name", "tax 3 name", TEXT255, T::Tax("tax3_name"), MANAGED),
    p("tax2_name", "tax 2 name", TEXT255, T::Tax("tax2_name"), MANAGED),
    p("credit", "credit", K::Decimal, T::Derived("credit"), MANAGED),
    p("tax1_name", "tax 1 name", TEXT255, T::Tax("tax1_name"), MANAGED),
    p("total_tax_name", "total tax name", TEXT255, T::Tax("total_tax_name"), MANAGED),
    p("tax2_value", "tax 2 value", K::Decimal, T::Tax("tax2_value"), MANAGED),
    p("tax4_value", "tax 4 value", K::Decimal, T::Tax("tax4_value"), MANAGED),
    p("i1", "invoice PDF", K::InvoiceBit { bit: 2 }, T::Derived("send_invoice_types"), MANAGED),
    p("tax3_value", "tax 3 value", K::Decimal, T::Tax("tax3_value"), MANAGED),
    p("cyberplat_active", "cyberplat active", K::Flag, T::Derived("cyberplat_active"), reseller_rule(R::NotPro)),
    p("i2", "invoice CSV", K::InvoiceBit { bit: 4 }, T::Derived("send_invoice_types"), MANAGED),
    p("i3", "invoice detailed PDF", K::InvoiceBit { bit: 8 }, T::Derived("send_invoice_types"), MANAGED),
    p("recording_enabled", "recording", K::Flag, T::User("recording_enabled"), MANAGED),
    p("email_warning_sent_test", "unused GUI field", K::Inert, T::None, ALL),
    p("own_providers", "Reseller PRO", K::Flag, T::User("own_providers"), ADMIN_ACC).only(AppliesTo::Resellers),
    p("a0", "address", TEXT255, T::Address("address"), ALL),
    p("a1", "city", TEXT255, T::Address("city"), ALL),
    p("a2", "postcode", TEXT255, T::Address("postcode"), ALL),
    p("a3", "county", TEXT255, T::Address("county"), ALL),
    p("a4", "mobile phone", TEXT255, T::Address("mob_phone"), ALL),
    p("a5", "fax", TEXT255, T::Address("fax"), ALL),
    p("a6", "country", K::Ref(RefKind::Direction), T::Address("direction_id"), ALL),
    p("a7", "phone", TEXT255, T::Address("phone"), ALL),
    p("a8", "e-mail", K::Email { max: 255 }, T::Address("email"), ALL),
    p("a9", "state", TEXT255, T::Address("state"), ALL),
    p("company_name", "company name", TEXT255, T::User("company_name"), ALL),
    p(
        "u29",
        "PBX pool",
        K::Ref(RefKind::PbxPool),
        T::User("pbx_pool_id"),
        Access { accountant: C::Never, reseller_user: R::PbxFunctions, reseller_self: false },
    ),
    p(
        "u30",
        "hide non-answered calls",
        K::Flag,
        T::User("hide_non_answered_calls"),
        Access { accountant: C::Never, reseller_user: R::Allowed, reseller_self: true },
    ),
    p("u31", "responsible accountant", K::ResponsibleAccountant, T::User("responsible_accountant_id"), ADMIN_ACC),
    p("u32", "daily balance limit", K::DecimalClampZero, T::User("daily_credit_limit"), MANAGED),
    p("u33", "comment", K::Text { max: 65535 }, T::User("comment"), MANAGED),
    p(
        "ignore_global_monitorings",
        "ignore global monitorings",
        K::Flag,
        T::User("ignore_global_monitorings"),
        ADMIN_ACC,
    ),
    p("time_zone", "time zone", K::TimeZone, T::User("time_zone"), ALL),
    p("allow_change_callerid", "allow CallerID change", K::Flag, T::User("allow_change_callerid"), MANAGED),
    p(
        "enable_static_source_list",
        "static source list",
        K::Enum(STATIC_LIST_MODES),
        T::User("enable_static_source_list"),
        ADMIN_ACC,
    ),
    p(
        "static_source_list_id",
        "static source list number pool",
        K::Ref(RefKind::NumberPool),
        T::User("static_source_list_id"),
        ADMIN_ACC,
    ),
    p(
        "enable_static_list",
        "static destination list",
        K::Enum(STATIC_LIST_MODES),
        T::User("enable_static_list"),
        ADMIN_ACC,
    ),
    p(
        "static_list_id",
        "static destination list number pool",
        K::Ref(RefKind::NumberPool),
        T::User("static_list_id"),
        ADMIN_ACC,
    ),
    p("credit_unlimited", "unlimited credit", K::Flag, T::Derived("credit"), MANAGED),
    p("two_fa_enabled", "two-factor authentication", K::Flag, T::User("two_fa_enabled"), ALL),
    p("max_devices", "maximum devices", K::Int { min: 0, max: 1_000_000 }, T::User("max_devices"), ADMIN_ACC)
        .only(AppliesTo::Resellers),
];

/// Parameters of the protocol itself: never data, never refused.
pub const PROTOCOL_PARAMS: &[&str] = &["u", "p", "hash", "test", "user_id"];

/// Looks a parameter up by name.
pub fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name == name)
}

/// Position of a parameter in the catalogue (the order of messages and of `raw_get` output).
pub fn position(name: &str) -> Option<usize> {
    PARAMS.iter().position(|p| p.name == name)
}

// --- user_register ---

use crate::storage::Value;

impl Param {
    /// The stored value of `raw` (trimmed) for a parameter whose value needs nothing but itself
    /// to be checked, or why it is refused (the update's message); `None` for kinds that need the
    /// database, the request's other parameters or the target (e-mail, username, password,
    /// references, dates, bits, user type). The update, the `default_user_<column>` /
    /// `default_tax_<column>` settings and `user_register` all read values with it.
    pub fn plain_value(&self, raw: &str) -> Option<Result<Value, String>> {
        use super::errors::msg;
        let v = raw.trim();
        let bad = |expected: &str| Err(msg::bad_value(self.name, self.label, expected, raw));
        Some(match self.kind {
            Kind::Text { max } if v.chars().count() > max => Err(msg::too_long(self.name, self.label, max)),
            Kind::Text { .. } => Ok(Value::from(v)),
            Kind::Int { min, max } => match crate::values::int(v) {
                Some(i) if (min..=max).contains(&i) => Ok(Value::Int(i)),
                _ => bad(&format!("a whole number from {min} to {max}")),
            },
            Kind::IntClampZero => match crate::values::int(v) {
                Some(i) => Ok(Value::Int(i.max(0))),
                None => bad("a whole number"),
            },
            Kind::Flag => match crate::values::flag(v) {
                Some(i) => Ok(Value::Int(i64::from(i > 0))),
                None => bad("0 or 1"),
            },
            Kind::Decimal | Kind::DecimalClampZero | Kind::DecimalNonNegative => {
                use crate::values::amount;
                match amount::parse(v) {
                    Some(d) if !amount::fits(&d) => bad(&amount::expected()),
                    Some(d) if self.kind == Kind::DecimalNonNegative && d.is_sign_negative() && !d.is_zero() => {
                        bad("a number of 0 or more")
                    }
                    Some(d) if self.kind == Kind::DecimalClampZero && d <= rust_decimal::Decimal::ZERO => {
                        Ok(Value::from("0"))
                    }
                    Some(d) => Ok(Value::Text(amount::canonical(d))),
                    None => bad("a number"),
                }
            }
            Kind::Enum(words) if words.contains(&v) => Ok(Value::from(v)),
            Kind::Enum(words) => bad(&format!("one of {}", words.join(", "))),
            Kind::TimeZone if super::is_time_zone(v) => Ok(Value::from(v)),
            Kind::TimeZone => Err(msg::time_zone_unknown(raw)),
            Kind::RecordingsEmail { max } if v.chars().count() > max => Err(msg::too_long(self.name, self.label, max)),
            Kind::RecordingsEmail { .. } => {
                use crate::values::email;
                if email::list(v).iter().all(|e| email::valid(e)) {
                    Ok(Value::from(v))
                } else {
                    Err(msg::RECORDINGS_EMAIL_INVALID.to_string())
                }
            }
            Kind::Ref(_)
            | Kind::Email { .. }
            | Kind::Username { .. }
            | Kind::Password
            | Kind::DatePart
            | Kind::PrivacyBit { .. }
            | Kind::InvoiceBit { .. }
            | Kind::UserType
            | Kind::ResponsibleAccountant
            | Kind::Inert => return None,
        })
    }
}

/// The parameter that writes `column` of `table` with a value of its own: the first one in
/// catalogue order whose target is that column (a derived column's parameter too, e.g. `u3` for
/// `hide_destination_end`), skipping parameters that only contribute a bit or a date part.
pub fn writing(table: Table, column: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| {
        p.target.table() == Some(table)
            && p.target.column() == Some(column)
            && !matches!(p.kind, Kind::DatePart | Kind::PrivacyBit { .. } | Kind::InvoiceBit { .. } | Kind::Inert)
    })
}

/// The bits the parameters of a derived mask column contribute (`send_invoice_types`: 2, 4, 8,
/// 16), summed: a stored mask may hold only these.
pub fn mask_bits(column: &str) -> i64 {
    PARAMS
        .iter()
        .filter(|p| matches!(p.target, Target::Derived(c) if c == column))
        .map(|p| match p.kind {
            Kind::PrivacyBit { bit } | Kind::InvoiceBit { bit } => bit,
            _ => 0,
        })
        .fold(0, |all, bit| all | bit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for p in PARAMS {
            assert!(seen.insert(p.name), "duplicate parameter {}", p.name);
        }
    }

    #[test]
    fn every_seed_parameter_is_catalogued() {
        let seed = include_str!("../../tests/data/seed_params.txt");
        for name in seed.lines().filter(|l| !l.is_empty()) {
            assert!(
                find(name).is_some() || PROTOCOL_PARAMS.contains(&name),
                "{name} is in the seed but not in the catalogue"
            );
        }
    }

    /// Every engine stores every value the catalogue accepts: a text longer than a text column has
    /// a long-text column.
    #[test]
    fn text_limits_fit_every_engine() {
        use crate::storage::schema::{Ty, column_type};
        for p in PARAMS {
            let max = match p.kind {
                Kind::Text { max } | Kind::Email { max } | Kind::RecordingsEmail { max } | Kind::Username { max } => {
                    max
                }
                _ => continue,
            };
            let (Some(table), Some(col)) = (p.target.table(), p.target.column()) else { continue };
            if max > crate::values::TEXT_MAX {
                assert_eq!(column_type(table.name(), col), Some(Ty::LongText), "{} allows {max} characters", p.name);
            }
        }
    }

    #[test]
    fn every_destination_column_exists() {
        for p in PARAMS {
            if let (Some(table), Some(col)) = (p.target.table(), p.target.column()) {
                assert!(
                    crate::storage::schema::column_type(table.name(), col).is_some(),
                    "{} → {}.{col}",
                    p.name,
                    table.name()
                );
            }
        }
    }
}
