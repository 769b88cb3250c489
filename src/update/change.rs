//! Steps 9 and 10: turn the sent values into the columns to write (listing every problem), then
//! write the ones that change with one audit row per changed field.

use crate::auth::gate::RequestInfo;
use crate::catalogue::errors::{PageError, msg};
use crate::catalogue::params::{Kind, PARAMS, Param, Target};
use crate::domain::derived::{DERIVED, Problems};
use crate::domain::{Caller, Outcome, Refusal, User, rules};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{AuditEntry, AuditEvent, ChangeSet, Columns, KeySlot, Linked, RequestStore, Result, Row, Value};
use crate::values::{self, amount};

/// The validated change: columns per table, in catalogue order.
#[derive(Debug, Default)]
pub struct Changes {
    user: Columns,
    address: Columns,
    tax: Columns,
    /// A new password was sent; it is stored only as the request's Argon2id hash.
    password: bool,
}

impl Changes {
    fn set(&mut self, target: Target, value: Value) {
        let (list, col) = match target {
            Target::Address(col) => (&mut self.address, col),
            Target::Tax(col) => (&mut self.tax, col),
            Target::User(col) | Target::Derived(col) => (&mut self.user, col),
            Target::None => return,
        };
        match list.iter_mut().find(|(c, _)| *c == col) {
            Some(slot) => slot.1 = value,
            None => list.push((col, value)),
        }
    }

    /// Whether a new password must be hashed before the change can be written.
    pub fn new_password(&self) -> bool {
        self.password
    }
}

