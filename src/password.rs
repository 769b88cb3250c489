//! Passwords are stored as Argon2id PHC strings, never in clear.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};

/// Hashes a password with Argon2id and a random salt (slow by design: run it off the writer).
/// Hashes off the async threads, at most one hash per core at a time: each Argon2 run holds
/// its memory cost (19 MiB), so many password changes at once would otherwise take memory
/// without bound; the rest wait their turn.
pub async fn hash_bounded(plain: String) -> Result<String, String> {
    static SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
    });
    let _slot = SLOTS.acquire().await.map_err(|e| format!("password hashing stopped: {e}"))?;
    tokio::task::spawn_blocking(move || hash(&plain))
        .await
        .map_err(|e| format!("password hashing stopped: {e}"))?
        .map_err(|e| format!("password hashing failed: {e}"))
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
