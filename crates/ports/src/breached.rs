//! The breached-password range service (k-anonymity): the use case sends the first five hex
//! digits of a password's SHA-1 and compares the answer itself, so neither the password nor its
//! hash leaves the process.

use async_trait::async_trait;

use crate::StoreError;

/// A k-anonymity range of breached passwords.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait BreachedPasswords: Send + Sync {
    /// The SHA-1 suffixes (the 35 hex digits after `prefix`) of passwords seen in breaches,
    /// for the five-hex-digit `prefix`; entries the service pads its answer with (seen zero
    /// times) are left out.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the service cannot be reached or fails to answer in
    /// time; [`StoreError::Unexpected`] for an answer it cannot read.
    async fn range(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}
