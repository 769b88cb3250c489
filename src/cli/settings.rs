//! `morapi settings`: API settings per owner (0 = admin/global, or a reseller's id), and the API
//! keys: made (`generate-key`), rotated without a flag day (`rotate-key`, then `promote-key`),
//! never taken from the command line. Every change is audited (`setting` rows, keys as
//! `changed`), in the transaction that makes it.

use super::db::{ActorArgs, DbArgs, owner_problem, transact};
use super::output::{self, Secret};
use super::run;
use crate::domain::audit::Actor;
use crate::settings::{API_KEY_MIN_CHARS, ColumnRule, Family, Setting, api_key_problem};
use crate::storage::{AdminStore, Row};
use anyhow::bail;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = KEYS_HELP)]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub actor: ActorArgs,
    /// Whose settings: 0 = the admin (global), or a reseller's id.
    #[arg(long, global = true, default_value_t = 0)]
    pub owner: i64,
    #[command(subcommand)]
    pub action: Action,
}

const KEYS_HELP: &str = "API keys (api_secret_key, api_secret_key_next) are never given on the command line:\n  \
morapi settings generate-key --owner N         make one, store it, print it once\n  \
morapi settings set api_secret_key --owner N   type it twice (no echo), or --stdin, or --from-file FILE\n  \
morapi settings rotate-key --owner N           a next key, accepted alongside the current one\n  \
morapi settings promote-key --owner N          the next key becomes the only one\n\
Every change is in the audit trail (morapi audit --event setting); keys show only as changed.";

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Every setting of the owner, with defaults for those never set (a key that is set shows as ***).
    List {
        #[arg(long)]
        json: bool,
        /// Show the API keys instead of `***`.
        #[arg(long)]
        show_secrets: bool,
    },
    /// One setting (a key that is set shows as ***).
    Get {
        name: String,
        /// Show the API key instead of `***`.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Change one setting: `set NAME VALUE`, validated (the API cannot be enabled without a key).
    /// A key is typed at a prompt, or read with --stdin or --from-file, never given as VALUE.
    Set(SetOpts),
    /// Make a new random API key (256 bits, 64 hex characters), store it as the owner's
    /// api_secret_key and print it once, alone on standard output. Refused when the owner has a
    /// key (rotate-key changes it without cutting clients off) unless --replace.
    GenerateKey {
        /// Replace the owner's key at once: clients signing with the old key are refused from now.
        #[arg(long)]
        replace: bool,
    },
    /// Start a key rotation: store a new key as api_secret_key_next (made and printed once, or
    /// read with --stdin or --from-file). Until promote-key, requests signed with either key are
    /// accepted, so clients can move over one by one.
    RotateKey {
        #[command(flatten)]
        key: KeyInput,
        /// Replace a next key already pending.
        #[arg(long)]
        replace: bool,
    },
    /// Finish a key rotation: the next key becomes api_secret_key and api_secret_key_next is
    /// cleared, in one step. Requests signed with the old key are refused from then on.
    PromoteKey,
}

#[derive(Debug, Args)]
pub struct SetOpts {
    /// The setting's name (morapi docs settings lists them).
    pub name: String,
    /// The new value (not for api_secret_key and api_secret_key_next).
    pub value: Option<String>,
    #[command(flatten)]
    pub key: KeyInput,
    /// Remove the key (api_secret_key only while allow_api is 0; api_secret_key_next: abandon a rotation).
    #[arg(long, conflicts_with_all = ["value", "stdin", "from_file", "allow_weak"])]
    pub clear: bool,
}

/// Where a key comes from when it is not made by morapi.
#[derive(Debug, Clone, Args)]
pub struct KeyInput {
    /// Read the key from one line of standard input.
    #[arg(long, conflicts_with = "from_file")]
    pub stdin: bool,
    /// Read the key from FILE (one line; a final line break is dropped).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Accept a key shorter than 16 characters.
    #[arg(long)]
    pub allow_weak: bool,
}

