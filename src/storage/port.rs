//! The storage port: what the domain may ask of a database, inside one transaction the engine
//! opened. Two traits, one implementation for every engine (`sql.rs`):
//!
//! * [`RequestStore`], narrow and typed: what the API methods read and write.
//! * [`AdminStore`], the administration CLI's record CRUD and audit queries on top of it.
//!
//! The port is synchronous: a whole request runs as one closure inside its transaction, which lets
//! SQLite commit groups of requests on one writer thread and the server engines send the reads a
//! request needs in one round trip (docs/decisions.md, "Storage").

use super::Result;
use super::model::{
    Account, AuditEntry, AuditFilter, AuditKey, ChangeSet, GroupRights, Linked, Locks, Named, RefKind, Reference,
    RefusalFilter, RefusalRecord, RefusalRow, RefusalScope, Row, Table, Value,
};
use super::model::{Credentials, ListedUser, UserFilter};

/// What a transaction's work decided: keep its writes, or discard them. Either way `T` is the
/// answer; a storage error instead discards everything (and may be retried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tx<T> {
    Commit(T),
    Rollback(T),
}

/// What the API methods read and write.
pub trait RequestStore {
    /// Reads ahead what every API request reads first: the caller named by `u` with the settings
    /// the gate may consult, and the locks in force for that name and the client address at
    /// `now` (Unix seconds). A server engine answers them in one round trip; the later reads come
    /// from the transaction's cache. Nothing is locked before the caller is authenticated.
    fn preload(&mut self, caller: &str, client_addr: &str, now: i64) -> Result<()>;
    /// The locks in force at `now` for the client address and the name.
    fn locks(&mut self, client_addr: &str, name: &str, now: i64) -> Result<Locks>;
    /// Counts a refused credential in its window's row (created when it is the first).
    fn count_refusal(&mut self, refusal: &RefusalRecord) -> Result<()>;
    /// The rows of one key (client address, name, scope) from windows starting at or after
    /// `since`, oldest first.
    fn refusal_history(&mut self, key: (&str, &str, RefusalScope), since: i64) -> Result<Vec<RefusalRow>>;
    /// Locks a key until `until` on its window's row, unless a lock lasting beyond `now` is
    /// already there (another instance started it); whether this call started the lock.
    fn start_lock(&mut self, key: (&str, &str, RefusalScope), window_start: i64, until: i64, now: i64) -> Result<bool>;
    /// The caller named by `u`: the [`Account`] columns of the user with that username.
    fn account(&mut self, username: &str) -> Result<Option<Account>>;
    /// A `users` row by id.
    fn user_by_id(&mut self, id: i64) -> Result<Option<Row>>;
    /// A `users` row by exact username.
    fn user_by_username(&mut self, username: &str) -> Result<Option<Row>>;
    /// A `users` row, locked against concurrent changes until the transaction ends (the target of
    /// an update: its old values in the audit trail must be the ones really replaced).
    fn user_for_update(&mut self, id: i64) -> Result<Option<Row>>;
    /// The user's address or tax row.
    fn linked(&mut self, table: Linked, id: i64) -> Result<Option<Row>>;
    /// Creates an empty address or tax row (the schema's defaults) and returns it with its id.
    fn new_linked(&mut self, table: Linked) -> Result<(i64, Row)>;
    /// The `name` of a currency or country.
    fn name_of(&mut self, table: Named, id: i64) -> Result<Option<String>>;
    /// A setting of an owner (0 = admin/global); `None` when never set.
    fn setting(&mut self, owner_id: i64, name: &str) -> Result<Option<String>>;
    fn reference(&mut self, kind: RefKind, id: i64) -> Result<Option<Reference>>;
    /// Every right of an accountant/reseller group, in one read (empty for a missing group).
    fn group_rights(&mut self, group_id: i64) -> Result<GroupRights>;
    fn username_taken(&mut self, username: &str, except_user_id: i64) -> Result<bool>;
    /// Whether `email` (one address, compared as `values::email::key` reads it: spaces removed,
    /// ASCII case ignored) is used by an address row other than `except_address_id`.
    fn email_in_use(&mut self, email: &str, except_address_id: Option<i64>) -> Result<bool>;
    /// Which of `emails` (single addresses, each compared as [`email_in_use`](Self::email_in_use)
    /// compares) are used by an address row other than `except_address_id`, in their order, a
    /// repeated one as often: one query, an index lookup per address, whatever the list's length.
    fn emails_in_use<'e>(&mut self, emails: &[&'e str], except_address_id: Option<i64>) -> Result<Vec<&'e str>>;
    /// Writes a change of one user and its audit rows.
    fn apply(&mut self, change: &ChangeSet) -> Result<()>;
    /// Writes audit rows, all in one statement.
    fn insert_audit(&mut self, entries: &[AuditEntry]) -> Result<()>;
    /// Whether an audit row with this key is committed (proves or settles a commit).
    fn audited(&mut self, key: &AuditKey) -> Result<bool>;

    // --- users_get, user_login ---
    /// The users `filter` admits, by ascending id: one query, however many there are.
    fn users_listed(&mut self, filter: &UserFilter) -> Result<Vec<ListedUser>>;
    /// The caller named by an e-mail address (`user_login` with `allow_login_by_email`): the one
    /// user whose address holds `email`, compared as the uniqueness rule compares it
    /// (`values::email::key`); `None` when nobody's does, or several users' do.
    fn account_by_email(&mut self, email: &str) -> Result<Option<Account>>;
    /// What a credential check reads of user `id`.
    fn credentials(&mut self, id: i64) -> Result<Option<Credentials>>;
    /// Forgets the counted failures of the key (client address, name) in the windows starting at
    /// or after `since` (a successful `user_login`): they no longer count towards a lock.
    fn forgive_refusals(&mut self, client_addr: &str, name: &str, since: i64) -> Result<()>;

    // --- user_delete ---
    /// The records naming user `id` that his deletion would leave naming nobody, in the order of
    /// [`Dependent::ALL`](super::model::Dependent::ALL), ids ascending within a kind; the user
    /// himself is never among them. One query.
    fn dependents(&mut self, id: i64) -> Result<Vec<(super::model::Dependent, i64)>>;
    /// Every owner's stored value of the setting `name`: (owner, value), owners ascending.
    fn setting_of_every_owner(&mut self, name: &str) -> Result<Vec<(i64, String)>>;
    /// What deleting the user whose row is `user` (read with
    /// [`user_for_update`](Self::user_for_update)) removes with him, locked until the transaction
    /// ends (see [`Removal`](super::model::Removal)).
    fn removal(&mut self, user: Row) -> Result<super::model::Removal>;
    /// Deletes every record of `removal`: caller ids, devices, settings, the user, his address
    /// (with its e-mail rows) and tax row.
    fn remove(&mut self, removal: &super::model::Removal) -> Result<()>;

    // --- user_register ---
    /// The account whose `uniquehash` is exactly `uniquehash` (case counts on every engine).
    fn account_by_uniquehash(&mut self, uniquehash: &str) -> Result<Option<Account>>;
    /// Inserts a row and returns it as stored, every column (for the audit trail). A unique
    /// key's violation by a concurrent insert is a [`super::StoreError::Conflict`]: the whole
    /// transaction runs again and its checks see the other's row.
    fn create(&mut self, table: Table, values: &[(&str, Value)]) -> Result<Row>;
    /// The lowest number in `min..=max` that no device has as its extension or its username
    /// (numbers written with leading zeros count as theirs): one query.
    fn free_extension(&mut self, min: i64, max: i64) -> Result<Option<i64>>;
    /// Whether a device has this PIN.
    fn pin_taken(&mut self, pin: &str) -> Result<bool>;
    /// Which of `clis` are a caller id already (`callerids.cli`), in their order: one query.
    fn callerids_taken(&mut self, clis: &[&str]) -> Result<Vec<String>>;
    /// The highest agreement number made only of digits (at most 18), 0 when there is none.
    fn highest_agreement_number(&mut self) -> Result<i64>;
    /// The owner (`user_id`) of a location.
    fn location_owner(&mut self, id: i64) -> Result<Option<i64>>;
}

