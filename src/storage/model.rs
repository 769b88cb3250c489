//! The values that cross the storage port: database values and rows, the few typed records the
//! request path reads (the caller's account, references, group rights), what a change writes,
//! and the audit trail.

use crate::values::AuditTime;
use std::collections::BTreeMap;

/// A database value as the domain sees it. Decimals travel as canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    /// The value as shown in the audit trail and in read-back answers (NULL is empty).
    pub fn render(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Text(s) => s.clone(),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(s) => s.trim().parse().ok(),
            Value::Null => None,
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

/// A whole row, column name → value.
pub type Row = BTreeMap<String, Value>;

/// Reads a column of a row as an integer (absent or NULL → `None`).
pub fn int(row: &Row, col: &str) -> Option<i64> {
    row.get(col).and_then(Value::as_int)
}

/// Reads a column of a row as text (absent or NULL → empty).
pub fn text(row: &Row, col: &str) -> String {
    row.get(col).map(Value::render).unwrap_or_default()
}

/// The caller of an API request as the gate and the rules consult it. Only these columns are
/// read: every request reads its caller, and all ~100 columns of `users` cost a database server
/// (the field list is the whole of what the rules may know about a caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub usertype: String,
    pub owner_id: i64,
    pub acc_group_id: i64,
    pub own_providers: i64,
}

impl Account {
    /// The columns [`Account`] is read from.
    pub const COLUMNS: &str = "id, username, usertype, owner_id, acc_group_id, own_providers";

    pub fn from_row(row: &Row) -> Self {
        Account {
            id: int(row, "id").unwrap_or_default(),
            username: text(row, "username"),
            usertype: text(row, "usertype"),
            owner_id: int(row, "owner_id").unwrap_or_default(),
            acc_group_id: int(row, "acc_group_id").unwrap_or_default(),
            own_providers: int(row, "own_providers").unwrap_or_default(),
        }
    }
}

/// A referenced record: who owns it, and (tariffs) its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub id: i64,
    pub owner_id: i64,
    /// `tariffs.purpose` (`user`, `user_wholesale`, `provider`); `users.usertype` for accountants.
    pub kind: String,
}

/// The rights of a group: `acc_rights.name` → value, and whether the group is view-only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRights {
    pub only_view: bool,
    pub values: std::collections::HashMap<String, i64>,
}

impl GroupRights {
    /// The stored value of a right (0 when the group does not have it).
    pub fn value(&self, right: &str) -> i64 {
        self.values.get(right).copied().unwrap_or(0)
    }
}

/// The tables morapi reads and writes by name (updates, the administration CLI, read-back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Addresses,
    Taxes,
    Tariffs,
    Lcrs,
    Currencies,
    Directions,
    QuickforwardRules,
    PbxPools,
    NumberPools,
    SoundFiles,
    Devices,
    AccGroups,
    AccRights,
    AccGroupRights,
    Conflines,
    Callerids,
    Locations,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Addresses => "addresses",
            Table::Taxes => "taxes",
            Table::Tariffs => "tariffs",
            Table::Lcrs => "lcrs",
            Table::Currencies => "currencies",
            Table::Directions => "directions",
            Table::QuickforwardRules => "quickforwards_rules",
            Table::PbxPools => "pbx_pools",
            Table::NumberPools => "number_pools",
            Table::SoundFiles => "ivr_sound_files",
            Table::Devices => "devices",
            Table::AccGroups => "acc_groups",
            Table::AccRights => "acc_rights",
            Table::AccGroupRights => "acc_group_rights",
            Table::Conflines => "conflines",
            Table::Callerids => "callerids",
            Table::Locations => "locations",
        }
    }
}

/// Which audit rows to read (`morapi audit`); every set field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub target_id: Option<i64>,
    pub actor_username: Option<String>,
    pub field: Option<String>,
    pub event: Option<AuditEvent>,
    /// Inclusive lower bound of `created_at`.
    pub since: Option<AuditTime>,
    /// Exclusive upper bound of `created_at`.
    pub until: Option<AuditTime>,
    pub limit: Option<usize>,
}

