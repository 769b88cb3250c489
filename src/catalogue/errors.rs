//! Every string morapi puts on the wire, in one place.
//!
//! The strings are MOR's: the seed's wording where it names one (`Tariff not found`,
//! `You have no editing permission`), MOR X8's elsewhere (docs/contract.md §10). Clients match
//! them literally, so they must never be spelled anywhere else.

/// An error answered inside `<status><error>…</error></status>` (checks that run before the method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateError {
    ApiDisabled,
    GetDisabled,
    IncorrectHash,
    NoSecretKey,
    NoSuchApi,
    /// Not a MOR string: HTTP-level refusals (wrong verb, oversized body) still answer in XML.
    MethodNotAllowed,
    BodyTooLarge,
    /// The body broke off or was malformed (bad chunked encoding, the client went away).
    BodyNotRead,
    /// The body did not arrive within `--body-timeout`.
    BodyTimedOut,
    /// The request line and headers exceed `--max-header-bytes`.
    HeadersTooLarge,
    /// The request target alone exceeds `--max-header-bytes`.
    UriTooLong,
    /// `--request-timeout` passed before the method started: nothing was done.
    TimedOut,
}

impl GateError {
    pub fn text(self) -> &'static str {
        match self {
            GateError::ApiDisabled => "API Requests are disabled",
            GateError::GetDisabled => "GET Requests are disabled",
            GateError::IncorrectHash => "Incorrect hash",
            GateError::NoSecretKey => "API must have Secret Key",
            GateError::NoSuchApi => "There is no such API",
            GateError::MethodNotAllowed => "Method Not Allowed",
            GateError::BodyTooLarge => "Request body is too large",
            GateError::BodyNotRead => "Request body could not be read",
            GateError::BodyTimedOut => "Request body was not received in time, nothing was changed",
            GateError::HeadersTooLarge => "Request headers are too large",
            GateError::UriTooLong => "Request URI is too long",
            GateError::TimedOut => "Request timed out, nothing was changed",
        }
    }
}

/// An error answered inside `<page><error>…</error></page>` (decided by the method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    AccessDenied,
    UserNotFound,
    NoEditingPermission,
    TariffNotFound,
    PbxPoolNotFound,
    LcrNotFound,
    ResponsibleAccountantInvalid,
    QuickforwardRuleNotFound,
    UserNotUpdated,
    /// Not a MOR string: a read method's parameters could not be read at all (broken body).
    RequestNotRead,
    /// The storage failed (disk full, a bug): nothing was written.
    Internal,
    /// The database server cannot be reached: nothing was written.
    DatabaseUnavailable,
    /// Conflicting transactions kept failing after retries, or a lock held by another session
    /// was not released within `--db-lock-timeout`: nothing was written.
    DatabaseBusy,
    /// The connection was lost after `COMMIT` was sent and the database stayed unreachable, so
    /// whether the change was applied is unknown: never claimed either way.
    CommitUnknown,
    /// `--request-timeout` passed while a change was with the database: its transaction runs on
    /// to its own end (bounded by the database timeouts), so it may still commit.
    TimedOutMayApply,
    /// `--request-timeout` passed while a read method was with the database.
    TimedOutRead,
    // user_register (MOR's texts, docs/contract.md §12).
    RegistrationDisabled,
    /// The owner named by `id` may not register users (MOR's answer for a simple user's hash).
    DefaultUserNotPresent,
    /// A `tariff` the owner may not assign (the update says `Tariff not found`; MOR differs).
    TariffWasNotFound,
    /// No `tariff` sent and the owner's default tariff is missing.
    TariffNotFoundCannotCreate,
    /// No `lcr_id` sent and the owner's default LCR is missing (MOR's spelling).
    DefaultUserNoLcr,
    /// The owner's configuration names something missing; a message says which setting.
    ConfigurationError,
    // users_get.
    NotAuthorizedToView,
    NoUsersFound,
    // user_delete.
    CannotDeleteSysAdmin,
    UnableToDeleteYourself,
}

impl PageError {
    pub fn text(self) -> &'static str {
        match self {
            PageError::AccessDenied => "Access Denied",
            PageError::UserNotFound => "User was not found",
            PageError::NoEditingPermission => "You have no editing permission",
            PageError::TariffNotFound => "Tariff not found",
            PageError::PbxPoolNotFound => "PBX Pool was not found",
            PageError::LcrNotFound => "LCR was not found",
            PageError::ResponsibleAccountantInvalid => "Responsible accountant is not valid",
            PageError::QuickforwardRuleNotFound => "Quickforward Rule was not found",
            PageError::UserNotUpdated => "User was not updated",
            PageError::RequestNotRead => "Request could not be read",
            PageError::Internal => "Internal error, nothing was changed",
            PageError::DatabaseUnavailable => "Database is unavailable, nothing was changed",
            PageError::DatabaseBusy => "Database is busy, nothing was changed; try again",
            PageError::CommitUnknown => "Database connection lost; the change may have been applied",
            PageError::TimedOutMayApply => "Request timed out; the change may have been applied",
            PageError::TimedOutRead => "Request timed out",
            PageError::RegistrationDisabled => "Registration over API is disabled",
            PageError::DefaultUserNotPresent => "Default user is not present",
            PageError::TariffWasNotFound => "Tariff was not found",
            PageError::TariffNotFoundCannotCreate => "Tariff was not found cannot create",
            PageError::DefaultUserNoLcr => "Default user does not have and LCR set",
            PageError::ConfigurationError => "Configuration error. Please contact System Administrator",
            PageError::NotAuthorizedToView => "You are not authorized to view this page",
            PageError::NoUsersFound => "No Users found",
            PageError::CannotDeleteSysAdmin => "Cannot delete sys.admin",
            PageError::UnableToDeleteYourself => "Unable to delete yourself",
        }
    }
}

