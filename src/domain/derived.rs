//! The `users` columns computed from several parameters (docs/contract.md §5.4),
//! one row each: which parameters feed the column, the forward rule (parameters → new value) and
//! the reverse rule (stored value → each parameter's value that writes it back unchanged, for
//! `user_details_raw_get`). Both directions sit side by side and are tested as a round trip.
//!
//! The parameters of a row are the catalogue's parameters whose target is that column, in
//! catalogue order (a test holds the two together); the rules receive their values by position
//! and never spell a parameter's name.

use super::user::User;
use crate::catalogue::errors::msg;
use crate::catalogue::params::{Kind, Param, find, position};
use crate::params::Params;
use crate::storage::Value;
use crate::values::{amount, flag, int};
use rust_decimal::Decimal;

/// The parameters of a derived column with the values sent (`None`: not sent), trimmed.
pub type Inputs<'a> = [(&'static Param, Option<&'a str>)];

/// One derived column.
pub struct Derived {
    pub column: &'static str,
    /// Its parameters, in catalogue order.
    pub params: &'static [&'static str],
    /// The new value when the parameters sent set one; problems go to `problems`.
    forward: fn(&Inputs<'_>, &User, &mut Problems) -> Option<Value>,
    /// The value of parameter number `index` that writes `stored` back unchanged (`None`: left
    /// out, nothing sent for it keeps the value).
    reverse: fn(index: usize, param: &Param, stored: &Value) -> Option<String>,
}

/// Every derived column, in the order their changes are written and audited.
pub static DERIVED: &[Derived] = &[
    Derived { column: "agreement_date", params: &["ay", "am", "ad"], forward: date, reverse: date_back },
    Derived { column: "block_at", params: &["by", "bm", "bd"], forward: date, reverse: date_back },
    Derived {
        column: "hide_destination_end",
        params: &["u3", "pgui", "pcsv", "ppdf"],
        forward: privacy,
        reverse: privacy_back,
    },
    Derived { column: "send_invoice_types", params: &["i4", "i1", "i2", "i3"], forward: invoice, reverse: bit_back },
    Derived {
        column: "warning_email_hour",
        params: &["u2", "user_warning_email_hour"],
        forward: warning_hour,
        reverse: warning_hour_back,
    },
    Derived { column: "cyberplat_active", params: &["u21", "cyberplat_active"], forward: cyberplat, reverse: as_int },
    Derived { column: "credit", params: &["credit", "credit_unlimited"], forward: credit, reverse: credit_back },
    Derived { column: "acc_group_id", params: &["accountant_type"], forward: group, reverse: group_back },
];

impl Derived {
    /// The column's new value from the request, if the parameters sent set one.
    pub fn derive(&self, params: &Params, target: &User, problems: &mut Problems) -> Option<Value> {
        // Most requests send none of a column's parameters: nothing to look up then.
        if !self.params.iter().any(|name| params.contains(name)) {
            return None;
        }
        let inputs: Vec<(&'static Param, Option<&str>)> =
            self.params.iter().filter_map(|name| find(name)).map(|p| (p, params.get(p.name).map(str::trim))).collect();
        (self.forward)(&inputs, target, problems)
    }

    /// The value parameter `param` reads back as, from the stored column.
    pub fn read_back(&self, param: &Param, stored: &Value) -> Option<String> {
        let index = self.params.iter().position(|n| *n == param.name)?;
        (self.reverse)(index, param, stored)
    }
}

/// The derived column a parameter feeds, if any.
pub fn of(param: &Param) -> Option<&'static Derived> {
    DERIVED.iter().find(|d| d.params.contains(&param.name))
}

/// Problems found while validating, reported in catalogue order whatever order they were found in.
#[derive(Debug, Default)]
pub struct Problems(Vec<(usize, String)>);

