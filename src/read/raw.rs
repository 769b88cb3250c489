//! `user_details_raw_get`: every value `user_details_update` can change, one element per update
//! parameter, in catalogue order, holding the value as the update accepts it back. Reading,
//! editing one element and writing it back with the same name is the intended use; writing every
//! element back unchanged changes nothing.
//!
//! The element list comes from the catalogue ([`PARAMS`]); the rules below only say how each kind
//! of parameter reads its stored value back. An element is left out when the update would accept
//! no value for it that keeps what is stored (see docs/decisions.md, "Read-back").

use crate::catalogue::params::{Kind, PARAMS, Param, Target};
use crate::domain::view::RawView;
use crate::domain::{User, derived};
use crate::storage::{Linked, RequestStore, Result, Row, Value};
use crate::values::amount;

/// The view of `user`.
pub fn view(store: &mut dyn RequestStore, user: &User) -> Result<RawView> {
    let address = match user.address_id {
        Some(id) => store.linked(Linked::Address, id)?,
        None => None,
    };
    let tax = match user.tax_id {
        Some(id) => store.linked(Linked::Tax, id)?,
        None => None,
    };
    Ok(RawView { user_id: user.id, values: values(&Stored { user, address, tax }) })
}

/// What is stored for one user.
struct Stored<'a> {
    user: &'a User,
    address: Option<Row>,
    tax: Option<Row>,
}

fn values(stored: &Stored<'_>) -> Vec<(&'static str, String)> {
    PARAMS.iter().filter_map(|p| element(stored, p)).collect()
}

/// The element of one catalogue parameter: its name (for a date, the column's, once, at its
/// first part's place) and value; `None` when it is left out.
fn element(s: &Stored<'_>, p: &'static Param) -> Option<(&'static str, String)> {
    if !s.user.user_type.subject_to(p.applies_to) {
        return None;
    }
    let name = match (p.kind, p.target) {
        (Kind::DatePart, Target::Derived(col)) => col,
        _ => p.name,
    };
    value(s, p).map(|v| (name, v))
}

/// The value of a parameter as the update would accept it back.
fn value(s: &Stored<'_>, p: &Param) -> Option<String> {
    match (p.kind, p.target) {
        // Never returned: the password (and any secret), the GUI leftovers that change nothing.
        (Kind::Password | Kind::Inert, _) => None,
        (Kind::UserType, _) => Some(s.user.user_type.word().to_string()),
        (_, Target::Derived(col)) => derived::of(p)?.read_back(p, s.user.columns.get(col).unwrap_or(&Value::Null)),
        (kind, Target::User(col)) => direct(kind, &s.user.columns, col),
        // Address and tax fields exist only with the user's address or tax row.
        (kind, Target::Address(col)) => s.address.as_ref().and_then(|r| direct(kind, r, col)),
        (kind, Target::Tax(col)) => s.tax.as_ref().and_then(|r| direct(kind, r, col)),
        (_, Target::None) => None,
    }
}

