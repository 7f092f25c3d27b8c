//! Users: identity, profile and status. Passwords live with the user (so phone-only CIAM
//! users have one too); the email credential is in [`crate::credentials`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};

use crate::StoreError;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id, assigned by the store at creation.
    pub id: UserId,
    /// Given name; `None` when not set.
    pub first_name: Option<String>,
    /// Family name; `None` when not set.
    pub last_name: Option<String>,
    /// The locale tag as given (`es-MX`), which picks the language of the user's messages;
    /// `None` when not set (English).
    pub locale: Option<String>,
    /// The phone number; unique among users.
    pub phone: Option<PhoneNumber>,
    /// Whether the account may reset its password.
    pub status: UserStatus,
    /// The email of the user's email credential, if it has one.
    pub email: Option<Email>,
    /// Whether the user has a password (false from creation until the first change).
    pub has_password: bool,
    /// The credential generation: bumped in the same transaction as every password change and
    /// every status change, so what was issued under an older one (an OTP challenge) is dead.
    pub generation: i64,
    /// When the user was created (the `now` given to [`UserStore::create`]).
    pub created_at: DateTime<Utc>,
}

/// What a new user starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    /// Given name, if any.
    pub first_name: Option<String>,
    /// Family name, if any.
    pub last_name: Option<String>,
    /// Locale tag, if any ([`User::locale`]).
    pub locale: Option<String>,
    /// Phone number, if any; it must not belong to another user.
    pub phone: Option<PhoneNumber>,
    /// Start as [`UserStatus::Disabled`] rather than [`UserStatus::Active`].
    pub disabled: bool,
    /// The address of the user's email credential, created with the user in the same write;
    /// it must not belong to another user.
    pub email: Option<Email>,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// The new given name.
    pub first_name: Option<Option<String>>,
    /// The new family name.
    pub last_name: Option<Option<String>>,
    /// The new locale tag.
    pub locale: Option<Option<String>>,
    /// The new phone number; it must not belong to another user.
    pub phone: Option<Option<PhoneNumber>>,
    /// The new status; a change bumps the credential generation ([`UserStore::update`]).
    pub status: Option<UserStatus>,
    /// The new address of the user's email credential (created if the user has none), written
    /// with the rest of the patch; a new address ends the outstanding link, as
    /// [`CredentialStore::update`](crate::credentials::CredentialStore::update) does. It must
    /// not belong to another user.
    pub email: Option<Email>,
    /// Audit events written in the same step as the patch (a status change, a new address):
    /// on any error none is.
    pub audit: Vec<crate::audit::AuditEvent>,
}

/// Why a user was not created or updated.
#[derive(Debug, thiserror::Error)]
pub enum UserWriteError {
    /// Another user has the phone number.
    #[error("the phone number belongs to another user")]
    PhoneTaken,
    /// Another user's email credential has the address.
    #[error("the email belongs to another user")]
    EmailTaken,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Users: identity, profile and status.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user with a new id, status `Active` (or `Disabled` if asked), no password, and
    /// its email credential when `new.email` is set, in one write: on any error nothing is.
    ///
    /// # Errors
    /// [`UserWriteError::PhoneTaken`] when another user has the phone number,
    /// [`UserWriteError::EmailTaken`] when another user has the email.
    async fn create(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, UserWriteError>;

    /// The user with this id; `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user whose email credential has this address.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// The user with this phone number.
    ///
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
    /// a status that may not sign in also ends the outstanding link. All of it, the email
    /// included, is one write: on any error nothing is.
    ///
    /// # Errors
    /// [`UserWriteError::PhoneTaken`] when the new phone belongs to another user,
    /// [`UserWriteError::EmailTaken`] when the new email does.
    async fn update(&self, id: UserId, patch: UserPatch) -> Result<Option<User>, UserWriteError>;

    /// Deletes the user with its credentials, history and API credentials, and writes an
    /// outbox row that ends its sessions for good and `audit`, in one step; `false` (and no
    /// event) when absent.
    ///
    /// # Errors
    /// [`StoreError`] only; nothing is written then.
    async fn delete(&self, id: UserId, audit: &crate::audit::AuditEvent) -> Result<bool, StoreError>;
}
