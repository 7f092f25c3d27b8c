//! Looker API credentials (client id and secret) and the access tokens of API sessions.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::access::{Principal, Role};
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::user::UserId;

use crate::StoreError;

/// A Looker API credential: its secret is stored as a keyed digest, with the id of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCredential {
    pub client_id: ClientId,
    pub secret: Sealed,
    pub user_id: UserId,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiCredentialWriteError {
    #[error("no such user")]
    UserNotFound,
    #[error("the client id is taken")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ApiCredentialStore: Send + Sync {
    /// # Errors
    /// [`ApiCredentialWriteError::UserNotFound`], [`ApiCredentialWriteError::Duplicate`].
    async fn create(&self, credential: ApiCredential) -> Result<(), ApiCredentialWriteError>;

    /// # Errors
    /// [`StoreError`] only.
    async fn find(&self, client_id: &ClientId) -> Result<Option<ApiCredential>, StoreError>;

    /// Replaces the secret's digest with `new` (the same secret under the current key) if the
    /// stored one is still `old`; a credential changed meanwhile is left alone.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn reseal(&self, client_id: &ClientId, old: &Digest, new: &Sealed) -> Result<(), StoreError>;
}

/// Where a session lives: its user (the Redis hash tag it shares with the user's credential
/// generation) and the digest of its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionKey {
    pub user_id: UserId,
    pub token: Digest,
}

/// API sessions, kept by digest with a time to live, each under the credential generation of
/// its user at issue. A session resolves only while its generation is the user's published
/// one: publishing a newer generation (after a password or status change) ends every older
/// session of that user, in every process, in the same step.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AccessTokenStore: Send + Sync {
    /// Stores a new session for `ttl` under `generation` (read from the user store with the
    /// user). A `generation` newer than the published one is published with it.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn issue(&self, session: &SessionKey, role: Role, generation: i64, ttl: Duration) -> Result<(), StoreError>;

    /// The session's principal, `None` when unknown, revoked, expired, or issued under an
    /// older generation than the published one. One round trip.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn resolve(&self, session: &SessionKey) -> Result<Option<Principal>, StoreError>;

    /// Ends one session (idempotent).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn revoke(&self, session: &SessionKey) -> Result<(), StoreError>;

    /// Publishes `generation` as the user's current one, unless a newer one is published
    /// (idempotent; never goes back), and keeps it at least `ttl` (the longest a session
    /// lives). [`i64::MAX`] ends every session of the user for good (a deleted user).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn publish_generation(&self, user: UserId, generation: i64, ttl: Duration) -> Result<(), StoreError>;
}
