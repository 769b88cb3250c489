//! Lockouts (docs/contract.md §4): refused credentials are counted in the database, per
//! (client address, name as sent) and per client address, so that every instance sees them. A
//! key that reaches its limit within the window is refused for a while without its credentials
//! being checked, and a refusal costs one row per key and window, however many there are.
//!
//! The success path reads the locks with the request's first reads (no extra round trip); only a
//! refusal writes.

use crate::settings::Setting;
use crate::storage::{AuditEntry, AuditEvent, Locks, RefusalRecord, RefusalRow, RefusalScope, RequestStore, Result};
use crate::telemetry;
use crate::values::AuditTime;
use sha1::{Digest, Sha1};
use std::collections::HashSet;

/// The lockout settings in force for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures of one (address, name) pair that lock it; 0 = no lockout.
    pub attempts: usize,
    /// Seconds over which failures count; also the span of one `refusals` row.
    pub window: i64,
    /// Seconds a lock lasts.
    pub lock: i64,
    /// Different names refused from one address that lock the address; 0 = never.
    pub address_names: usize,
}

impl Policy {
    pub fn read(store: &mut dyn RequestStore) -> Result<Policy> {
        let count = |v: i64| usize::try_from(v).unwrap_or(0);
        Ok(Policy {
            attempts: count(Setting::LockoutAttempts.int(store, 0)?),
            window: Setting::LockoutWindowSeconds.int(store, 0)?.max(1),
            lock: Setting::LockoutSeconds.int(store, 0)?.max(1),
            address_names: count(Setting::LockoutAddressUsernames.int(store, 0)?),
        })
    }

    /// The seconds a request must still wait (rounded up, at least 1), when a lock is in force.
    /// A switched-off lockout ignores the locks it left.
    pub fn wait(&self, locks: Locks, now: i64) -> Option<i64> {
        let name = if self.attempts > 0 { locks.name_until } else { 0 };
        let address = if self.address_names > 0 { locks.address_until } else { 0 };
        let until = name.max(address);
        (until > now).then(|| (until - now).max(1))
    }

    /// The start of the window `now` falls in: one `refusals` row per key and window.
    fn window_start(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.window)
    }
}

/// One refused credential and the request it came with.
#[derive(Debug, Clone)]
pub struct Refused<'a> {
    pub client_addr: &'a str,
    /// `u` as sent (in a form every engine stores).
    pub name: &'a str,
    /// The user `name` names, when one does (the lockout's audit row).
    pub actor_id: Option<i64>,
    pub endpoint: &'a str,
    pub request_id: &'a str,
    /// The refusal answered.
    pub error: &'a str,
    pub at: AuditTime,
}

/// Counts a refusal for its pair and its address, and starts the locks it completes (each with
/// one `lockout` audit row). Runs in the refused request's transaction.
pub fn record(store: &mut dyn RequestStore, policy: &Policy, r: &Refused) -> Result<()> {
    let now = r.at.unix();
    let window_start = policy.window_start(now);
    let since = window_start - policy.window;
    let record = |scope: RefusalScope, name: &str, recent: String| RefusalRecord {
        client_addr: r.client_addr.to_string(),
        name: name.to_string(),
        scope,
        window_start,
        at: r.at.stored(),
        recent,
        endpoint: r.endpoint.to_string(),
        error: r.error.to_string(),
    };

    // The pair: its row is the refusal's bounded record, kept even when the lockout is off.
    let recent = if policy.attempts > 0 { format!("{now} ") } else { String::new() };
    store.count_refusal(&record(RefusalScope::Name, r.name, recent))?;
    if policy.attempts > 0 {
        let key = (r.client_addr, r.name, RefusalScope::Name);
        let counted = counted(&store.refusal_history(key, since)?, policy.window, now).count();
        if counted >= policy.attempts {
            lock(store, policy, r, key, window_start, counted)?;
        }
    }

    // The address, whatever the name: many names refused from one address lock it.
    if policy.address_names > 0 {
        store.count_refusal(&record(RefusalScope::Address, "", format!("{now}:{} ", digest(r.name))))?;
        let key = (r.client_addr, "", RefusalScope::Address);
        let history = store.refusal_history(key, since)?;
        let names: HashSet<&str> = counted(&history, policy.window, now).map(|(_, name)| name).collect();
        if names.len() >= policy.address_names {
            lock(store, policy, r, key, window_start, names.len())?;
        }
    }
    Ok(())
}

