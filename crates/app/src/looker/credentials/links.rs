//! `/users/{id}/credentials_email/password_reset` and `send_password_reset`: a new reset or
//! setup link, shown once or emailed.

use resetd_domain::access::Principal;
use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;
use resetd_domain::reset_token::{ResetToken, ResetTokenKind, TokenLifetime};
use resetd_domain::user::UserId;
use resetd_ports::audit::AuditKind;
use resetd_ports::notify::{Notice, Notification, NotifyError};
use secrecy::SecretString;

use super::super::{access_into, Access, CredentialView, LookerService, User};
use crate::{fault, Fault};

/// What `create_password_reset` answers instead of a link; no link was issued.
#[derive(Debug, thiserror::Error)]
pub enum CreatePasswordResetError {
    /// The caller may not act on this user.
    #[error("forbidden")]
    Forbidden,
    /// No such user, or it has no email credential.
    #[error("not found")]
    NotFound,
    /// The caller issued too many links.
    #[error("too many links")]
    RateLimited {
        /// How long until the limit lets a request through again.
        retry_after: std::time::Duration,
    },
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `send_password_reset` answers instead of a sent link.
#[derive(Debug, thiserror::Error)]
pub enum SendPasswordResetError {
    /// The caller may not act on this user.
    #[error("forbidden")]
    Forbidden,
    /// No such user, or it has no email credential.
    #[error("not found")]
    NotFound,
    /// The caller issued too many links.
    #[error("too many links")]
    RateLimited {
        /// How long until the limit lets a request through again.
        retry_after: std::time::Duration,
    },
    /// Email delivery is switched off on this server (`mail.enabled = false`).
    #[error("email delivery is switched off")]
    EmailOff,
    /// The link was issued (the old one is dead) but the message could not be delivered.
    #[error("the link could not be delivered: {0}")]
    DeliveryFailed(Fault),
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(CreatePasswordResetError, SendPasswordResetError);
access_into!(CreatePasswordResetError, SendPasswordResetError);

/// Why issuing a link failed, before the operation names it.
#[derive(Debug)]
enum IssueError {
    Access(Access),
    RateLimited(std::time::Duration),
}

impl From<Access> for IssueError {
    fn from(a: Access) -> Self {
        Self::Access(a)
    }
}

impl From<Fault> for IssueError {
    fn from(f: Fault) -> Self {
        Self::Access(Access::Fault(f))
    }
}

impl From<IssueError> for CreatePasswordResetError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Access(a) => a.into(),
            IssueError::RateLimited(retry_after) => Self::RateLimited { retry_after },
        }
    }
}

impl From<IssueError> for SendPasswordResetError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Access(a) => a.into(),
            IssueError::RateLimited(retry_after) => Self::RateLimited { retry_after },
        }
    }
}

impl LookerService {
    async fn issue(
        &self,
        caller: Principal,
        id: UserId,
        kind: Option<ResetTokenKind>,
        lifetime: TokenLifetime,
    ) -> Result<(User, CredentialView, SecretString, ResetTokenKind), IssueError> {
        let user = self.administered(caller, id).await?;
        let limit = self.ctx.settings.reset_per_caller;
        let budget = crate::limit_keys::links_by(caller.user_id);
        if let Some(retry_after) = self.limited(budget.clone(), limit).await? {
            return Err(IssueError::RateLimited(retry_after));
        }
        let kind = kind.unwrap_or(if user.has_password {
            ResetTokenKind::PasswordReset
        } else {
            ResetTokenKind::AccountSetup
        });
        let ports = &self.ctx.ports;
        let s = &self.ctx.settings;
        let token = ResetToken::generate(&mut rand::rngs::OsRng);
        let now = ports.clock.now();
        // The answer is the credential as stored with its new token, and the audit event is
        // written in the same step: no read before or after, no link without its record.
        let actor = format!("api-user:{}", caller.user_id);
        let event = ports.event(AuditKind::ResetTokenIssued, Some(id), actor, kind.as_str().to_owned());
        let sealed = s.keys.seal(|k| token.digest(k));
        let expires = Some(self.link_expiry(lifetime, now));
        let issued = ports.credentials.issue_reset_token(id, &sealed, kind, expires, now, &event).await;
        let Some(credential) = issued.map_err(fault("issuing a reset token"))? else {
            // No email credential, no link: the hit is given back.
            ports.rate_limiter.undo(&budget).await.map_err(fault("giving back a link hit"))?;
            return Err(Access::NotFound.into());
        };
        let url = SecretString::from(format!("{}{}/{}", s.public_base_url, kind.path(), token.expose()));
        let view = self.view(credential, &user, Some((kind, url.clone())));
        Ok((user, view, url, kind))
    }

