//! `user_register`: the order of checks of the lifecycle contract §2.2, run in one transaction.
//!
//! The owner named by `id` passes the gate (step 1); then the switch (2), the owner's kind (4),
//! refused parameters (5), the tariff (6), the owner's configuration (7) and the request's values
//! (8, every problem listed); only then everything is created, with one `create` audit row per
//! record (9). Nothing is written on any refusal but a counted one.
//!
//! Uniqueness under concurrency: every registration locks the admin's row, then the owner's, before
//! its checks, so registrations run one after another and each one's checks see the rows of the
//! one before (e-mail addresses have no unique index: identical ones may be allowed). Writers that
//! do not take that lock (an update, the CLI) meet the unique indexes of username, caller id,
//! extension and PIN: the violation fails the transaction as a conflict, and it runs again, when
//! its checks see the other row and answer MOR's error (or pick another extension and PIN).

mod create;
mod defaults;

use super::LifecycleRequest;
use crate::auth::gate::{self, Claim, Signing, Unknown};
use crate::auth::hash::Coverage;
use crate::catalogue::errors::{PageError, msg};
use crate::catalogue::params::{self, Kind, Param, RefKind};
use crate::domain::rules::{self, EmailProblem, UsernameProblem};
use crate::domain::{Answer, Caller, Failure, Outcome, Refusal, Role, UserType, in_transaction};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{Account, Database, RequestStore, Table, Value};
use crate::update::references;
use crate::values::{self, amount};
use create::Plan;
use defaults::Defaults;

/// How far one run got: the answer, or everything checked and a password to hash (off the
/// transaction) before the run that writes.
enum Step {
    Done(Answer),
    HashPassword,
}

/// Runs the method: once to check everything, then (after hashing the password with Argon2id off
/// the database's threads) once more to check again and create, so a refused request never costs
/// a hash.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn serve(db: &Database, request: LifecycleRequest) -> Outcome<Answer> {
    let first = request.clone();
    match in_transaction(db, move |store| run(store, &first, None)).await? {
        Step::Done(answer) => Ok(answer),
        Step::HashPassword => {
            let plain = request.params.get("password").unwrap_or_default().to_string();
            let hash = crate::password::hash_bounded(plain).await.map_err(Failure::Internal)?;
            match in_transaction(db, move |store| run(store, &request, Some(&hash))).await? {
                Step::Done(answer) => Ok(answer),
                Step::HashPassword => Err(Failure::Internal("password hash requested twice".into())),
            }
        }
    }
}

/// The owner `id` names: the user with that `uniquehash`, or the admin (user 0) when `id` is
/// absent or blank; the lockout key's name is his username (empty for nobody).
fn claim(store: &mut dyn RequestStore, params: &Params) -> crate::storage::Result<Claim> {
    let id = params.get("id").unwrap_or_default().trim();
    let account = if id.is_empty() {
        store.user_by_id(0)?.map(|row| Account::from_row(&row))
    } else if values::storable(id) {
        store.account_by_uniquehash(id)?
    } else {
        None
    };
    let name = account.as_ref().map(|a| a.username.clone()).unwrap_or_default();
    Ok(Claim { account, name })
}

fn run(store: &mut dyn RequestStore, req: &LifecycleRequest, password_hash: Option<&str>) -> Outcome<Step> {
    let params = &req.params;
    // Step 1 (an `id` naming nobody has a wrong hash, unless hash checking is off: step 3).
    let claim = claim(store, params)?;
    let name = claim.name.clone();
    let signing = Signing { covers: Coverage::Global, unknown: Unknown::MethodRefuses };
    let owner = gate::admit(store, params, &req.info, signing, claim)?;
    // Step 2.
    if !Setting::AllowApiRegistration.flag(store, 0)? {
        return Err(Refusal::page(PageError::RegistrationDisabled).into());
    }
    // Step 3: counted towards the lockout of the empty name, like a wrong hash.
    let Some(owner) = owner else {
        gate::refuse_credential(store, &req.info, &name, None, PageError::AccessDenied.text())?;
        return Err(Refusal::Counted(PageError::AccessDenied).into());
    };
    // Step 4.
    if !matches!(owner.role, Role::Admin | Role::Reseller) {
        return Err(Refusal::page(PageError::DefaultUserNotPresent).into());
    }
    // Registrations one at a time (see the module's note), the owner kept from being deleted.
    store.user_for_update(0)?;
    let owner_row = store.user_for_update(owner.id)?.unwrap_or_default();
    let owner_lcr = crate::storage::int(&owner_row, "lcr_id");
    // Step 5.
    let usertype = text(params, "usertype");
    if owner.role == Role::Reseller && !usertype.is_empty() && usertype != UserType::User.word() {
        let message = msg::may_not_set("usertype", "user type", &usertype);
        return Err(Refusal::Page { error: PageError::AccessDenied, messages: vec![message] }.into());
    }
    // Step 6.
    let tariff = text(params, "tariff");
    if params.contains("tariff") && !references::tariff_ok(store, &owner, &tariff)? {
        return Err(Refusal::page(PageError::TariffWasNotFound).into());
    }
    // Step 7.
    let defaults = Defaults::read(store, &owner, params, owner_lcr)?;
    // Step 8.
    let values = check_values(store, &owner, params)?;
    if password_hash.is_none() {
        return Ok(Step::HashPassword);
    }
    // Step 9.
    let plan = Plan { owner: &owner, params, values: &values, defaults: &defaults, info: &req.info };
    let registration = plan.create(store, password_hash.unwrap_or_default())?;
    Ok(Step::Done(Answer::Registered(Box::new(registration))))
}