/// Locks `key` from now for the policy's period and writes the `lockout` audit row, unless
/// another request locked it first.
fn lock(
    store: &mut dyn RequestStore,
    policy: &Policy,
    r: &Refused,
    key: (&str, &str, RefusalScope),
    window_start: i64,
    counted: usize,
) -> Result<()> {
    let now = r.at.unix();
    let until = now + policy.lock;
    if !store.start_lock(key, window_start, until, now)? {
        return Ok(());
    }
    tracing::warn!(client = r.client_addr, name = key.1, scope = key.2.stored(), until, "lockout started");
    // Counted when started, in the transaction that records it: a transaction retried after a
    // conflict may count one twice, which a rate over it does not notice.
    metrics::counter!(telemetry::LOCKOUTS).increment(1);
    store.insert_audit(&[AuditEntry {
        created_at: r.at.stored(),
        request_id: r.request_id.to_string(),
        event: AuditEvent::Lockout,
        actor_id: if key.2 == RefusalScope::Name { r.actor_id } else { None },
        actor_username: key.1.to_string(),
        client_addr: r.client_addr.to_string(),
        endpoint: r.endpoint.to_string(),
        target_id: None,
        field: counted.to_string(),
        old_value: None,
        new_value: Some(AuditTime::from_unix(until).stored()),
        signed_with: String::new(),
    }])
}

/// The failures that count at `now`: within the window, and after the end of the key's last
/// lock (a lock, or an operator's `lockouts clear`, starts the count afresh). Each is its time
/// and, for an address, the digest of the name.
fn counted(rows: &[RefusalRow], window: i64, now: i64) -> impl Iterator<Item = (i64, &str)> {
    let last_end = rows.iter().map(|r| r.locked_until).filter(|&until| until <= now).max().unwrap_or(0);
    rows.iter()
        .flat_map(|r| r.recent.split_whitespace())
        .filter_map(|entry| {
            let (time, name) = entry.split_once(':').unwrap_or((entry, ""));
            Some((time.parse::<i64>().ok()?, name))
        })
        .filter(move |&(time, _)| time > now - window && time > last_end)
}

/// A short digest of a name: the address's row counts different names without storing them.
fn digest(name: &str) -> String {
    hex::encode(&Sha1::digest(name.as_bytes())[..6])
}

// --- user_login ---

/// A successful `user_login` (lifecycle §1.4): the failures counted so far for its key (client
/// address, `name`) no longer count, so a user who mistyped his password starts afresh. The
/// address's count of different names is kept: one right password does not vouch for the others.
pub fn forgive(store: &mut dyn RequestStore, policy: &Policy, client_addr: &str, name: &str, now: i64) -> Result<()> {
    // The windows `record` consults: nothing older can count any more.
    store.forgive_refusals(client_addr, name, policy.window_start(now) - policy.window)
}

