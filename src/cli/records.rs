//! Administration commands for the records the API refers to (tariffs, LCRs, currencies, …),
//! driven by one table of record kinds: each kind's fields make its `add`/`set` flags, its
//! validation, its `list`/`show` columns and its `--help`.
//!
//! `morapi KIND add --field value…`, `list [--owner N] [--json]`, `show ID [--json]`,
//! `set ID --field value…`, `delete ID [--yes]`.

use super::output;
use crate::storage::{Database, Repo, Row, StoreError, Table, Tx, Value, int, schema, text};
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::process::ExitCode;

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
}

const fn f(column: &'static str, help: &'static str, ty: FieldType, default: Option<&'static str>) -> Field {
    Field { column, help, ty, required: default.is_none(), default }
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
    },
    RecordKind {
        command: "lcr",
        about: "LCRs (least-cost routing plans)",
        table: Table::Lcrs,
        fields: &[NAME, USER_OWNER],
        referenced_by: &[(Table::Users, "lcr_id")],
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
    },
    RecordKind {
        command: "direction",
        about: "Directions (countries)",
        table: Table::Directions,
        fields: &[NAME, f("code", "ISO 3166 alpha-3 code", FieldType::Text, Some(""))],
        referenced_by: &[(Table::Users, "taxation_country"), (Table::Addresses, "direction_id")],
    },
    RecordKind {
        command: "quickforward-rule",
        about: "Quick-forward rules",
        table: Table::QuickforwardRules,
        fields: &[NAME, USER_OWNER],
        referenced_by: &[(Table::Users, "quickforwards_rule_id")],
    },
    RecordKind {
        command: "pbx-pool",
        about: "PBX pools",
        table: Table::PbxPools,
        fields: &[NAME, OWNER],
        referenced_by: &[(Table::Users, "pbx_pool_id")],
    },
    RecordKind {
        command: "number-pool",
        about: "Number pools (static source/destination black- and whitelists)",
        table: Table::NumberPools,
        fields: &[NAME, OWNER],
        referenced_by: &[(Table::Users, "static_source_list_id"), (Table::Users, "static_list_id")],
    },
    RecordKind {
        command: "sound-file",
        about: "Sound files (warning balance announcements)",
        table: Table::SoundFiles,
        fields: &[f("path", "file path", FieldType::Text, None), USER_OWNER],
        referenced_by: &[(Table::Users, "warning_balance_sound_file_id")],
    },
    RecordKind {
        command: "device",
        about: "Devices (spy devices)",
        table: Table::Devices,
        fields: &[NAME, f("user_id", "the user the device belongs to", FieldType::User, None)],
        referenced_by: &[(Table::Users, "spy_device_id")],
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
    },
];

fn flag(column: &str) -> String {
    column.replace('_', "-")
}

/// The flag of a column, as clap wants it (static: the columns are static).
fn flag_name(column: &'static str) -> &'static str {
    match column {
        "owner_id" => "owner-id",
        "user_id" => "user-id",
        "full_name" => "full-name",
        "exchange_rate" => "exchange-rate",
        "group_type" => "group-type",
        "only_view" => "only-view",
        other => other,
    }
}

fn columns(kind: &RecordKind) -> Vec<&'static str> {
    std::iter::once("id").chain(kind.fields.iter().map(|f| f.column)).collect()
}

/// The database flag every administration command takes.
pub fn database_arg() -> Arg {
    Arg::new("database")
        .long("database")
        .env("MORAPI_DATABASE")
        .hide_env_values(true)
        .default_value("sqlite://morapi.db")
        .help("Database URL (sqlite://PATH, postgres://…, mysql://…)")
}

fn json_arg() -> Arg {
    Arg::new("json").long("json").action(ArgAction::SetTrue).help("Print JSON instead of a table")
}

fn id_arg() -> Arg {
    Arg::new("id").required(true).value_parser(clap::value_parser!(i64)).help("Record id")
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
            Arg::new(f.column).long(flag_name(f.column)).help(help).required(add && f.required)
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
    let extra = (kind.table == Table::AccGroups).then(super::groups::grant_command);
    Command::new(kind.command)
        .about(kind.about)
        .subcommands(extra)
        .subcommand_required(true)
        .arg(database_arg().global(true))
        .subcommand(Command::new("add").about("Add one").args(field_args(true)).arg(json_arg()))
        .subcommand(list)
        .subcommand(Command::new("show").about("Show one").arg(id_arg()).arg(json_arg()))
        .subcommand(Command::new("set").about("Change fields of one").arg(id_arg()).args(field_args(false)))
        .subcommand(
            Command::new("delete")
                .about("Delete one that nothing refers to")
                .arg(id_arg())
                .arg(Arg::new("yes").long("yes").action(ArgAction::SetTrue).help("Do not ask for confirmation")),
        )
}