impl Problems {
    pub fn add(&mut self, param: &str, message: String) {
        self.0.push((position(param).unwrap_or(usize::MAX), message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn sorted(mut self) -> Vec<String> {
        self.0.sort_by_key(|(pos, _)| *pos);
        self.0.into_iter().map(|(_, m)| m).collect()
    }
}

fn sent<'a>(inputs: &Inputs<'a>, i: usize) -> Option<&'a str> {
    inputs.get(i).and_then(|(_, v)| *v)
}

/// The range of a parameter of kind `Int`.
fn range(p: &Param) -> Option<std::ops::RangeInclusive<i64>> {
    match p.kind {
        Kind::Int { min, max } => Some(min..=max),
        _ => None,
    }
}

/// Warning e-mail hour: `u2` = −1 means "once"; otherwise the hour of day wins over `u2`.
fn warning_hour(inputs: &Inputs<'_>, _: &User, _: &mut Problems) -> Option<Value> {
    let [(u2_param, u2), (hour_param, hour)] = inputs else { return None };
    let u2 = u2.and_then(int);
    let hour = hour.and_then(int);
    let in_range = |p: &Param, v: i64| range(p).is_some_and(|r| r.contains(&v));
    match (u2, hour) {
        (Some(-1), _) => Some(Value::Int(-1)),
        (_, Some(h)) if in_range(hour_param, h) => Some(Value::Int(h)),
        (Some(h), _) if in_range(u2_param, h) => Some(Value::Int(h)),
        _ => None,
    }
}

/// `u2` holds the value as stored (−1 = once); the hour of day holds the hour, or 0 when it is
/// "once" (sent together, `u2` = −1 wins).
fn warning_hour_back(index: usize, p: &Param, stored: &Value) -> Option<String> {
    let h = stored.as_int()?;
    match (index, range(p)) {
        (_, Some(r)) if r.contains(&h) => Some(h.to_string()),
        (1, _) if h == -1 => Some("0".into()),
        _ => None,
    }
}

/// The bit of a privacy or invoice switch.
fn bit(p: &Param) -> Option<i64> {
    match p.kind {
        Kind::PrivacyBit { bit } | Kind::InvoiceBit { bit } => Some(bit),
        _ => None,
    }
}

/// The sum of the bits switched on, when any switch was sent. Each accepts 0 (off) or its bit
/// (on), and privacy switches also 1 for on.
fn bit_mask<'a>(
    switches: impl Iterator<Item = &'a (&'static Param, Option<&'a str>)>,
    problems: &mut Problems,
) -> Option<i64> {
    let mut mask = None;
    for (p, raw) in switches {
        let Some(bit) = bit(p) else { continue };
        let one_means_on = matches!(p.kind, Kind::PrivacyBit { .. });
        let Some(raw) = raw else { continue };
        let total = mask.get_or_insert(0);
        match int(raw) {
            Some(0) => {}
            Some(v) if v == bit || (one_means_on && v == 1) => *total += bit,
            _ => {
                let expected = if one_means_on && bit != 1 { format!("0, 1 or {bit}") } else { format!("0 or {bit}") };
                problems.add(p.name, msg::bad_value(p.name, p.label, &expected, raw));
            }
        }
    }
    mask
}

/// Privacy: the GUI/CSV/PDF switches win over `u3`.
fn privacy(inputs: &Inputs<'_>, _: &User, problems: &mut Problems) -> Option<Value> {
    if let Some(mask) = bit_mask(inputs.iter().skip(1), problems) {
        return Some(Value::Int(mask));
    }
    let (u3_param, u3) = inputs.first()?;
    u3.and_then(int).filter(|v| range(u3_param).is_some_and(|r| r.contains(v))).map(Value::Int)
}

/// −1 means "use the global privacy setting": only `u3` can keep it, and any switch sent would
/// replace it, so the switches are left out then.
fn privacy_back(index: usize, p: &Param, stored: &Value) -> Option<String> {
    let h = stored.as_int()?;
    match index {
        0 => range(p).filter(|r| r.contains(&h)).map(|_| h.to_string()),
        _ => (h >= 0).then(|| bit_back(index, p, stored)).flatten(),
    }
}

/// Invoice types: when any is sent, the mask becomes the sum of the types sent.
fn invoice(inputs: &Inputs<'_>, _: &User, problems: &mut Problems) -> Option<Value> {
    bit_mask(inputs.iter(), problems).map(Value::Int)
}

fn bit_back(_: usize, p: &Param, stored: &Value) -> Option<String> {
    let (mask, bit) = (stored.as_int()?, bit(p)?);
    Some(if mask & bit != 0 { bit } else { 0 }.to_string())
}