/// One row of the audit trail (docs/contract.md §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub created_at: String,
    pub request_id: String,
    pub event: AuditEvent,
    pub actor_id: Option<i64>,
    pub actor_username: String,
    pub client_addr: String,
    pub endpoint: String,
    pub target_id: Option<i64>,
    pub field: String,
    /// `None` is SQL NULL, a different value from the empty string.
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    /// Which API key signed the request ([`KeySlot::stored`]); empty when none did (hash checking
    /// off, the administration CLI, events of no request).
    pub signed_with: String,
}

/// What an audit row records. Refused hashes are no longer written one row each (they are
/// counted in `refusals`); `HashRefused` rows remain in databases written by earlier versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// One changed field of a user (API or CLI) or of a record (CLI).
    Change,
    HashRefused,
    /// A record created: `new_value` holds the row as JSON.
    Create,
    /// A record removed: `old_value` holds the row as JSON, so nothing is lost.
    Delete,
    /// A setting changed: `target_id` is the owner (NULL for global), `field` the setting's name.
    Setting,
    /// A lock started: `actor_username` the locked name (empty for an address), `field` the
    /// failures counted, `new_value` the lock's end.
    Lockout,
    /// A successful read of a user's details (when `audit_reads` is on).
    Read,
    /// A successful `user_login`: actor and target are the user.
    Login,
    /// A refused credential check of `user_login` or `users_get`: `actor_username` as sent,
    /// `new_value` the reason (`password`, `unknown`, `blocked`, `uniquehash`), never a password.
    LoginFailed,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 9] = [
        AuditEvent::Change,
        AuditEvent::HashRefused,
        AuditEvent::Create,
        AuditEvent::Delete,
        AuditEvent::Setting,
        AuditEvent::Lockout,
        AuditEvent::Read,
        AuditEvent::Login,
        AuditEvent::LoginFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::Change => "change",
            AuditEvent::HashRefused => "hash_refused",
            AuditEvent::Create => "create",
            AuditEvent::Delete => "delete",
            AuditEvent::Setting => "setting",
            AuditEvent::Lockout => "lockout",
            AuditEvent::Read => "read",
            AuditEvent::Login => "login",
            AuditEvent::LoginFailed => "login_failed",
        }
    }

    pub fn from_name(name: &str) -> Option<AuditEvent> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// Which of an owner's API keys verified a request: the current one, or the next one of a
/// rotation in progress (`api_secret_key_next`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySlot {
    /// Whose key: 0 for the admin's, else the reseller's id.
    pub owner_id: i64,
    pub next: bool,
}

impl KeySlot {
    /// The audit trail's text: `current:<owner>` or `next:<owner>`.
    pub fn stored(self) -> String {
        format!("{}:{}", if self.next { "next" } else { "current" }, self.owner_id)
    }
}

/// Which key a `refusals` row counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalScope {
    /// The pair (name as sent, client address).
    Name,
    /// The client address alone, whatever the name.
    Address,
}

impl RefusalScope {
    pub fn stored(self) -> &'static str {
        match self {
            RefusalScope::Name => "name",
            RefusalScope::Address => "address",
        }
    }

    pub fn from_stored(s: &str) -> RefusalScope {
        if s == "address" { RefusalScope::Address } else { RefusalScope::Name }
    }
}

/// The locks in force for one request's client address and name (Unix seconds; 0 = none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Locks {
    pub name_until: i64,
    pub address_until: i64,
}

/// One refused credential, to be counted in its window's `refusals` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRecord {
    pub client_addr: String,
    /// Empty for [`RefusalScope::Address`].
    pub name: String,
    pub scope: RefusalScope,
    pub window_start: i64,
    /// The refusal's time, as the audit trail writes times.
    pub at: String,
    /// What to append to the row's `recent` list (with its separator); empty appends nothing.
    pub recent: String,
    pub endpoint: String,
    pub error: String,
}

/// A `refusals` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRow {
    pub client_addr: String,
    pub name: String,
    pub scope: RefusalScope,
    pub window_start: i64,
    pub first_at: String,
    pub last_at: String,
    pub count: i64,
    pub recent: String,
    pub locked_until: i64,
    pub endpoint: String,
    pub last_error: String,
}

