//! Why storage failed. Never shown to clients beyond MOR-style generic messages (the domain picks
//! them); logged with the request id.

/// A storage failure. Never shown to clients beyond a generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("the database writer has stopped")]
    WriterGone,
    /// A deadlock, serialization failure or concurrent unique insert: worth another try.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// Waiting for a lock that another session held ran out (`--db-lock-timeout`: PostgreSQL's
    /// `lock_timeout`, 55P03; MariaDB/MySQL's `innodb_lock_wait_timeout`, 1205; SQLite's busy
    /// timeout, `SQLITE_BUSY`). The transaction was rolled back, so nothing was kept. Not retried:
    /// the wait was the retry, and a second one would only double the time the client waits.
    #[error("lock wait timed out: {0}")]
    Busy(String),
    /// The database cannot be reached or cannot serve now (connection refused or lost, a Galera
    /// node not ready, a read-only standby). Raised only where nothing can have been committed, so
    /// the work may run again on a fresh connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// `COMMIT` was sent and its answer was lost: the change may or may not have been applied.
    /// The pool settles it from the audit trail when it can; this is what remains when it cannot.
    #[error("commit outcome unknown: {0}")]
    CommitUnknown(String),
    #[error("{0}")]
    Config(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;