/// The success status of `user_details_update`.
pub const USER_UPDATED: &str = "User was updated";

/// The success status of `user_delete`.
pub const USER_DELETED: &str = "User deleted";

/// The words of `user_register`'s success document.
pub mod registration {
    pub const SUCCESSFUL: &str = "Registration successful";
    /// MOR's notice (its `<br>` a line feed, tags removed: a space and a line feed after `DEVICE.`).
    pub const NOTICE: &str = "*ATTENTION! These settings are for you to configure your DEVICE. \n\
                              In order to login to this system you need to use settings you have entered before!";
}

/// The words of the `<action>` documents of `user_login` and `user_logout`.
pub mod action {
    pub const LOGIN: &str = "login";
    pub const LOGOUT: &str = "logout";
    pub const OK: &str = "ok";
    pub const FAILED: &str = "failed";
    pub const LOGGED_IN: &str = "Successfully logged in";
    pub const LOGIN_FAILED: &str = "Login failed";
    /// A locked name or address at `user_login` (MOR's sentence); `seconds` at least 1.
    pub fn login_locked(seconds: i64) -> String {
        format!("Please wait {seconds} seconds before trying to login again")
    }
}

/// The words of `user_details_get`'s answer (MOR's documented document, docs/contract.md §7.1).
pub mod details {
    pub const PAGENAME: &str = "Personal_details";
    /// The language of the answer's words (the ones below), not the user's `language`.
    pub const LANGUAGE: &str = "en";
    pub const POSTPAID: &str = "Postpaid";
    pub const PREPAID: &str = "Prepaid";
    /// Credit −1.
    pub const UNLIMITED: &str = "Unlimited";
}

/// Detail messages (`<message>…</message>`). MOR's own texts where MOR has one.
pub mod msg {
    /// A locked name or address (docs/contract.md §4); `seconds` at least 1.
    pub fn locked(seconds: i64) -> String {
        format!("Please wait {seconds} seconds before trying again")
    }
    pub fn password_too_short(min: usize) -> String {
        format!("Password must be longer than {} characters", min.saturating_sub(1))
    }
    pub const PASSWORD_WEAK: &str = "Password must contain at least one numeric value, capital and lowercase symbol";
    pub fn username_too_short(min: usize) -> String {
        format!("Username must be longer than {} characters", min.saturating_sub(1))
    }
    pub const USERNAME_TAKEN: &str = "Username has already been taken";
    pub const USERNAME_BLANK: &str = "Username cannot be blank";
    pub const EMAIL_INVALID: &str = "Please enter correct email";
    pub fn email_used(email: &str) -> String {
        format!("Email {email} is already used")
    }
    pub const RECORDINGS_EMAIL_INVALID: &str = "Please enter correct recordings email";
    pub fn refused(param: &str, label: &str) -> String {
        format!("You may not change {param} ({label})")
    }
    pub fn not_found(param: &str, label: &str, value: &str) -> String {
        format!("{param} ({label}) was not found: {value}")
    }
    pub fn bad_value(param: &str, label: &str, expected: &str, value: &str) -> String {
        format!("{param} ({label}) must be {expected}, got \"{value}\"")
    }
    pub fn too_long(param: &str, label: &str, max: usize) -> String {
        format!("{param} ({label}) is too long (maximum {max} characters)")
    }
    pub fn control_characters(param: &str, label: &str) -> String {
        format!("{param} ({label}) contains control characters")
    }
    pub fn date_incomplete(parts: &str) -> String {
        format!("{parts} must be sent together")
    }
    pub fn date_invalid(what: &str, value: &str) -> String {
        format!("{what} is not a valid date: {value}")
    }
    pub fn time_zone_unknown(value: &str) -> String {
        format!("Time zone was not found: {value}")
    }
    pub const USERTYPE_FIXED: &str = "u13 (usertype) cannot be changed";
    pub fn applies_only(param: &str, label: &str, who: &str) -> String {
        format!("{param} ({label}) applies only to {who}")
    }
    pub const TWO_FA_SYSTEM_OFF: &str = "two_fa_enabled: two-factor authentication is disabled in system settings";
    pub const TWO_FA_NO_EMAIL: &str = "two_fa_enabled: the user has no e-mail address";
    pub fn unsupported_json(param: &str) -> String {
        format!("{param}: nested JSON arrays and objects are not accepted")
    }
    pub const USER_ID_OR_USERNAME_REQUIRED: &str = "Send user_id or username to name the user";
    pub const NOT_UTF8: &str = "Request parameters are not valid UTF-8";