impl KeyInput {
    fn given(&self) -> bool {
        self.stdin || self.from_file.is_some() || self.allow_weak
    }
}

const KEY: Secret =
    Secret { what: "API secret key", prompt: "API secret key: ", stdin_flags: "--stdin or --from-file FILE" };

/// A new API key: 256 random bits as 64 lower-case hex characters (printable, nothing to escape in
/// a URL or a shell). `init`, `generate-key` and `rotate-key` make keys with it.
pub fn new_key() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let Opts { db, actor, owner, action } = opts;
    let text = match action {
        Action::List { json, show_secrets } => list(&db, owner, json, show_secrets)?,
        Action::Get { name, show_secrets } => get(&db, owner, name, show_secrets)?,
        Action::Set(s) => {
            let actor = actor.actor("settings set")?;
            // Read before the database is opened: a prompt must not wait inside a transaction.
            let input = set_input(&s)?;
            let (name, allow_weak) = (s.name, s.key.allow_weak);
            in_db(&db, move |repo| set(repo, &actor, owner, &name, &input, allow_weak))?
        }
        Action::GenerateKey { replace } => generate_key(&db, actor.actor("settings generate-key")?, owner, replace)?,
        Action::RotateKey { key, replace } => {
            rotate_key(&db, actor.actor("settings rotate-key")?, owner, &key, replace)?
        }
        Action::PromoteKey => promote_key(&db, actor.actor("settings promote-key")?, owner)?,
    };
    print!("{text}");
    Ok(())
}

/// Runs `f` in one transaction on the database (see `db::transact`).
fn in_db<T: Send + 'static>(
    db: &DbArgs,
    f: impl Fn(&mut dyn AdminStore) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    run::block_on(async {
        let db = db.open()?;
        transact(&db, f).await
    })
}

fn list(db: &DbArgs, owner: i64, json: bool, show_secrets: bool) -> anyhow::Result<String> {
    in_db(db, move |repo| {
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
        // --- user_register --- one row per family: the columns this owner has set.
        for f in Family::ALL {
            let mut set = Vec::new();
            for column in f.columns() {
                if let Some(value) = f.read(repo, owner, column)? {
                    set.push(format!("{column}={value}"));
                }
            }
            let mut row = Row::new();
            row.insert("name".into(), f.pattern().into());
            row.insert("value".into(), set.join(", ").into());
            row.insert("meaning".into(), f.description().into());
            rows.push(row);
        }
        Ok(output::rows(&rows, &["name", "value", "meaning"], json))
    })
}

fn get(db: &DbArgs, owner: i64, name: String, show_secrets: bool) -> anyhow::Result<String> {
    in_db(db, move |repo| {
        if let Some((family, column)) = Family::of(&name) {
            check_owner(repo, owner, None)?;
            return Ok(format!("{}\n", family.read(repo, owner, column)?.unwrap_or_default()));
        }
        let s = setting(&name)?;
        check_owner(repo, owner, Some(s))?;
        Ok(format!("{}\n", shown(s, &s.read(repo, owner)?, show_secrets)))
    })
}

/// `generate-key`: a new key as the owner's `api_secret_key`, printed alone on stdout.
fn generate_key(db: &DbArgs, actor: Actor, owner: i64, replace: bool) -> anyhow::Result<String> {
    let key = new_key();
    let stored = key.clone();
    let note = in_db(db, move |repo| {
        check_owner(repo, owner, Some(Setting::ApiSecretKey))?;
        if !replace && !Setting::ApiSecretKey.read(repo, owner)?.is_empty() {
            bail!(
                "owner {owner} already has an API key: change it without cutting clients off with \
                 `morapi settings rotate-key --owner {owner}`, or replace it at once with --replace"
            );
        }
        store_key(repo, &actor, owner, Setting::ApiSecretKey, &stored, false)?;
        let mut note = format!("api_secret_key of owner {owner} stored; store the key now");
        if !Setting::AllowApi.flag(repo, owner)? {
            note.push_str(&format!(
                "\nthe API is off for owner {owner}: morapi settings set allow_api 1 --owner {owner}"
            ));
        }
        Ok(note)
    })?;
    eprintln!("{note}");
    Ok(format!("{key}\n"))
}

