//! Step 9 and 10: turn the sent values into the columns to write (listing every problem), then
//! write them with one audit row per changed field.

use super::UpdateRequest;
use super::references::parse_id;
use crate::auth::gate::Caller;
use crate::catalogue::errors::msg;
use crate::catalogue::is_time_zone;
use crate::catalogue::params::{Kind, PARAMS, Param, Target, position};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{AuditEntry, AuditEvent, Repo, Result, Row, Table, User, Value, schema};
use rust_decimal::Decimal;
use std::str::FromStr;

/// The validated change: columns per table, in catalogue order.
#[derive(Debug, Default)]
pub struct ChangeSet {
    user: Vec<(&'static str, Value)>,
    address: Vec<(&'static str, Value)>,
    tax: Vec<(&'static str, Value)>,
    /// Set when a new password was sent; it is stored only as the request's Argon2id hash.
    pub password_plain: Option<String>,
}

impl ChangeSet {
    fn set(&mut self, table: Table, col: &'static str, value: Value) {
        let list = match table {
            Table::Addresses => &mut self.address,
            Table::Taxes => &mut self.tax,
            // Every other parameter lands in `users` (the catalogue has no other targets).
            _ => &mut self.user,
        };
        match list.iter_mut().find(|(c, _)| *c == col) {
            Some(slot) => slot.1 = value,
            None => list.push((col, value)),
        }
    }
}

/// Parses a whole number as MOR clients send them (surrounding spaces allowed).
fn int(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// A switch as MOR reads it: a whole number, > 0 meaning on; blank is off (as `to_i` reads it).
fn flag(raw: &str) -> Option<i64> {
    let v = raw.trim();
    if v.is_empty() { Some(0) } else { int(v) }
}

/// Parses a decimal, accepting `,` as the decimal separator. Returns canonical text.
fn decimal(raw: &str) -> Option<Decimal> {
    let s = raw.trim().replace(',', ".");
    if s.is_empty() || s.contains(['e', 'E']) {
        return None;
    }
    Decimal::from_str(&s).ok()
}

fn canonical(d: Decimal) -> String {
    d.normalize().to_string()
}

/// `local@domain.tld` with a 2–15 letter TLD, after removing spaces (MOR's e-mail rule).
pub fn valid_email(e: &str) -> bool {
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

fn email_list(raw: &str) -> Vec<String> {
    raw.split(';')
        .map(|e| e.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|e| !e.is_empty())
        .collect()
}

/// Minimum password and username lengths come from the target's owner when that is a reseller.
fn length_owner(repo: &mut dyn Repo, target: &User) -> Result<i64> {
    if target.owner_id == 0 {
        return Ok(0);
    }
    Ok(match repo.user_by_id(target.owner_id)? {
        Some(o) if o.usertype == "reseller" => o.id,
        _ => 0,
    })
}

fn is_strong(p: &str) -> bool {
    p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(char::is_uppercase) && p.chars().any(char::is_lowercase)
}

/// Validates every sent value; `Err` lists every problem, in catalogue order.
pub fn build(
    repo: &mut dyn Repo,
    target: &User,
    params: &Params,
    sent: &[(&'static Param, &str)],
) -> Result<std::result::Result<ChangeSet, Vec<String>>> {
    let mut c = ChangeSet::default();
    let mut problems = Problems::default();
    let bad = |p: &Param, expected: &str, v: &str| msg::bad_value(p.name, p.label, expected, v);
    // Whose length settings apply, looked up only when a username or password is sent.
    let rules_owner = if sent.iter().any(|(p, _)| matches!(p.kind, Kind::Username | Kind::Password)) {
        length_owner(repo, target)?
    } else {
        0
    };

    for &(p, raw) in sent {
        if !raw.chars().all(crate::http::xml::allowed_in_xml) {
            problems.add(p.name, msg::control_characters(p.name, p.label));
            continue;
        }
        let v = raw.trim();
        let table = match p.target {
            Target::User(_) => Table::Users,
            Target::Address(_) => Table::Addresses,
            Target::Tax(_) => Table::Taxes,
            Target::Derived(_) | Target::None => Table::Users,
        };
        let direct = matches!(p.target, Target::User(_) | Target::Address(_) | Target::Tax(_));
        let col = p.target.column().unwrap_or_default();
        let value: Option<Value> = match p.kind {
            Kind::Text { max } => {
                if v.chars().count() > max {
                    problems.add(p.name, msg::too_long(p.name, p.label, max));
                    None
                } else {
                    Some(Value::from(v))
                }
            }
            Kind::Int { min, max } => match int(v) {
                Some(i) if (min..=max).contains(&i) => Some(Value::Int(i)),
                _ => {
                    problems.add(p.name, bad(p, &format!("a whole number from {min} to {max}"), raw));
                    None
                }
            },
            Kind::IntClampZero => match int(v) {
                Some(i) => Some(Value::Int(i.max(0))),
                None => {
                    problems.add(p.name, bad(p, "a whole number", raw));
                    None
                }
            },
            Kind::Flag => match flag(v) {
                Some(i) => Some(Value::Int(i64::from(i > 0))),
                None => {
                    problems.add(p.name, bad(p, "0 or 1", raw));
                    None
                }
            },
            Kind::Decimal | Kind::DecimalClampZero | Kind::DecimalNonNegative => match decimal(v) {
                Some(d) if !schema::decimal_fits(&d) => {
                    problems.add(p.name, bad(p, "a number with at most 15 digits before and 15 after the point", raw));
                    None
                }
                Some(d) if p.kind == Kind::DecimalNonNegative && d.is_sign_negative() && !d.is_zero() => {
                    problems.add(p.name, bad(p, "a number of 0 or more", raw));
                    None
                }
                Some(d) if p.kind == Kind::DecimalClampZero && d <= Decimal::ZERO => Some(Value::from("0")),
                Some(d) => Some(Value::Text(canonical(d))),
                None => {
                    problems.add(p.name, bad(p, "a number", raw));
                    None
                }
            },
            // Existence was checked in step 8, so the id parses.
            Kind::Ref(_) | Kind::ResponsibleAccountant => parse_id(v).map(Value::Int),
            Kind::Enum(words) => {
                if words.contains(&v) {
                    Some(Value::from(v))
                } else {
                    problems.add(p.name, bad(p, &format!("one of {}", words.join(", ")), raw));
                    None
                }
            }
            Kind::TimeZone => {
                if is_time_zone(v) {
                    Some(Value::from(v))
                } else {
                    problems.add(p.name, msg::time_zone_unknown(raw));
                    None
                }
            }
            Kind::Email => email_value(repo, target, v, &mut problems)?,
            Kind::RecordingsEmail => {
                if email_list(v).iter().all(|e| valid_email(e)) {
                    Some(Value::from(v))
                } else {
                    problems.add(p.name, msg::RECORDINGS_EMAIL_INVALID.to_string());
                    None
                }
            }
            Kind::Username => {
                let min = Setting::DefaultUserUsernameLength.read(repo, rules_owner)?;
                let min = usize::try_from(int(&min).unwrap_or(1).max(1)).unwrap_or(1);
                let len = v.chars().count();
                if v.is_empty() {
                    problems.add(p.name, msg::USERNAME_BLANK.to_string());
                } else if len < min {
                    problems.add(p.name, msg::username_too_short(min));
                } else if len > 30 {
                    problems.add(p.name, msg::too_long(p.name, p.label, 30));
                } else if repo.username_taken(v, target.id)? {
                    problems.add(p.name, msg::USERNAME_TAKEN.to_string());
                }
                Some(Value::from(v))
            }
            Kind::Password => {
                if !v.is_empty() {
                    for m in password_rules(repo, rules_owner, v)? {
                        problems.add("pswd", m);
                    }
                    c.password_plain = Some(raw.to_string());
                }
                None
            }
            Kind::UserType => {
                if !v.is_empty() && v != target.usertype {
                    problems.add(p.name, msg::USERTYPE_FIXED.to_string());
                }
                None
            }
            // Checked per group below.
            Kind::DatePart | Kind::PrivacyBit { .. } | Kind::InvoiceBit { .. } | Kind::Inert => None,
        };
        if let (true, Some(value)) = (direct, value) {
            c.set(table, col, value);
        }
    }

    derived(repo, target, params, &mut c, &mut problems)?;
    Ok(if problems.0.is_empty() { Ok(c) } else { Err(problems.sorted()) })
}

fn email_value(repo: &mut dyn Repo, target: &User, v: &str, problems: &mut Problems) -> Result<Option<Value>> {
    if v.is_empty() {
        return Ok(Some(Value::Null));
    }
    let emails = email_list(v);
    if emails.is_empty() || !emails.iter().all(|e| valid_email(e)) {
        problems.add("a8", msg::EMAIL_INVALID.to_string());
        return Ok(None);
    }
    if Setting::AllowIdenticalEmailAddressesToDifferentUsers.read(repo, 0)? != "1" {
        let own = target.int("address_id");
        for e in &emails {
            if repo.email_in_use(e, own)? {
                problems.add("a8", msg::email_used(e));
            }
        }
    }
    Ok(Some(Value::from(v)))
}

/// What is wrong with a new password for a user of `owner` (strength, minimum length); also
/// used by `morapi user` so that every way of setting a password follows the same rules.
pub fn password_rules(repo: &mut dyn Repo, owner: i64, v: &str) -> Result<Vec<String>> {
    let strong = Setting::UseStrongPasswordsForUsers.read(repo, 0)? != "0";
    let configured = int(&Setting::DefaultUserPasswordLength.read(repo, owner)?).unwrap_or(0);
    let min = usize::try_from(configured.max(if strong { 8 } else { 6 })).unwrap_or(8);
    let mut out = Vec::new();
    if strong && !is_strong(v) {
        out.push(msg::PASSWORD_WEAK.to_string());
    }
    if v.chars().count() < min {
        out.push(msg::password_too_short(min));
    }
    Ok(out)
}

/// Columns computed from several parameters (mor-reference §10.2, behaviour.md §5).
fn derived(
    repo: &mut dyn Repo,
    target: &User,
    params: &Params,
    c: &mut ChangeSet,
    problems: &mut Problems,
) -> Result<()> {
    let get = |n: &str| params.get(n).map(str::trim);

    // Dates from three parts each (year, month, day in catalogue order); all three or none.
    for (col, parts) in date_groups() {
        let vals: Vec<Option<&str>> = parts.iter().map(|p| get(p.name)).collect();
        if vals.iter().all(Option::is_none) {
            continue;
        }
        let names: Vec<&str> = parts.iter().map(|p| p.name).collect();
        let [Some(y), Some(m), Some(d)] = vals[..] else {
            problems.add(names[0], msg::date_incomplete(&format!("{}, {} and {}", names[0], names[1], names[2])));
            continue;
        };
        let date = match (int(y), int(m), int(d)) {
            (Some(y), Some(m), Some(d)) if (1..=9999).contains(&y) => u32::try_from(m)
                .ok()
                .zip(u32::try_from(d).ok())
                .and_then(|(m, d)| chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)),
            _ => None,
        };
        match date {
            Some(date) => c.set(Table::Users, col, Value::Text(date.format("%Y-%m-%d").to_string())),
            None => problems.add(names[0], msg::date_invalid(&date_label(parts[0]), &format!("{y}-{m}-{d}"))),
        }
    }

    // Privacy: the GUI/CSV/PDF switches win over u3; each is 0 (off), 1 or its bit (on).
    let privacy = |k: Kind| if let Kind::PrivacyBit { bit } = k { Some(bit) } else { None };
    if let Some(mask) = bit_mask(params, privacy, true, problems) {
        c.set(Table::Users, "hide_destination_end", Value::Int(mask));
    } else if let Some(Some(v)) = get("u3").map(int)
        && (-1..=7).contains(&v)
    {
        c.set(Table::Users, "hide_destination_end", Value::Int(v));
    }

    // Invoice types: when any is sent, the mask becomes the sum of the types sent.
    let invoice = |k: Kind| if let Kind::InvoiceBit { bit } = k { Some(bit) } else { None };
    if let Some(mask) = bit_mask(params, invoice, false, problems) {
        c.set(Table::Users, "send_invoice_types", Value::Int(mask));
    }

    // Warning e-mail hour: u2 = -1 means "once"; otherwise the hour of day wins over u2.
    let u2 = get("u2").and_then(int);
    let hour = get("user_warning_email_hour").and_then(int);
    match (u2, hour) {
        (Some(-1), _) => c.set(Table::Users, "warning_email_hour", Value::Int(-1)),
        (_, Some(h)) if (0..=23).contains(&h) => c.set(Table::Users, "warning_email_hour", Value::Int(h)),
        (Some(h), _) if (-1..=23).contains(&h) => c.set(Table::Users, "warning_email_hour", Value::Int(h)),
        _ => {}
    }

    // Cyberplat: MOR takes the value of `cyberplat_active`; `u21` alone counts too.
    if let Some(v) = get("cyberplat_active").or(get("u21")).and_then(flag) {
        c.set(Table::Users, "cyberplat_active", Value::Int(i64::from(v > 0)));
    }

    // Credit: unlimited wins; negative credit is 0; leaving "unlimited" without a credit sets 0.
    let unlimited = get("credit_unlimited").and_then(flag).map(|v| v > 0);
    let credit = get("credit").and_then(decimal);
    if unlimited == Some(true) {
        c.set(Table::Users, "credit", Value::from("-1"));
    } else if let Some(d) = credit {
        c.set(Table::Users, "credit", Value::Text(canonical(d.max(Decimal::ZERO))));
    } else if unlimited == Some(false) && target.row.get("credit").map(Value::render).as_deref() == Some("-1") {
        c.set(Table::Users, "credit", Value::from("0"));
    }

    // Parameters that only some kinds of user have (the catalogue says which).
    for p in PARAMS.iter().filter(|p| params.contains(p.name) && !p.applies_to.includes(&target.usertype)) {
        problems.add(p.name, msg::applies_only(p.name, p.label, p.applies_to.describe()));
    }

    // Group: `accountant_type` (accountants and resellers) wins over u11.
    if let Some(id) = get("accountant_type").and_then(int) {
        c.set(Table::Users, "acc_group_id", Value::Int(id));
    }

    // 2FA can be switched on only when the system offers it and the user has an e-mail.
    if get("two_fa_enabled").and_then(flag).is_some_and(|v| v > 0) {
        if Setting::TwoFaEnabled.read(repo, 0)? != "1" {
            problems.add("two_fa_enabled", msg::TWO_FA_SYSTEM_OFF.to_string());
        } else {
            let email = match get("a8") {
                Some(e) => e.to_string(),
                None => match target.int("address_id") {
                    Some(id) => {
                        repo.row(Table::Addresses, id)?.map(|r| crate::storage::text(&r, "email")).unwrap_or_default()
                    }
                    None => String::new(),
                },
            };
            if email.trim().is_empty() {
                problems.add("two_fa_enabled", msg::TWO_FA_NO_EMAIL.to_string());
            }
        }
    }
    Ok(())
}

/// The dates sent in three parts: each target column with its year, month and day parameters.
fn date_groups() -> Vec<(&'static str, Vec<&'static Param>)> {
    let mut groups: Vec<(&'static str, Vec<&'static Param>)> = Vec::new();
    for p in PARAMS.iter().filter(|p| p.kind == Kind::DatePart) {
        let col = p.target.column().unwrap_or_default();
        match groups.iter_mut().find(|(c, _)| *c == col) {
            Some((_, parts)) => parts.push(p),
            None => groups.push((col, vec![p])),
        }
    }
    groups
}

/// "Agreement date" from the year part's label "agreement date year".
fn date_label(year: &Param) -> String {
    let base = year.label.strip_suffix(" year").unwrap_or(year.label);
    let mut chars = base.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The sum of the bits switched on, when any parameter whose kind `bit_of` gives a bit was
/// sent. Each accepts 0 (off) or its bit (on), and 1 for on when `one_means_on`.
fn bit_mask(
    params: &Params,
    bit_of: impl Fn(Kind) -> Option<i64>,
    one_means_on: bool,
    problems: &mut Problems,
) -> Option<i64> {
    let bits: Vec<(&Param, i64)> = PARAMS.iter().filter_map(|p| bit_of(p.kind).map(|b| (p, b))).collect();
    if !bits.iter().any(|(p, _)| params.contains(p.name)) {
        return None;
    }
    let mut mask = 0;
    for (p, bit) in bits {
        let Some(raw) = params.get(p.name) else { continue };
        match int(raw) {
            Some(0) => {}
            Some(v) if v == bit || (one_means_on && v == 1) => mask += bit,
            _ => {
                let expected = if one_means_on && bit != 1 { format!("0, 1 or {bit}") } else { format!("0 or {bit}") };
                problems.add(p.name, msg::bad_value(p.name, p.label, &expected, raw));
            }
        }
    }
    Some(mask)
}

/// Problems found in step 9, reported in catalogue order whatever order they were found in.
#[derive(Default)]
struct Problems(Vec<(usize, String)>);

impl Problems {
    fn add(&mut self, param: &str, message: String) {
        self.0.push((position(param).unwrap_or(usize::MAX), message));
    }

    fn sorted(mut self) -> Vec<String> {
        self.0.sort_by_key(|(pos, _)| *pos);
        self.0.into_iter().map(|(_, m)| m).collect()
    }
}

/// A value as the audit trail records it: NULL stays NULL, never the empty string.
fn audited(v: &Value) -> Option<String> {
    (*v != Value::Null).then(|| v.render())
}

/// Whether writing `new` over `old` changes nothing: equal values (NULL only equals NULL), or
/// equal numbers (`10.50` is `10.5`).
fn same(old: &Value, new: &Value) -> bool {
    let (a, b) = (audited(old), audited(new));
    a == b || matches!((a.as_deref().and_then(decimal), b.as_deref().and_then(decimal)), (Some(x), Some(y)) if x == y)
}

/// Step 10: writes the sent columns whose values change (only those) and one audit row per
/// changed field. A request that changes nothing writes nothing, so its answer is true whatever
/// becomes of its commit.
pub fn write(repo: &mut dyn Repo, caller: &Caller, target: &User, mut c: ChangeSet, req: &UpdateRequest) -> Result<()> {
    let mut audit: Vec<Change> = Vec::new();
    if let Some(hash) = &req.password_hash {
        c.user.push(("password", Value::Text(hash.clone())));
    }
    for (table, fk) in [(Table::Addresses, "address_id"), (Table::Taxes, "tax_id")] {
        let cols = if table == Table::Addresses { std::mem::take(&mut c.address) } else { std::mem::take(&mut c.tax) };
        if cols.is_empty() {
            continue;
        }
        let existing = match target.int(fk) {
            Some(id) => repo.row(table, id)?.map(|r| (id, r)),
            None => None,
        };
        let (id, old) = match existing {
            Some(found) => found,
            None => {
                let id = repo.insert_row(table, &[])?;
                c.user.push((fk, Value::Int(id)));
                let fresh = repo.row(table, id)?.unwrap_or_default();
                (id, fresh)
            }
        };
        let cols = record_changes(&mut audit, Some(table.name()), &old, cols);
        repo.update_row(table, id, &cols)?;
    }
    let user = record_changes(&mut audit, None, &target.row, c.user);
    repo.update_row(Table::Users, target.id, &user)?;
    let entries: Vec<AuditEntry> = audit
        .into_iter()
        .map(|(field, old_value, new_value)| AuditEntry {
            created_at: req.info.now.clone(),
            request_id: req.info.request_id.clone(),
            event: AuditEvent::Change,
            actor_id: Some(caller.user.id),
            actor_username: caller.user.username.clone(),
            client_addr: req.info.client_addr.clone(),
            endpoint: req.info.endpoint.clone(),
            target_id: Some(target.id),
            field,
            old_value,
            new_value,
        })
        .collect();
    if !entries.is_empty() {
        repo.insert_audit(&entries)?;
    }
    Ok(())
}

/// An audited change: field, old value, new value (`None`: NULL).
pub type Change = (String, Option<String>, Option<String>);

/// The columns of `new` whose values change from `old` (a new password always does), which are
/// the only ones to write, after adding their audit entries to `audit`. `table` is `None` for
/// `users`. Secrets show as `changed`. Every writer of audited changes decides with this.
pub fn record_changes(
    audit: &mut Vec<Change>,
    table: Option<&str>,
    old: &Row,
    new: Vec<(&'static str, Value)>,
) -> Vec<(&'static str, Value)> {
    let mut changed = Vec::with_capacity(new.len());
    for (col, value) in new {
        let before = old.get(col).unwrap_or(&Value::Null);
        if col != "password" && same(before, &value) {
            continue;
        }
        // The links to a new address or tax row are written, not audited: the row's own
        // columns are.
        if !matches!(col, "address_id" | "tax_id") {
            let field = match table {
                Some(t) => format!("{t}.{col}"),
                None => col.to_string(),
            };
            let entry = if col == "password" {
                (field, Some(String::new()), Some("changed".into()))
            } else {
                (field, audited(before), audited(&value))
            };
            audit.push(entry);
        }
        changed.push((col, value));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_mors_rule() {
        for ok in ["a@b.com", "john.doe@example.co.uk", "x@y.museum", " a @ b.lt "] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "@b.com", "a@.com", "a@b.c", "a@b.c0m", "a@@b.com", "a@b.abcdefghijklmnop"] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn decimals_accept_comma() {
        assert_eq!(decimal("1,5").map(canonical), Some("1.5".into()));
        assert_eq!(decimal(" 10.50 ").map(canonical), Some("10.5".into()));
        assert_eq!(decimal("-5").map(canonical), Some("-5".into()));
        assert_eq!(decimal("abc"), None);
        assert_eq!(decimal("1e5"), None);
        assert_eq!(decimal(""), None);
    }

    #[test]
    fn date_parts_come_from_the_catalogue_in_year_month_day_order() {
        let groups: Vec<(&str, Vec<&str>)> =
            date_groups().into_iter().map(|(c, ps)| (c, ps.iter().map(|p| p.name).collect())).collect();
        assert_eq!(groups, vec![("agreement_date", vec!["ay", "am", "ad"]), ("block_at", vec!["by", "bm", "bd"])]);
        assert_eq!(date_label(groups_first_part("ay")), "Agreement date");
        assert_eq!(date_label(groups_first_part("by")), "Block at date");
    }

    fn groups_first_part(name: &str) -> &'static Param {
        crate::catalogue::params::find(name).unwrap()
    }

    #[test]
    fn strong_passwords() {
        assert!(is_strong("Secret123"));
        assert!(!is_strong("ccaassdd"));
        assert!(!is_strong("CCAA1122"));
    }
}
