//! `morapi audit`: the audit trail (docs/contract.md §5.5), newest first — changes with their old and new
//! values (secrets as `changed`), records created and deleted (the whole row as JSON), settings,
//! lockouts, reads, and refused hashes (attempted username, client address, request id, never
//! parameter values). The administration CLI's rows have the actor `cli:NAME` and the client
//! `local`; their formats are `domain::audit`'s.

use super::db::{DbArgs, transact};
use super::run::{self, Usage};
use crate::storage::{AuditEntry, AuditEvent, AuditFilter, redact_message};
use crate::values::AuditTime;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

/// Rows shown in the table when neither `--limit` nor `--all` is given.
pub const DEFAULT_LIMIT: usize = 100;

/// Longest value shown in a table cell; `--json` always has the whole value.
const CELL_CHARS: usize = 40;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  morapi audit\n  morapi audit --user 123 --field blocked\n  \
morapi audit --actor admin --since 2026-11-01 --until 2026-11-30\n  morapi audit --since 2026-11-27T09:00:00+02:00 --json\n\n\
Times are UTC. --since is inclusive; --until is inclusive too: a bare date includes that whole day, a\n\
timestamp includes rows at that instant. The table shows the newest 100 rows unless --limit or --all;\n\
--json (for export) has every matching row unless --limit is given, and every field in full.")]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only changes of this target user (users.id).
    #[arg(long = "user", value_name = "ID")]
    pub user: Option<i64>,
    /// Only rows of this acting user (`u`; for refused hashes, the attempted username; `cli:NAME`
    /// for the command line).
    #[arg(long, value_name = "USERNAME")]
    pub actor: Option<String>,
    /// Only rows of this field: `blocked`, `password`, `addresses.email`, `taxes.tax1_value`, a
    /// setting (`allow_api`), a table for created and deleted records (`users`, `tariffs`), a
    /// record's column (`tariffs:12.name`).
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// Only this kind of row.
    #[arg(long, value_name = "EVENT", value_parser = event_names())]
    pub event: Option<String>,
    /// Rows at or after this time: YYYY-MM-DD (UTC midnight) or RFC 3339 (2026-11-27T00:13:50Z).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub since: Option<When>,
    /// Rows at or before this time: YYYY-MM-DD (that whole day, UTC) or RFC 3339.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub until: Option<When>,
    /// Show at most N rows, the newest [default: 100 for the table, all with --json].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Show every matching row.
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// A JSON array of objects with every field, for export.
    #[arg(long)]
    pub json: bool,
}

/// A `--since`/`--until` value as given: a calendar day or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

/// Parses `YYYY-MM-DD` or an RFC 3339 timestamp (with `Z` or an offset).
pub fn parse_when(s: &str) -> Result<When, String> {
    const EXPECTED: &str = "expected a date YYYY-MM-DD or an RFC 3339 time such as 2026-11-27T00:13:50Z";
    let s = s.trim();
    let b = s.as_bytes();
    let day_shaped = |b: &[u8]| {
        b.len() == 10
            && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
    };
    let when = if day_shaped(b) {
        let day = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| format!("{s:?} is not a calendar date; {EXPECTED}"))?;
        When::Day(day)
    } else if b.len() > 10 && day_shaped(&b[..10]) {
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => When::Instant(t.with_timezone(&Utc)),
            Err(_) if !s.ends_with(['Z', 'z']) && !s[10..].contains(['+', '-']) => {
                return Err(format!("{s:?} has no time zone: add Z (UTC) or an offset such as +02:00"));
            }
            Err(e) => return Err(format!("{s:?} is not a valid RFC 3339 time ({e}); {EXPECTED}")),
        }
    } else {
        return Err(format!("{s:?}: {EXPECTED}"));
    };
    let year = match when {
        When::Day(d) => d.format("%Y").to_string(),
        When::Instant(t) => t.format("%Y").to_string(),
    };
    if year.len() != 4 || year.starts_with('-') {
        return Err(format!("{s:?} is outside the years 0000–9999"));
    }
    Ok(when)
}