/// `rotate-key`: a next key, made (and printed) or read (and not printed back).
fn rotate_key(db: &DbArgs, actor: Actor, owner: i64, input: &KeyInput, replace: bool) -> anyhow::Result<String> {
    let (key, made) = if input.stdin || input.from_file.is_some() {
        (read_key(input)?, false)
    } else if input.allow_weak {
        return Err(run::Usage("--allow-weak is for a key read with --stdin or --from-file".into()).into());
    } else {
        (new_key(), true)
    };
    let stored = key.clone();
    let allow_weak = input.allow_weak;
    in_db(db, move |repo| {
        check_owner(repo, owner, Some(Setting::ApiSecretKeyNext))?;
        if Setting::ApiSecretKey.read(repo, owner)?.is_empty() {
            bail!(
                "owner {owner} has no API key to rotate: make one with `morapi settings generate-key --owner {owner}`"
            );
        }
        if !replace && !Setting::ApiSecretKeyNext.read(repo, owner)?.is_empty() {
            bail!(
                "a rotation is already under way for owner {owner} (api_secret_key_next is set): finish it with \
                 `morapi settings promote-key --owner {owner}`, or start it over with --replace"
            );
        }
        store_key(repo, &actor, owner, Setting::ApiSecretKeyNext, &stored, allow_weak)
    })?;
    eprintln!(
        "api_secret_key_next of owner {owner} stored{}\nrequests signed with either key are accepted until \
         `morapi settings promote-key --owner {owner}`",
        if made { "; store the key now" } else { "" }
    );
    Ok(if made { format!("{key}\n") } else { String::new() })
}

/// `promote-key`: next → current, next cleared, in one transaction.
fn promote_key(db: &DbArgs, actor: Actor, owner: i64) -> anyhow::Result<String> {
    in_db(db, move |repo| {
        check_owner(repo, owner, Some(Setting::ApiSecretKey))?;
        let next = Setting::ApiSecretKeyNext.read(repo, owner)?;
        if next.is_empty() {
            bail!(
                "owner {owner} has no next key to promote (api_secret_key_next is empty): start a rotation with \
                 `morapi settings rotate-key --owner {owner}`"
            );
        }
        write(repo, &actor, owner, Setting::ApiSecretKey, &next)?;
        write(repo, &actor, owner, Setting::ApiSecretKeyNext, "")?;
        Ok(format!(
            "the next key of owner {owner} is now api_secret_key; requests signed with the previous key are refused\n"
        ))
    })
}

/// What `settings set` writes: a value as given, a key read from the operator, or nothing (a
/// key cleared).
#[derive(Debug, Clone)]
enum Input {
    Value(String),
    Key(String),
    Clear,
}

/// Sorts out `settings set`'s arguments, reading a key when one is needed (before the database
/// is opened: a prompt must not hold a transaction).
fn set_input(s: &SetOpts) -> anyhow::Result<Input> {
    let usage = |m: String| -> anyhow::Error { run::Usage(m).into() };
    let key_setting = Setting::by_name(&s.name).is_some_and(Setting::secret);
    if !key_setting {
        if s.clear || s.key.given() {
            return Err(usage(format!(
                "--stdin, --from-file, --allow-weak and --clear are for api_secret_key and api_secret_key_next; \
                 give the value: morapi settings set {} VALUE",
                s.name
            )));
        }
        return match &s.value {
            Some(v) => Ok(Input::Value(v.clone())),
            // An unknown name is reported as such by `set`.
            None if Setting::by_name(&s.name).is_none() && Family::of(&s.name).is_none() => {
                Ok(Input::Value(String::new()))
            }
            None => Err(usage(format!("give the value: morapi settings set {} VALUE", s.name))),
        };
    }
    if s.value.is_some() {
        return Err(usage(format!(
            "{name} is not taken from the command line (it would stay in the shell history and show in the \
             process list): run `morapi settings set {name}` and type it at the prompt, pipe it in with --stdin, \
             read it from a file with --from-file FILE, or let morapi make one with generate-key / rotate-key",
            name = s.name
        )));
    }
    if s.clear {
        return Ok(Input::Clear);
    }
    Ok(Input::Key(read_key(&s.key)?))
}

