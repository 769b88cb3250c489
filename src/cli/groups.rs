//! `morapi group grant`: the rights of accountant and reseller groups (the rest of `group` is a
//! record kind in `records.rs`).

use super::records::transact;
use crate::catalogue::rights::{self, RIGHTS};
use crate::storage::{Database, Repo, StoreError, Table, Value, int, text};
use clap::{Arg, ArgMatches, Command};
use std::process::ExitCode;

/// `group grant GROUP RIGHT VALUE`, added to the `group` record command.
pub fn grant_command() -> Command {
    let names: Vec<&str> = RIGHTS.iter().map(|r| r.name).collect();
    Command::new("grant")
        .about("Set a right of a group: 0 = none, 1 = view, 2 = edit")
        .arg(Arg::new("group").required(true).value_parser(clap::value_parser!(i64)).help("Group id"))
        .arg(Arg::new("right").required(true).value_parser(names).help("Right name"))
        .arg(Arg::new("value").required(true).value_parser(["0", "1", "2"]).help("0, 1 or 2"))
        .after_help(RIGHTS.iter().map(|r| format!("  {:20} {}\n", r.name, r.description)).collect::<String>())
}

/// The rights of a group as `right  value` lines (for `group show`).
pub fn rights_text(repo: &mut dyn Repo, group: i64) -> Result<String, StoreError> {
    let mut out = String::from("rights:\n");
    let rights = repo.group_rights(group)?;
    for r in RIGHTS {
        let value = rights.value(r.name);
        let note = if rights.only_view && value == 2 { " (counts as 1: view-only group)" } else { "" };
        out.push_str(&format!("  {:20} {value}{note}\n", r.name));
    }
    Ok(out)
}

pub fn run_grant(matches: &ArgMatches) -> ExitCode {
    let url = matches.get_one::<String>("database").cloned().unwrap_or_default();
    let group = matches.get_one::<i64>("group").copied().unwrap_or_default();
    let right = matches.get_one::<String>("right").cloned().unwrap_or_default();
    let value: i64 = matches.get_one::<String>("value").and_then(|v| v.parse().ok()).unwrap_or_default();
    let result = super::block_on(async move {
        let db = Database::open(&url).map_err(|e| format!("cannot open the database: {e}"))?;
        transact(&db, move |repo| grant(repo, group, &right, value)).await
    });
    super::finish("morapi group grant", result)
}

fn grant(repo: &mut dyn Repo, group: i64, right: &str, value: i64) -> Result<Result<String, String>, StoreError> {
    let Some(def) = rights::find(right) else { return Ok(Err(format!("unknown right {right}"))) };
    let Some(g) = repo.row(Table::AccGroups, group)? else { return Ok(Err(format!("there is no group {group}"))) };
    if text(&g, "group_type") != def.right_type {
        return Ok(Err(format!(
            "{right} is a right of {} groups; group {group} is a {} group",
            def.right_type,
            text(&g, "group_type")
        )));
    }
    // The right's row is created on first use, so a fresh database needs no seeding.
    let right_id =
        match repo.list_rows(Table::AccRights, &[("name", Value::from(right))])?.first().and_then(|r| int(r, "id")) {
            Some(id) => id,
            None => {
                repo.insert_row(Table::AccRights, &[("name", right.into()), ("right_type", def.right_type.into())])?
            }
        };
    let existing =
        repo.list_rows(Table::AccGroupRights, &[("acc_group_id", group.into()), ("acc_right_id", right_id.into())])?;
    match existing.first().and_then(|r| int(r, "id")) {
        Some(id) => repo.update_row(Table::AccGroupRights, id, &[("value", value.into())])?,
        None => {
            repo.insert_row(
                Table::AccGroupRights,
                &[("acc_group_id", group.into()), ("acc_right_id", right_id.into()), ("value", value.into())],
            )?;
        }
    }
    Ok(Ok(format!("group {group}: {right} = {value}\n")))
}
