//! The audit trail of security-relevant events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::UserId;

use crate::StoreError;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// An API client logged in and got a session.
    ApiLogin,
    /// An API login was refused (unknown client, wrong secret, or a user who may not log in).
    ApiLoginFailed,
    /// A reset or setup link was made and its URL returned to the API caller.
    ResetTokenIssued,
    /// A reset or setup link was emailed to the user.
    ResetLinkSent,
    /// A user's password was changed (by link, one-time code or API).
    PasswordChanged,
    /// A one-time code was sent.
    OtpSent,
    /// A user was created.
    UserCreated,
    /// A user was deleted.
    UserDeleted,
    /// A user's status changed (`detail` names the new one).
    UserStatusChanged,
    /// The default password policy was changed.
    PolicyChanged,
    /// Every email credential was flagged for a forced reset (`detail` says how many).
    ForcedResetAll,
    /// A user's email credential was created, given another address or deleted (`detail`:
    /// `created`, `updated` or `deleted`).
    EmailCredentialChanged,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [Self; 12] = [
        Self::ApiLogin,
        Self::ApiLoginFailed,
        Self::ResetTokenIssued,
        Self::ResetLinkSent,
        Self::PasswordChanged,
        Self::OtpSent,
        Self::UserCreated,
        Self::UserDeleted,
        Self::UserStatusChanged,
        Self::PolicyChanged,
        Self::ForcedResetAll,
        Self::EmailCredentialChanged,
    ];

    /// The kind a stored name names ([`Self::as_str`] back); `None` for any other text.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == stored)
    }

    /// The kind's name, as stored: `api_login`, `password_changed`, …
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
            Self::EmailCredentialChanged => "email_credential_changed",
        }
    }
}

/// One event, as the use case that caused it writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened (the caller's clock).
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: AuditKind,
    /// The user it concerns; `None` when there is none (a policy change, a refused login).
    pub user_id: Option<UserId>,
    /// Who did it: `api:<client_id>`, `api-user:<user id>`, `ciam:<client_id>`, `link` or `cli`.
    pub actor: String,
    /// Free text for operators; never holds a secret.
    pub detail: String,
}

/// The append-only audit trail.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `event`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError>;

    /// Appends `events`, all or none (a store that can should do it in one round trip).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn record_many(&self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        for event in events {
            self.record(event).await?;
        }
        Ok(())
    }

    /// The newest `limit` events about `user`, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn for_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::AuditKind;

    /// Fails to compile when a kind is added, until [`AuditKind::ALL`] lists it too.
    fn listed(kind: AuditKind) -> bool {
        match kind {
            AuditKind::ApiLogin
            | AuditKind::ApiLoginFailed
            | AuditKind::ResetTokenIssued
            | AuditKind::ResetLinkSent
            | AuditKind::PasswordChanged
            | AuditKind::OtpSent
            | AuditKind::UserCreated
            | AuditKind::UserDeleted
            | AuditKind::UserStatusChanged
            | AuditKind::PolicyChanged
            | AuditKind::ForcedResetAll
            | AuditKind::EmailCredentialChanged => AuditKind::ALL.contains(&kind),
        }
    }

    #[test]
    fn every_kind_is_listed_and_reads_back() {
        for kind in AuditKind::ALL {
            assert!(listed(kind), "{kind:?}");
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("nonsense"), None);
    }
}