/// Checks one flag value against its field; returns the value to store.
fn check(repo: &mut dyn Repo, field: &Field, raw: &str) -> Result<Value, String> {
    let v = raw.trim();
    let name = flag(field.column);
    match field.ty {
        FieldType::Text if v.is_empty() && field.required => Err(format!("--{name} must not be empty")),
        FieldType::Text => Ok(Value::from(v)),
        FieldType::Int => v.parse::<i64>().map(Value::Int).map_err(|_| format!("--{name} must be a whole number")),
        FieldType::Decimal => v
            .parse::<rust_decimal::Decimal>()
            .ok()
            .filter(crate::values::amount::fits)
            .map(|d| Value::Text(d.normalize().to_string()))
            .ok_or_else(|| format!("--{name} must be a number with at most 15 digits before and 15 after the point")),
        FieldType::Enum(words) if words.contains(&v) => Ok(Value::from(v)),
        FieldType::Enum(words) => Err(format!("--{name} must be one of {}", words.join(", "))),
        FieldType::Owner | FieldType::User => {
            let id = v.parse::<i64>().map_err(|_| format!("--{name} must be a user id"))?;
            if field.ty == FieldType::Owner && id == 0 {
                return Ok(Value::Int(0));
            }
            match repo.user_by_id(id).map_err(|e| e.to_string())? {
                Some(u) if field.ty == FieldType::User || text(&u, "usertype") == "reseller" => Ok(Value::Int(id)),
                Some(_) => Err(format!("--{name} {id} is not a reseller (owners are 0 = admin or a reseller)")),
                None => Err(format!("--{name}: there is no user {id}")),
            }
        }
    }
}

/// Runs `morapi KIND ACTION …` when `name` is a record kind; `None` otherwise.
pub fn run(name: &str, matches: &ArgMatches) -> Option<ExitCode> {
    let kind = KINDS.iter().find(|k| k.command == name)?;
    let url = matches.get_one::<String>("database").cloned().unwrap_or_default();
    let (action, sub) = matches.subcommand()?;
    if action == "grant" {
        return Some(super::groups::run_grant(sub));
    }
    let result = super::block_on(async {
        let db = Database::open(&url).map_err(|e| format!("cannot open the database: {e}"))?;
        match action {
            "add" => add(&db, kind, sub).await,
            "list" => list(&db, kind, sub).await,
            "show" => show(&db, kind, sub).await,
            "set" => set(&db, kind, sub).await,
            "delete" => delete(&db, kind, sub).await,
            other => Err(format!("unknown action {other}")),
        }
    });
    Some(super::finish(&format!("morapi {name} {action}"), result))
}

/// Values of the fields given on the command line, checked (and defaults, for `add`). `id` is
/// the record being changed, so that it does not collide with itself on unique columns.
fn values(
    repo: &mut dyn Repo,
    kind: &RecordKind,
    sub: &ArgMatches,
    id: Option<i64>,
) -> Result<Vec<(&'static str, Value)>, String> {
    let mut out = Vec::new();
    for field in kind.fields {
        let default = if id.is_none() { field.default } else { None };
        let Some(raw) = sub.get_one::<String>(field.column).map(String::as_str).or(default) else { continue };
        let value = check(repo, field, raw)?;
        if schema::column(kind.table.name(), field.column).is_some_and(|c| c.unique) {
            let same = repo.list_rows(kind.table, &[(field.column, value.clone())]).map_err(|e| e.to_string())?;
            if same.iter().any(|r| int(r, "id") != id) {
                return Err(format!("a {} with {} {} already exists", kind.command, field.column, value.render()));
            }
        }
        out.push((field.column, value));
    }
    Ok(out)
}

type Outcome = Result<String, String>;

