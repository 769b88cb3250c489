//! Connections to a database server, and the transaction runner shared by the server engines
//! (PostgreSQL, MariaDB/MySQL): bounded pool, fail-fast acquisition, bounded retries of
//! deadlocks and serialization failures with backoff.

use super::{Repo, Result, StoreError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Pool size and timeouts (`morapi serve --db-pool-size`, `--db-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    pub max_connections: usize,
    /// Longest wait for a connection (connecting included); past it the request fails fast.
    pub timeout: Duration,
    /// How often a deadlocked or conflicting transaction is tried again before giving up.
    pub retries: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: 16, timeout: Duration::from_secs(5), retries: 5 }
    }
}

/// A transaction's work: the answer, and whether to keep its writes.
pub type Work<T> = dyn Fn(&mut dyn Repo) -> Result<(T, bool)>;

/// An engine's connection: runs one attempt of a transaction.
pub trait Connection: Send + 'static {
    /// Opens a transaction, runs `f`, commits when it asks to keep its writes, rolls back
    /// otherwise. Any error rolls back.
    fn attempt<T>(&mut self, f: &Work<T>) -> Result<T>;
}

type Connect<C> = Box<dyn Fn() -> Result<C> + Send + Sync>;

struct Slots<C> {
    idle: Vec<C>,
    open: usize,
}

/// A bounded set of connections, opened on demand and reused.
pub struct Pool<C: Connection> {
    connect: Connect<C>,
    slots: Mutex<Slots<C>>,
    freed: Condvar,
    pub options: PoolOptions,
}

impl<C: Connection> Pool<C> {
    pub fn new(options: PoolOptions, connect: impl Fn() -> Result<C> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Pool {
            connect: Box::new(connect),
            slots: Mutex::new(Slots { idle: Vec::new(), open: 0 }),
            freed: Condvar::new(),
            options: options.clone_checked(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots<C>> {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection and whether it was used before, or `Unavailable` after the timeout.
    fn acquire(&self) -> Result<(C, bool)> {
        let deadline = Instant::now() + self.options.timeout;
        let mut slots = self.lock();
        loop {
            if let Some(c) = slots.idle.pop() {
                return Ok((c, true));
            }
            if slots.open < self.options.max_connections {
                slots.open += 1;
                drop(slots);
                return (self.connect)().map(|c| (c, false)).inspect_err(|_| {
                    self.lock().open -= 1;
                    self.freed.notify_one();
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable("no database connection became free in time".into()));
            }
            slots = self.freed.wait_timeout(slots, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Returns a connection; a broken one is closed instead.
    fn release(&self, conn: C, healthy: bool) {
        let mut slots = self.lock();
        if healthy {
            slots.idle.push(conn);
        } else {
            slots.open -= 1;
            drop(slots);
            close(conn);
        }
        self.freed.notify_one();
    }
}

impl PoolOptions {
    fn clone_checked(self) -> Self {
        PoolOptions { max_connections: self.max_connections.max(1), ..self }
    }
}

/// Closes connections on a plain thread: some drivers run their own async runtime, which must
/// not be dropped on an async worker.
fn close<C: Send + 'static>(conn: C) {
    let _ = std::thread::Builder::new().name("morapi-db-close".into()).spawn(move || drop(conn));
}

impl<C: Connection> Drop for Pool<C> {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        close(idle);
    }
}

/// Runs `f` in a transaction on a pooled connection, off the async threads, retrying conflicts.
pub async fn transact<C, T, F>(pool: Arc<Pool<C>>, f: F) -> Result<T>
where
    C: Connection,
    T: Send + 'static,
    F: Fn(&mut dyn Repo) -> Result<(T, bool)> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let (mut conn, mut reused) = pool.acquire()?;
        let mut attempt = 0;
        loop {
            match conn.attempt(&f) {
                Ok(value) => {
                    pool.release(conn, true);
                    return Ok(value);
                }
                // A pooled connection that died while idle (the database restarted): nothing was
                // sent, so try another one; a fresh connection that fails means the database is down.
                Err(StoreError::Disconnected(e)) => {
                    pool.release(conn, false);
                    if !reused {
                        return Err(StoreError::Unavailable(e));
                    }
                    (conn, reused) = pool.acquire()?;
                }
                Err(StoreError::Conflict(e)) if attempt < pool.options.retries => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "transaction conflict, retrying");
                    let jitter = u64::from(rand::random::<u8>() % 8);
                    std::thread::sleep(Duration::from_millis((2u64 << attempt.min(6)) + jitter));
                }
                Err(e) => {
                    let healthy = !matches!(e, StoreError::Unavailable(_));
                    pool.release(conn, healthy);
                    return Err(e);
                }
            }
        }
    })
    .await
    .map_err(|e| StoreError::Database(format!("storage task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Dies before starting a transaction while `dead` connections remain to be tried.
    struct Stale(Arc<AtomicUsize>, bool);
    impl Connection for Stale {
        fn attempt<T>(&mut self, f: &Work<T>) -> Result<T> {
            if self.1 {
                return Err(StoreError::Disconnected("closed".into()));
            }
            let _ = self.0.fetch_add(1, Ordering::SeqCst);
            let _ = f;
            Err(StoreError::Database("reached a live connection".into()))
        }
    }

    #[tokio::test]
    async fn connections_that_died_while_idle_are_replaced() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let pool = Pool::new(PoolOptions::default(), move || Ok(Stale(c.clone(), false)));
        // Two idle connections that died while the database restarted.
        {
            let mut slots = pool.lock();
            slots.idle.push(Stale(calls.clone(), true));
            slots.idle.push(Stale(calls.clone(), true));
            slots.open = 2;
        }
        let r = transact(pool.clone(), |_| Ok(((), true))).await;
        assert!(matches!(r, Err(StoreError::Database(m)) if m.contains("live")), "a fresh connection was used");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A fresh connection that cannot start a transaction means the database is down.
        let down: Arc<Pool<Stale>> =
            Pool::new(PoolOptions::default(), || Ok(Stale(Arc::new(AtomicUsize::new(0)), true)));
        assert!(matches!(transact(down, |_| Ok(((), true))).await, Err(StoreError::Unavailable(_))));
    }

    struct Fake(Arc<AtomicUsize>);
    impl Connection for Fake {
        fn attempt<T>(&mut self, _f: &Work<T>) -> Result<T> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            if n < 2 { Err(StoreError::Conflict("deadlock".into())) } else { Err(StoreError::Database("done".into())) }
        }
    }

    #[tokio::test]
    async fn conflicts_are_retried_then_other_errors_returned() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let pool = Pool::new(PoolOptions::default(), move || Ok(Fake(c.clone())));
        let r = transact(pool, |_| Ok(((), true))).await;
        assert!(matches!(r, Err(StoreError::Database(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unreachable_database_fails_fast() {
        let opts = PoolOptions { timeout: Duration::from_millis(50), ..PoolOptions::default() };
        let pool: Arc<Pool<Fake>> = Pool::new(opts, || Err(StoreError::Unavailable("refused".into())));
        let r = transact(pool.clone(), |_| Ok(((), true))).await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))));
        assert_eq!(pool.lock().open, 0, "a failed connect frees its slot");
    }
}