/// Which `refusals` rows `morapi lockouts` lists or clears; every set field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusalFilter {
    pub name: Option<String>,
    pub client_addr: Option<String>,
    /// Only rows whose lock lasts beyond this time (Unix seconds).
    pub locked_after: Option<i64>,
    pub limit: Option<usize>,
}

/// What finds an audit row through the index on `audit_log (target_id, request_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKey {
    /// The target user (`None` for a refused hash).
    pub target_id: Option<i64>,
    pub request_id: String,
}

/// What a transaction wrote, kept so that a commit whose answer was lost can be settled: every
/// audited change writes audit rows carrying its request id in the same transaction, so finding
/// them proves the commit happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Whether the transaction sent (or held back) any write at all.
    pub any: bool,
    /// An audit row it wrote, if it wrote any.
    pub audit: Option<AuditKey>,
    /// Users it locked (`FOR UPDATE`): until a lost commit has ended, its locks are held, so
    /// taking them again waits for its outcome.
    pub locked_users: Vec<i64>,
}

/// Tables a parameter may reference by id (the catalogue's `Kind::Ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Tariff,
    Lcr,
    PbxPool,
    QuickforwardRule,
    Currency,
    Direction,
    SoundFile,
    Device,
    NumberPool,
    AccGroup,
}

impl RefKind {
    /// Where the referenced records are: their table, the column naming their owner (`None`:
    /// shared records, owned by nobody), and the column a rule consults besides (`None`: none).
    pub fn source(self) -> (Table, Option<&'static str>, Option<&'static str>) {
        match self {
            RefKind::Tariff => (Table::Tariffs, Some("owner_id"), Some("purpose")),
            RefKind::Lcr => (Table::Lcrs, Some("user_id"), None),
            RefKind::PbxPool => (Table::PbxPools, Some("owner_id"), None),
            RefKind::QuickforwardRule => (Table::QuickforwardRules, Some("user_id"), None),
            RefKind::Currency => (Table::Currencies, None, Some("name")),
            RefKind::Direction => (Table::Directions, None, Some("name")),
            RefKind::SoundFile => (Table::SoundFiles, Some("user_id"), None),
            RefKind::Device => (Table::Devices, Some("user_id"), None),
            RefKind::NumberPool => (Table::NumberPools, Some("owner_id"), None),
            RefKind::AccGroup => (Table::AccGroups, Some("owner_id"), Some("group_type")),
        }
    }

    /// Whether 0 means "none" (clears the reference) rather than an id to look up.
    pub fn zero_clears(self) -> bool {
        !matches!(self, RefKind::Tariff | RefKind::Lcr | RefKind::Currency)
    }
}

/// The rows a user links to by id (`users.address_id`, `users.tax_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Address,
    Tax,
}

impl Linked {
    pub fn table(self) -> Table {
        match self {
            Linked::Address => Table::Addresses,
            Linked::Tax => Table::Taxes,
        }
    }

    /// The `users` column holding the link.
    pub fn link_column(self) -> &'static str {
        match self {
            Linked::Address => "address_id",
            Linked::Tax => "tax_id",
        }
    }
}

/// Named records shown by name in read-back (`currencies`, `directions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Currency,
    Direction,
}

/// Columns to write, each named by the catalogue (never by a request) with its new value.
pub type Columns = Vec<(&'static str, Value)>;

/// A validated change of one user, written with its audit rows in one go: the `users` columns,
/// and the columns of the linked address and tax rows (created beforehand when missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub user_id: i64,
    pub user: Columns,
    pub address: Option<(i64, Columns)>,
    pub tax: Option<(i64, Columns)>,
    pub audit: Vec<AuditEntry>,
}

// --- users_get, user_login ---

/// Which users `users_get` lists ([`RequestStore::users_listed`](super::RequestStore::users_listed)):
/// every set field narrows. Who sees whom is `auth::permissions::users_listing`'s to decide; this
/// only says it to the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only the users of this owner.
    pub owner_id: Option<i64>,
    /// Leave out the admin (id 0).
    pub without_admin: bool,
    /// Leave out the users of this stored `usertype`.
    pub without_usertype: Option<&'static str>,
}

/// One user of `users_get`'s list, the columns it shows as stored (NULL ids read as 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedUser {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    /// The stored decimal as the engine returns it.
    pub balance: String,
    pub blocked: i64,
    pub lcr_id: i64,
    pub tariff_id: i64,
    pub owner_id: i64,
    pub usertype: String,
    pub hidden: i64,
}