/// Formats an instant exactly as morapi writes `audit_log.created_at`, so that text comparison is
/// time order.
fn stored(t: DateTime<Utc>) -> AuditTime {
    AuditTime(t)
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The inclusive lower bound for `created_at`: the day's first microsecond, or the instant
/// rounded up to the microsecond (stored times have microseconds).
pub fn since_bound(when: When) -> AuditTime {
    match when {
        When::Day(d) => stored(midnight(d)),
        When::Instant(t) => {
            let sub_micro = t.nanosecond() % 1_000;
            let t = if sub_micro == 0 { t } else { t + TimeDelta::nanoseconds(i64::from(1_000 - sub_micro)) };
            stored(t)
        }
    }
}

/// The exclusive upper bound for `created_at` that makes `--until` inclusive: the next day's
/// midnight for a date, the next microsecond for an instant.
pub fn until_bound(when: When) -> AuditTime {
    match when {
        When::Day(d) => stored(midnight(d) + TimeDelta::days(1)),
        When::Instant(t) => {
            let t = t - TimeDelta::nanoseconds(i64::from(t.nanosecond() % 1_000));
            stored(t + TimeDelta::microseconds(1))
        }
    }
}

/// The storage filter for the options, and the number of rows to show (`None`: all). One row more
/// than shown is asked for, to tell whether more match.
pub fn filter(opts: &Opts) -> Result<(AuditFilter, Option<usize>), String> {
    let since = opts.since.map(since_bound);
    // Past year 9999 the text would not sort in time order; nothing is stored that late anyway.
    let until = opts.until.map(until_bound).filter(|u| !u.stored().starts_with('+'));
    if let (Some(s), Some(u)) = (&since, &until)
        && s >= u
    {
        return Err("--since is after --until: no row can match".into());
    }
    let shown = if opts.all {
        None
    } else if let Some(n) = opts.limit {
        Some(usize::try_from(n).unwrap_or(usize::MAX))
    } else if opts.json {
        None
    } else {
        Some(DEFAULT_LIMIT)
    };
    let filter = AuditFilter {
        target_id: opts.user,
        actor_username: opts.actor.clone(),
        field: opts.field.clone(),
        event: opts.event.as_deref().and_then(AuditEvent::from_name),
        since,
        until,
        limit: shown.map(|n| n.saturating_add(1)),
    };
    Ok((filter, shown))
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let (entries, more) = query(&opts)?;
    if opts.json {
        print!("{}", json(&entries));
    } else {
        print!("{}", table(&entries));
    }
    if more {
        eprintln!("morapi audit: showing the newest {} matching rows; more match (--limit N or --all)", entries.len());
    }
    Ok(())
}

/// Reads the matching rows, newest first, and whether more matched than are returned.
fn query(opts: &Opts) -> anyhow::Result<(Vec<AuditEntry>, bool)> {
    let (filter, shown) = filter(opts).map_err(Usage)?;
    if let Some(path) = opts.db.database.strip_prefix("sqlite://")
        && !path.is_empty()
        && !std::path::Path::new(path).exists()
    {
        // Opening would create an empty database; an audit of nothing helps nobody.
        anyhow::bail!("no database at {path} (give --database or set MORAPI_DATABASE)");
    }
    let url = &opts.db.database;
    let mut entries = run::block_on(async {
        let db = opts.db.open()?;
        transact(&db, move |repo| Ok(repo.audit_query(&filter)?))
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the audit trail: {}", redact_message(&format!("{e:#}"), url)))
    })?;
    let more = shown.is_some_and(|n| entries.len() > n);
    if let Some(n) = shown {
        entries.truncate(n);
    }
    Ok((entries, more))
}

use crate::catalogue::is_secret;
use crate::domain::audit::{CHANGED, CLEARED};

/// The names `--event` accepts.
fn event_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(AuditEvent::ALL.map(AuditEvent::name))
}

/// The old and new values to show: as stored, except that a secret never shows. A secret field
/// or setting shows `changed` (or `cleared`, for a key removed); a secret in a created or
/// deleted row's JSON shows `changed`, even if a row was written with it in clear.
fn shown_values(e: &AuditEntry) -> (Option<String>, Option<String>) {
    match e.event {
        AuditEvent::Change | AuditEvent::Setting if is_secret(&e.field) => {
            let new = if e.event == AuditEvent::Setting && e.new_value.as_deref() == Some(CLEARED) {
                CLEARED
            } else {
                CHANGED
            };
            (Some(String::new()), Some(new.into()))
        }
        AuditEvent::Create | AuditEvent::Delete => (
            e.old_value.as_deref().map(|v| masked_row(&e.field, v)),
            e.new_value.as_deref().map(|v| masked_row(&e.field, v)),
        ),
        _ => (e.old_value.clone(), e.new_value.clone()),
    }
}

/// A created or deleted row's JSON with every secret value that is not empty as `changed`: a
/// secret column, and the value of a secret setting's row. Text that is not a JSON object is
/// shown as it is (rows of earlier versions have none).
fn masked_row(table: &str, json: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    let secret_setting =
        table == "conflines" && map.get("name").and_then(serde_json::Value::as_str).is_some_and(is_secret);
    let leaks = map.iter().any(|(k, v)| {
        (is_secret(&format!("{table}.{k}")) || (secret_setting && k == "value"))
            && v.as_str().is_some_and(|s| !s.is_empty() && s != CHANGED)
    });
    if !leaks {
        // As stored: the keys keep the schema's order (rebuilt, they would be sorted by name).
        return json.to_string();
    }
    let mut out = String::from("{");
    for (i, (k, v)) in map.iter().enumerate() {
        let secret = is_secret(&format!("{table}.{k}")) || (secret_setting && k == "value");
        let v = if secret && v.as_str().is_some_and(|s| !s.is_empty()) { CHANGED.into() } else { v.clone() };
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{}:{v}", serde_json::Value::from(k.as_str())));
    }
    out.push('}');
    out
}

/// A value fit for one table cell: control characters escaped (a value could otherwise move the
/// cursor or recolour the operator's terminal), empty shown as `""`, long values cut.
pub fn cell(value: &str) -> String {
    if value.is_empty() { "\"\"".into() } else { escaped(value) }
}

/// Control characters escaped, cut after [`CELL_CHARS`] characters.
fn escaped(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == CELL_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// How SQL NULL shows among old and new values.
const NULL_CELL: &str = "NULL";

/// An old or new value for a table cell: SQL NULL as a bare [`NULL_CELL`], text as it is, except
/// that text which could be taken for NULL or for other text — empty, `null` in any case,
/// surrounded by spaces, starting with a quote — is shown quoted (`\` and `"` escaped). So a
/// bare `NULL` is always SQL NULL and `"NULL"` always the four letters.
pub fn value_cell(value: Option<&str>) -> String {
    let Some(v) = value else { return NULL_CELL.into() };
    if v.is_empty() || v.trim() != v || v.eq_ignore_ascii_case("null") || v.starts_with('"') {
        format!("\"{}\"", escaped(&v.replace('\\', "\\\\").replace('"', "\\\"")))
    } else {
        escaped(v)
    }
}

/// The "old → new" column: the change, `changed` for a secret, the refusal for a refused hash.
pub fn change_text(e: &AuditEntry) -> String {
    let (old, new) = shown_values(e);
    match e.event {
        AuditEvent::Change | AuditEvent::Setting if is_secret(&e.field) => new.unwrap_or_default(),
        AuditEvent::Change | AuditEvent::Setting => {
            format!("{} → {}", value_cell(old.as_deref()), value_cell(new.as_deref()))
        }
        AuditEvent::HashRefused => format!("refused: {}", cell(e.new_value.as_deref().unwrap_or_default())),
        AuditEvent::Create => format!("created: {}", cell(&row_summary(&e.field, &new.unwrap_or_default()))),
        AuditEvent::Delete => format!("deleted: {}", cell(&row_summary(&e.field, &old.unwrap_or_default()))),
        AuditEvent::Lockout => {
            format!("locked until {} after {} failures", cell(e.new_value.as_deref().unwrap_or_default()), e.field)
        }
        AuditEvent::Read => "read".into(),
        AuditEvent::Login => "logged in".into(),
        AuditEvent::LoginFailed => format!("login failed: {}", cell(e.new_value.as_deref().unwrap_or_default())),
    }
}

/// A created or deleted row (JSON) for a table cell: `column=value` in the schema's order, empty
/// and NULL values left out (`--json` has the whole row). Text that is not a JSON object is
/// shown as it is.
fn row_summary(table: &str, json: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    let order: Vec<&str> = crate::storage::schema::TABLES
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.columns.iter().map(|c| c.name).collect())
        .unwrap_or_default();
    let position = |k: &str| order.iter().position(|c| *c == k).unwrap_or(order.len());
    let mut pairs: Vec<(&String, &serde_json::Value)> = map.iter().collect();
    pairs.sort_by_key(|(k, _)| position(k));
    let shown: Vec<String> = pairs
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) if s.is_empty() => None,
            serde_json::Value::String(s) => Some(format!("{k}={s}")),
            other => Some(format!("{k}={other}")),
        })
        .collect();
    shown.join(" ")
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}

