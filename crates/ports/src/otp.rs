//! Sent one-time codes, verified and claimed atomically.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::keyed::Digest;
use resetd_domain::otp::{OtpBinding, OtpChallenge};

use crate::StoreError;

/// A challenge held by one verification: nobody else can claim it until it is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The digest of the claimed challenge's `otp_token`.
    pub token: Digest,
    /// Random id of this claim, so only its holder can release or consume it.
    pub id: String,
}

/// The outcome of [`OtpStore::verify_and_claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Right code: the challenge is now held by this claim.
    Claimed(Claim),
    /// Wrong code: one attempt spent; at 0 the challenge is deleted.
    WrongCode {
        /// Guesses left after this one.
        attempts_left: u32,
    },
    /// The token lives but its code expired.
    CodeExpired,
    /// Issued for another client, usage or recipient (no attempt spent).
    Mismatch,
    /// Unknown, expired, exhausted, claimed by someone else, or consumed.
    Gone,
}

/// Sent one-time-code challenges, kept by the digest of their token until they expire.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// Stores a challenge until its `expires_at`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn create(&self, challenge: &OtpChallenge, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Judges `guess` (see `OtpChallenge::judge`) and applies the result in one atomic step: a
    /// wrong guess costs an attempt and the last one deletes the challenge; a right guess
    /// claims it so that a concurrent second verification gets [`ClaimOutcome::Gone`].
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn verify_and_claim(
        &self,
        token: &Digest,
        guess: &Digest,
        binding: &OtpBinding,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Gives a claimed challenge back (the new password was refused): the code stays usable.
    /// Does nothing unless `claim` still holds it.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn release(&self, claim: &Claim) -> Result<(), StoreError>;

    /// Deletes a claimed challenge for good. Does nothing unless `claim` still holds it.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn consume(&self, claim: &Claim) -> Result<(), StoreError>;

    /// Deletes a challenge whatever its state (its message could not be delivered).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn discard(&self, token: &Digest) -> Result<(), StoreError>;
}