/// Cyberplat: MOR takes the value of `cyberplat_active`; `u21` alone counts too.
fn cyberplat(inputs: &Inputs<'_>, _: &User, _: &mut Problems) -> Option<Value> {
    sent(inputs, 1).or(sent(inputs, 0)).and_then(flag).map(|v| Value::Int(i64::from(v > 0)))
}

fn as_int(_: usize, _: &Param, stored: &Value) -> Option<String> {
    stored.as_int().map(|v| v.to_string())
}

/// A date from its year, month and day parts: all three or none.
fn date(inputs: &Inputs<'_>, _: &User, problems: &mut Problems) -> Option<Value> {
    let [(year, y), (month, m), (day, d)] = inputs else { return None };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        problems.add(year.name, msg::date_incomplete(&format!("{}, {} and {}", year.name, month.name, day.name)));
        return None;
    };
    let date = match (int(y), int(m), int(d)) {
        (Some(y), Some(m), Some(d)) if (1..=9999).contains(&y) => u32::try_from(m)
            .ok()
            .zip(u32::try_from(d).ok())
            .and_then(|(m, d)| chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)),
        _ => None,
    };
    match date {
        Some(date) => Some(Value::Text(date.format("%Y-%m-%d").to_string())),
        None => {
            problems.add(year.name, msg::date_invalid(&date_label(year), &format!("{y}-{m}-{d}")));
            None
        }
    }
}

/// A date reads back whole, as its year part (the read method names it by its column); an unset
/// date cannot be cleared through the update, so it has no value.
fn date_back(index: usize, _: &Param, stored: &Value) -> Option<String> {
    (index == 0).then(|| stored.render()).filter(|d| !d.is_empty())
}

