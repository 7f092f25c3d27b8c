//! Password hashing as an async port: implementations run argon2 off the async runtime.

use async_trait::async_trait;
use resetd_domain::password::{Password, PasswordHash};

/// Why a password was not hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HasherError {
    /// The hasher takes no more work: the process is stopping.
    #[error("the password hasher is shutting down")]
    ShuttingDown,
    /// argon2 failed, or the task running it did.
    #[error("password hashing failed")]
    Failed,
    /// Too many callers already wait for a hashing slot: shed this one (a 503).
    #[error("too many passwords are waiting to be hashed")]
    Busy,
}

/// Password hashing, run off the async runtime with bounded concurrency.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new argon2id hash of `password`.
    ///
    /// # Errors
    /// [`HasherError`].
    async fn hash(&self, password: Password) -> Result<PasswordHash, HasherError>;

    /// Whether `password` matches any of `hashes`.
    ///
    /// # Errors
    /// [`HasherError`].
    async fn matches_any(&self, password: Password, hashes: Vec<PasswordHash>) -> Result<bool, HasherError>;

    /// Whether `hash` was made with other parameters than new hashes get (a login then stores
    /// the password again under the current ones).
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;
}
