//! Users: identity, profile and status. Passwords live with the user (so phone-only CIAM
//! users have one too); the email credential is in [`crate::credentials`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};

use crate::StoreError;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub status: UserStatus,
    /// The email of the user's email credential, if it has one.
    pub email: Option<Email>,
    pub has_password: bool,
    /// The credential generation: bumped in the same transaction as every password change and
    /// every status change, so what was issued under an older one (an OTP challenge) is dead.
    pub generation: i64,
    pub created_at: DateTime<Utc>,
}

/// What a new user starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub disabled: bool,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub phone: Option<Option<PhoneNumber>>,
    pub status: Option<UserStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum UserWriteError {
    #[error("the phone number belongs to another user")]
    PhoneTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user with a new id, status `Active` (or `Disabled` if asked), no password.
    ///
    /// # Errors
    /// [`UserWriteError::PhoneTaken`] when another user has the phone number.
    async fn create(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, UserWriteError>;

    /// # Errors
    /// [`StoreError`] only.
    async fn find(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user whose email credential has this address.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// # Errors
    /// [`StoreError`] only.
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError>;

    /// Users in id order.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn list(&self, offset: u64, limit: u64) -> Result<Vec<User>, StoreError>;

    /// Applies `patch`; `Ok(None)` when there is no such user. A new status bumps the
    /// credential generation and writes an outbox row to publish it, in the same transaction;
    /// a status that may not sign in also ends the outstanding link.
    ///
    /// # Errors
    /// [`UserWriteError::PhoneTaken`] when the new phone belongs to another user.
    async fn update(&self, id: UserId, patch: UserPatch) -> Result<Option<User>, UserWriteError>;

    /// Deletes the user with its credentials, history and API credentials, and writes an
    /// outbox row that ends its sessions for good; `false` when absent.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn delete(&self, id: UserId) -> Result<bool, StoreError>;
}