/// A parameter's value, trimmed (empty when absent).
fn text(params: &Params, name: &str) -> String {
    params.get(name).unwrap_or_default().trim().to_string()
}

/// The request's values once step 8 found nothing wrong, in the form they are stored.
#[derive(Debug, Default)]
pub struct Values {
    pub username: String,
    /// `None`: a simple user.
    pub usertype: Option<UserType>,
    pub acc_group_id: i64,
    pub country_id: i64,
    pub email: String,
    /// `(digits, description)` of `mob_phone`, `phone`, `fax`, in that order, non-empty only.
    pub callerids: Vec<(String, &'static str)>,
    pub device_type: String,
    /// Sent and usable (checked); `None`: the owner's rule decides.
    pub lcr_id: Option<i64>,
    pub device_location_id: Option<i64>,
    pub currency_id: Option<i64>,
    pub call_limit: Option<Value>,
    pub credit: Option<Value>,
    /// The other columns taken from the request as sent (trimmed): `users`, then `addresses`.
    pub user_columns: Vec<(&'static str, Value)>,
    pub address_columns: Vec<(&'static str, Value)>,
}

/// The words `device_type` must be exactly.
const DEVICE_TYPES: &[&str] = &["SIP", "IAX2", "Virtual"];

/// The phone parameters: name, the caller id's description, the message when taken.
const PHONES: [(&str, &str, &str); 3] = [
    ("mob_phone", "Mobile Phone", msg::MOBILE_TAKEN),
    ("phone", "Phone", msg::PHONE_TAKEN),
    ("fax", "Fax", msg::FAX_TAKEN),
];

/// Request parameters stored as text, with the column the update writes them to (whose
/// parameter gives the limit and the label): `users` columns, then `addresses` columns.
const USER_TEXT: &[(&str, &str)] =
    &[("client_id", "clientid"), ("vat_number", "vat_number"), ("accounting_number", "accounting_number")];
const ADDRESS_TEXT: &[(&str, &str)] = &[
    ("state", "state"),
    ("county", "county"),
    ("city", "city"),
    ("postcode", "postcode"),
    ("address", "address"),
    ("mob_phone", "mob_phone"),
    ("phone", "phone"),
    ("fax", "fax"),
];

/// The update's parameter for `table.column`, under this method's name (its messages name the
/// parameter sent).
fn param_as(name: &'static str, table: Table, column: &str) -> Option<Param> {
    params::writing(table, column).map(|p| Param { name, ..*p })
}

/// The update's reading of a value sent as `name` for `table.column`: `Ok(None)` when absent.
fn plain(params: &Params, name: &'static str, table: Table, column: &str) -> Result<Option<Value>, String> {
    let Some(raw) = params.get(name) else { return Ok(None) };
    match param_as(name, table, column).and_then(|p| p.plain_value(raw)) {
        Some(parsed) => parsed.map(Some),
        None => Ok(Some(Value::from(raw.trim()))),
    }
}

/// Step 8: every value of the request, every problem listed in the contract's order.
fn check_values(store: &mut dyn RequestStore, owner: &Caller, params: &Params) -> Outcome<Values> {
    let mut problems: Vec<String> = Vec::new();
    let mut v = Values::default();
    // Control characters: refused wherever they are (the update's rule), before anything else.
    for (name, raw) in params.iter() {
        if !raw.chars().all(values::is_xml_char) {
            problems.push(msg::control_characters(name, name));
        }
    }
    if let Some(refusal) = Refusal::problems(problems) {
        return Err(refusal.into());
    }
    let mut problems: Vec<String> = Vec::new();
    let settings_owner = owner.id;

    // 8.1 username.
    v.username = text(params, "username");
    let username_label = params::find("u9").map_or("username", |p| p.label);
    match rules::username_problem(store, settings_owner, &v.username, None)? {
        None => {}
        Some(UsernameProblem::Blank) => problems.push(msg::PLEASE_ENTER_USERNAME.into()),
        Some(UsernameProblem::TooShort(min)) => problems.push(msg::username_too_short(min)),
        Some(UsernameProblem::TooLong(max)) => problems.push(msg::too_long("username", username_label, max)),
        Some(UsernameProblem::Taken) => problems.push(msg::USERNAME_ALREADY_TAKEN.into()),
    }
    // 8.2 password (never trimmed).
    let password = params.get("password").unwrap_or_default();
    if password.is_empty() {
        problems.push(msg::PLEASE_ENTER_PASSWORD.into());
    } else {
        if password != params.get("password2").unwrap_or_default() {
            problems.push(msg::PASSWORDS_DO_NOT_MATCH.into());
        }
        problems.extend(rules::password_problems(store, settings_owner, password)?);
        if password == v.username {
            problems.push(msg::PASSWORD_EQUALS_USERNAME.into());
        }
    }
    // 8.3 names.
    for (name, blank) in [("first_name", msg::PLEASE_ENTER_FIRST_NAME), ("last_name", msg::PLEASE_ENTER_LAST_NAME)] {
        match plain(params, name, Table::Users, name) {
            Ok(Some(value)) if !value.render().is_empty() => v.user_columns.push((name, value)),
            Ok(_) => problems.push(blank.into()),
            Err(message) => problems.push(message),
        }
    }
    // 8.4 usertype.
    let usertype = text(params, "usertype");
    if !usertype.is_empty() {
        match UserType::from_word(&usertype).filter(|t| REGISTRABLE.contains(t)) {
            Some(t) => v.usertype = Some(t),
            None => {
                let expected =
                    format!("{}, {} or {}", REGISTRABLE[0].word(), REGISTRABLE[1].word(), REGISTRABLE[2].word());
                problems.push(msg::bad_value("usertype", "user type", &expected, &usertype));
            }
        }
    }
    let usertype = v.usertype.unwrap_or(UserType::User);
    // 8.5 permission group.
    let group = text(params, "permission_group");
    if matches!(usertype, UserType::Reseller | UserType::Accountant) {
        if group.is_empty() {
            problems.push(msg::PERMISSION_GROUP_NOT_SELECTED.into());
        } else {
            let found = match values::int(&group) {
                Some(id) => store.reference(RefKind::AccGroup, id)?,
                None => None,
            };
            match found.filter(|g| g.owner_id == 0 && g.kind == usertype.word()) {
                Some(g) => v.acc_group_id = g.id,
                None => problems.push(msg::PERMISSION_GROUP_NOT_FOUND.into()),
            }
        }
    } else if params.contains("permission_group") {
        problems.push(msg::applies_only("permission_group", "permission group", "resellers and accountants"));
    }
    // 8.6 country.
    let country = values::int(&text(params, "country_id"));
    match country {
        Some(id) if store.reference(RefKind::Direction, id)?.is_some() => v.country_id = id,
        _ => problems.push(msg::PLEASE_SELECT_COUNTRY.into()),
    }
    // 8.7 e-mail.
    v.email = text(params, "email");
    if v.email.is_empty() {
        problems.push(msg::EMAIL_INVALID.into());
    } else {
        match rules::email_problem(store, &v.email, None)? {
            None => {}
            Some(EmailProblem::TooLong(max)) => problems.push(msg::too_long("email", "e-mail", max)),
            Some(EmailProblem::Invalid) => problems.push(msg::EMAIL_INVALID.into()),
            Some(EmailProblem::InUse(_)) => problems.push(msg::EMAIL_IN_USE.into()),
        }
    }
    // 8.8 phones: their digits become caller ids.
    let digits: Vec<(&str, String)> = PHONES
        .iter()
        .map(|(name, _, _)| (*name, text(params, name).chars().filter(char::is_ascii_digit).collect::<String>()))
        .collect();
    let sent: Vec<&str> = digits.iter().map(|(_, d)| d.as_str()).filter(|d| !d.is_empty()).collect();
    let taken = store.callerids_taken(&sent)?;
    for (i, (name, d)) in digits.iter().enumerate() {
        if d.is_empty() {
            continue;
        }
        if taken.iter().any(|t| t == d) {
            problems.push(PHONES[i].2.into());
        }
        if let Some((other, _)) = digits[..i].iter().find(|(_, e)| e == d) {
            problems.push(msg::same_number(other, name));
        } else {
            v.callerids.push((d.clone(), PHONES[i].1));
        }
    }
    // 8.9 device type.
    v.device_type = text(params, "device_type");
    if !DEVICE_TYPES.contains(&v.device_type.as_str()) {
        problems.push(msg::ENTER_DEVICE_TYPE.into());
    }
    // 8.10 LCR: an admin LCR for the admin's users; a Reseller PRO's own; another reseller's
    // only his own `lcr_id` (the update's rule).
    if params.contains("lcr_id") {
        let raw = text(params, "lcr_id");
        let usable = references::lcr_usable(store, owner.id, &raw)?;
        match values::int(&raw).filter(|_| usable) {
            Some(id) => v.lcr_id = Some(id),
            None => problems.push(PageError::LcrNotFound.text().into()),
        }
    }
    // 8.11 device location.
    if params.contains("device_location_id") {
        let id = values::int(&text(params, "device_location_id"));
        let owned = match id {
            Some(id) => store.location_owner(id)? == Some(owner.id),
            None => false,
        };
        match id.filter(|_| owned) {
            Some(id) => v.device_location_id = Some(id),
            None => problems.push(msg::LOCATION_NOT_FOUND.into()),
        }
    }
    // 8.12 the others, in the update's message formats.
    for (name, column) in USER_TEXT {
        match plain(params, name, Table::Users, column) {
            Ok(Some(value)) => v.user_columns.push((column, value)),
            Ok(None) => {}
            Err(message) => problems.push(message),
        }
    }
    for (name, column) in ADDRESS_TEXT {
        match plain(params, name, Table::Addresses, column) {
            Ok(Some(value)) => v.address_columns.push((column, value)),
            Ok(None) => {}
            Err(message) => problems.push(message),
        }
    }
    let caller_id = text(params, "caller_id");
    if caller_id.chars().count() > values::TEXT_MAX - 2 {
        problems.push(msg::too_long("caller_id", "caller ID", values::TEXT_MAX - 2));
    }
    if params.contains("currency_id") {
        let raw = text(params, "currency_id");
        let label = params::writing(Table::Users, "currency_id").map_or("currency", |p| p.label);
        match values::int(&raw) {
            Some(id) if store.reference(RefKind::Currency, id)?.is_some() => v.currency_id = Some(id),
            _ => problems.push(msg::not_found("currency_id", label, &raw)),
        }
    }
    match plain(params, "call_limit", Table::Users, "call_limit") {
        Ok(value) => v.call_limit = value,
        Err(message) => problems.push(message),
    }
    match plain(params, "credit_limit", Table::Users, "credit") {
        Ok(value) => v.credit = value.map(credit),
        Err(message) => problems.push(message),
    }
    if params.contains("tariff_id") {
        problems.push(msg::not_a_parameter("tariff_id", "user_register", "tariff"));
    }
    match Refusal::problems(problems) {
        Some(refusal) => Err(refusal.into()),
        None => Ok(v),
    }
}

/// The user types `usertype` may name.
const REGISTRABLE: [UserType; 3] = [UserType::User, UserType::Reseller, UserType::Accountant];

/// A credit as MOR stores a new user's: −1 is unlimited, any other negative 0.
pub(crate) fn credit(value: Value) -> Value {
    match amount::parse(&value.render()) {
        Some(d) if d == rust_decimal::Decimal::NEGATIVE_ONE => value,
        Some(d) if d.is_sign_negative() && !d.is_zero() => Value::from("0"),
        _ => value,
    }
}

/// Whether a kind of parameter names a record (for the defaults' existence checks).
pub(crate) fn reference_kind(p: &Param) -> Option<RefKind> {
    match p.kind {
        Kind::Ref(kind) => Some(kind),
        _ => None,
    }
}
