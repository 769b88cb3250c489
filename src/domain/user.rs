//! The people a request is about: the caller (who signed it) and the users it reads or changes,
//! typed. Storage hands over rows; every rule reads these fields instead of columns by name.

use crate::catalogue::params::AppliesTo;
use crate::storage::{Account, KeySlot, Row, Value};
use crate::values::amount;
use rust_decimal::Decimal;

/// `users.usertype`: MOR's kinds of user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserType {
    Admin,
    Accountant,
    Reseller,
    User,
    Partner,
}

impl UserType {
    pub const ALL: [UserType; 5] =
        [UserType::Admin, UserType::Accountant, UserType::Reseller, UserType::User, UserType::Partner];

    /// The word stored in `users.usertype` and sent as `u13`.
    pub fn word(self) -> &'static str {
        match self {
            UserType::Admin => "admin",
            UserType::Accountant => "accountant",
            UserType::Reseller => "reseller",
            UserType::User => "user",
            UserType::Partner => "partner",
        }
    }

    /// The type a word names, if any (exact, as MOR compares it).
    pub fn from_word(word: &str) -> Option<UserType> {
        UserType::ALL.into_iter().find(|t| t.word() == word)
    }

    /// The type of a stored user. A word morapi does not know grants nothing: it is read as a
    /// simple user.
    pub fn stored(word: &str) -> UserType {
        UserType::from_word(word).unwrap_or(UserType::User)
    }

    /// Whether a parameter that applies only to some users can be set on this one.
    pub fn subject_to(self, applies_to: AppliesTo) -> bool {
        match applies_to {
            AppliesTo::Everyone => true,
            AppliesTo::Resellers => self == UserType::Reseller,
            AppliesTo::AccountantsAndResellers => matches!(self, UserType::Accountant | UserType::Reseller),
        }
    }
}

/// The kinds of acting user: what a caller of the API may do follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Reseller,
    Accountant,
    /// A simple user, or any type morapi does not grant API rights to (e.g. `partner`).
    User,
}

impl Role {
    pub fn of(user_type: UserType) -> Role {
        match user_type {
            UserType::Admin => Role::Admin,
            UserType::Reseller => Role::Reseller,
            UserType::Accountant => Role::Accountant,
            UserType::User | UserType::Partner => Role::User,
        }
    }
}

/// A caller that passed the gate: the few columns every rule may know about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub owner_id: i64,
    /// The accountant's or reseller's group (its rights are read when a rule needs them).
    pub acc_group_id: i64,
    /// A Reseller PRO (`own_providers` = 1) manages his own providers and LCRs.
    pub reseller_pro: bool,
    /// The key that verified the request's hash; `None` when hash checking is off.
    pub signed_with: Option<KeySlot>,
}

impl Caller {
    pub fn new(account: Account) -> Caller {
        Caller {
            id: account.id,
            role: Role::of(UserType::stored(&account.usertype)),
            owner_id: account.owner_id,
            acc_group_id: account.acc_group_id,
            reseller_pro: account.own_providers == 1,
            username: account.username,
            signed_with: None,
        }
    }
}

/// A stored user, with typed fields for every column a rule consults. `columns` keeps the whole
/// row for what the catalogue drives by column name: the old values in the audit trail and the
/// values read back by `user_details_raw_get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub user_type: UserType,
    pub owner_id: i64,
    pub address_id: Option<i64>,
    pub tax_id: Option<i64>,
    pub acc_group_id: i64,
    /// A Reseller PRO (`own_providers` = 1).
    pub reseller_pro: bool,
    /// The LCR a reseller (not PRO) lets his users use.
    pub lcr_id: Option<i64>,
    /// A hidden accountant cannot be made responsible for users.
    pub hidden: bool,
    /// `None` when unreadable; −1 is unlimited.
    pub credit: Option<Decimal>,
    pub columns: Row,
}

impl User {
    /// The typed user of a `users` row; `None` for a row without an id (never stored).
    pub fn from_row(columns: Row) -> Option<User> {
        let int = |col: &str| columns.get(col).and_then(Value::as_int);
        let text = |col: &str| columns.get(col).map(Value::render).unwrap_or_default();
        Some(User {
            id: int("id")?,
            username: text("username"),
            user_type: UserType::stored(&text("usertype")),
            owner_id: int("owner_id").unwrap_or(0),
            address_id: int("address_id"),
            tax_id: int("tax_id"),
            acc_group_id: int("acc_group_id").unwrap_or(0),
            reseller_pro: int("own_providers") == Some(1),
            lcr_id: int("lcr_id"),
            hidden: int("hidden").unwrap_or(0) != 0,
            credit: columns.get("credit").and_then(|v| amount::stored(&v.render())),
            columns,
        })
    }

    /// The admin (id 0, or of the admin type).
    pub fn is_admin(&self) -> bool {
        self.id == 0 || self.user_type == UserType::Admin
    }

    /// Unlimited credit is stored as −1.
    pub fn credit_unlimited(&self) -> bool {
        self.credit == Some(Decimal::NEGATIVE_ONE)
    }

    /// A stored column as text (NULL and missing read empty), for read-back documents.
    pub fn text(&self, col: &str) -> String {
        self.columns.get(col).map(Value::render).unwrap_or_default()
    }

    /// A stored column as a whole number.
    pub fn int(&self, col: &str) -> Option<i64> {
        self.columns.get(col).and_then(Value::as_int)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_types_and_roles() {
        for t in UserType::ALL {
            assert_eq!(UserType::from_word(t.word()), Some(t));
        }
        assert_eq!(UserType::from_word("Admin"), None);
        assert_eq!(UserType::stored("martian"), UserType::User);
        assert_eq!(Role::of(UserType::Admin), Role::Admin);
        assert_eq!(Role::of(UserType::Reseller), Role::Reseller);
        assert_eq!(Role::of(UserType::Accountant), Role::Accountant);
        assert_eq!(Role::of(UserType::User), Role::User);
        assert_eq!(Role::of(UserType::Partner), Role::User);
    }

    #[test]
    fn who_parameters_apply_to() {
        use AppliesTo::*;
        let cases = [
            (Everyone, UserType::ALL.to_vec()),
            (Resellers, vec![UserType::Reseller]),
            (AccountantsAndResellers, vec![UserType::Accountant, UserType::Reseller]),
        ];
        for (applies, subjects) in cases {
            for t in UserType::ALL {
                assert_eq!(t.subject_to(applies), subjects.contains(&t), "{applies:?} {t:?}");
            }
        }
    }

    #[test]
    fn a_row_becomes_a_typed_user() {
        let row: Row = [
            ("id", Value::Int(7)),
            ("username", Value::from("jane")),
            ("usertype", Value::from("reseller")),
            ("owner_id", Value::Int(0)),
            ("address_id", Value::Null),
            ("own_providers", Value::Int(1)),
            ("credit", Value::from("-1")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let u = User::from_row(row).unwrap();
        assert_eq!((u.id, u.user_type, u.address_id, u.reseller_pro), (7, UserType::Reseller, None, true));
        assert!(u.credit_unlimited() && !u.is_admin());
        assert_eq!(User::from_row(Row::new()), None);
    }
}