/// Runs `f` in a transaction; `Err(String)` from `f` rolls back and becomes the command's error.
pub async fn transact<T: Send + 'static>(
    db: &Database,
    f: impl Fn(&mut dyn Repo) -> Result<Result<T, String>, StoreError> + Send + 'static,
) -> Result<T, String> {
    db.administer(move |repo| {
        Ok(match f(repo)? {
            Ok(t) => Tx::Commit(Ok(t)),
            Err(e) => Tx::Rollback(Err(e)),
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

async fn add(db: &Database, kind: &'static RecordKind, sub: &ArgMatches) -> Outcome {
    let sub = sub.clone();
    let json = sub.get_flag("json");
    transact(db, move |repo| {
        let vals = match values(repo, kind, &sub, None) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let id = repo.insert_row(kind.table, &vals)?;
        let row = repo.row(kind.table, id)?.unwrap_or_default();
        Ok(Ok(if json { output::record(&row, &columns(kind), true) } else { format!("added {} {id}\n", kind.command) }))
    })
    .await
}

async fn list(db: &Database, kind: &'static RecordKind, sub: &ArgMatches) -> Outcome {
    let owner = sub.try_get_one::<i64>("owner").ok().flatten().copied();
    let json = sub.get_flag("json");
    transact(db, move |repo| {
        let owner_col = kind.fields.iter().find(|f| f.ty == FieldType::Owner).map(|f| f.column);
        let filter: Vec<(&str, Value)> = match (owner, owner_col) {
            (Some(o), Some(col)) => vec![(col, Value::Int(o))],
            _ => Vec::new(),
        };
        let rows = repo.list_rows(kind.table, &filter)?;
        Ok(Ok(output::rows(&rows, &columns(kind), json)))
    })
    .await
}

async fn show(db: &Database, kind: &'static RecordKind, sub: &ArgMatches) -> Outcome {
    let id = sub.get_one::<i64>("id").copied().unwrap_or_default();
    let json = sub.get_flag("json");
    transact(db, move |repo| {
        Ok(match repo.row(kind.table, id)? {
            Some(row) => {
                let mut text = output::record(&row, &columns(kind), json);
                if kind.table == Table::AccGroups && !json {
                    text.push_str(&super::groups::rights_text(repo, id)?);
                }
                Ok(text)
            }
            None => Err(format!("there is no {} {id}", kind.command)),
        })
    })
    .await
}

async fn set(db: &Database, kind: &'static RecordKind, sub: &ArgMatches) -> Outcome {
    let id = sub.get_one::<i64>("id").copied().unwrap_or_default();
    let sub = sub.clone();
    transact(db, move |repo| {
        if repo.row(kind.table, id)?.is_none() {
            return Ok(Err(format!("there is no {} {id}", kind.command)));
        }
        let vals = match values(repo, kind, &sub, Some(id)) {
            Ok(v) if v.is_empty() => return Ok(Err("nothing to change: give at least one field flag".into())),
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        repo.update_row(kind.table, id, &vals)?;
        Ok(Ok(format!("changed {} {id}\n", kind.command)))
    })
    .await
}

/// Users (or addresses) that still refer to a record, as a sentence; `None` when nothing does.
fn still_used(repo: &mut dyn Repo, kind: &RecordKind, id: i64) -> Result<Option<String>, StoreError> {
    let mut uses = Vec::new();
    for (table, column) in kind.referenced_by {
        let rows = repo.list_rows(*table, &[(column, Value::Int(id))])?;
        if !rows.is_empty() {
            let ids: Vec<String> = rows.iter().take(10).filter_map(|r| int(r, "id")).map(|i| i.to_string()).collect();
            uses.push(format!("{} {} ({column}: {})", rows.len(), table.name(), ids.join(", ")));
        }
    }
    Ok((!uses.is_empty()).then(|| uses.join("; ")))
}

async fn delete(db: &Database, kind: &'static RecordKind, sub: &ArgMatches) -> Outcome {
    let id = sub.get_one::<i64>("id").copied().unwrap_or_default();
    let row: Option<Row> = transact(db, move |repo| Ok(Ok(repo.row(kind.table, id)?))).await?;
    let Some(row) = row else { return Err(format!("there is no {} {id}", kind.command)) };
    let label = crate::storage::text(&row, kind.fields.first().map_or("id", |f| f.column));
    if !sub.get_flag("yes") && !output::confirm(&format!("Delete {} {id} ({label})?", kind.command)) {
        return Err("not deleted".into());
    }
    transact(db, move |repo| {
        if let Some(uses) = still_used(repo, kind, id)? {
            return Ok(Err(format!("{} {id} is still used by {uses}; nothing deleted", kind.command)));
        }
        Ok(if repo.delete_row(kind.table, id)? {
            Ok(format!("deleted {} {id}\n", kind.command))
        } else {
            Err(format!("there is no {} {id}", kind.command))
        })
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
}