/// What the administration CLI needs besides: rows of any table by id, settings, audit queries.
pub trait AdminStore: RequestStore {
    fn row(&mut self, table: Table, id: i64) -> Result<Option<Row>>;
    fn insert_row(&mut self, table: Table, values: &[(&str, Value)]) -> Result<i64>;
    fn update_row(&mut self, table: Table, id: i64, values: &[(&str, Value)]) -> Result<()>;
    /// Rows of `table` whose columns equal the given values (all rows when empty), by id.
    fn list_rows(&mut self, table: Table, filter: &[(&str, Value)]) -> Result<Vec<Row>>;
    /// Deletes a row by id; whether it existed.
    fn delete_row(&mut self, table: Table, id: i64) -> Result<bool>;
    fn set_setting(&mut self, owner_id: i64, name: &str, value: &str) -> Result<()>;
    /// Audit rows matching `filter`, newest first.
    fn audit_query(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    /// The whole audit trail, oldest first (tests and the benchmark).
    #[cfg(feature = "testing")]
    fn audit_entries(&mut self) -> Result<Vec<AuditEntry>>;
    fn user_count(&mut self) -> Result<i64>;
    /// `refusals` rows matching `filter`, newest window first.
    fn refusals(&mut self, filter: &RefusalFilter) -> Result<Vec<RefusalRow>>;
    /// Ends at `now` the locks of the rows matching `filter` that last beyond it; how many.
    fn clear_locks(&mut self, filter: &RefusalFilter, now: i64) -> Result<u64>;
    /// Runs trusted SQL statements shipped with morapi (the demo dataset).
    fn execute_script(&mut self, sql: &str) -> Result<()>;
}
