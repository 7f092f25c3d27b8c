//! `/users/{id}/credentials_email` and its reset links.

use resetd_domain::access::Principal;
use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;
use resetd_domain::reset_token::{is_live, ResetToken, ResetTokenKind, TokenLifetime};
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::{CredentialWriteError, EmailCredential};
use resetd_ports::notify::{Notice, Notification};
use secrecy::SecretString;

use super::{access_into, parse_email, Access, CredentialView, InvalidInput, LookerService, User};
use crate::{fault, Fault};

/// What `get_credential` answers instead of the credential.
#[derive(Debug, thiserror::Error)]
pub enum GetCredentialError {
    /// The caller may not act on this user.
    #[error("forbidden")]
    Forbidden,
    /// No such user, or it has no email credential.
    #[error("not found")]
    NotFound,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `create_credential` answers instead of the new credential.
#[derive(Debug, thiserror::Error)]
pub enum CreateCredentialError {
    /// The caller may not act on this user.
    #[error("forbidden")]
    Forbidden,
    /// No such user.
    #[error("not found")]
    NotFound,
    /// The email is not an address; nothing was written.
    #[error("invalid input: {0}")]
    Invalid(InvalidInput),
    /// The email belongs to another user.
    #[error("the email is already in use")]
    EmailTaken,
    /// The user already has an email credential.
    #[error("the user already has an email credential")]
    AlreadyExists,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `update_credential` answers instead of the updated credential.
#[derive(Debug, thiserror::Error)]
pub enum UpdateCredentialError {
    /// The caller may not act on this user.
    #[error("forbidden")]
    Forbidden,
    /// No such user, or it has no email credential.
    #[error("not found")]
    NotFound,
    /// The email is not an address; nothing was written.
    #[error("invalid input: {0}")]
    Invalid(InvalidInput),
    /// The email belongs to another user.
    #[error("the email is already in use")]
    EmailTaken,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `delete_credential` answers when it deletes nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeleteCredentialError {
    /// The caller may not act on this user.
    #[error("forbidden")]
    Forbidden,
    /// No such user, or it has no email credential.
    #[error("not found")]
    NotFound,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

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

faults_into!(
    GetCredentialError,
    CreateCredentialError,
    UpdateCredentialError,
    DeleteCredentialError,
    CreatePasswordResetError,
    SendPasswordResetError,
);
access_into!(
    GetCredentialError,
    CreateCredentialError,
    UpdateCredentialError,
    DeleteCredentialError,
    CreatePasswordResetError,
    SendPasswordResetError,
);

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
    pub(super) fn view(
        &self,
        credential: EmailCredential,
        user: &User,
        link: Option<(ResetTokenKind, SecretString)>,
    ) -> CredentialView {
        let now = self.ctx.ports.clock.now();
        let live = |kind| credential.reset.is_some_and(|t| t.kind == kind && is_live(t.expires_at, now));
        let (mut reset_url, mut setup_url) = (None, None);
        match link {
            Some((ResetTokenKind::PasswordReset, url)) => reset_url = Some(url),
            Some((ResetTokenKind::AccountSetup, url)) => setup_url = Some(url),
            None => {}
        }
        CredentialView {
            password_reset_url_expired: !live(ResetTokenKind::PasswordReset),
            account_setup_url_expired: !live(ResetTokenKind::AccountSetup),
            user_disabled: user.status == UserStatus::Disabled,
            password_reset_url: reset_url,
            account_setup_url: setup_url,
            credential,
        }
    }

    /// `GET /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// [`GetCredentialError`].
    pub async fn get_credential(&self, caller: Principal, id: UserId) -> Result<CredentialView, GetCredentialError> {
        let user = self.user(caller, id).await?;
        let c = self.ctx.ports.credentials.get(user.id).await.map_err(fault("loading a credential"))?;
        Ok(self.view(c.ok_or(GetCredentialError::NotFound)?, &user, None))
    }

    /// `POST /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// [`CreateCredentialError`]: the caller and the user first, then the email.
    pub async fn create_credential(
        &self,
        caller: Principal,
        id: UserId,
        email: Option<&str>,
    ) -> Result<CredentialView, CreateCredentialError> {
        let user = self.administered(caller, id).await?;
        let email =
            Email::parse(email.unwrap_or_default()).map_err(|_| CreateCredentialError::Invalid(InvalidInput::Email))?;
        let created = self.ctx.ports.credentials.create(id, &email, self.ctx.ports.clock.now()).await;
        let c = created.map_err(|e| match e {
            CredentialWriteError::UserNotFound => CreateCredentialError::NotFound,
            CredentialWriteError::AlreadyExists => CreateCredentialError::AlreadyExists,
            CredentialWriteError::EmailTaken => CreateCredentialError::EmailTaken,
            CredentialWriteError::Store(e) => Fault::new("creating an email credential", e).into(),
        })?;
        self.credential_changed(caller, id, "created").await?;
        Ok(self.view(c, &user, None))
    }

    /// `PATCH /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// [`UpdateCredentialError`]: the caller and the user first, then the email.
    pub async fn update_credential(
        &self,
        caller: Principal,
        id: UserId,
        email: Option<&str>,
        forced_reset: Option<bool>,
    ) -> Result<CredentialView, UpdateCredentialError> {
        let user = self.administered(caller, id).await?;
        let email = parse_email(email).map_err(UpdateCredentialError::Invalid)?;
        let updated = self.ctx.ports.credentials.update(id, email, forced_reset).await;
        let c = updated.map_err(|e| match e {
            CredentialWriteError::UserNotFound => UpdateCredentialError::NotFound,
            CredentialWriteError::EmailTaken => UpdateCredentialError::EmailTaken,
            other => Fault::new("updating an email credential", other).into(),
        })?;
        self.credential_changed(caller, id, "updated").await?;
        Ok(self.view(c, &user, None))
    }

    /// `DELETE /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// [`DeleteCredentialError`].
    pub async fn delete_credential(&self, caller: Principal, id: UserId) -> Result<(), DeleteCredentialError> {
        self.administered(caller, id).await?;
        if !self.ctx.ports.credentials.delete(id).await.map_err(fault("deleting a credential"))? {
            return Err(DeleteCredentialError::NotFound);
        }
        Ok(self.credential_changed(caller, id, "deleted").await?)
    }

    /// Audits a change of `id`'s email credential by `caller` (where its links are sent).
    async fn credential_changed(&self, caller: Principal, id: UserId, what: &str) -> Result<(), Fault> {
        let actor = format!("api-user:{}", caller.user_id);
        self.ctx.ports.audit(AuditKind::EmailCredentialChanged, Some(id), actor, what.to_owned()).await
    }

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
        // The answer is the credential as stored with its new token: no read before or after.
        let credential = ports
            .credentials
            .issue_reset_token(id, &s.keys.seal(|k| token.digest(k)), kind, Some(self.link_expiry(lifetime, now)), now)
            .await
            .map_err(fault("issuing a reset token"))?;
        let Some(credential) = credential else {
            // No email credential, no link: the hit is given back.
            ports.rate_limiter.undo(&budget).await.map_err(fault("giving back a link hit"))?;
            return Err(Access::NotFound.into());
        };
        ports
            .audit(
                AuditKind::ResetTokenIssued,
                Some(id),
                format!("api-user:{}", caller.user_id),
                kind.as_str().to_owned(),
            )
            .await?;
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
        sent.map_err(|e| SendPasswordResetError::DeliveryFailed(Fault::new("sending a reset link", e)))?;
        self.ctx
            .ports
            .audit(AuditKind::ResetLinkSent, Some(id), format!("api-user:{}", caller.user_id), kind.as_str().to_owned())
            .await?;
        Ok(view)
    }
}
