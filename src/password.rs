//! Passwords are stored as Argon2id PHC strings, never in clear.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};

/// Hashes a password with Argon2id and a random salt (slow by design: run it off the writer).
/// Hashes off the async threads, at most one hash per core at a time: each Argon2 run holds
/// its memory cost (19 MiB), so many password changes at once would otherwise take memory
/// without bound; the rest wait their turn.
pub async fn hash_bounded(plain: String) -> Result<String, String> {
    one_per_core(move || hash(&plain)).await?.map_err(|e| format!("password hashing failed: {e}"))
}

/// A fixed Argon2id hash with [`hash`]'s parameters, of a random password nobody kept. A
/// credential check without a stored hash to verify (an unknown user, a user without a password)
/// verifies against this one instead, so that it takes as long as a real check and its time tells
/// nothing about who exists.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$hFJ0bUxlOBOUnBi8/DU+Kg$Q9LZ0cHVvZW/oWkOt/4G6uhPa3dLK+/mK0RXjUK576U";

/// Whether `plain` matches `stored`, verified off the async threads and bounded like
/// [`hash_bounded`] (a verification costs a hash's memory and time). `stored` that is absent or
/// not an Argon2 PHC string (no password) never matches, and costs a verification of [`DUMMY`].
pub async fn verify_bounded(plain: String, stored: Option<String>) -> Result<bool, String> {
    one_per_core(move || verify_or_dummy(&plain, stored.as_deref())).await
}

fn verify_or_dummy(plain: &str, stored: Option<&str>) -> bool {
    use argon2::password_hash::PasswordHash;
    match stored.filter(|s| PasswordHash::new(s).is_ok()) {
        Some(stored) => verify(plain, stored),
        None => {
            // The same work as a real check; its answer is no.
            std::hint::black_box(verify(plain, DUMMY));
            false
        }
    }
}

/// Runs `work` on the blocking pool, at most as many at once as there are cores.
async fn one_per_core<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    static SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
    });
    let _slot = SLOTS.acquire().await.map_err(|e| format!("password hashing stopped: {e}"))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| format!("password hashing stopped: {e}"))
}

pub fn hash(plain: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(Argon2::default().hash_password(plain.as_bytes(), &salt)?.to_string())
}

/// Whether `plain` matches a stored hash.
pub fn verify(plain: &str, stored: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(plain.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..cores * 4)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(super::one_per_core(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for job in jobs {
            assert!(job.await.expect("joined").is_ok());
        }
        assert_eq!(most.load(Ordering::SeqCst), cores, "every slot was used, never more");
    }

    #[tokio::test]
    async fn without_a_stored_hash_nothing_matches_after_the_same_work() {
        let stored = super::hash("Secret123").unwrap();
        assert_eq!(super::verify_bounded("Secret123".into(), Some(stored.clone())).await, Ok(true));
        assert_eq!(super::verify_bounded("secret123".into(), Some(stored.clone())).await, Ok(false));
        for missing in [None, Some(String::new()), Some("6c7ca345f63f835cb353ff15bd6c5e052ec08e7a".into())] {
            assert_eq!(super::verify_bounded("Secret123".into(), missing).await, Ok(false));
        }
        // The dummy has the parameters of a real hash, so it costs as much to check.
        let params = |h: &str| h.split('$').nth(3).map(str::to_string);
        assert_eq!(params(super::DUMMY), params(&stored));
        assert!(super::DUMMY.starts_with("$argon2id$v=19$"));
        assert!(!super::verify_or_dummy("x", None));
    }

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = super::hash("Secret123").unwrap();
        let b = super::hash("Secret123").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(super::verify("Secret123", &a));
        assert!(!super::verify("secret123", &a));
    }
}
