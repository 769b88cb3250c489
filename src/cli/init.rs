//! `morapi init`: a new database with its admin and a strong API key, printed once. What it
//! creates is audited like every other change (`create` rows, `setting` rows; endpoint `init`).

use super::db::{ActorArgs, DbArgs, transact};
use super::run;
use super::settings::{new_key, store_key, write};
use crate::catalogue::rights::RIGHTS;
use crate::settings::Setting;
use crate::storage::Table;
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "A database that already has users is refused; nothing is changed there.")]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub actor: ActorArgs,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let shown = opts.db.shown();
    let actor = opts.actor.actor("init")?;
    let text = run::block_on(async move {
        let db = opts.db.open()?;
        // 256 random bits: a key nobody guesses, in hex so any client can type it.
        let key = new_key();
        let stored = key.clone();
        transact(&db, move |repo| {
            if repo.user_count()? > 0 {
                anyhow::bail!("this database already has users; nothing changed");
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
            let admin = repo.user_by_id(0)?.unwrap_or_default();
            let mut audit = vec![actor.created(Table::Users.name(), Some(0), &admin)];
            for r in RIGHTS {
                let id =
                    repo.insert_row(Table::AccRights, &[("name", r.name.into()), ("right_type", r.right_type.into())])?;
                let row = repo.row(Table::AccRights, id)?.unwrap_or_default();
                audit.push(actor.created(Table::AccRights.name(), None, &row));
            }
            repo.insert_audit(&audit)?;
            store_key(repo, &actor, 0, Setting::ApiSecretKey, &stored, false)?;
            write(repo, &actor, 0, Setting::AllowApi, "1")?;
            Ok(())
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
            shown
        ))
    })?;
    print!("{text}");
    Ok(())
}