    /// When a link issued now dies: its lifetime, and a `NonExpiring` one (Looker's
    /// `expires=false`) at the server's maximum (`links.max_lifetime_days`).
    fn link_expiry(
        &self,
        lifetime: TokenLifetime,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        let max =
            now + chrono::Duration::from_std(self.ctx.settings.link_max_lifetime).unwrap_or(chrono::Duration::MAX);
        lifetime.expires_at(now).map_or(max, |at| at.min(max))
    }

    /// `POST /users/{id}/credentials_email/password_reset?expires=`: a new reset token
    /// (replacing any previous one), returned once inside `password_reset_url`.
    ///
    /// # Errors
    /// [`CreatePasswordResetError`]: the caller, the user, the caller's link budget, then the
    /// credential.
    #[tracing::instrument(name = "admin.password_reset", skip_all, fields(user_id = %id), err(level = "info", Display))]
    pub async fn create_password_reset(
        &self,
        caller: Principal,
        id: UserId,
        expires: bool,
    ) -> Result<CredentialView, CreatePasswordResetError> {
        let (_, view, _, _) =
            self.issue(caller, id, Some(ResetTokenKind::PasswordReset), TokenLifetime::from_expires(expires)).await?;
        Ok(view)
    }

    /// `POST /users/{id}/credentials_email/send_password_reset`: an expiring link by email
    /// (an account-setup link for a user who never set a password).
    ///
    /// # Errors
    /// [`SendPasswordResetError`]; `EmailOff` only after the caller and the user passed.
    #[tracing::instrument(name = "admin.send_password_reset", skip_all, fields(user_id = %id), err(level = "info", Display))]
    pub async fn send_password_reset(
        &self,
        caller: Principal,
        id: UserId,
    ) -> Result<CredentialView, SendPasswordResetError> {
        if !self.ctx.settings.email_enabled {
            self.administered(caller, id).await?;
            return Err(SendPasswordResetError::EmailOff);
        }
        let lifetime = TokenLifetime::LOOKER_EXPIRING;
        let (user, view, url, kind) = self.issue(caller, id, None, lifetime).await?;
        let expires_in = match lifetime {
            TokenLifetime::Expiring(d) => Some(d),
            TokenLifetime::NonExpiring => None,
        };
        let notice = match kind {
            ResetTokenKind::PasswordReset => Notice::ResetLink { url, expires_in },
            ResetTokenKind::AccountSetup => Notice::SetupLink { url, expires_in },
        };
        let notification = Notification {
            to: Recipient::Email(view.credential.email.clone()),
            language: Language::from_locale(user.locale.as_deref()),
            name: user.first_name.clone(),
            notice,
        };
        let sent = self.ctx.ports.notifier.send(notification).await;
        sent.map_err(|e| match e {
            // A sender that is not configured is no outage to retry: a 500 for the operator.
            e @ NotifyError::NoChannel(_) => SendPasswordResetError::Unexpected(Fault::new("sending a reset link", e)),
            e @ NotifyError::Delivery(_) => {
                SendPasswordResetError::DeliveryFailed(Fault::new("sending a reset link", e))
            }
        })?;
        self.ctx
            .ports
            .audit(AuditKind::ResetLinkSent, Some(id), format!("api-user:{}", caller.user_id), kind.as_str().to_owned())
            .await?;
        Ok(view)
    }
}
