//! `/users/{id}/credentials_email`; its reset links are in `links`.

mod links;

use resetd_domain::access::Principal;
use resetd_domain::reset_token::{is_live, ResetTokenKind};
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::{CredentialWriteError, EmailCredential};
use secrecy::SecretString;

pub use links::{CreatePasswordResetError, SendPasswordResetError};

use super::{access_into, parse_email, CredentialView, InvalidInput, LookerService, User};
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

faults_into!(GetCredentialError, CreateCredentialError, UpdateCredentialError, DeleteCredentialError);
access_into!(GetCredentialError, CreateCredentialError, UpdateCredentialError, DeleteCredentialError);

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
            // Only a create can find one already there.
            e @ CredentialWriteError::AlreadyExists => Fault::new("updating an email credential", e).into(),
            CredentialWriteError::Store(e) => Fault::new("updating an email credential", e).into(),
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
}
