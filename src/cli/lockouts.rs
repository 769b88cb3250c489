//! `morapi lockouts`: the counted refusals and the locks they started (docs/contract.md §4),
//! and lifting a lock by hand. A lifted lock is audited in the transaction that lifts it: one
//! `change` row per lock, `field` `refusals:ADDRESS/NAME.locked_until` (`refusals:ADDRESS.…` for
//! an address's lock), the lock's end → the time it was lifted.

use super::db::{ActorArgs, DbArgs, transact};
use super::run::{self, Usage};
use crate::domain::audit::Actor;
use crate::storage::{AuditEvent, RefusalFilter, RefusalRow, RefusalScope};
use crate::values::AuditTime;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub actor: ActorArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Refused credentials counted per client address, name and window, newest first, with the
    /// locks they started; `--locked` for the locks in force only.
    List(ListOpts),
    /// Lift the locks in force of a name (from every address, or from `--addr`) or of an address.
    Clear(ClearOpts),
}

#[derive(Debug, clap::Args)]
pub struct ListOpts {
    /// Only this name (`u` as it was sent).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Only this client address.
    #[arg(long, value_name = "ADDRESS")]
    pub addr: Option<String>,
    /// Only rows whose lock is in force now.
    #[arg(long)]
    pub locked: bool,
    /// At most this many rows.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ClearOpts {
    /// The locked name (`u` as it was sent).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The client address: with `--user`, only that pair; alone, every lock of the address.
    #[arg(long, value_name = "ADDRESS")]
    pub addr: Option<String>,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let db = opts.db.open()?;
    let now = AuditTime::now().unix();
    match opts.action {
        Action::List(o) => {
            let filter = RefusalFilter {
                name: o.user,
                client_addr: o.addr,
                locked_after: o.locked.then_some(now),
                limit: Some(o.limit),
            };
            let rows = run::block_on(transact(&db, move |repo| Ok(repo.refusals(&filter)?)))?;
            print!("{}", if o.json { json(&rows, now) } else { table(&rows, now) });
            Ok(())
        }
        Action::Clear(o) => {
            if o.user.is_none() && o.addr.is_none() {
                return Err(Usage("say whose locks to lift: --user NAME, --addr ADDRESS, or both".into()).into());
            }
            let actor = opts.actor.actor("lockouts clear")?;
            let filter = RefusalFilter { name: o.user, client_addr: o.addr, ..RefusalFilter::default() };
            let cleared = run::block_on(transact(&db, move |repo| {
                let in_force = RefusalFilter { locked_after: Some(now), ..filter.clone() };
                let locks = repo.refusals(&in_force)?;
                let cleared = repo.clear_locks(&filter, now)?;
                let lifted = AuditTime::from_unix(now).stored();
                let audit: Vec<_> = locks.iter().map(|r| lifted_row(&actor, r, &lifted)).collect();
                repo.insert_audit(&audit)?;
                Ok(cleared)
            }))?;
            println!("{cleared} lock(s) lifted");
            Ok(())
        }
    }
}

/// The most characters of a name the audit row's `field` holds (it is limited to 255).
const FIELD_NAME_CHARS: usize = 64;

/// The audit row of a lock lifted by hand: `refusals:ADDRESS/NAME.locked_until` (the name cut to
/// [`FIELD_NAME_CHARS`]), the lock's end → when it was lifted.
fn lifted_row(actor: &Actor, r: &RefusalRow, lifted: &str) -> crate::storage::AuditEntry {
    let key = match r.scope {
        RefusalScope::Address => r.client_addr.clone(),
        RefusalScope::Name if r.name.chars().count() > FIELD_NAME_CHARS => {
            format!("{}/{}…", r.client_addr, r.name.chars().take(FIELD_NAME_CHARS).collect::<String>())
        }
        RefusalScope::Name => format!("{}/{}", r.client_addr, r.name),
    };
    actor.entry(
        AuditEvent::Change,
        None,
        format!("refusals:{key}.locked_until"),
        Some(AuditTime::from_unix(r.locked_until).stored()),
        Some(lifted.to_string()),
    )
}

/// Who a row counts for: the name, or the address alone.
fn key(r: &RefusalRow) -> String {
    match r.scope {
        RefusalScope::Name => r.name.chars().filter(|c| !c.is_control()).collect(),
        RefusalScope::Address => "(any name)".into(),
    }
}

/// The lock of a row as shown: until when, and whether it is still in force.
fn lock(r: &RefusalRow, now: i64) -> String {
    match r.locked_until {
        0 => "-".into(),
        t if t > now => format!("until {} ({}s left)", AuditTime::from_unix(t).stored(), t - now),
        t => format!("ended {}", AuditTime::from_unix(t).stored()),
    }
}

fn table(rows: &[RefusalRow], now: i64) -> String {
    if rows.is_empty() {
        return "no refusals recorded\n".into();
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["client", "name", "refused", "first (UTC)", "last (UTC)", "lock", "last refusal"]);
    for r in rows {
        t.add_row(vec![
            r.client_addr.clone(),
            key(r),
            r.count.to_string(),
            r.first_at.clone(),
            r.last_at.clone(),
            lock(r, now),
            format!("{}: {}", r.endpoint, r.last_error),
        ]);
    }
    format!("{t}\n")
}

fn json(rows: &[RefusalRow], now: i64) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "client_addr": r.client_addr,
                "scope": r.scope.stored(),
                "name": r.name,
                "window_start": AuditTime::from_unix(r.window_start).stored(),
                "count": r.count,
                "first_at": r.first_at,
                "last_at": r.last_at,
                "locked_until": (r.locked_until > 0).then(|| AuditTime::from_unix(r.locked_until).stored()),
                "locked": r.locked_until > now,
                "endpoint": r.endpoint,
                "last_error": r.last_error,
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(list))
}
