//! The audit trail of security-relevant events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::UserId;

use crate::StoreError;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    ApiLogin,
    ApiLoginFailed,
    ResetTokenIssued,
    ResetLinkSent,
    PasswordChanged,
    OtpSent,
    UserCreated,
    UserDeleted,
    UserStatusChanged,
    PolicyChanged,
    ForcedResetAll,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiLogin => "api_login",
            Self::ApiLoginFailed => "api_login_failed",
            Self::ResetTokenIssued => "reset_token_issued",
            Self::ResetLinkSent => "reset_link_sent",
            Self::PasswordChanged => "password_changed",
            Self::OtpSent => "otp_sent",
            Self::UserCreated => "user_created",
            Self::UserDeleted => "user_deleted",
            Self::UserStatusChanged => "user_status_changed",
            Self::PolicyChanged => "policy_changed",
            Self::ForcedResetAll => "forced_reset_all",
        }
    }
}

/// One event. `actor` names who did it (`api:<client_id>`, `ciam:<client_id>`, `link`, `cli`);
/// `detail` is free text that never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    pub user_id: Option<UserId>,
    pub actor: String,
    pub detail: String,
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// # Errors
    /// [`StoreError`] only.
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError>;

    /// The newest `limit` events about `user`, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn for_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;
}
