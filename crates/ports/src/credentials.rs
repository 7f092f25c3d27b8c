//! The email credential (Looker `credentials_email`), reset tokens and password changes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::password::PasswordHash;
use resetd_domain::reset_token::ResetTokenKind;
use resetd_domain::user::{Email, UserId};

use crate::StoreError;

/// A user's email credential as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCredential {
    pub user_id: UserId,
    pub email: Email,
    pub created_at: DateTime<Utc>,
    pub logged_in_at: Option<DateTime<Utc>>,
    pub forced_reset: bool,
    /// The live or expired reset token, if one was issued and not consumed.
    pub reset: Option<IssuedToken>,
}

/// What is known of an issued reset token (never the token itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedToken {
    pub kind: ResetTokenKind,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whose token a presented digest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOwner {
    pub user_id: UserId,
    pub kind: ResetTokenKind,
}

/// What the history check needs, read in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordState {
    pub current: Option<PasswordHash>,
    /// Previous passwords, newest first (the current one is the newest entry).
    pub history: Vec<PasswordHash>,
    /// Bumped by every change; [`ChangePassword::expected_version`] must match it.
    pub version: i64,
}

/// One atomic password change.
#[derive(Debug, Clone)]
pub struct ChangePassword {
    pub user_id: UserId,
    pub new_hash: PasswordHash,
    pub expected_version: i64,
    /// The credential generation of the user as the caller read it (with its status): a
    /// status change since, which bumps the generation but not the version, stops the change
    /// with [`ChangePasswordError::VersionMoved`].
    pub expected_generation: i64,
    /// History entries to keep after appending the new hash (at least 1).
    pub history_limit: u32,
    /// The reset token to consume in the same transaction; it must be this user's and live.
    pub consume: Option<Digest>,
    pub now: DateTime<Utc>,
    /// Written in the same transaction: the audit event of the change.
    pub audit: crate::audit::AuditEvent,
    /// The "password changed" notice, delivered through the outbox row written with the
    /// change (which also publishes the new credential generation).
    pub notice: Option<crate::outbox::PendingNotice>,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialWriteError {
    #[error("no such user")]
    UserNotFound,
    #[error("the user already has an email credential")]
    AlreadyExists,
    #[error("the email belongs to another user")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("no such user")]
    UserNotFound,
    #[error("the password or the user's status changed since they were read")]
    VersionMoved,
    #[error("the reset token is used, replaced or expired")]
    TokenGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// # Errors
    /// [`StoreError`] only.
    async fn get(&self, user: UserId) -> Result<Option<EmailCredential>, StoreError>;

    /// The credentials of `users` in one read (a page of users costs one call, whatever its
    /// size), in no particular order; users without one are left out.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn get_many(&self, users: &[UserId]) -> Result<Vec<EmailCredential>, StoreError>;

    /// # Errors
    /// [`CredentialWriteError::UserNotFound`], [`CredentialWriteError::AlreadyExists`],
    /// [`CredentialWriteError::EmailTaken`].
    async fn create(
        &self,
        user: UserId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<EmailCredential, CredentialWriteError>;

    /// Changes the email and/or the forced-reset flag of an existing credential.
    ///
    /// # Errors
    /// [`CredentialWriteError::UserNotFound`] when the user has no credential,
    /// [`CredentialWriteError::EmailTaken`].
    async fn update(
        &self,
        user: UserId,
        email: Option<Email>,
        forced_reset: Option<bool>,
    ) -> Result<EmailCredential, CredentialWriteError>;

    /// Removes the credential and its reset token; `false` when there was none.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn delete(&self, user: UserId) -> Result<bool, StoreError>;

    /// Stores `token` as the user's only reset token, replacing any previous one atomically,
    /// and answers the credential as it now stands; `None` when the user has no email
    /// credential.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn issue_reset_token(
        &self,
        user: UserId,
        token: &Sealed,
        kind: ResetTokenKind,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<EmailCredential>, StoreError>;

    /// The owner of a token that is live at `now`; `None` for unknown, replaced, consumed or
    /// expired tokens alike.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find_reset_token(&self, token: &Digest, now: DateTime<Utc>) -> Result<Option<TokenOwner>, StoreError>;

    /// `None` when there is no such user.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn password_state(&self, user: UserId, history_limit: u32) -> Result<Option<PasswordState>, StoreError>;

    /// In one transaction: checks the version, consumes the token if given (any other
    /// outstanding link dies too), sets the hash, bumps the credential generation, appends the
    /// hash to the history and trims it, clears the forced-reset flag, records the audit event
    /// and writes the outbox row (the generation to publish, the notice). Answers the new
    /// generation.
    ///
    /// # Errors
    /// [`ChangePasswordError::UserNotFound`], [`ChangePasswordError::VersionMoved`],
    /// [`ChangePasswordError::TokenGone`]; nothing is written on any error.
    async fn change_password(&self, change: ChangePassword) -> Result<i64, ChangePasswordError>;

    /// Sets the forced-reset flag on every credential; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn force_reset_all(&self) -> Result<u64, StoreError>;
}
