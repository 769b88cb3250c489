//! `morapi user`: billing users (simple users, resellers, accountants). Field changes of an
//! existing user go through the API (`morapi call … user_details_update`), so they follow the
//! same rules; this command creates, lists, shows, sets passwords, moves users between owners
//! and groups (what the API cannot do) and deletes (by `user_delete`'s own rules). Its changes
//! are audited in the transaction that makes them, as the API's are: `create` rows for the user,
//! address and tax row `add` makes, `delete` rows with the whole rows `delete` removes, `change`
//! rows for `set` and `passwd` (the password as `changed`).

use super::db::{ActorArgs, DbArgs, owner_problem, transact};
use super::{output, run};
use crate::domain::audit::Actor;
use crate::domain::{Failure, Outcome, Refusal, User, UserType, rules};
use crate::lifecycle::{self, delete::Deleter};
use crate::storage::{AdminStore, Database, Row, StoreError, Table, Value, text};
use crate::update::record_changes;
use anyhow::bail;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub actor: ActorArgs,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Create a user; prints his new uniquehash. Resellers and accountants belong to the admin
    /// (owner 0).
    Add(AddOpts),
    /// List users.
    List {
        /// Only users of this owner (0 = admin, or a reseller's id).
        #[arg(long)]
        owner: Option<i64>,
        /// Only users of this type: admin, user, reseller, accountant or partner.
        #[arg(long, value_parser = any_type)]
        r#type: Option<UserType>,
        #[arg(long)]
        json: bool,
    },
    /// Show one user (by id or username) with his uniquehash, address and taxes.
    Show {
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password: asked twice on the terminal, or one line from standard input.
    Passwd {
        user: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Move a simple user to another owner, or change a reseller's or accountant's group: the
    /// edits the API does not offer. Audited like API changes (endpoint `user set`).
    Set {
        user: String,
        /// New owner: 0 (the admin) or a reseller's id (simple users only).
        #[arg(long)]
        owner: Option<i64>,
        /// New group: an accountant group for accountants, a reseller group for resellers.
        #[arg(long)]
        group: Option<i64>,
    },
    /// Delete a user as the API's user_delete does: refused while anything would be left naming
    /// him (users, tariffs, LCRs, …); his devices with their caller ids, settings, address and
    /// taxes go with him; the audit trail keeps every removed row.
    Delete {
        user: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// Any user type, by its word.
fn any_type(word: &str) -> Result<UserType, String> {
    UserType::from_word(word).ok_or_else(|| {
        let words: Vec<&str> = UserType::ALL.iter().map(|t| t.word()).collect();
        format!("expected one of {}", words.join(", "))
    })
}

/// The user types `user add` creates (the admin exists once; partners are not managed here).
fn creatable_type(word: &str) -> Result<UserType, String> {
    match UserType::from_word(word) {
        Some(t @ (UserType::User | UserType::Reseller | UserType::Accountant)) => Ok(t),
        _ => Err("expected one of user, reseller, accountant".into()),
    }
}

#[derive(Debug, Args)]
pub struct AddOpts {
    #[arg(long)]
    pub username: String,
    /// The user type: user, reseller or accountant.
    #[arg(long = "type", default_value = "user", value_parser = creatable_type)]
    pub usertype: UserType,
    /// Owner: 0 (the admin) or a reseller's id (simple users only).
    #[arg(long, default_value_t = 0)]
    pub owner: i64,
    #[arg(long, default_value = "")]
    pub first_name: String,
    #[arg(long, default_value = "")]
    pub last_name: String,
    #[arg(long)]
    pub email: Option<String>,
    /// Accountant group (accountants) or reseller group (resellers).
    #[arg(long)]
    pub group: Option<i64>,
    /// Ask for a password on the terminal.
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: bool,
    /// Read the password from one line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    #[arg(long)]
    pub json: bool,
}

/// Columns `user list` shows.
const LIST_COLUMNS: &[&str] =
    &["id", "username", "usertype", "owner_id", "first_name", "last_name", "blocked", "acc_group_id"];

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let actor = opts.actor.clone();
    let text = run::block_on(async move {
        let db = opts.db.open()?;
        match opts.action {
            Action::Add(a) => add(&db, actor.actor("user add")?, a).await,
            Action::List { owner, r#type, json } => {
                transact(&db, move |repo| {
                    let mut filter: Vec<(&str, Value)> = Vec::new();
                    if let Some(o) = owner {
                        filter.push(("owner_id", o.into()));
                    }
                    if let Some(t) = &r#type {
                        filter.push(("usertype", t.word().into()));
                    }
                    Ok(output::rows(&repo.list_rows(Table::Users, &filter)?, LIST_COLUMNS, json))
                })
                .await
            }
            Action::Show { user, json } => transact(&db, move |repo| show(repo, &user, json)).await,
            Action::Passwd { user, password_stdin } => {
                passwd(&db, actor.actor("user passwd")?, user, password_stdin).await
            }
            Action::Set { user, owner, group } => {
                let actor = actor.actor("user set")?;
                transact(&db, move |repo| set(repo, &actor, &user, owner, group)).await
            }
            Action::Delete { user, yes } => delete(&db, actor.actor("user delete")?, user, yes).await,
        }
    })?;
    print!("{text}");
    Ok(())
}

/// A user by id or username.
fn find(repo: &mut dyn AdminStore, user: &str) -> Result<Option<User>, StoreError> {
    let row = match user.parse::<i64>() {
        Ok(id) => repo.user_by_id(id)?,
        Err(_) => repo.user_by_username(user)?,
    };
    Ok(row.and_then(User::from_row))
}

/// The password's Argon2id hash, if it passes the rules of the API (for a user whose settings
/// come from `settings_owner`).
fn hash_password(repo: &mut dyn AdminStore, settings_owner: i64, plain: &str) -> anyhow::Result<String> {
    let problems = rules::password_problems(repo, settings_owner, plain)?;
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    crate::password::hash(plain).map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

async fn add(db: &Database, actor: Actor, a: AddOpts) -> anyhow::Result<String> {
    let password = if a.password || a.password_stdin { Some(output::read_password(a.password_stdin)?) } else { None };
    transact(db, move |repo| {
        let username = a.username.trim();
        if a.owner != 0 && a.usertype != UserType::User {
            bail!("a {} belongs to the admin: use --owner 0", a.usertype.word());
        }
        if let Some(problem) = owner_problem(repo, a.owner)? {
            bail!("--owner {}: {problem}", a.owner);
        }
        // The API's rules, with the settings of the user's owner.
        let settings_owner = rules::settings_owner(repo, a.owner)?;
        let problems = rules::username_problems(repo, settings_owner, username, None)?;
        if !problems.is_empty() {
            bail!("--username {username}: {}", problems.join("; "));
        }
        if let Some(g) = a.group {
            // A group's type is the word of the user type it is for.
            let wanted =
                if a.usertype == UserType::Reseller { UserType::Reseller } else { UserType::Accountant }.word();
            match repo.row(Table::AccGroups, g)? {
                Some(row) if text(&row, "group_type") == wanted && a.usertype != UserType::User => {}
                Some(_) => bail!("group {g} is not a {wanted} group (or the user type has none)"),
                None => bail!("there is no group {g}"),
            }
        }
        if let Some(e) = a.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            let problems = rules::email_problems(repo, e, None)?;
            if !problems.is_empty() {
                bail!("--email {e}: {}", problems.join("; "));
            }
        }
        let hashed = match &password {
            Some(p) => hash_password(repo, settings_owner, p)?,
            None => String::new(),
        };
        let address = repo
            .insert_row(Table::Addresses, &[("email", a.email.as_deref().map_or(Value::Null, |e| e.trim().into()))])?;
        let tax = repo.insert_row(Table::Taxes, &[])?;
        let id = repo.insert_row(
            Table::Users,
            &[
                ("username", username.into()),
                ("usertype", a.usertype.word().into()),
                ("owner_id", a.owner.into()),
                ("first_name", a.first_name.trim().into()),
                ("last_name", a.last_name.trim().into()),
                ("acc_group_id", a.group.unwrap_or(0).into()),
                ("password", hashed.into()),
                ("address_id", address.into()),
                ("tax_id", tax.into()),
            ],
        )?;
        let row = repo.user_by_id(id)?.unwrap_or_default();
        let mut audit = vec![actor.created(Table::Users.name(), Some(id), &row)];
        for (table, linked) in [(Table::Addresses, address), (Table::Taxes, tax)] {
            let linked = repo.row(table, linked)?.unwrap_or_default();
            audit.push(actor.created(table.name(), Some(id), &linked));
        }
        repo.insert_audit(&audit)?;
        let columns: Vec<&str> = LIST_COLUMNS.iter().copied().chain(["uniquehash"]).collect();
        if a.json {
            return Ok(output::record(&row, &columns, true));
        }
        // The operator hands the uniquehash on (user_register's `id`, users_get): shown here and
        // by `user show`, never by the API or the audit trail.
        let uniquehash = text(&row, "uniquehash");
        Ok(format!("added {} {username} with id {id}, uniquehash {uniquehash}\n", a.usertype.word()))
    })
    .await
}

fn show(repo: &mut dyn AdminStore, user: &str, json: bool) -> anyhow::Result<String> {
    let Some(u) = find(repo, user)? else { bail!("there is no user {user}") };
    let mut row: Row = u.columns.clone();
    // Never shown, not even hashed. The `uniquehash` is shown: the operator hands it on.
    row.remove("password");
    let mut merge = |prefix: &str, other: Option<Row>| {
        for (k, v) in other.unwrap_or_default() {
            if k != "id" {
                row.insert(format!("{prefix}.{k}"), v);
            }
        }
    };
    let address = match u.address_id {
        Some(id) => repo.row(Table::Addresses, id)?,
        None => None,
    };
    merge("address", address);
    let taxes = match u.tax_id {
        Some(id) => repo.row(Table::Taxes, id)?,
        None => None,
    };
    merge("taxes", taxes);
    let columns: Vec<&str> = row.keys().map(String::as_str).collect();
    Ok(output::record(&row, &columns, json))
}

async fn passwd(db: &Database, actor: Actor, user: String, from_stdin: bool) -> anyhow::Result<String> {
    let plain = output::read_password(from_stdin)?;
    transact(db, move |repo| {
        let Some(u) = find(repo, &user)? else { bail!("there is no user {user}") };
        let settings_owner = rules::settings_owner(repo, u.owner_id)?;
        let hashed = hash_password(repo, settings_owner, &plain)?;
        let mut audited = Vec::new();
        let change = record_changes(&mut audited, None, &u.columns, vec![("password", Value::from(hashed))]);
        repo.update_row(Table::Users, u.id, &change)?;
        repo.insert_audit(&actor.changed(Some(u.id), audited))?;
        Ok(format!("password of {} changed\n", u.username))
    })
    .await
}

fn set(
    repo: &mut dyn AdminStore,
    actor: &Actor,
    user: &str,
    owner: Option<i64>,
    group: Option<i64>,
) -> anyhow::Result<String> {
    let Some(u) = find(repo, user)? else { bail!("there is no user {user}") };
    if owner.is_none() && group.is_none() {
        bail!("nothing to change: give --owner or --group");
    }
    let mut changes: Vec<(&str, Value)> = Vec::new();
    if let Some(o) = owner {
        if u.user_type != UserType::User {
            bail!("a {} always belongs to the admin", u.user_type.word());
        }
        if let Some(problem) = owner_problem(repo, o)? {
            bail!("--owner {o}: {problem}");
        }
        changes.push(("owner_id", o.into()));
    }
    if let Some(g) = group {
        let wanted = match u.user_type {
            UserType::Reseller | UserType::Accountant => u.user_type.word(),
            other => bail!("a {} has no group", other.word()),
        };
        match repo.row(Table::AccGroups, g)? {
            Some(row) if text(&row, "group_type") == wanted => changes.push(("acc_group_id", g.into())),
            Some(_) => bail!("group {g} is not a group of {wanted}s"),
            None if g == 0 => changes.push(("acc_group_id", 0.into())),
            None => bail!("there is no group {g}"),
        }
    }
    let mut audited = Vec::new();
    let changes = record_changes(&mut audited, None, &u.columns, changes);
    if changes.is_empty() {
        return Ok(format!("user {} ({}) unchanged: it already has these values\n", u.id, u.username));
    }
    repo.update_row(Table::Users, u.id, &changes)?;
    repo.insert_audit(&actor.changed(Some(u.id), audited))?;
    Ok(format!("changed user {} ({})\n", u.id, u.username))
}

/// `user delete`: `user_delete`'s own steps 5–7 ([`lifecycle::delete`]), the operator acting as
/// the admin who also sees resellers' users. The checks run before asking, so a delete they would
/// refuse is never confirmed first; they run again with the delete.
async fn delete(db: &Database, actor: Actor, user: String, yes: bool) -> anyhow::Result<String> {
    let lookup = user.clone();
    let found = transact(db, move |repo| {
        let Some(u) = find(repo, &lookup)? else { bail!("there is no user {lookup}") };
        refused(lifecycle::delete::check(repo, &u, Deleter::Operator))?;
        Ok(u)
    })
    .await?;
    if !yes && !output::confirm(&format!("Delete user {} ({})?", found.id, found.username)) {
        bail!("not deleted");
    }
    transact(db, move |repo| {
        let Some(u) = repo.user_for_update(found.id)?.and_then(User::from_row) else {
            bail!("there is no user {}", found.id)
        };
        refused(lifecycle::delete::delete(repo, &actor, &u, Deleter::Operator))?;
        Ok(format!("deleted user {} ({})\n", u.id, u.username))
    })
    .await
}

/// A method's outcome as a command's: a storage error stays one (so that `transact` retries or
/// reports it), a refusal becomes its text, every problem it lists included, and `nothing deleted`.
fn refused(outcome: Outcome<()>) -> anyhow::Result<()> {
    let refusal = match outcome {
        Ok(()) => return Ok(()),
        Err(Failure::Store(e)) => return Err(e.into()),
        Err(Failure::Internal(e)) => bail!("{e}"),
        Err(Failure::Refused(r)) => r,
    };
    let problems = match refusal {
        Refusal::Page { error, messages } => std::iter::once(error.text().to_string()).chain(messages).collect(),
        Refusal::Problems(problems) => problems,
        Refusal::Gate(e) | Refusal::HashRefused(e) => vec![e.text().to_string()],
        Refusal::Counted(e) => vec![e.text().to_string()],
        Refusal::Locked { seconds } => vec![crate::catalogue::errors::msg::locked(seconds)],
    };
    bail!("{}; nothing deleted", problems.join("; "))
}
