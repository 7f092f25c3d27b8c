//! The default password policy, as edited through Looker's `password_config`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::policy::PasswordPolicy;

use crate::StoreError;

/// The stored default policy and when it was last set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// The policy as last set.
    pub policy: PasswordPolicy,
    /// When it was set (the `now` given to [`PolicyStore::set_default_policy`]).
    pub updated_at: DateTime<Utc>,
}

/// The one stored default password policy.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The stored default policy; `None` until one is set (the configured default applies).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn default_policy(&self) -> Result<Option<StoredPolicy>, StoreError>;

    /// Replaces the default policy.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn set_default_policy(&self, policy: &PasswordPolicy, now: DateTime<Utc>) -> Result<(), StoreError>;
}
