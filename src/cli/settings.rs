//! `morapi settings`: API settings per owner (0 = admin/global, or a reseller's id).

use super::output;
use super::records::transact;
use crate::settings::Setting;
use crate::storage::{Database, Repo, Row, StoreError};
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct Opts {
    #[arg(long, global = true, env = "MORAPI_DATABASE", hide_env_values = true, default_value = "sqlite://morapi.db")]
    pub database: String,
    /// Whose settings: 0 = the admin (global), or a reseller's id.
    #[arg(long, global = true, default_value_t = 0)]
    pub owner: i64,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Every setting of the owner, with defaults for those never set.
    List {
        #[arg(long)]
        json: bool,
        /// Show the API secret key instead of `***`.
        #[arg(long)]
        show_secrets: bool,
    },
    /// One setting.
    Get {
        name: String,
        #[arg(long)]
        show_secrets: bool,
    },
    /// Change one setting (validated; the API cannot be enabled without a key).
    Set { name: String, value: String },
}

pub fn run(opts: Opts) -> ExitCode {
    let owner = opts.owner;
    let result = super::block_on(async move {
        let db = Database::open(&opts.database).map_err(|e| format!("cannot open the database: {e}"))?;
        match opts.action {
            Action::List { json, show_secrets } => {
                transact(&db, move |repo| {
                    if let Err(e) = check_owner(repo, owner, None)? {
                        return Ok(Err(e));
                    }
                    let mut rows = Vec::new();
                    for s in Setting::ALL {
                        if owner != 0 && s.global_only() {
                            continue;
                        }
                        let mut row = Row::new();
                        row.insert("name".into(), s.name().into());
                        row.insert("value".into(), shown(s, &s.read(repo, owner)?, show_secrets).into());
                        row.insert("meaning".into(), s.description().into());
                        rows.push(row);
                    }
                    Ok(Ok(output::rows(&rows, &["name", "value", "meaning"], json)))
                })
                .await
            }
            Action::Get { name, show_secrets } => {
                transact(&db, move |repo| {
                    let s = match setting(&name) {
                        Ok(s) => s,
                        Err(e) => return Ok(Err(e)),
                    };
                    if let Err(e) = check_owner(repo, owner, Some(s))? {
                        return Ok(Err(e));
                    }
                    Ok(Ok(format!("{}\n", shown(s, &s.read(repo, owner)?, show_secrets))))
                })
                .await
            }
            Action::Set { name, value } => transact(&db, move |repo| set(repo, owner, &name, &value)).await,
        }
    });
    super::finish("morapi settings", result)
}

fn setting(name: &str) -> Result<Setting, String> {
    Setting::by_name(name).ok_or_else(|| {
        let names: Vec<&str> = Setting::ALL.iter().map(|s| s.name()).collect();
        format!("unknown setting {name:?}; settings are: {}", names.join(", "))
    })
}

fn shown(s: Setting, value: &str, show_secrets: bool) -> String {
    if s.secret() && !show_secrets && !value.is_empty() { "***".into() } else { value.to_string() }
}

/// Owner 0, or a reseller; global-only settings only for owner 0.
fn check_owner(repo: &mut dyn Repo, owner: i64, s: Option<Setting>) -> Result<Result<(), String>, StoreError> {
    if owner != 0 && repo.user_by_id(owner)?.is_none_or(|u| crate::storage::text(&u, "usertype") != "reseller") {
        return Ok(Err(format!("--owner {owner} is not a reseller (settings belong to 0 = admin or a reseller)")));
    }
    if let Some(s) = s
        && owner != 0
        && s.global_only()
    {
        return Ok(Err(format!("{} is a global setting: use --owner 0", s.name())));
    }
    Ok(Ok(()))
}

fn set(repo: &mut dyn Repo, owner: i64, name: &str, raw: &str) -> Result<Result<String, String>, StoreError> {
    let s = match setting(name) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = check_owner(repo, owner, Some(s))? {
        return Ok(Err(e));
    }
    let value = match s.check(raw) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    // As in MOR, the API cannot be on without a key.
    let api_on = |repo: &mut dyn Repo| Setting::AllowApi.read(repo, owner).map(|v| v == "1");
    let key_empty = |repo: &mut dyn Repo| Setting::ApiSecretKey.read(repo, owner).map(|v| v.is_empty());
    if s == Setting::AllowApi && value == "1" && key_empty(repo)? {
        return Ok(Err("Invalid API secret key: set api_secret_key before enabling allow_api".into()));
    }
    if s == Setting::ApiSecretKey && value.is_empty() && api_on(repo)? {
        return Ok(Err("the API is enabled: set allow_api to 0 before removing the key".into()));
    }
    repo.set_setting(owner, s.name(), &value)?;
    let shown_value = shown(s, &value, false);
    Ok(Ok(format!("{} = {shown_value} (owner {owner})\n", s.name())))
}

/// For `morapi init`: stores settings without the CLI checks (a fresh database).
pub fn store(repo: &mut dyn Repo, owner: i64, pairs: &[(Setting, &str)]) -> Result<(), StoreError> {
    for (s, v) in pairs {
        repo.set_setting(owner, s.name(), v)?;
    }
    Ok(())
}