/// A key from `--from-file`, `--stdin` or the terminal (typed twice, no echo), checked.
fn read_key(input: &KeyInput) -> anyhow::Result<String> {
    let key = match &input.from_file {
        Some(path) => output::read_secret_file(path, "key")?,
        None => output::read_secret(&KEY, input.stdin)?,
    };
    if key.is_empty() {
        bail!("the key is empty; to remove a key, use --clear");
    }
    check_key(&key, input.allow_weak)?;
    Ok(key)
}

/// The one key-strength rule ([`api_key_problem`]) with the CLI's way out.
fn check_key(key: &str, allow_weak: bool) -> anyhow::Result<()> {
    if let Some(problem) = api_key_problem(key, allow_weak) {
        if key.chars().count() < API_KEY_MIN_CHARS && api_key_problem(key, true).is_none() {
            bail!("{problem} (--allow-weak accepts a shorter one; generate-key makes a strong one)");
        }
        bail!("{problem}");
    }
    Ok(())
}

fn setting(name: &str) -> anyhow::Result<Setting> {
    let Some(s) = Setting::by_name(name) else {
        let names: Vec<&str> = Setting::ALL.iter().map(|s| s.name()).collect();
        let families: Vec<String> = Family::ALL.iter().map(|f| f.pattern()).collect();
        bail!(
            "unknown setting {name:?}; settings are: {}, and the families {} (morapi docs settings lists their columns)",
            names.join(", "),
            families.join(", ")
        )
    };
    Ok(s)
}

/// A value as `list` and `get` show it: a key that is set as `***` unless asked for.
fn shown(s: Setting, value: &str, show_secrets: bool) -> String {
    if s.secret() && !show_secrets && !value.is_empty() { "***".into() } else { value.to_string() }
}

/// Owner 0, or a reseller; global-only settings only for owner 0.
fn check_owner(repo: &mut dyn AdminStore, owner: i64, s: Option<Setting>) -> anyhow::Result<()> {
    if let Some(problem) = owner_problem(repo, owner)? {
        bail!("--owner {owner}: {problem}");
    }
    if let Some(s) = s
        && owner != 0
        && s.global_only()
    {
        bail!("{} is a global setting: use --owner 0", s.name());
    }
    Ok(())
}

fn set(
    repo: &mut dyn AdminStore,
    actor: &Actor,
    owner: i64,
    name: &str,
    input: &Input,
    allow_weak: bool,
) -> anyhow::Result<String> {
    if let (Some((family, column)), Input::Value(raw)) = (Family::of(name), input) {
        check_owner(repo, owner, None)?;
        let value = set_default(repo, family, column, raw)?;
        write_named(repo, actor, owner, name, &value)?;
        return Ok(format!("{name} = {value} (owner {owner})\n"));
    }
    let s = setting(name)?;
    check_owner(repo, owner, Some(s))?;
    match input {
        Input::Key(key) => {
            store_key(repo, actor, owner, s, key, allow_weak)?;
            Ok(format!("{} = *** (owner {owner})\n", s.name()))
        }
        Input::Clear => {
            if s == Setting::ApiSecretKey && Setting::AllowApi.flag(repo, owner)? {
                bail!("the API is enabled: set allow_api to 0 before removing the key");
            }
            write(repo, actor, owner, s, "")?;
            Ok(format!("{} cleared (owner {owner})\n", s.name()))
        }
        Input::Value(raw) => {
            let value = s.check(raw).map_err(anyhow::Error::msg)?;
            // As in MOR, the API cannot be on without a key.
            if s == Setting::AllowApi && s.is_on(&value) && Setting::ApiSecretKey.read(repo, owner)?.is_empty() {
                bail!("Invalid API secret key: set api_secret_key before enabling allow_api");
            }
            write(repo, actor, owner, s, &value)?;
            Ok(format!("{} = {value} (owner {owner})\n", s.name()))
        }
    }
}

