//! Looker API credentials (client id and secret) and the access tokens of API sessions.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::access::{Principal, Role};
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::user::UserId;

use crate::StoreError;

/// A Looker API credential: its secret is stored as a keyed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCredential {
    pub client_id: ClientId,
    pub secret: Digest,
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
}

/// Access tokens of API sessions, kept by digest with a time to live.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AccessTokenStore: Send + Sync {
    /// Stores a new session for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn issue(&self, token: &Digest, principal: Principal, ttl: Duration) -> Result<(), StoreError>;

    /// The session's principal, `None` when unknown, revoked or expired.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn resolve(&self, token: &Digest) -> Result<Option<Principal>, StoreError>;

    /// Ends one session (idempotent).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn revoke(&self, token: &Digest) -> Result<(), StoreError>;

    /// Ends every session of `user` (after a password change).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn revoke_all(&self, user: UserId) -> Result<(), StoreError>;
}