/// The human-readable table, one row per audit row, in the order given (newest first).
pub fn table(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "no matching audit rows\n".into();
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["time (UTC)", "event", "actor", "target", "field", "old → new", "client", "request id"]);
    for e in entries {
        let actor = match (e.actor_id, e.actor_username.is_empty()) {
            (_, true) => "-".to_string(),
            // A refused hash for a username that does not exist.
            (None, false) if e.event == AuditEvent::HashRefused => format!("{} (unknown)", cell(&e.actor_username)),
            // A user, or an operator at the command line (`cli:NAME`, client `local`).
            (_, false) => cell(&e.actor_username),
        };
        t.add_row(vec![
            cell(&e.created_at),
            e.event.name().to_string(),
            actor,
            e.target_id.map_or_else(|| "-".into(), |id| id.to_string()),
            or_dash(e.field.chars().filter(|c| !c.is_control()).collect()),
            change_text(e),
            or_dash(e.client_addr.chars().filter(|c| !c.is_control()).collect()),
            or_dash(e.request_id.chars().filter(|c| !c.is_control()).collect()),
        ]);
    }
    format!("{t}\n")
}

/// One audit row as a JSON object with every field.
pub fn entry_json(e: &AuditEntry) -> serde_json::Value {
    let (old, new) = shown_values(e);
    serde_json::json!({
        "created_at": e.created_at,
        "event": e.event.name(),
        "request_id": e.request_id,
        "actor_id": e.actor_id,
        "actor_username": e.actor_username,
        "client_addr": e.client_addr,
        "endpoint": e.endpoint,
        "target_id": e.target_id,
        "field": e.field,
        "old_value": old,
        "new_value": new,
        "signed_with": e.signed_with,
    })
}

