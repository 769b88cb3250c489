//! Administration commands for the records the API refers to (tariffs, LCRs, currencies, …),
//! driven by one table of record kinds: each kind's fields make its `add`/`set` flags, its
//! validation, its `list`/`show` columns and its `--help`.
//!
//! `morapi KIND add --field value…`, `list [--owner N] [--json]`, `show ID [--json]`,
//! `set ID --field value…`, `delete ID [--yes]`.
//!
//! Every change is audited in its transaction (`domain::audit`): `add` a `create` row and
//! `delete` a `delete` row (`field` the table, the whole row as JSON), `set` one `change` row per
//! changed column with `field` = `TABLE:ID.COLUMN` (`tariffs:12.name`). `target_id` is the user
//! the record belongs to (its owner or user column), NULL for the admin's and shared records.

use super::db::{ActorArgs, DbArgs, owner_problem, transact};
use super::{groups, output, run};
use crate::domain::audit::{self, Actor};
use crate::settings::Setting;
use crate::storage::{AdminStore, Database, Row, StoreError, Table, Value, int, schema};
use crate::update::record_changes;
use crate::values::{self, AuditTime, amount, secrets};
use anyhow::bail;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

/// What a field holds, and so how its flag value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Int,
    /// A decimal number (kept as text).
    Decimal,
    /// One of these words.
    Enum(&'static [&'static str]),
    /// The id of an owner: 0 (the admin) or a reseller.
    Owner,
    /// The id of any user.
    User,
    /// Decimal digits (an extension, a PIN, a caller's number). An optional one given empty is
    /// cleared: NULL where the column allows it (unique columns that most rows leave unset).
    Digits,
    /// The id of a record of this table (a device's location, a caller id's device); 0 clears
    /// an optional one.
    Record(Table),
}

/// A value `add` makes up when its flag is not given, from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// A SIP/IAX2 secret in MOR's strong form (`values::secrets::device_secret`).
    DeviceSecret,
    /// `device_pin_length` digits no other device has.
    DevicePin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Column name; the flag is the same with `-` for `_`.
    pub column: &'static str,
    pub help: &'static str,
    pub ty: FieldType,
    /// Required by `add` (when there is no default).
    pub required: bool,
    pub default: Option<&'static str>,
    /// No two records may hold the same value (beyond the schema's UNIQUE columns: the unique
    /// indexes over columns that may be NULL, checked here for a readable refusal).
    pub unique: bool,
    /// Made up by `add` when not given; `add` prints it.
    pub generated: Option<Generated>,
}

impl Field {
    /// Not required by `add`, without a default: the column keeps its schema default.
    const fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    const fn generated(mut self, how: Generated) -> Self {
        self.generated = Some(how);
        self.required = false;
        self
    }
}

/// A record type the administration CLI manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordKind {
    pub command: &'static str,
    pub about: &'static str,
    pub table: Table,
    pub fields: &'static [Field],
    /// (table, column) pairs that refer to this record: it cannot be deleted while referred to.
    pub referenced_by: &'static [(Table, &'static str)],
    /// Settings whose value is this record's id: it cannot be deleted while one names it.
    named_by_settings: &'static [Setting],
    /// A column `add` sets to the time of adding (shown, not a flag).
    stamped: Option<&'static str>,
}

const fn f(column: &'static str, help: &'static str, ty: FieldType, default: Option<&'static str>) -> Field {
    Field { column, help, ty, required: default.is_none(), default, unique: false, generated: None }
}

const NAME: Field = f("name", "name", FieldType::Text, None);
const OWNER: Field = f("owner_id", "owner: 0 = admin, or a reseller's user id", FieldType::Owner, Some("0"));
const USER_OWNER: Field = f("user_id", "owner: 0 = admin, or a reseller's user id", FieldType::Owner, Some("0"));

