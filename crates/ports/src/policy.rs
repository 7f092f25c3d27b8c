//! The default password policy, as edited through Looker's `password_config`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::policy::PasswordPolicy;

use crate::StoreError;

/// The stored default policy and when it was last set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    pub policy: PasswordPolicy,
    pub updated_at: DateTime<Utc>,
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// `None` until one is set (the configured default applies).
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