/// The rows as a JSON array (newest first), for export.
pub fn json(entries: &[AuditEntry]) -> String {
    let list: Vec<serde_json::Value> = entries.iter().map(entry_json).collect();
    let text = serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into());
    format!("{text}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        opts: Opts,
    }

    fn opts(args: &[&str]) -> Result<Opts, clap::Error> {
        Cli::try_parse_from(std::iter::once("audit").chain(args.iter().copied())).map(|c| c.opts)
    }

    fn change(field: &str, old: &str, new: &str) -> AuditEntry {
        AuditEntry {
            created_at: "2026-11-27T00:13:50.457851Z".into(),
            request_id: "0123456789abcdef".into(),
            event: AuditEvent::Change,
            actor_id: Some(0),
            actor_username: "admin".into(),
            client_addr: "127.0.0.1".into(),
            endpoint: "user_details_update".into(),
            target_id: Some(123),
            field: field.into(),
            old_value: Some(old.into()),
            new_value: Some(new.into()),
            signed_with: "current:0".into(),
        }
    }

    fn refused(username: &str, actor_id: Option<i64>) -> AuditEntry {
        AuditEntry {
            event: AuditEvent::HashRefused,
            actor_id,
            actor_username: username.into(),
            target_id: None,
            field: String::new(),
            old_value: Some(String::new()),
            new_value: Some("Incorrect hash".into()),
            ..change("", "", "")
        }
    }

    #[test]
    fn dates_and_timestamps_parse() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(parse_when("2026-11-27"), Ok(When::Day(day)));
        let t = parse_when("2026-11-27T02:13:50.5+02:00").unwrap();
        assert_eq!(since_bound(t).stored(), "2026-11-27T00:13:50.500000Z");
        assert_eq!(parse_when(" 2026-11-27T00:13:50Z "), parse_when("2026-11-27T00:13:50Z"));
        assert_eq!(parse_when("2026-11-27T00:13:50z"), parse_when("2026-11-27T00:13:50Z"));
    }

    #[test]
    fn malformed_times_are_refused_with_a_reason() {
        for bad in ["", "yesterday", "2026-13-01", "2026-02-30", "2026-1-5", "27.11.2026", "2026-11-27T25:00:00Z"] {
            let e = parse_when(bad).unwrap_err();
            assert!(e.contains("expected") || e.contains("not"), "{bad}: {e}");
        }
        assert!(parse_when("2026-11-27T00:13:50").unwrap_err().contains("no time zone"));
        assert!(parse_when("2026-11-27 00:13").is_err());
    }

    #[test]
    fn bounds_have_the_stored_format_and_until_is_inclusive() {
        let day = parse_when("2026-11-27").unwrap();
        assert_eq!(since_bound(day).stored(), "2026-11-27T00:00:00.000000Z");
        assert_eq!(until_bound(day).stored(), "2026-11-28T00:00:00.000000Z");
        let end_of_year = parse_when("2026-12-31").unwrap();
        assert_eq!(until_bound(end_of_year).stored(), "2027-01-01T00:00:00.000000Z");
        let t = parse_when("2026-11-27T00:13:50.457851Z").unwrap();
        assert_eq!(since_bound(t).stored(), "2026-11-27T00:13:50.457851Z");
        assert_eq!(until_bound(t).stored(), "2026-11-27T00:13:50.457852Z");
        // Sub-microsecond input: since rounds up, until keeps the microsecond that contains it.
        let t = parse_when("2026-11-27T00:13:50.4578511Z").unwrap();
        assert_eq!(since_bound(t).stored(), "2026-11-27T00:13:50.457852Z");
        assert_eq!(until_bound(t).stored(), "2026-11-27T00:13:50.457852Z");
        // A stored value sorts between the bounds of its own instant, and inside its own day.
        let stored = "2026-11-27T00:13:50.457851Z".to_string();
        let own = parse_when(&stored).unwrap();
        assert!(since_bound(own).stored() <= stored && stored < until_bound(own).stored());
        assert!(since_bound(day).stored() <= stored && stored < until_bound(day).stored());
        // The last day there is has no upper bound at all (year 10000 would not sort as text).
        let (f, _) = filter(&opts(&["--until", "9999-12-31"]).unwrap()).unwrap();
        assert_eq!(f.until, None);
    }

    #[test]
    fn limit_defaults_differ_for_table_and_json() {
        let (f, shown) = filter(&opts(&[]).unwrap()).unwrap();
        assert_eq!((f.limit, shown), (Some(DEFAULT_LIMIT + 1), Some(DEFAULT_LIMIT)));
        let (f, shown) = filter(&opts(&["--json"]).unwrap()).unwrap();
        assert_eq!((f.limit, shown), (None, None));
        let (f, shown) = filter(&opts(&["--json", "--limit", "5"]).unwrap()).unwrap();
        assert_eq!((f.limit, shown), (Some(6), Some(5)));
        let (f, shown) = filter(&opts(&["--all"]).unwrap()).unwrap();
        assert_eq!((f.limit, shown), (None, None));
        assert!(opts(&["--all", "--limit", "3"]).is_err());
        assert!(opts(&["--limit", "0"]).is_err());
    }

    #[test]
    fn options_become_the_storage_filter() {
        let o = opts(&[
            "--user",
            "123",
            "--actor",
            "admin",
            "--field",
            "blocked",
            "--since",
            "2026-11-01",
            "--until",
            "2026-11-30",
        ])
        .unwrap();
        assert_eq!(o.db.database, "sqlite://morapi.db");
        let (f, _) = filter(&o).unwrap();
        assert_eq!(f.target_id, Some(123));
        assert_eq!(f.actor_username.as_deref(), Some("admin"));
        assert_eq!(f.field.as_deref(), Some("blocked"));
        assert_eq!(f.since.map(|t| t.stored()).as_deref(), Some("2026-11-01T00:00:00.000000Z"));
        assert_eq!(f.until.map(|t| t.stored()).as_deref(), Some("2026-12-01T00:00:00.000000Z"));
        assert!(opts(&["--user", "john"]).is_err());
        let e = opts(&["--since", "last week"]).unwrap_err().to_string();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
    }

    #[test]
    fn an_empty_time_range_is_refused() {
        let o = opts(&["--since", "2026-11-28", "--until", "2026-11-27"]).unwrap();
        assert!(filter(&o).unwrap_err().contains("--since is after --until"));
        // One day is a valid range.
        assert!(filter(&opts(&["--since", "2026-11-27", "--until", "2026-11-27"]).unwrap()).is_ok());
    }

    #[test]
    fn table_shows_old_and_new_values_and_hides_secrets() {
        let text = table(&[change("blocked", "0", "1"), change("password", "", "changed"), refused("nobody", None)]);
        assert!(text.contains("0 → 1"), "{text}");
        assert!(text.contains("changed"), "{text}");
        assert!(text.contains("refused: Incorrect hash"), "{text}");
        assert!(text.contains("nobody (unknown)"), "{text}");
        for header in ["time (UTC)", "event", "actor", "target", "field", "old → new", "client", "request id"] {
            assert!(text.contains(header), "{header}: {text}");
        }
        assert!(text.contains("2026-11-27T00:13:50.457851Z") && text.contains("0123456789abcdef"), "{text}");
        // A secret stored in clear by mistake is still not shown.
        let leaked = change("password", "old-secret", "new-secret");
        assert_eq!(change_text(&leaked), "changed");
        assert!(!table(std::slice::from_ref(&leaked)).contains("secret"));
        assert!(!json(&[leaked]).contains("secret"));
        assert_eq!(table(&[]), "no matching audit rows\n");
    }

    #[test]
    fn cells_escape_control_characters_and_cut_long_values() {
        assert_eq!(cell(""), "\"\"");
        assert_eq!(cell("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        let long = "x".repeat(100);
        assert_eq!(cell(&long).chars().count(), CELL_CHARS + 1);
        assert!(cell(&long).ends_with('…'));
        assert_eq!(change_text(&change("addresses.city", "", "Kaunas")), "\"\" → Kaunas");
    }

    #[test]
    fn null_empty_and_look_alike_text_show_apart() {
        let values = |old: Option<&str>, new: Option<&str>| AuditEntry {
            old_value: old.map(Into::into),
            new_value: new.map(Into::into),
            ..change("comment", "", "")
        };
        assert_eq!(change_text(&values(None, Some(""))), "NULL → \"\"");
        assert_eq!(change_text(&values(Some(""), None)), "\"\" → NULL");
        assert_eq!(change_text(&values(Some("NULL"), Some("null"))), "\"NULL\" → \"null\"");
        assert_eq!(change_text(&values(Some("\"\""), Some(" x"))), r#""\"\"" → " x""#);
        assert_eq!(value_cell(Some("\"a\\")), r#""\"a\\""#);
        assert_eq!(value_cell(Some("say \"hi\"")), "say \"hi\"", "a quote inside plain text needs no quoting");
        assert_eq!(value_cell(Some("NULLS")), "NULLS");
        let v: serde_json::Value = serde_json::from_str(&json(&[values(None, Some(""))])).unwrap();
        assert_eq!(v[0]["old_value"], serde_json::Value::Null);
        assert_eq!(v[0]["new_value"], "");
    }

    #[test]
    fn json_has_every_field() {
        let text = json(&[change("blocked", "0", "1"), refused("admin", Some(0))]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let first = rows[0].as_object().unwrap();
        let keys: Vec<&str> = first.keys().map(String::as_str).collect();
        for k in [
            "created_at",
            "event",
            "request_id",
            "actor_id",
            "actor_username",
            "client_addr",
            "endpoint",
            "target_id",
            "field",
            "old_value",
            "new_value",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        assert_eq!(first["old_value"], "0");
        assert_eq!(first["new_value"], "1");
        assert_eq!(first["target_id"], 123);
        assert_eq!(rows[1]["event"], "hash_refused");
        assert_eq!(rows[1]["target_id"], serde_json::Value::Null);
        assert_eq!(rows[1]["new_value"], "Incorrect hash");
        assert_eq!(json(&[]), "[]\n");
    }

    #[test]
    fn created_and_deleted_rows_show_their_values_and_never_a_secret() {
        let row = |event: AuditEvent, table: &str, json: &str| AuditEntry {
            event,
            field: table.into(),
            old_value: (event == AuditEvent::Delete).then(|| json.into()),
            new_value: (event == AuditEvent::Create).then(|| json.into()),
            actor_id: None,
            actor_username: "cli:alice".into(),
            client_addr: "local".into(),
            ..change("", "", "")
        };
        let created = row(AuditEvent::Create, "tariffs", r#"{"id":"12","name":"Retail","owner_id":"0"}"#);
        assert_eq!(change_text(&created), "created: id=12 name=Retail owner_id=0");
        // Empty and NULL values are left out of the cell, not of the JSON.
        let deleted = row(AuditEvent::Delete, "addresses", r#"{"id":"3","city":"","email":null,"phone":"+370"}"#);
        assert_eq!(change_text(&deleted), "deleted: id=3 phone=+370");
        assert_eq!(entry_json(&deleted)["old_value"], r#"{"id":"3","city":"","email":null,"phone":"+370"}"#);
        let text = table(std::slice::from_ref(&created));
        assert!(text.contains("cli:alice") && !text.contains("unknown") && text.contains("local"), "{text}");
        // A secret written in clear by mistake is still not shown, in the table or in JSON.
        let leaked = row(AuditEvent::Create, "users", r#"{"id":"5","username":"ann","password":"$argon2id$x"}"#);
        assert_eq!(change_text(&leaked), "created: id=5 username=ann password=changed");
        assert!(!json(std::slice::from_ref(&leaked)).contains("argon2id"));
        let key = row(AuditEvent::Delete, "conflines", r#"{"id":"1","name":"api_secret_key","value":"k3y"}"#);
        assert!(!table(std::slice::from_ref(&key)).contains("k3y") && !json(&[key]).contains("k3y"));
        // A key's setting row: changed or cleared, never the value.
        let mut next = change("api_secret_key_next", "old-key", "cleared");
        next.event = AuditEvent::Setting;
        assert_eq!(change_text(&next), "cleared");
        next.new_value = Some("the-new-key-in-clear".into());
        assert_eq!(change_text(&next), "changed");
        assert!(!json(&[next]).contains("key-in-clear"));
    }

    #[test]
    fn secret_fields() {
        assert!(is_secret("password"));
        assert!(is_secret("users.password"));
        assert!(is_secret("api_secret_key"));
        assert!(!is_secret("blocked"));
        assert!(!is_secret("addresses.email"));
    }
}