impl ListedUser {
    /// The columns [`ListedUser`] is read from.
    pub const COLUMNS: &str =
        "id, username, first_name, last_name, balance, blocked, lcr_id, tariff_id, owner_id, usertype, hidden";

    pub fn from_row(row: &Row) -> Self {
        let id = |col| int(row, col).unwrap_or_default();
        ListedUser {
            id: id("id"),
            username: text(row, "username"),
            first_name: text(row, "first_name"),
            last_name: text(row, "last_name"),
            balance: text(row, "balance"),
            blocked: id("blocked"),
            lcr_id: id("lcr_id"),
            tariff_id: id("tariff_id"),
            owner_id: id("owner_id"),
            usertype: text(row, "usertype"),
            hidden: id("hidden"),
        }
    }
}

// --- user_delete ---

/// A kind of record that names a user and would be left naming nobody if he were deleted
/// (`user_delete` step 6). The order of [`Dependent::ALL`] is the order the refusal lists them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependent {
    /// Users he owns (`users.owner_id`).
    OwnedUser,
    /// Users naming him their responsible accountant.
    AccountedUser,
    Tariff,
    Lcr,
    QuickforwardRule,
    PbxPool,
    NumberPool,
    SoundFile,
    /// Permission groups (`acc_groups`).
    AccGroup,
    Location,
    /// Other users whose spy device is one of his devices.
    SpyingUser,
}

impl Dependent {
    pub const ALL: [Dependent; 11] = [
        Dependent::OwnedUser,
        Dependent::AccountedUser,
        Dependent::Tariff,
        Dependent::Lcr,
        Dependent::QuickforwardRule,
        Dependent::PbxPool,
        Dependent::NumberPool,
        Dependent::SoundFile,
        Dependent::AccGroup,
        Dependent::Location,
        Dependent::SpyingUser,
    ];

    /// The table of these records and the column naming the user (for [`Dependent::SpyingUser`],
    /// the column naming one of his devices). Owned records are found where references find their
    /// owner ([`RefKind::source`]).
    pub fn source(self) -> (Table, &'static str) {
        let owned = |kind: RefKind| {
            let (table, owner, _) = kind.source();
            (table, owner.unwrap_or("owner_id"))
        };
        match self {
            Dependent::OwnedUser => (Table::Users, "owner_id"),
            Dependent::AccountedUser => (Table::Users, "responsible_accountant_id"),
            Dependent::Tariff => owned(RefKind::Tariff),
            Dependent::Lcr => owned(RefKind::Lcr),
            Dependent::QuickforwardRule => owned(RefKind::QuickforwardRule),
            Dependent::PbxPool => owned(RefKind::PbxPool),
            Dependent::NumberPool => owned(RefKind::NumberPool),
            Dependent::SoundFile => owned(RefKind::SoundFile),
            Dependent::AccGroup => owned(RefKind::AccGroup),
            Dependent::Location => (Table::Locations, "user_id"),
            Dependent::SpyingUser => (Table::Users, "spy_device_id"),
        }
    }
}

/// What a credential check reads of the user it names: his stored password (an Argon2id PHC
/// string, or empty when he has none), his `uniquehash`, and whether he is blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub password: String,
    pub uniquehash: String,
    pub blocked: bool,
}

impl Credentials {
    /// The columns [`Credentials`] is read from.
    pub const COLUMNS: &str = "password, uniquehash, blocked";

    pub fn from_row(row: &Row) -> Self {
        Credentials {
            password: text(row, "password"),
            uniquehash: text(row, "uniquehash"),
            blocked: int(row, "blocked").unwrap_or_default() != 0,
        }
    }
}

/// Everything deleting a user removes with him, each row whole (the audit trail keeps them):
/// read, and on a server engine locked, in the transaction that removes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    pub user: Row,
    /// The caller ids of his devices.
    pub callerids: Vec<Row>,
    pub devices: Vec<Row>,
    /// His settings (`conflines` with his owner id).
    pub settings: Vec<Row>,
    pub address: Option<Row>,
    pub tax: Option<Row>,
}
