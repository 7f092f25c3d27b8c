//! CIAM logins: the login sessions (refresh-token families) and the login lockout, both kept
//! by the ephemeral store (Redis in production) in the user's own hash slot.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::login::FamilyId;
use resetd_domain::user::UserId;

use crate::StoreError;

/// Where a login session lives: its user (the hash tag) and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyKey {
    /// The user logged in.
    pub user_id: UserId,
    /// The login session.
    pub family: FamilyId,
}

/// What a login session was opened with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// The client that logged the user in; only it may refresh or revoke the session.
    pub client_id: ClientId,
    /// The user's credential generation at login: a refresh under a newer one fails.
    pub generation: i64,
    /// When the user proved its password (the ID token's `auth_time`).
    pub auth_time: DateTime<Utc>,
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was the current one: `next` is current now.
    Rotated {
        /// The session.
        family: Family,
        /// When the rotation happened (the `now` given).
        at: DateTime<Utc>,
    },
    /// The presented token was rotated moments ago (within the grace window) into `next`:
    /// nothing changed, and the caller answers what the first refresh answered.
    Retried {
        /// The session.
        family: Family,
        /// When the first refresh rotated it.
        at: DateTime<Utc>,
    },
    /// The presented token was rotated before (outside the grace window, or into another
    /// successor): a replayed token. The whole session has been ended.
    Reused,
    /// No such session, or another client's: nothing changed.
    Unknown,
}

/// Login sessions: the refresh tokens of each (current and previous, as keyed digests),
/// with a time to live renewed at each rotation.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Opens a session whose current refresh token is `token`, for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn start(&self, key: &FamilyKey, family: &Family, token: &Digest, ttl: Duration) -> Result<(), StoreError>;

    /// Atomically, for `client` only: when `presented` is the current token, makes `next`
    /// current (remembering `presented` as the previous one, rotated at `now`) and renews the
    /// session for `ttl`; when `presented` is the previous one and `next` its successor, within
    /// `grace` of that rotation, changes nothing ([`Rotation::Retried`]); any other token of
    /// the session ends it ([`Rotation::Reused`]).
    ///
    /// # Errors
    /// [`StoreError`] only.
    #[allow(clippy::too_many_arguments)]
    async fn rotate(
        &self,
        key: &FamilyKey,
        client: &ClientId,
        presented: &Digest,
        next: &Digest,
        now: DateTime<Utc>,
        grace: Duration,
        ttl: Duration,
    ) -> Result<Rotation, StoreError>;

    /// The session, while it lives.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find(&self, key: &FamilyKey) -> Result<Option<Family>, StoreError>;

    /// Ends the session (idempotent): its refresh tokens, and the access tokens issued in it
    /// at resetd's own endpoints.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn end(&self, key: &FamilyKey) -> Result<(), StoreError>;
}

/// Whose failures a lockout counts: a user, or a username that names nobody (its keyed
/// digest), counted the same way so that the counting does not tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutSubject {
    /// A known user.
    User(UserId),
    /// An unknown username, as the keyed digest of its normalised form.
    Unknown(Digest),
}

/// The lockout policy in force: `threshold` failures within `window` lock for `lock_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// Failed attempts that lock; 0 switches the lockout off.
    pub threshold: u32,
    /// How long failures are counted from the first one.
    pub window: Duration,
    /// How long the lock lasts.
    pub lock_for: Duration,
}

/// The login lockout (contract §3.1, "password lock"), atomic across processes.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LoginLockout: Send + Sync {
    /// Whether `subject` is locked now.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn is_locked(&self, subject: &LockoutSubject) -> Result<bool, StoreError>;

    /// Counts one failure; when it reaches the rule's threshold the subject is locked for
    /// `lock_for` (and the count starts again). Answers whether the subject is locked now.
    /// A threshold of 0 counts nothing.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn record_failure(&self, subject: &LockoutSubject, rule: &LockoutRule) -> Result<bool, StoreError>;

    /// Clears the subject's lock and failure count (a successful reset, a successful login).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn clear(&self, subject: &LockoutSubject) -> Result<(), StoreError>;
}