pub static KINDS: &[RecordKind] = &[
    RecordKind {
        command: "tariff",
        about: "Tariffs (retail `user`, wholesale `user_wholesale`, `provider`)",
        table: Table::Tariffs,
        fields: &[
            NAME,
            f(
                "purpose",
                "user, user_wholesale or provider",
                FieldType::Enum(&["user", "user_wholesale", "provider"]),
                Some("user"),
            ),
            OWNER,
            f("currency", "currency code", FieldType::Text, Some("USD")),
        ],
        referenced_by: &[(Table::Users, "tariff_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "lcr",
        about: "LCRs (least-cost routing plans)",
        table: Table::Lcrs,
        fields: &[NAME, USER_OWNER],
        referenced_by: &[(Table::Users, "lcr_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "currency",
        about: "Currencies",
        table: Table::Currencies,
        fields: &[
            f("name", "ISO code, e.g. EUR", FieldType::Text, None),
            f("full_name", "full name", FieldType::Text, Some("")),
            f("exchange_rate", "exchange rate to the default currency", FieldType::Decimal, Some("1")),
            f("active", "1 = active, 0 = not", FieldType::Enum(&["0", "1"]), Some("1")),
        ],
        referenced_by: &[(Table::Users, "currency_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "direction",
        about: "Directions (countries)",
        table: Table::Directions,
        fields: &[NAME, f("code", "ISO 3166 alpha-3 code", FieldType::Text, Some(""))],
        referenced_by: &[(Table::Users, "taxation_country"), (Table::Addresses, "direction_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "quickforward-rule",
        about: "Quick-forward rules",
        table: Table::QuickforwardRules,
        fields: &[NAME, USER_OWNER],
        referenced_by: &[(Table::Users, "quickforwards_rule_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "pbx-pool",
        about: "PBX pools",
        table: Table::PbxPools,
        fields: &[NAME, OWNER],
        referenced_by: &[(Table::Users, "pbx_pool_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "number-pool",
        about: "Number pools (static source/destination black- and whitelists)",
        table: Table::NumberPools,
        fields: &[NAME, OWNER],
        referenced_by: &[(Table::Users, "static_source_list_id"), (Table::Users, "static_list_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "sound-file",
        about: "Sound files (warning balance announcements)",
        table: Table::SoundFiles,
        fields: &[f("path", "file path", FieldType::Text, None), USER_OWNER],
        referenced_by: &[(Table::Users, "warning_balance_sound_file_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "location",
        about: "Locations of devices, owned by the admin or a reseller",
        table: Table::Locations,
        fields: &[NAME, USER_OWNER],
        referenced_by: &[(Table::Devices, "location_id")],
        named_by_settings: &[Setting::DefaultDeviceLocationId],
        stamped: None,
    },
    RecordKind {
        command: "device",
        about: "Devices (SIP/IAX2/Virtual phones, spy devices); `show` and `list` print their secret and PIN",
        table: Table::Devices,
        fields: &[
            NAME,
            f("user_id", "the user the device belongs to", FieldType::User, None),
            f("device_type", "SIP, IAX2 or Virtual", FieldType::Enum(values::DEVICE_TYPES), Some("SIP")),
            f("extension", "extension number (unique; empty = none)", FieldType::Digits, None).optional().unique(),
            f("username", "SIP/IAX2 user name", FieldType::Text, Some("")),
            f("secret", "SIP/IAX2 secret [default: generated, printed once by add]", FieldType::Text, None)
                .generated(Generated::DeviceSecret),
            f("pin", "PIN (unique) [default: generated: device_pin_length digits]", FieldType::Digits, None)
                .unique()
                .generated(Generated::DevicePin),
            f("callerid", "caller id as MOR writes it, e.g. <37060000001>", FieldType::Text, Some("")),
            f("location_id", "location id (0 = none)", FieldType::Record(Table::Locations), None).optional(),
        ],
        referenced_by: &[(Table::Users, "spy_device_id"), (Table::Callerids, "device_id")],
        named_by_settings: &[],
        stamped: None,
    },
    RecordKind {
        command: "callerid",
        about: "Caller ids: numbers that identify a device's caller (one number, one device)",
        table: Table::Callerids,
        fields: &[
            f("cli", "the number, digits only", FieldType::Digits, None),
            f("device_id", "the device it identifies", FieldType::Record(Table::Devices), None),
            f("description", "description, e.g. Phone", FieldType::Text, Some("")),
        ],
        referenced_by: &[],
        named_by_settings: &[],
        stamped: Some("added_at"),
    },
    RecordKind {
        command: "group",
        about: "Accountant and reseller groups; rights with `group grant`",
        table: Table::AccGroups,
        fields: &[
            NAME,
            f("group_type", "accountant or reseller", FieldType::Enum(&["accountant", "reseller"]), Some("accountant")),
            f("only_view", "1 = every right counts as read-only", FieldType::Enum(&["0", "1"]), Some("0")),
            OWNER,
        ],
        referenced_by: &[(Table::Users, "acc_group_id")],
        named_by_settings: &[],
        stamped: None,
    },
];

/// The flag of a column: the column with `-` for `_`.
pub fn flag(column: &str) -> String {
    column.replace('_', "-")
}

/// The record kind whose command is `name`.
pub fn kind(name: &str) -> Option<&'static RecordKind> {
    KINDS.iter().find(|k| k.command == name)
}

/// The record kind of a table.
fn kind_of(table: Table) -> Option<&'static RecordKind> {
    KINDS.iter().find(|k| k.table == table)
}

fn columns(kind: &RecordKind) -> Vec<&'static str> {
    std::iter::once("id").chain(kind.fields.iter().map(|f| f.column)).chain(kind.stamped).collect()
}

fn json_arg() -> Arg {
    Arg::new("json").long("json").action(ArgAction::SetTrue).help("Print JSON instead of a table")
}

/// The record `show`, `set` and `delete` act on.
#[derive(Debug, Args)]
// No `about` from the doc comment: it would replace the about of the command it is added to.
#[command(about = None, long_about = None)]
struct Id {
    /// Record id
    id: i64,
}

/// The clap subcommands of every record kind.
pub fn commands() -> Vec<Command> {
    KINDS.iter().map(command).collect()
}

fn command(kind: &RecordKind) -> Command {
    let field_args = |add: bool| {
        kind.fields.iter().map(move |f| {
            let mut help = f.help.to_string();
            if let (true, Some(d)) = (add, f.default) {
                help.push_str(&format!(" [default: {d}]"));
            }
            Arg::new(f.column).long(flag(f.column)).help(help).required(add && f.required)
        })
    };
    let mut list = Command::new("list").about(format!("List {}", kind.table.name())).arg(json_arg());
    if kind.fields.iter().any(|f| f.ty == FieldType::Owner) {
        let owner = kind.fields.iter().find(|f| f.ty == FieldType::Owner).map_or("owner_id", |f| f.column);
        list = list.arg(
            Arg::new("owner")
                .long("owner")
                .value_parser(clap::value_parser!(i64))
                .help(format!("Only records whose {owner} is this")),
        );
    }
    let extra = (kind.table == Table::AccGroups).then(groups::grant_command);
    // Args first: augmenting may reset the command's about.
    ActorArgs::augment_args(DbArgs::augment_args(Command::new(kind.command)))
        .about(kind.about)
        .subcommands(extra)
        .subcommand_required(true)
        .subcommand(Command::new("add").about("Add one").args(field_args(true)).arg(json_arg()))
        .subcommand(list)
        .subcommand(Id::augment_args(Command::new("show")).about("Show one").arg(json_arg()))
        .subcommand(Id::augment_args(Command::new("set")).about("Change fields of one").args(field_args(false)))
        .subcommand(
            Id::augment_args(Command::new("delete"))
                .about("Delete one that nothing refers to")
                .arg(Arg::new("yes").long("yes").action(ArgAction::SetTrue).help("Do not ask for confirmation")),
        )
}

/// Checks one flag value against its field of `table`; returns the value to store.
fn check(repo: &mut dyn AdminStore, table: Table, field: &Field, raw: &str) -> anyhow::Result<Value> {
    let v = raw.trim();
    let name = flag(field.column);
    Ok(match field.ty {
        FieldType::Digits if v.is_empty() && field.required => bail!("--{name} must not be empty"),
        FieldType::Digits if v.is_empty() => {
            if schema::column(table.name(), field.column).is_some_and(|c| c.nullable) {
                Value::Null
            } else {
                Value::from("")
            }
        }
        FieldType::Digits if v.bytes().all(|b| b.is_ascii_digit()) => Value::from(v),
        FieldType::Digits => bail!("--{name} must be digits only"),
        FieldType::Record(_) if v == "0" && !field.required => Value::Int(0),
        FieldType::Record(of) => {
            let what = kind_of(of).map_or(of.name(), |k| k.command);
            match v.parse::<i64>() {
                Ok(id) if repo.row(of, id)?.is_some() => Value::Int(id),
                Ok(id) => bail!("--{name}: there is no {what} {id}"),
                Err(_) => bail!("--{name} must be the id of a {what}"),
            }
        }
        FieldType::Text if v.is_empty() && field.required => bail!("--{name} must not be empty"),
        FieldType::Text => Value::from(v),
        FieldType::Int => match v.parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => bail!("--{name} must be a whole number"),
        },
        // The API's amount rule: `,` as the point, no exponent, the same limits and stored form.
        FieldType::Decimal => match amount::parse(v).filter(amount::fits) {
            Some(d) => Value::Text(amount::canonical(d)),
            None => bail!("--{name} must be {}", amount::expected()),
        },
        FieldType::Enum(words) if words.contains(&v) => Value::from(v),
        FieldType::Enum(words) => bail!("--{name} must be one of {}", words.join(", ")),
        FieldType::Owner | FieldType::User => {
            let Ok(id) = v.parse::<i64>() else { bail!("--{name} must be a user id") };
            if field.ty == FieldType::Owner {
                if let Some(problem) = owner_problem(repo, id)? {
                    bail!("--{name} {id}: {problem}");
                }
            } else if repo.user_by_id(id)?.is_none() {
                bail!("--{name}: there is no user {id}");
            }
            Value::Int(id)
        }
    })
}

/// Runs `morapi KIND ACTION …` when `name` is a record kind; `None` otherwise.
pub fn run(name: &str, matches: &ArgMatches) -> Option<anyhow::Result<()>> {
    let kind = kind(name)?;
    Some(run_kind(kind, matches))
}

fn run_kind(kind: &'static RecordKind, matches: &ArgMatches) -> anyhow::Result<()> {
    let db = DbArgs::from_arg_matches(matches)?;
    let Some((action, sub)) = matches.subcommand() else { bail!("give an action: add, list, show, set or delete") };
    // Who acts, for the audit rows of `add`, `set`, `delete` and `grant`: `KIND ACTION`.
    let actor = || ActorArgs::from_arg_matches(matches)?.actor(&format!("{} {action}", kind.command));
    if action == "grant" {
        return groups::run_grant(db, actor()?, sub);
    }
    let text = run::block_on(async {
        let db = db.open()?;
        match action {
            "add" => add(&db, actor()?, kind, sub).await,
            "list" => list(&db, kind, sub).await,
            "show" => show(&db, kind, Id::from_arg_matches(sub)?.id, sub.get_flag("json")).await,
            "set" => set(&db, actor()?, kind, Id::from_arg_matches(sub)?.id, sub).await,
            "delete" => delete(&db, actor()?, kind, Id::from_arg_matches(sub)?.id, sub.get_flag("yes")).await,
            other => bail!("unknown action {other}"),
        }
    })?;
    print!("{text}");
    Ok(())
}

/// Values of the fields given on the command line, checked (and defaults, for `add`). `id` is
/// the record being changed, so that it does not collide with itself on unique columns.
fn values(
    repo: &mut dyn AdminStore,
    kind: &RecordKind,
    sub: &ArgMatches,
    id: Option<i64>,
) -> anyhow::Result<Vec<(&'static str, Value)>> {
    let mut out = Vec::new();
    for field in kind.fields {
        let default = if id.is_none() { field.default } else { None };
        let Some(raw) = sub.get_one::<String>(field.column).map(String::as_str).or(default) else { continue };
        let value = check(repo, kind.table, field, raw)?;
        let unique = field.unique || schema::column(kind.table.name(), field.column).is_some_and(|c| c.unique);
        if unique && value != Value::Null {
            let same = repo.list_rows(kind.table, &[(field.column, value.clone())])?;
            if same.iter().any(|r| int(r, "id") != id) {
                bail!("a {} with {} {} already exists", kind.command, field.column, value.render());
            }
        }
        out.push((field.column, value));
    }
    Ok(out)
}

/// The user a record belongs to, for its audit rows: the value of its owner or user column,
/// `None` for 0 (the admin's) and for kinds without one.
fn belongs_to(kind: &RecordKind, row: &Row) -> Option<i64> {
    kind.fields
        .iter()
        .find(|f| matches!(f.ty, FieldType::Owner | FieldType::User))
        .and_then(|f| int(row, f.column))
        .filter(|id| *id != 0)
}

async fn add(db: &Database, actor: Actor, kind: &'static RecordKind, sub: &ArgMatches) -> anyhow::Result<String> {
    let sub = sub.clone();
    let json = sub.get_flag("json");
    transact(db, move |repo| {
        let mut vals = values(repo, kind, &sub, None)?;
        let mut made = Vec::new();
        for field in kind.fields {
            if let Some(how) = field.generated
                && !vals.iter().any(|(c, _)| *c == field.column)
            {
                let value = generate(repo, kind, field, how)?;
                made.push((field.column, value.clone()));
                vals.push((field.column, Value::from(value)));
            }
        }
        if let Some(column) = kind.stamped {
            vals.push((column, Value::from(AuditTime::now().stored())));
        }
        let id = repo.insert_row(kind.table, &vals)?;
        let row = repo.row(kind.table, id)?.unwrap_or_default();
        repo.insert_audit(&[actor.created(kind.table.name(), belongs_to(kind, &row), &row)])?;
        if json {
            return Ok(output::record(&row, &columns(kind), true));
        }
        let mut text = format!("added {} {id}\n", kind.command);
        let width = made.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
        for (column, value) in made {
            text.push_str(&format!("generated {column:width$}  {value}\n"));
        }
        Ok(text)
    })
    .await
}

/// Tries for a free generated value before giving up (a PIN space nearly full).
const GENERATE_TRIES: usize = 100;

/// A new value for a generated field: one no other record holds when the field is unique.
fn generate(repo: &mut dyn AdminStore, kind: &RecordKind, field: &Field, how: Generated) -> anyhow::Result<String> {
    for _ in 0..GENERATE_TRIES {
        let value = match how {
            Generated::DeviceSecret => secrets::device_secret(),
            Generated::DevicePin => {
                let len = Setting::DevicePinLength.int(repo, 0)?;
                secrets::digits(usize::try_from(len).unwrap_or(0))
            }
        };
        if !field.unique || repo.list_rows(kind.table, &[(field.column, Value::from(value.as_str()))])?.is_empty() {
            return Ok(value);
        }
    }
    bail!("no free {} found in {GENERATE_TRIES} tries: give --{}", field.column, flag(field.column))
}

async fn list(db: &Database, kind: &'static RecordKind, sub: &ArgMatches) -> anyhow::Result<String> {
    let owner_col = kind.fields.iter().find(|f| f.ty == FieldType::Owner).map(|f| f.column);
    // Only kinds with an owner field have `--owner`.
    let owner = match owner_col {
        Some(_) => sub.try_get_one::<i64>("owner")?.copied(),
        None => None,
    };
    let json = sub.get_flag("json");
    transact(db, move |repo| {
        let filter: Vec<(&str, Value)> = match (owner, owner_col) {
            (Some(o), Some(col)) => vec![(col, Value::Int(o))],
            _ => Vec::new(),
        };
        let rows = repo.list_rows(kind.table, &filter)?;
        Ok(output::rows(&rows, &columns(kind), json))
    })
    .await
}

async fn show(db: &Database, kind: &'static RecordKind, id: i64, json: bool) -> anyhow::Result<String> {
    transact(db, move |repo| {
        let Some(row) = repo.row(kind.table, id)? else { bail!("there is no {} {id}", kind.command) };
        let mut text = output::record(&row, &columns(kind), json);
        if kind.table == Table::AccGroups && !json {
            text.push_str(&groups::rights_text(repo, id)?);
        }
        Ok(text)
    })
    .await
}

async fn set(
    db: &Database,
    actor: Actor,
    kind: &'static RecordKind,
    id: i64,
    sub: &ArgMatches,
) -> anyhow::Result<String> {
    let sub = sub.clone();
    transact(db, move |repo| {
        let Some(old) = repo.row(kind.table, id)? else { bail!("there is no {} {id}", kind.command) };
        let vals = values(repo, kind, &sub, Some(id))?;
        if vals.is_empty() {
            bail!("nothing to change: give at least one field flag");
        }
        let mut audited = Vec::new();
        let field = audit::record(kind.table.name(), id);
        let vals = record_changes(&mut audited, Some(&field), &old, vals);
        if vals.is_empty() {
            return Ok(format!("{} {id} unchanged: it already has these values\n", kind.command));
        }
        repo.update_row(kind.table, id, &vals)?;
        let new = repo.row(kind.table, id)?.unwrap_or_default();
        repo.insert_audit(&actor.changed(belongs_to(kind, &new), audited))?;
        Ok(format!("changed {} {id}\n", kind.command))
    })
    .await
}

/// Users (or addresses) that still refer to a record, as a sentence; `None` when nothing does.
fn still_used(repo: &mut dyn AdminStore, kind: &RecordKind, id: i64) -> Result<Option<String>, StoreError> {
    let mut uses = Vec::new();
    for (table, column) in kind.referenced_by {
        let rows = repo.list_rows(*table, &[(column, Value::Int(id))])?;
        if !rows.is_empty() {
            let ids: Vec<String> = rows.iter().take(10).filter_map(|r| int(r, "id")).map(|i| i.to_string()).collect();
            uses.push(format!("{} {} ({column}: {})", rows.len(), table.name(), ids.join(", ")));
        }
    }
    for setting in kind.named_by_settings {
        let rows = repo.list_rows(Table::Conflines, &[("name", setting.name().into())])?;
        let owners: Vec<String> = rows
            .iter()
            .filter(|r| values::int(&crate::storage::text(r, "value")) == Some(id))
            .filter_map(|r| int(r, "owner_id"))
            .map(|o| o.to_string())
            .collect();
        if !owners.is_empty() {
            uses.push(format!("setting {} (owner {})", setting.name(), owners.join(", ")));
        }
    }
    Ok((!uses.is_empty()).then(|| uses.join("; ")))
}

async fn delete(db: &Database, actor: Actor, kind: &'static RecordKind, id: i64, yes: bool) -> anyhow::Result<String> {
    let row: Option<Row> = transact(db, move |repo| Ok(repo.row(kind.table, id)?)).await?;
    let Some(row) = row else { bail!("there is no {} {id}", kind.command) };
    let label = crate::storage::text(&row, kind.fields.first().map_or("id", |f| f.column));
    if !yes && !output::confirm(&format!("Delete {} {id} ({label})?", kind.command)) {
        bail!("not deleted");
    }
    transact(db, move |repo| {
        if let Some(uses) = still_used(repo, kind, id)? {
            bail!("{} {id} is still used by {uses}; nothing deleted", kind.command);
        }
        let Some(row) = repo.row(kind.table, id)? else { bail!("there is no {} {id}", kind.command) };
        let target = belongs_to(kind, &row);
        let mut audit = Vec::new();
        // A group's rights go with it (a later group must not inherit them).
        if kind.table == Table::AccGroups {
            for right in repo.list_rows(Table::AccGroupRights, &[("acc_group_id", id.into())])? {
                if let Some(right_id) = int(&right, "id") {
                    repo.delete_row(Table::AccGroupRights, right_id)?;
                    audit.push(actor.deleted(Table::AccGroupRights.name(), target, &right));
                }
            }
        }
        if !repo.delete_row(kind.table, id)? {
            bail!("there is no {} {id}", kind.command);
        }
        audit.push(actor.deleted(kind.table.name(), target, &row));
        repo.insert_audit(&audit)?;
        Ok(format!("deleted {} {id}\n", kind.command))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_command_and_a_schema_table() {
        let mut seen = std::collections::HashSet::new();
        for k in KINDS {
            assert!(seen.insert(k.command), "{}", k.command);
            for f in k.fields {
                assert!(
                    crate::storage::schema::column_type(k.table.name(), f.column).is_some(),
                    "{}.{}",
                    k.command,
                    f.column
                );
            }
            for (t, c) in k.referenced_by {
                assert!(crate::storage::schema::column_type(t.name(), c).is_some(), "{}.{c}", t.name());
            }
        }
    }

    #[test]
    fn commands_are_valid_clap() {
        for c in commands() {
            c.debug_assert();
        }
    }

    #[test]
    fn help_shows_each_commands_own_about() {
        for (kind, c) in KINDS.iter().zip(commands()) {
            assert_eq!(c.get_about().map(ToString::to_string).as_deref(), Some(kind.about), "{}", kind.command);
            let about = |name: &str| c.find_subcommand(name).and_then(|s| s.get_about()).map(ToString::to_string);
            assert_eq!(about("show").as_deref(), Some("Show one"));
            assert_eq!(about("delete").as_deref(), Some("Delete one that nothing refers to"));
        }
        let grant = crate::cli::groups::grant_command();
        assert_eq!(
            grant.get_about().map(ToString::to_string).as_deref(),
            Some("Set a right of a group: 0 = none, 1 = view, 2 = edit")
        );
    }
}