/// A column read back as the parameter's kind accepts it.
fn direct(kind: Kind, row: &Row, col: &str) -> Option<String> {
    let v = row.get(col).unwrap_or(&Value::Null);
    match kind {
        // The update stores text as sent, never NULL: an unset (NULL) value has no form to send.
        Kind::Text { .. } | Kind::RecordingsEmail { .. } | Kind::Username { .. } | Kind::TimeZone | Kind::Enum(_) => {
            (*v != Value::Null).then(|| v.render())
        }
        // An empty e-mail clears it to NULL: NULL reads empty, and an empty stored e-mail, which
        // no `a8` stores, has no form to send.
        Kind::Email { .. } => Some(v.render()).filter(|e| *v == Value::Null || !e.is_empty()),
        Kind::Int { .. } | Kind::IntClampZero | Kind::Flag | Kind::ResponsibleAccountant => {
            v.as_int().map(|i| i.to_string())
        }
        Kind::Decimal | Kind::DecimalClampZero | Kind::DecimalNonNegative => {
            amount::stored(&v.render()).map(amount::canonical)
        }
        // 0 clears most references; tariff, LCR and currency have no "none" the update accepts.
        Kind::Ref(r) => match v.as_int() {
            Some(0) | None if r.zero_clears() => Some("0".into()),
            Some(id) if id != 0 => Some(id.to_string()),
            _ => None,
        },
        Kind::Password
        | Kind::DatePart
        | Kind::PrivacyBit { .. }
        | Kind::InvoiceBit { .. }
        | Kind::UserType
        | Kind::Inert => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::schema::{TABLES, Ty};

    /// A row of `table` as a fresh insert would leave it (the schema's defaults), with overrides.
    fn row(table: &str, overrides: &[(&str, Value)]) -> Row {
        let def = TABLES.iter().find(|t| t.name == table).unwrap_or_else(|| panic!("{table}"));
        let mut row = Row::new();
        for c in def.columns {
            let v = match (c.ty, c.default) {
                (Ty::Id | Ty::Int, Some(d)) => Value::Int(d.parse().unwrap_or_else(|_| panic!("{d}"))),
                (_, Some(d)) => Value::from(d),
                (_, None) => Value::Null,
            };
            row.insert(c.name.to_string(), v);
        }
        for (k, v) in overrides {
            assert!(row.contains_key(*k), "{table}.{k}");
            row.insert((*k).to_string(), v.clone());
        }
        row
    }

    /// (name, value) of every element of the answer, `user_id` first.
    fn elements(usertype: &str, user: &[(&str, Value)], address: bool, tax: bool) -> Vec<(String, String)> {
        let mut all = vec![("usertype", Value::from(usertype)), ("username", Value::from("someone"))];
        all.extend(user.iter().cloned());
        all.push(("id", Value::Int(7)));
        let user = User::from_row(row("users", &all)).unwrap();
        let stored = Stored {
            user: &user,
            address: address.then(|| row("addresses", &[("email", Value::from("a@b.lt"))])),
            tax: tax.then(|| row("taxes", &[("tax1_value", Value::from("21.000"))])),
        };
        let mut all = vec![("user_id".to_string(), "7".to_string())];
        all.extend(values(&stored).into_iter().map(|(n, v)| (n.to_string(), v)));
        all
    }

    fn get<'a>(els: &'a [(String, String)], name: &str) -> Option<&'a str> {
        els.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// A reseller with everything set: every element is there, in catalogue order.
    fn full_reseller() -> Vec<(String, String)> {
        elements(
            "reseller",
            &[
                ("lcr_id", Value::Int(2)),
                ("tariff_id", Value::Int(5)),
                ("agreement_date", Value::from("2024-01-31")),
                ("block_at", Value::from("2030-12-01")),
                ("hide_destination_end", Value::Int(5)),
                ("send_invoice_types", Value::Int(2 | 16)),
                ("warning_email_hour", Value::Int(7)),
                ("credit", Value::from("12.50")),
                ("comment", Value::from("note")),
                ("password", Value::from("$argon2id$secret")),
            ],
            true,
            true,
        )
    }

    #[test]
    fn every_parameter_in_catalogue_order_without_secrets_or_leftovers() {
        let names: Vec<String> = full_reseller().into_iter().map(|(n, _)| n).collect();
        let expected = "user_id u0 u1 u2 u3 u4 u5 u6 u7 u8 u9 u10 u11 u12 u13 u14 u15 u16 u17 u18 u19 \
             u20 u21 u22 u23 u24 u25 u26 u27 u28 agreement_date block_at user_warning_email_hour pgui pcsv ppdf \
             recording_forced_enabled i4 tax4_enabled tax2_enabled block_at_conditional tax3_enabled \
             accountant_type tax1_value show_zero_calls warning_email_active compound_tax tax4_name \
             allow_loss_calls tax3_name tax2_name credit tax1_name total_tax_name tax2_value tax4_value i1 \
             tax3_value cyberplat_active i2 i3 recording_enabled own_providers a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 \
             company_name u29 u30 u31 u32 u33 ignore_global_monitorings time_zone allow_change_callerid \
             enable_static_source_list static_source_list_id enable_static_list static_list_id \
             credit_unlimited two_fa_enabled max_devices";
        assert_eq!(names, expected.split_whitespace().collect::<Vec<_>>());
        for (_, v) in full_reseller() {
            assert!(!v.contains("argon2"), "the password never shows");
        }
    }

    #[test]
    fn values_read_back_as_the_update_accepts_them() {
        let els = full_reseller();
        let expect = [
            ("user_id", "7"),
            ("u1", "2"),
            ("u2", "7"),
            ("user_warning_email_hour", "7"),
            ("u3", "5"),
            ("pgui", "1"),
            ("pcsv", "0"),
            ("ppdf", "4"),
            ("i1", "2"),
            ("i2", "0"),
            ("i3", "0"),
            ("i4", "16"),
            ("credit", "12.5"),
            ("credit_unlimited", "0"),
            ("agreement_date", "2024-01-31"),
            ("block_at", "2030-12-01"),
            ("u13", "reseller"),
            ("u7", "0"),
            ("u11", "0"),
            ("accountant_type", "0"),
            ("u31", "-1"),
            ("u32", "0"),
            ("u33", "note"),
            ("a6", "0"),
            ("a8", "a@b.lt"),
            ("tax1_value", "21"),
            ("tax1_enabled", ""),
            ("compound_tax", "1"),
            ("time_zone", "UTC"),
            ("enable_static_list", "no"),
            ("block_at_conditional", "15"),
        ];
        for (name, value) in expect {
            if value.is_empty() {
                assert_eq!(get(&els, name), None, "{name} is not an update parameter");
            } else {
                assert_eq!(get(&els, name), Some(value), "{name}");
            }
        }
    }

    #[test]
    fn null_and_empty_text_read_back_as_the_update_stores_them() {
        let text = Kind::Text { max: 10 };
        for (kind, stored, shown) in [
            (text, Value::Null, None),
            (text, Value::from(""), Some("")),
            (Kind::Email { max: 255 }, Value::Null, Some("")),
            (Kind::Email { max: 255 }, Value::from(""), None),
            (Kind::Email { max: 255 }, Value::from("a@b.lt"), Some("a@b.lt")),
        ] {
            let r = row("addresses", &[("email", stored.clone())]);
            assert_eq!(direct(kind, &r, "email").as_deref(), shown, "{kind:?} {stored:?}");
        }
    }

    #[test]
    fn global_privacy_keeps_only_u3() {
        let els = elements("user", &[("hide_destination_end", Value::Int(-1))], true, true);
        assert_eq!(get(&els, "u3"), Some("-1"));
        for name in ["pgui", "pcsv", "ppdf"] {
            assert_eq!(get(&els, name), None, "{name}");
        }
    }

    #[test]
    fn warning_once_and_unlimited_credit() {
        let els =
            elements("user", &[("warning_email_hour", Value::Int(-1)), ("credit", Value::from("-1"))], true, true);
        assert_eq!(get(&els, "u2"), Some("-1"));
        assert_eq!(get(&els, "user_warning_email_hour"), Some("0"));
        assert_eq!(get(&els, "credit"), Some("0"));
        assert_eq!(get(&els, "credit_unlimited"), Some("1"));
    }

    #[test]
    fn what_cannot_be_written_back_is_left_out() {
        // A simple user: no reseller-only or group parameters; unset tariff, LCR and dates; no
        // address or tax row.
        let els = elements(
            "user",
            &[("lcr_id", Value::Null), ("tariff_id", Value::Null), ("block_at", Value::Null), ("comment", Value::Null)],
            false,
            false,
        );
        for name in [
            "own_providers",
            "max_devices",
            "accountant_type",
            "u1",
            "u5",
            "agreement_date",
            "block_at",
            "a0",
            "a6",
            "a8",
            "tax1_name",
            "tax4_enabled",
            "compound_tax",
            "pswd",
            "ay",
            "by",
            "accountant_type_invalid",
            "email_warning_sent_test",
        ] {
            assert_eq!(get(&els, name), None, "{name}");
        }
        assert_eq!(get(&els, "u33"), None, "an unset comment has no form the update stores");
        assert_eq!(get(&elements("user", &[("comment", Value::from(""))], false, false), "u33"), Some(""));
        assert_eq!(get(&els, "u11"), Some("0"));
        // An accountant has a group but is no reseller.
        let els = elements("accountant", &[("acc_group_id", Value::Int(2))], false, false);
        assert_eq!(get(&els, "accountant_type"), Some("2"));
        assert_eq!(get(&els, "u11"), Some("2"));
        assert_eq!(get(&els, "own_providers"), None);
        assert_eq!(get(&els, "max_devices"), None);
    }
}