/// The seconds a request for the key (client address, `name`) must still wait, read again when
/// a method checks a credential after the gate (outside its first transaction): a lock another
/// request started meanwhile holds for this one too.
pub fn wait(
    store: &mut dyn RequestStore,
    policy: &Policy,
    client_addr: &str,
    name: &str,
    now: i64,
) -> Result<Option<i64>> {
    Ok(policy.wait(store.locks(client_addr, name, now)?, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(recent: &str, locked_until: i64) -> RefusalRow {
        RefusalRow {
            client_addr: "192.0.2.1".into(),
            name: "admin".into(),
            scope: RefusalScope::Name,
            window_start: 0,
            first_at: String::new(),
            last_at: String::new(),
            count: 0,
            recent: recent.into(),
            locked_until,
            endpoint: String::new(),
            last_error: String::new(),
        }
    }

    const POLICY: Policy = Policy { attempts: 5, window: 900, lock: 900, address_names: 10 };

    #[test]
    fn failures_count_within_the_window_only() {
        let rows = [row("100 200 ", 0), row("950 1000 ", 0)];
        // At 1050 the window reaches back to 150: 100 has expired.
        let times: Vec<i64> = counted(&rows, 900, 1050).map(|(t, _)| t).collect();
        assert_eq!(times, [200, 950, 1000]);
        assert_eq!(counted(&rows, 900, 2000).count(), 0);
    }

    #[test]
    fn a_lock_or_a_clear_starts_the_count_afresh() {
        // Locked at 300 until 600: the failures before it no longer count once it has ended.
        let rows = [row("100 200 300 ", 600), row("700 ", 0)];
        assert_eq!(counted(&rows, 900, 800).map(|(t, _)| t).collect::<Vec<_>>(), [700]);
        // A lock still in force does not reset the count (a racing request may still record).
        let rows = [row("100 200 ", 5000)];
        assert_eq!(counted(&rows, 900, 800).count(), 2);
    }

    #[test]
    fn address_entries_carry_the_name_digest() {
        let rows = [row("100:aa 120:bb 130:aa ", 0)];
        let names: HashSet<&str> = counted(&rows, 900, 200).map(|(_, n)| n).collect();
        assert_eq!(names, HashSet::from(["aa", "bb"]));
        assert_eq!(digest("admin"), digest("admin"));
        assert_ne!(digest("admin"), digest("admim"));
        assert_eq!(digest("x").len(), 12);
    }

    #[test]
    fn garbage_in_recent_is_ignored() {
        assert_eq!(counted(&[row("x 12a :b 150 ", 0)], 900, 200).count(), 1);
    }

    #[test]
    fn the_wait_is_rounded_up_and_switched_off_locks_are_ignored() {
        let locks = Locks { name_until: 1900, address_until: 0 };
        assert_eq!(POLICY.wait(locks, 1000), Some(900));
        assert_eq!(POLICY.wait(locks, 1899), Some(1));
        assert_eq!(POLICY.wait(locks, 1900), None);
        let both = Locks { name_until: 1100, address_until: 1500 };
        assert_eq!(POLICY.wait(both, 1000), Some(500));
        assert_eq!(Policy { attempts: 0, ..POLICY }.wait(both, 1000), Some(500));
        assert_eq!(Policy { attempts: 0, address_names: 0, ..POLICY }.wait(both, 1000), None);
        assert_eq!(Policy { address_names: 0, ..POLICY }.wait(both, 1000), Some(100));
    }

    #[test]
    fn windows_are_aligned() {
        assert_eq!(POLICY.window_start(0), 0);
        assert_eq!(POLICY.window_start(899), 0);
        assert_eq!(POLICY.window_start(900), 900);
        assert_eq!(Policy { window: 1, ..POLICY }.window_start(7), 7);
    }

    /// `forgive` against a real database: four failures, a login, four more do not lock; a
    /// fifth does.
    #[tokio::test]
    #[cfg(feature = "sqlite")]
    async fn a_successful_login_forgives_the_keys_failures() {
        use crate::storage::{Database, Tx};
        let dir = tempfile::tempdir().expect("dir");
        let db = Database::open(&format!("sqlite://{}", dir.path().join("t.db").display())).expect("db");
        let locked = db
            .transact(|store| {
                let policy = POLICY;
                let at = AuditTime::now();
                let now = at.unix();
                let fail = |store: &mut dyn RequestStore, name: &str| {
                    let r = Refused {
                        client_addr: "192.0.2.1",
                        name,
                        actor_id: None,
                        endpoint: "user_login",
                        request_id: "r",
                        error: "Login failed",
                        at,
                    };
                    record(store, &policy, &r)
                };
                for _ in 0..4 {
                    fail(store, "john")?;
                    fail(store, "jane")?;
                }
                forgive(store, &policy, "192.0.2.1", "john", now)?;
                let mut seen = Vec::new();
                for _ in 0..4 {
                    fail(store, "john")?;
                    seen.push(wait(store, &policy, "192.0.2.1", "john", now)?);
                }
                fail(store, "john")?;
                seen.push(wait(store, &policy, "192.0.2.1", "john", now)?);
                // Another name, and the same name from another address, are not forgiven.
                fail(store, "jane")?;
                seen.push(wait(store, &policy, "192.0.2.1", "jane", now)?);
                seen.push(wait(store, &policy, "192.0.2.9", "john", now)?);
                Ok(Tx::Rollback(seen))
            })
            .await
            .expect("transaction");
        assert_eq!(locked, [None, None, None, None, Some(900), Some(900), None]);
    }
}