    // user_register's problems (MOR's texts where MOR has one), listed all at once.
    pub const PLEASE_ENTER_USERNAME: &str = "Please enter username";
    pub const USERNAME_ALREADY_TAKEN: &str = "Such username is already taken";
    pub const PLEASE_ENTER_PASSWORD: &str = "Please enter password";
    pub const PASSWORDS_DO_NOT_MATCH: &str = "Passwords do not match";
    pub const PASSWORD_EQUALS_USERNAME: &str = "Please enter password not equal to username";
    pub const PLEASE_ENTER_FIRST_NAME: &str = "Please enter first name";
    pub const PLEASE_ENTER_LAST_NAME: &str = "Please enter last name";
    pub const PERMISSION_GROUP_NOT_SELECTED: &str = "Permission Group was not selected";
    pub const PERMISSION_GROUP_NOT_FOUND: &str = "Permission Group was not Found";
    pub const PLEASE_SELECT_COUNTRY: &str = "Please select country";
    pub const EMAIL_IN_USE: &str = "This email address is already in use.";
    pub const MOBILE_TAKEN: &str = "User with such mobile phone number already exists";
    pub const PHONE_TAKEN: &str = "User with such phone number already exists";
    pub const FAX_TAKEN: &str = "User with such fax number already exists";
    /// Two of `mob_phone`, `phone`, `fax` with the same digits.
    pub fn same_number(a: &str, b: &str) -> String {
        format!("{a} and {b} are the same number")
    }
    pub const ENTER_DEVICE_TYPE: &str = "Enter device type";
    pub const LOCATION_NOT_FOUND: &str = "Location was not found";
    /// A value the caller may not give a parameter (`usertype` reseller, by a reseller).
    pub fn may_not_set(param: &str, label: &str, value: &str) -> String {
        format!("You may not set {param} ({label}) to {value}")
    }
    /// A parameter of another method sent to this one (`tariff_id` to `user_register`).
    pub fn not_a_parameter(param: &str, method: &str, instead: &str) -> String {
        format!("{param} is not a parameter of {method}: send {instead}")
    }
    /// An owner's setting `user_register` cannot use (with `Configuration error`).
    pub fn setting_unusable(setting: &str, why: &str) -> String {
        format!("Setting {setting} {why}")
    }
    pub const NAMES_NO_RECORD: &str = "names a record that does not exist";
    pub const NOT_A_LOCATION_OF_OWNER: &str = "is not a location of the owner";
    pub const NO_FREE_EXTENSION: &str = "leaves no free extension (device_range_min to device_range_max)";
    pub const NO_FREE_PIN: &str = "leaves no free PIN";

    // user_delete's problems, listed all at once.
    pub const RESELLER_HAS_USERS: &str = "Unable to delete this reseller - he has users";
    pub const ACCOUNTANT_HAS_USERS: &str = "Unable to delete accountant - he has users";
    pub const ACCOUNTANT_IN_DEFAULT_USER: &str =
        "Unable to delete Accountant - he is used as Responsible Accountant in Default User";
    /// Records of a kind the user owns (`tariffs`, `LCRs`, …), ids ascending.
    pub fn owns(kind: &str, ids: &[i64]) -> String {
        format!("Cannot delete user - he owns {kind}: {}", joined(ids))
    }
    /// Users whose spy device is one of this user's devices.
    pub fn spy_devices_of(users: &[i64]) -> String {
        format!("Cannot delete user - his devices are spy devices of users: {}", joined(users))
    }
    /// The problem of records of one kind naming a user to be deleted (ids ascending).
    pub fn dependents(kind: crate::storage::Dependent, ids: &[i64]) -> String {
        use crate::storage::Dependent as D;
        let owns_kind = |word| owns(word, ids);
        match kind {
            D::OwnedUser => RESELLER_HAS_USERS.into(),
            D::AccountedUser => ACCOUNTANT_HAS_USERS.into(),
            D::Tariff => owns_kind("tariffs"),
            D::Lcr => owns_kind("LCRs"),
            D::QuickforwardRule => owns_kind("quick-forward rules"),
            D::PbxPool => owns_kind("PBX pools"),
            D::NumberPool => owns_kind("number pools"),
            D::SoundFile => owns_kind("sound files"),
            D::AccGroup => owns_kind("permission groups"),
            D::Location => owns_kind("locations"),
            D::SpyingUser => spy_devices_of(ids),
        }
    }
    fn joined(ids: &[i64]) -> String {
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    }
    pub const BAD_BODY: &str = "Request body could not be parsed";
}