/// "Agreement date" from the year part's label "agreement date year".
fn date_label(year: &Param) -> String {
    let base = year.label.strip_suffix(" year").unwrap_or(year.label);
    let mut chars = base.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Group: `accountant_type` wins over `u11` (it is applied after the direct columns).
fn group(inputs: &Inputs<'_>, _: &User, _: &mut Problems) -> Option<Value> {
    sent(inputs, 0).and_then(int).map(Value::Int)
}

/// No group (NULL) reads as 0, which the update accepts for "none".
fn group_back(_: usize, _: &Param, stored: &Value) -> Option<String> {
    Some(stored.as_int().unwrap_or(0).to_string())
}

/// Credit: unlimited (stored −1) wins; negative credit is 0; switching unlimited off without a
/// credit sets 0.
fn credit(inputs: &Inputs<'_>, target: &User, _: &mut Problems) -> Option<Value> {
    let unlimited = sent(inputs, 1).and_then(flag).map(|v| v > 0);
    let credit = sent(inputs, 0).and_then(amount::parse);
    match (unlimited, credit) {
        (Some(true), _) => Some(Value::from("-1")),
        (_, Some(d)) => Some(Value::Text(amount::canonical(d.max(Decimal::ZERO)))),
        (Some(false), None) if target.credit_unlimited() => Some(Value::from("0")),
        _ => None,
    }
}

/// Unlimited credit reads as `credit_unlimited` 1 with `credit` 0 (what the credit becomes when
/// unlimited is switched off).
fn credit_back(index: usize, _: &Param, stored: &Value) -> Option<String> {
    let d = amount::stored(&stored.render())?;
    let unlimited = d == Decimal::NEGATIVE_ONE;
    Some(match index {
        0 if unlimited => "0".to_string(),
        0 => amount::canonical(d),
        _ => u8::from(unlimited).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::params::{PARAMS, Target};
    use crate::storage::Row;

    #[test]
    fn each_row_has_exactly_the_catalogues_parameters_of_its_column() {
        for d in DERIVED {
            let catalogued: Vec<&str> =
                PARAMS.iter().filter(|p| p.target == Target::Derived(d.column)).map(|p| p.name).collect();
            assert_eq!(d.params, catalogued.as_slice(), "{}", d.column);
        }
        for p in PARAMS {
            if let Target::Derived(col) = p.target {
                assert!(DERIVED.iter().any(|d| d.column == col), "{} has no derived row", p.name);
            }
        }
    }

    fn user(credit: &str) -> User {
        let row: Row = [("id", Value::Int(5)), ("credit", Value::from(credit))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        User::from_row(row).unwrap()
    }

    /// Reading a stored value back and sending every value read changes nothing.
    #[test]
    fn stored_values_round_trip() {
        let samples: &[(&str, &[Value])] = &[
            ("warning_email_hour", &[Value::Int(-1), Value::Int(0), Value::Int(7), Value::Int(23)]),
            ("hide_destination_end", &[Value::Int(-1), Value::Int(0), Value::Int(5), Value::Int(7)]),
            ("cyberplat_active", &[Value::Int(0), Value::Int(1)]),
            ("agreement_date", &[Value::from("2024-02-29")]),
            ("block_at", &[Value::from("2030-12-01")]),
            ("send_invoice_types", &[Value::Int(0), Value::Int(2 | 16), Value::Int(30)]),
            ("acc_group_id", &[Value::Int(0), Value::Int(3)]),
            ("credit", &[Value::from("-1"), Value::from("0"), Value::from("12.5")]),
        ];
        for d in DERIVED {
            let (_, values) = samples.iter().find(|(c, _)| *c == d.column).unwrap_or_else(|| panic!("{}", d.column));
            for stored in *values {
                let mut params = Params::new();
                for name in d.params {
                    let p = find(name).unwrap();
                    if let Some(v) = d.read_back(p, stored) {
                        params.insert(*name, v);
                        // Date parts are read back as one value; send it split.
                        if p.kind == Kind::DatePart {
                            let parts: Vec<String> = stored.render().split('-').map(str::to_string).collect();
                            for (part, v) in d.params.iter().zip(parts) {
                                params.insert(*part, v);
                            }
                        }
                    }
                }
                let mut problems = Problems::default();
                let target = user(&if d.column == "credit" { stored.render() } else { "0".into() });
                let again = d.derive(&params, &target, &mut problems);
                assert!(problems.is_empty(), "{} {stored:?}: {:?}", d.column, problems.sorted());
                let again = again.map(|v| v.render());
                assert!(
                    again.is_none() || again.as_deref() == Some(stored.render().as_str()),
                    "{} {stored:?} came back as {again:?} from {params:?}",
                    d.column
                );
            }
        }
    }

    #[test]
    fn forward_rules() {
        let run = |column: &str, sent: &[(&str, &str)], credit: &str| {
            let d = DERIVED.iter().find(|d| d.column == column).unwrap();
            let params = Params::from_pairs(sent.iter().copied());
            let mut problems = Problems::default();
            let v = d.derive(&params, &user(credit), &mut problems);
            (v, problems.sorted())
        };
        assert_eq!(run("hide_destination_end", &[("u3", "3"), ("pgui", "1")], "0").0, Some(Value::Int(1)));
        assert_eq!(run("hide_destination_end", &[("u3", "-1")], "0").0, Some(Value::Int(-1)));
        assert_eq!(run("hide_destination_end", &[("pcsv", "3")], "0").1.len(), 1);
        assert_eq!(
            run("warning_email_hour", &[("u2", "5"), ("user_warning_email_hour", "9")], "0").0,
            Some(Value::Int(9))
        );
        assert_eq!(
            run("warning_email_hour", &[("u2", "-1"), ("user_warning_email_hour", "9")], "0").0,
            Some(Value::Int(-1))
        );
        assert_eq!(run("credit", &[("credit_unlimited", "0")], "-1").0, Some(Value::from("0")));
        assert_eq!(run("credit", &[("credit_unlimited", "0")], "5").0, None);
        assert_eq!(run("credit", &[("credit", "-3")], "5").0, Some(Value::from("0")));
        assert_eq!(run("agreement_date", &[("ay", "2024")], "0").1, vec!["ay, am and ad must be sent together"]);
        assert_eq!(
            run("agreement_date", &[("ay", "2023"), ("am", "2"), ("ad", "29")], "0").1,
            vec!["Agreement date is not a valid date: 2023-2-29"]
        );
        assert_eq!(run("cyberplat_active", &[("u21", "1"), ("cyberplat_active", "0")], "0").0, Some(Value::Int(0)));
    }
}
