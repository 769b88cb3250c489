//! `morapi group grant`: the rights of accountant and reseller groups (the rest of `group` is a
//! record kind in `records.rs`). Audited as records are: a `create` row for a right the group did
//! not have (and for the right's own row, made on first use), a `change` row
//! `acc_group_rights:ID.value` for one it had.

use super::db::{DbArgs, transact};
use super::run;
use crate::catalogue::rights::{self, RIGHTS};
use crate::domain::audit::{self, Actor};
use crate::storage::{AdminStore, StoreError, Table, Value, int, text};
use crate::update::record_changes;
use anyhow::bail;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgMatches, Args, Command, FromArgMatches};

/// `group grant GROUP RIGHT VALUE`.
#[derive(Debug, Args)]
// No `about` from the doc comment: it would replace the about of the command it is added to.
#[command(about = None, long_about = None)]
struct Grant {
    /// Group id
    group: i64,
    /// Right name
    #[arg(value_parser = PossibleValuesParser::new(RIGHTS.iter().map(|r| r.name)))]
    right: String,
    /// 0, 1 or 2
    #[arg(value_parser = PossibleValuesParser::new(["0", "1", "2"]).try_map(|v| v.parse::<i64>()))]
    value: i64,
}

/// `group grant`, added to the `group` record command.
pub fn grant_command() -> Command {
    Grant::augment_args(Command::new("grant"))
        .about("Set a right of a group: 0 = none, 1 = view, 2 = edit")
        .after_help(RIGHTS.iter().map(|r| format!("  {:20} {}\n", r.name, r.description)).collect::<String>())
}

/// The rights of a group as `right  value` lines (for `group show`).
pub fn rights_text(repo: &mut dyn AdminStore, group: i64) -> Result<String, StoreError> {
    let mut out = String::from("rights:\n");
    let rights = repo.group_rights(group)?;
    for r in RIGHTS {
        let value = rights.value(r.name);
        let note = if rights.only_view && value == 2 { " (counts as 1: view-only group)" } else { "" };
        out.push_str(&format!("  {:20} {value}{note}\n", r.name));
    }
    Ok(out)
}

/// Runs `morapi group grant` on the database `db` of the `group` command.
pub fn run_grant(db: DbArgs, actor: Actor, matches: &ArgMatches) -> anyhow::Result<()> {
    let Grant { group, right, value } = Grant::from_arg_matches(matches)?;
    let text = run::block_on(async move {
        let db = db.open()?;
        transact(&db, move |repo| grant(repo, &actor, group, &right, value)).await
    })?;
    print!("{text}");
    Ok(())
}

fn grant(repo: &mut dyn AdminStore, actor: &Actor, group: i64, right: &str, value: i64) -> anyhow::Result<String> {
    let Some(def) = rights::find(right) else { bail!("unknown right {right}") };
    let Some(g) = repo.row(Table::AccGroups, group)? else { bail!("there is no group {group}") };
    if text(&g, "group_type") != def.right_type {
        bail!("{right} is a right of {} groups; group {group} is a {} group", def.right_type, text(&g, "group_type"));
    }
    // The group's owner, if a reseller: the user its rows belong to.
    let target = int(&g, "owner_id").filter(|o| *o != 0);
    let mut audit = Vec::new();
    // The right's row is created on first use, so a fresh database needs no seeding.
    let right_id =
        match repo.list_rows(Table::AccRights, &[("name", Value::from(right))])?.first().and_then(|r| int(r, "id")) {
            Some(id) => id,
            None => {
                let id = repo
                    .insert_row(Table::AccRights, &[("name", right.into()), ("right_type", def.right_type.into())])?;
                let row = repo.row(Table::AccRights, id)?.unwrap_or_default();
                audit.push(actor.created(Table::AccRights.name(), None, &row));
                id
            }
        };
    let existing =
        repo.list_rows(Table::AccGroupRights, &[("acc_group_id", group.into()), ("acc_right_id", right_id.into())])?;
    match existing.into_iter().find_map(|r| Some((int(&r, "id")?, r))) {
        Some((id, old)) => {
            let mut changed = Vec::new();
            let field = audit::record(Table::AccGroupRights.name(), id);
            let columns = record_changes(&mut changed, Some(&field), &old, vec![("value", value.into())]);
            if !columns.is_empty() {
                repo.update_row(Table::AccGroupRights, id, &columns)?;
                audit.extend(actor.changed(target, changed));
            }
        }
        None => {
            let id = repo.insert_row(
                Table::AccGroupRights,
                &[("acc_group_id", group.into()), ("acc_right_id", right_id.into()), ("value", value.into())],
            )?;
            let row = repo.row(Table::AccGroupRights, id)?.unwrap_or_default();
            audit.push(actor.created(Table::AccGroupRights.name(), target, &row));
        }
    }
    repo.insert_audit(&audit)?;
    Ok(format!("group {group}: {right} = {value}\n"))
}
