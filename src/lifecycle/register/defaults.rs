//! Step 7: the owner's configuration, read and checked where this request uses it — default
//! tariff and LCR, the `default_user_<column>` and `default_tax_<column>` settings, the device's
//! location, a free extension and a free PIN.

use super::reference_kind;
use crate::catalogue::errors::{PageError, msg};
use crate::catalogue::params::Kind;
use crate::domain::{Caller, Outcome, Refusal, Role, User, UserType};
use crate::params::Params;
use crate::settings::{ColumnRule, Family, Setting};
use crate::storage::{RequestStore, Result, Value};
use crate::update::references;
use crate::values;

/// How many random PINs are tried before the PIN space counts as full.
const PIN_TRIES: usize = 50;

/// What the owner's configuration gives the new user and his device.
#[derive(Debug)]
pub struct Defaults {
    pub tariff_id: i64,
    /// The LCR unless the request names one (`None`: it does).
    pub lcr_id: Option<i64>,
    /// Other `users` columns from `default_user_<column>`, in schema order.
    pub user: Vec<(&'static str, Value)>,
    /// `taxes` columns from `default_tax_<column>`.
    pub tax: Vec<(&'static str, Value)>,
    /// The device's location unless the request names one.
    pub location_id: Option<i64>,
    pub extension: i64,
    pub pin: String,
}

/// Columns of the `default_user_` family that step 7 reads apart (the tariff and the LCR have
/// their own errors) or never for this owner.
const READ_APART: &[&str] = &["tariff_id", "lcr_id"];

impl Defaults {
    /// Reads and checks the owner's configuration; the first thing missing answers.
    pub fn read(
        store: &mut dyn RequestStore,
        owner: &Caller,
        params: &Params,
        owner_lcr: Option<i64>,
    ) -> Outcome<Defaults> {
        let user = Family::DefaultUser;
        // The tariff: the request's (checked in step 6), else the owner's default.
        let tariff_id = if params.contains("tariff") {
            values::int(params.get("tariff").unwrap_or_default()).unwrap_or_default()
        } else {
            let raw = user.read(store, owner.id, "tariff_id")?.unwrap_or_default();
            match values::int(&raw) {
                Some(id) if references::tariff_ok(store, owner, &raw)? => id,
                _ => return Err(Refusal::page(PageError::TariffNotFoundCannotCreate).into()),
            }
        };
        // The LCR: a reseller who is not PRO gives his users his own; the admin and a Reseller
        // PRO their default unless the request names one (checked in step 8).
        let lcr_id = if owner.role == Role::Reseller && !owner.reseller_pro {
            match owner_lcr {
                Some(id) if store.reference(crate::storage::RefKind::Lcr, id)?.is_some() => Some(id),
                _ => return Err(Refusal::page(PageError::DefaultUserNoLcr).into()),
            }
        } else if params.contains("lcr_id") {
            None
        } else {
            let raw = user.read(store, owner.id, "lcr_id")?.unwrap_or_default();
            match values::int(&raw) {
                Some(id) if references::lcr_usable(store, owner.id, &raw)? => Some(id),
                _ => return Err(Refusal::page(PageError::DefaultUserNoLcr).into()),
            }
        };
        let mut problem: Option<String> = None;
        let mut user_columns = Vec::new();
        for column in user.columns() {
            if READ_APART.contains(&column) || (column == "responsible_accountant_id" && owner.id != 0) {
                continue;
            }
            if let Some(value) = family_value(store, user, owner.id, column, &mut problem)? {
                user_columns.push((column, value));
            }
        }
        let mut tax = Vec::new();
        for column in Family::DefaultTax.columns() {
            if let Some(value) = family_value(store, Family::DefaultTax, owner.id, column, &mut problem)? {
                tax.push((column, value));
            }
        }
        let location_id = if params.contains("device_location_id") {
            None
        } else {
            let id = Setting::DefaultDeviceLocationId.int(store, owner.id)?;
            if problem.is_none() && store.location_owner(id)? != Some(owner.id) {
                problem =
                    Some(msg::setting_unusable(Setting::DefaultDeviceLocationId.name(), msg::NOT_A_LOCATION_OF_OWNER));
            }
            Some(id)
        };
        if let Some(message) = problem {
            return Err(configuration(message));
        }
        let (min, max) = (Setting::DeviceRangeMin.int(store, 0)?, Setting::DeviceRangeMax.int(store, 0)?);
        let Some(extension) = store.free_extension(min, max)? else {
            return Err(configuration(msg::setting_unusable(Setting::DeviceRangeMax.name(), msg::NO_FREE_EXTENSION)));
        };
        let Some(pin) = free_pin(store)? else {
            return Err(configuration(msg::setting_unusable(Setting::DevicePinLength.name(), msg::NO_FREE_PIN)));
        };
        Ok(Defaults { tariff_id, lcr_id, user: user_columns, tax, location_id, extension, pin })
    }
}

fn configuration(message: String) -> crate::domain::Failure {
    Refusal::Page { error: PageError::ConfigurationError, messages: vec![message] }.into()
}

/// The owner's value of one family column, checked like the update parameter of that column
/// and, for a reference, against the record it names; the first problem is kept in `problem`.
fn family_value(
    store: &mut dyn RequestStore,
    family: Family,
    owner: i64,
    column: &'static str,
    problem: &mut Option<String>,
) -> Result<Option<Value>> {
    let Some(raw) = family.read(store, owner, column)? else { return Ok(None) };
    let name = format!("{}{column}", family.prefix());
    let value = match family.check(column, &raw) {
        Ok(value) => value,
        Err(why) => {
            problem.get_or_insert(why);
            return Ok(None);
        }
    };
    let exists = match family.rule(column) {
        Some(ColumnRule::Param(p)) => match (reference_kind(p), p.kind, value.as_int()) {
            (Some(kind), _, Some(0)) if kind.zero_clears() => true,
            (Some(kind), _, Some(id)) => store.reference(kind, id)?.is_some(),
            (None, Kind::ResponsibleAccountant, Some(-1)) => true,
            (None, Kind::ResponsibleAccountant, Some(id)) => {
                store.user_by_id(id)?.and_then(User::from_row).is_some_and(|u| u.user_type == UserType::Accountant)
            }
            _ => true,
        },
        _ => true,
    };
    if !exists {
        problem.get_or_insert_with(|| msg::setting_unusable(&name, msg::NAMES_NO_RECORD));
        return Ok(None);
    }
    Ok(Some(value))
}

/// A random PIN of `device_pin_length` digits that no device has, if one is found.
fn free_pin(store: &mut dyn RequestStore) -> Result<Option<String>> {
    let len = usize::try_from(Setting::DevicePinLength.int(store, 0)?).unwrap_or(6);
    for _ in 0..PIN_TRIES {
        let pin = values::secrets::digits(len);
        if !store.pin_taken(&pin)? {
            return Ok(Some(pin));
        }
    }
    Ok(None)
}
