//! `morapi init`: a new database with its admin and a strong API key, printed once.

use super::records::transact;
use crate::catalogue::rights::RIGHTS;
use crate::settings::Setting;
use crate::storage::{Database, Table, redact};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct Opts {
    /// Database URL; created and migrated. A database that has users is refused.
    #[arg(long, env = "MORAPI_DATABASE", hide_env_values = true, default_value = "sqlite://morapi.db")]
    pub database: String,
}

pub fn run(opts: Opts) -> ExitCode {
    let url = opts.database.clone();
    let result = super::block_on(async move {
        let db = Database::open(&opts.database).map_err(|e| format!("cannot open the database: {e}"))?;
        // 32 random bytes: a key nobody guesses, in hex so any client can type it.
        let key = hex::encode(rand::random::<[u8; 32]>());
        let stored = key.clone();
        transact(&db, move |repo| {
            if repo.user_count()? > 0 {
                return Ok(Err("this database already has users; nothing changed".into()));
            }
            repo.insert_row(
                Table::Users,
                &[
                    ("id", 0.into()),
                    ("username", "admin".into()),
                    ("usertype", "admin".into()),
                    ("owner_id", 0.into()),
                    ("first_name", "System".into()),
                    ("last_name", "Admin".into()),
                ],
            )?;
            for r in RIGHTS {
                repo.insert_row(Table::AccRights, &[("name", r.name.into()), ("right_type", r.right_type.into())])?;
            }
            super::settings::store(repo, 0, &[(Setting::ApiSecretKey, &stored), (Setting::AllowApi, "1")])?;
            Ok(Ok(()))
        })
        .await?;
        Ok(format!(
            "morapi: initialised {}\n\
             admin: id 0, username admin\n\
             API secret key (shown once; store it now): {key}\n\
             \n\
             next steps:\n\
             \x20 morapi user add --username reseller1 --type reseller      # a reseller\n\
             \x20 morapi user add --username customer1 --owner ID            # a user of that reseller\n\
             \x20 morapi settings list                                       # API settings\n\
             \x20 morapi serve                                               # serve the API\n\
             \x20 morapi call http://127.0.0.1:8080 user_details_update -u admin --key KEY user_id=ID u15=0\n",
            redact(&url)
        ))
    });
    super::finish("morapi init", result)
}
