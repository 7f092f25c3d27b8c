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
    /// The user it belongs to (a user has at most one).
    pub user_id: UserId,
    /// The address; unique among credentials.
    pub email: Email,
    /// When the credential was created (the `now` given to [`CredentialStore::create`]).
    pub created_at: DateTime<Utc>,
    /// Looker's `logged_in_at`: when the user last signed in with it. resetd never sets it;
    /// `None` unless the store holds one from elsewhere.
    pub logged_in_at: Option<DateTime<Utc>>,
    /// Whether the user must choose a new password (Looker's `forced_password_reset_at_next_login`):
    /// set by [`CredentialStore::update`] or [`CredentialStore::force_reset_all`], cleared by a
    /// password change.
    pub forced_reset: bool,
    /// The live or expired reset token, if one was issued and not consumed.
    pub reset: Option<IssuedToken>,
}

/// What is known of an issued reset token (never the token itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedToken {
    /// Which link it was issued for.
    pub kind: ResetTokenKind,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The instant it dies (already dead at that instant); `None` for a non-expiring link.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whose token a presented digest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOwner {
    /// The user the token was issued to.
    pub user_id: UserId,
    /// Which link it was issued for.
    pub kind: ResetTokenKind,
}

/// What the history check needs, read in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordState {
    /// The hash of the current password; `None` while the user has none.
    pub current: Option<PasswordHash>,
    /// Previous passwords, newest first (the current one is the newest entry).
    pub history: Vec<PasswordHash>,
    /// Bumped by every change; [`ChangePassword::expected_version`] must match it.
    pub version: i64,
}

/// One atomic password change.
#[derive(Debug, Clone)]
pub struct ChangePassword {
    /// The user whose password changes.
    pub user_id: UserId,
    /// The hash to set, made by the caller (the store neither hashes nor checks it).
    pub new_hash: PasswordHash,
    /// The [`PasswordState::version`] the caller read: a change committed since stops this one
    /// with [`ChangePasswordError::VersionMoved`].
    pub expected_version: i64,
    /// The credential generation of the user as the caller read it (with its status): a
    /// status change since, which bumps the generation but not the version, stops the change
    /// with [`ChangePasswordError::VersionMoved`].
    pub expected_generation: i64,
    /// History entries to keep after appending the new hash (at least 1).
    pub history_limit: u32,
    /// The reset token to consume in the same transaction; it must be this user's and live.
    pub consume: Option<Digest>,
    /// The instant of the change: the token to consume must be live at it.
    pub now: DateTime<Utc>,
    /// Written in the same transaction: the audit event of the change.
    pub audit: crate::audit::AuditEvent,
    /// The "password changed" notice, delivered through the outbox row written with the
    /// change (which also publishes the new credential generation).
    pub notice: Option<crate::outbox::PendingNotice>,
}

/// Why an email credential was not created or changed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialWriteError {
    /// No such user (for [`CredentialStore::update`]: the user has no credential).
    #[error("no such user")]
    UserNotFound,
    /// The user already has an email credential.
    #[error("the user already has an email credential")]
    AlreadyExists,
    /// Another user's credential has this address.
    #[error("the email belongs to another user")]
    EmailTaken,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`CredentialStore::change_password`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// No such user.
    #[error("no such user")]
    UserNotFound,
    /// The password version or the credential generation is no longer the one the caller read.
    #[error("the password or the user's status changed since they were read")]
    VersionMoved,
    /// The token to consume is not this user's live token: used, replaced or expired.
    #[error("the reset token is used, replaced or expired")]
    TokenGone,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Email credentials, reset tokens, and passwords with their history.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// The user's credential; `None` when the user has none (or does not exist).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn get(&self, user: UserId) -> Result<Option<EmailCredential>, StoreError>;

    /// The credentials of `users` in one read (a page of users costs one call, whatever its
    /// size), in no particular order; users without one are left out.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn get_many(&self, users: &[UserId]) -> Result<Vec<EmailCredential>, StoreError>;

    /// Gives `user` an email credential with `email`, without a reset token.
    ///
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
    /// writes `audit` in the same step, and answers the credential as it now stands; `None`
    /// (and no event) when the user has no email credential.
    ///
    /// # Errors
    /// [`StoreError`] only; nothing is written then.
    async fn issue_reset_token(
        &self,
        user: UserId,
        token: &Sealed,
        kind: ResetTokenKind,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        audit: &crate::audit::AuditEvent,
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

    /// Replaces the user's current hash `old` with `new`, the same password hashed under the
    /// current argon2 parameters, only if `old` is still the current hash: no version bump, no
    /// history entry, no generation bump, no notice (nothing that could race a reset). `false`
    /// when the password changed meanwhile (or there is no such user).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn rehash(&self, user: UserId, old: &PasswordHash, new: &PasswordHash) -> Result<bool, StoreError>;

    /// Sets the forced-reset flag on every credential; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn force_reset_all(&self) -> Result<u64, StoreError>;
}