/// Validates every sent value; a refusal lists every problem, in catalogue order.
pub fn build(
    store: &mut dyn RequestStore,
    target: &User,
    params: &Params,
    sent: &[(&'static Param, &str)],
) -> Outcome<Changes> {
    let mut c = Changes::default();
    let mut problems = Problems::default();
    // Whose length settings apply, looked up only when a username or password is sent.
    let settings_owner = if sent.iter().any(|(p, _)| matches!(p.kind, Kind::Username { .. } | Kind::Password)) {
        rules::settings_owner(store, target.owner_id)?
    } else {
        0
    };

    for &(p, raw) in sent {
        if !raw.chars().all(values::is_xml_char) {
            problems.add(p.name, msg::control_characters(p.name, p.label));
            continue;
        }
        let v = raw.trim();
        // Values that need nothing but themselves: the catalogue's one reading of them.
        if let Some(parsed) = p.plain_value(raw) {
            match parsed {
                Ok(value) => {
                    if matches!(p.target, Target::User(_) | Target::Address(_) | Target::Tax(_)) {
                        c.set(p.target, value);
                    }
                }
                Err(message) => problems.add(p.name, message),
            }
            continue;
        }
        let value: Option<Value> = match p.kind {
            // Existence was checked in step 8, so the id parses.
            Kind::Ref(_) | Kind::ResponsibleAccountant => values::int(v).map(Value::Int),
            // An empty e-mail clears it.
            Kind::Email { .. } if v.is_empty() => Some(Value::Null),
            Kind::Email { .. } => {
                for m in rules::email_problems(store, v, target.address_id)? {
                    problems.add(p.name, m);
                }
                Some(Value::from(v))
            }
            Kind::Username { .. } => {
                for m in rules::username_problems(store, settings_owner, v, Some(target.id))? {
                    problems.add(p.name, m);
                }
                Some(Value::from(v))
            }
            Kind::Password => {
                if !v.is_empty() {
                    for m in rules::password_problems(store, settings_owner, v)? {
                        problems.add(p.name, m);
                    }
                    c.password = true;
                }
                None
            }
            Kind::UserType => {
                if !v.is_empty() && Some(target.user_type) != crate::domain::UserType::from_word(v) {
                    problems.add(p.name, msg::USERTYPE_FIXED.to_string());
                }
                None
            }
            // Derived columns are computed below, from all their parameters together; the
            // catalogue read every other kind above.
            _ => None,
        };
        if let (Target::User(_) | Target::Address(_) | Target::Tax(_), Some(value)) = (p.target, value) {
            c.set(p.target, value);
        }
    }

    for d in DERIVED {
        if let Some(value) = d.derive(params, target, &mut problems) {
            c.set(Target::Derived(d.column), value);
        }
    }
    // Parameters that only some kinds of user have (the catalogue says which).
    for p in PARAMS.iter().filter(|p| params.contains(p.name) && !target.user_type.subject_to(p.applies_to)) {
        problems.add(p.name, msg::applies_only(p.name, p.label, p.applies_to.describe()));
    }
    two_factor(store, target, params, &mut problems)?;
    if problems.is_empty() {
        Ok(c)
    } else {
        Err(Refusal::Page { error: PageError::UserNotUpdated, messages: problems.sorted() }.into())
    }
}

/// 2FA can be switched on only when the system offers it and the user has an e-mail.
fn two_factor(store: &mut dyn RequestStore, target: &User, params: &Params, problems: &mut Problems) -> Result<()> {
    const PARAM: &str = "two_fa_enabled";
    if params.get(PARAM).and_then(values::flag).is_none_or(|v| v <= 0) {
        return Ok(());
    }
    if !Setting::TwoFaEnabled.flag(store, 0)? {
        problems.add(PARAM, msg::TWO_FA_SYSTEM_OFF.to_string());
        return Ok(());
    }
    let email = match params.get("a8") {
        Some(e) => e.to_string(),
        None => match target.address_id {
            Some(id) => {
                store.linked(Linked::Address, id)?.map(|r| crate::storage::text(&r, "email")).unwrap_or_default()
            }
            None => String::new(),
        },
    };
    if email.trim().is_empty() {
        problems.add(PARAM, msg::TWO_FA_NO_EMAIL.to_string());
    }
    Ok(())
}

/// Step 10: writes the sent columns whose values change (only those) and one audit row per
/// changed field. A request that changes nothing writes nothing, so its answer is true whatever
/// becomes of its commit.
pub fn write(
    store: &mut dyn RequestStore,
    caller: &Caller,
    target: &User,
    mut c: Changes,
    password_hash: Option<&str>,
    info: &RequestInfo,
) -> Result<()> {
    let mut audit: Vec<Change> = Vec::new();
    if let Some(hash) = password_hash {
        c.user.push(("password", Value::from(hash)));
    }
    let address =
        linked_change(store, target, Linked::Address, std::mem::take(&mut c.address), &mut c.user, &mut audit)?;
    let tax = linked_change(store, target, Linked::Tax, std::mem::take(&mut c.tax), &mut c.user, &mut audit)?;
    let user = record_changes(&mut audit, None, &target.columns, c.user);
    let now = values::AuditTime::now().stored();
    let audit = audit
        .into_iter()
        .map(|(field, old_value, new_value)| AuditEntry {
            created_at: now.clone(),
            request_id: info.request_id.clone(),
            event: AuditEvent::Change,
            actor_id: Some(caller.id),
            actor_username: caller.username.clone(),
            client_addr: info.client_addr.clone(),
            endpoint: info.endpoint.clone(),
            target_id: Some(target.id),
            field,
            old_value,
            new_value,
            signed_with: caller.signed_with.map(KeySlot::stored).unwrap_or_default(),
        })
        .collect();
    store.apply(&ChangeSet { user_id: target.id, user, address, tax, audit })
}

/// The changed columns of the user's address or tax row, with the row's id. A user without one
/// gets a new row, linked from `user`.
fn linked_change(
    store: &mut dyn RequestStore,
    target: &User,
    table: Linked,
    columns: Columns,
    user: &mut Columns,
    audit: &mut Vec<Change>,
) -> Result<Option<(i64, Columns)>> {
    if columns.is_empty() {
        return Ok(None);
    }
    let link = match table {
        Linked::Address => target.address_id,
        Linked::Tax => target.tax_id,
    };
    let existing = match link {
        Some(id) => store.linked(table, id)?.map(|row| (id, row)),
        None => None,
    };
    let (id, old) = match existing {
        Some(found) => found,
        None => {
            let (id, fresh) = store.new_linked(table)?;
            user.push((table.link_column(), Value::Int(id)));
            (id, fresh)
        }
    };
    Ok(Some((id, record_changes(audit, Some(table.table().name()), &old, columns))))
}

/// An audited change: field, old value, new value (`None`: NULL).
pub type Change = (String, Option<String>, Option<String>);

/// The columns of `new` whose values change from `old` (a new secret always does), which are
/// the only ones to write, after adding their audit entries to `audit`. `table` is `None` for
/// `users`. Secrets show as `changed`. Every writer of audited changes decides with this.
pub fn record_changes(audit: &mut Vec<Change>, table: Option<&str>, old: &Row, new: Columns) -> Columns {
    let mut changed = Vec::with_capacity(new.len());
    for (col, value) in new {
        let before = old.get(col).unwrap_or(&Value::Null);
        let secret = crate::catalogue::is_secret(col);
        if !secret && same(before, &value) {
            continue;
        }
        // The links to a new address or tax row are written, not audited: the row's own
        // columns are.
        if !matches!(col, "address_id" | "tax_id") {
            let field = match table {
                Some(t) => format!("{t}.{col}"),
                None => col.to_string(),
            };
            let entry = if secret {
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

/// A value as the audit trail records it: NULL stays NULL, never the empty string.
fn audited(v: &Value) -> Option<String> {
    (*v != Value::Null).then(|| v.render())
}

/// Whether writing `new` over `old` changes nothing: equal values (NULL only equals NULL), or
/// equal numbers (`10.50` is `10.5`).
fn same(old: &Value, new: &Value) -> bool {
    let (a, b) = (audited(old), audited(new));
    a == b
        || matches!((a.as_deref().and_then(amount::parse), b.as_deref().and_then(amount::parse)), (Some(x), Some(y)) if x == y)
}