/// Stores an API key (`api_secret_key` or `api_secret_key_next`) of `owner`, audited: every path
/// that sets a key comes here, so every key passes the same rule ([`api_key_problem`]). A next
/// key needs a current one and must differ from it; a current key must not be the pending next
/// one (that is `promote-key`'s job).
pub fn store_key(
    repo: &mut dyn AdminStore,
    actor: &Actor,
    owner: i64,
    slot: Setting,
    key: &str,
    allow_weak: bool,
) -> anyhow::Result<()> {
    check_key(key, allow_weak)?;
    let current = Setting::ApiSecretKey.read(repo, owner)?;
    let next = Setting::ApiSecretKeyNext.read(repo, owner)?;
    match slot {
        Setting::ApiSecretKey if key == next => {
            bail!("that is the pending next key: make it the current one with `morapi settings promote-key`")
        }
        Setting::ApiSecretKey => {}
        Setting::ApiSecretKeyNext if current.is_empty() => {
            bail!("owner {owner} has no api_secret_key: set that first (a next key is for rotating it)")
        }
        Setting::ApiSecretKeyNext if key == current => bail!("the next key must differ from the current one"),
        Setting::ApiSecretKeyNext => {}
        other => bail!("{} is not an API key", other.name()),
    }
    write(repo, actor, owner, slot, key)?;
    Ok(())
}

/// Writes one setting of `owner` and its `setting` audit row, unless it already has that value.
/// Whether it wrote.
pub fn write(repo: &mut dyn AdminStore, actor: &Actor, owner: i64, s: Setting, value: &str) -> anyhow::Result<bool> {
    // Global settings live with owner 0 whoever is named.
    let owner = if s.global_only() { 0 } else { owner };
    write_named(repo, actor, owner, s.name(), value)
}

/// [`write`] by name (a family's member has no [`Setting`]).
fn write_named(repo: &mut dyn AdminStore, actor: &Actor, owner: i64, name: &str, value: &str) -> anyhow::Result<bool> {
    let old = repo.setting(owner, name)?;
    if old.as_deref().map(str::trim) == Some(value) {
        return Ok(false);
    }
    repo.set_setting(owner, name, value)?;
    repo.insert_audit(&[actor.setting(owner, name, old.as_deref(), value)])?;
    Ok(true)
}

// --- user_register ---

/// The value to store for a `default_user_<column>` / `default_tax_<column>` setting: checked
/// like the update parameter of the column, and a reference must name a record that exists
/// (`user_register` checks again, with the owner's rights, when it uses the value).
fn set_default(repo: &mut dyn AdminStore, family: Family, column: &str, raw: &str) -> anyhow::Result<String> {
    let value = family.check(column, raw).map_err(anyhow::Error::msg)?;
    if let (Some(ColumnRule::Param(p)), Some(id)) = (family.rule(column), value.as_int())
        && let crate::catalogue::params::Kind::Ref(kind) = p.kind
        && !(id == 0 && kind.zero_clears())
        && repo.reference(kind, id)?.is_none()
    {
        bail!("{}{column}: there is no {} {id}", family.prefix(), p.label);
    }
    Ok(value.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keys_are_256_bits_of_hex_and_pass_the_key_rule() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(api_key_problem(&a, false), None);
    }

    #[test]
    fn short_keys_name_the_way_out_and_broken_ones_do_not() {
        let e = check_key("short", false).unwrap_err().to_string();
        assert!(e.contains("at least 16") && e.contains("--allow-weak"), "{e}");
        assert!(check_key("short", true).is_ok());
        let e = check_key(" padded-key-of-twenty ", true).unwrap_err().to_string();
        assert!(!e.contains("--allow-weak"), "{e}");
    }
}
