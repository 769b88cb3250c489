//! `morapi settings`: API settings per owner (0 = admin/global, or a reseller's id).

use super::db::{DbArgs, transact};
use super::{output, run};
use crate::settings::Setting;
use crate::storage::{AdminStore, Row, StoreError};
use anyhow::bail;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
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

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let owner = opts.owner;
    let text = run::block_on(async move {
        let db = opts.db.open()?;
        match opts.action {
            Action::List { json, show_secrets } => {
                transact(&db, move |repo| {
                    check_owner(repo, owner, None)?;
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
                    Ok(output::rows(&rows, &["name", "value", "meaning"], json))
                })
                .await
            }
            Action::Get { name, show_secrets } => {
                transact(&db, move |repo| {
                    let s = setting(&name)?;
                    check_owner(repo, owner, Some(s))?;
                    Ok(format!("{}\n", shown(s, &s.read(repo, owner)?, show_secrets)))
                })
                .await
            }
            Action::Set { name, value } => transact(&db, move |repo| set(repo, owner, &name, &value)).await,
        }
    })?;
    print!("{text}");
    Ok(())
}

fn setting(name: &str) -> anyhow::Result<Setting> {
    let Some(s) = Setting::by_name(name) else {
        let names: Vec<&str> = Setting::ALL.iter().map(|s| s.name()).collect();
        bail!("unknown setting {name:?}; settings are: {}", names.join(", "))
    };
    Ok(s)
}

fn shown(s: Setting, value: &str, show_secrets: bool) -> String {
    if s.secret() && !show_secrets && !value.is_empty() { "***".into() } else { value.to_string() }
}

/// Owner 0, or a reseller; global-only settings only for owner 0.
fn check_owner(repo: &mut dyn AdminStore, owner: i64, s: Option<Setting>) -> anyhow::Result<()> {
    if owner != 0 && !super::db::is_reseller(repo, owner)? {
        bail!("--owner {owner} is not a reseller (settings belong to 0 = admin or a reseller)");
    }
    if let Some(s) = s
        && owner != 0
        && s.global_only()
    {
        bail!("{} is a global setting: use --owner 0", s.name());
    }
    Ok(())
}

fn set(repo: &mut dyn AdminStore, owner: i64, name: &str, raw: &str) -> anyhow::Result<String> {
    let s = setting(name)?;
    check_owner(repo, owner, Some(s))?;
    let value = s.check(raw).map_err(anyhow::Error::msg)?;
    // As in MOR, the API cannot be on without a key.
    if s == Setting::AllowApi && s.is_on(&value) && Setting::ApiSecretKey.read(repo, owner)?.is_empty() {
        bail!("Invalid API secret key: set api_secret_key before enabling allow_api");
    }
    if s == Setting::ApiSecretKey && value.is_empty() && Setting::AllowApi.flag(repo, owner)? {
        bail!("the API is enabled: set allow_api to 0 before removing the key");
    }
    repo.set_setting(owner, s.name(), &value)?;
    let shown_value = shown(s, &value, false);
    Ok(format!("{} = {shown_value} (owner {owner})\n", s.name()))
}

/// For `morapi init`: stores settings without the CLI checks (a fresh database).
pub fn store(repo: &mut dyn AdminStore, owner: i64, pairs: &[(Setting, &str)]) -> Result<(), StoreError> {
    for (s, v) in pairs {
        repo.set_setting(owner, s.name(), v)?;
    }
    Ok(())
}
