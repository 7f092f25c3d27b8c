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

use super::{invalid_email, AdminError, CredentialView, LookerService, User};
use crate::{unexpected, Unexpected};

impl LookerService {
    pub(super) fn write_credential(
        &self,
        r: Result<EmailCredential, CredentialWriteError>,
    ) -> Result<EmailCredential, AdminError> {
        r.map_err(|e| match e {
            CredentialWriteError::UserNotFound => AdminError::NotFound,
            CredentialWriteError::AlreadyExists => AdminError::Conflict("The user already has an email credential."),
            CredentialWriteError::EmailTaken => AdminError::Conflict("The email is already in use."),
            CredentialWriteError::Store(e) => Unexpected::new("writing an email credential", e).into(),
        })
    }

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

    async fn credential(&self, user: &User) -> Result<EmailCredential, AdminError> {
        self.ctx
            .ports
            .credentials
            .get(user.id)
            .await
            .map_err(unexpected("loading a credential"))?
            .ok_or(AdminError::NotFound)
    }

    /// `GET /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// 403, 404.
    pub async fn get_credential(&self, caller: Principal, id: UserId) -> Result<CredentialView, AdminError> {
        let user = self.user(caller, id).await?;
        let c = self.credential(&user).await?;
        Ok(self.view(c, &user, None))
    }

    /// `POST /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// 403, 404, 409, 422.
    pub async fn create_credential(
        &self,
        caller: Principal,
        id: UserId,
        email: Option<&str>,
    ) -> Result<CredentialView, AdminError> {
        let user = self.administered(caller, id).await?;
        let email = Email::parse(email.unwrap_or_default()).map_err(|_| invalid_email())?;
        let c =
            self.write_credential(self.ctx.ports.credentials.create(id, &email, self.ctx.ports.clock.now()).await)?;
        Ok(self.view(c, &user, None))
    }

    /// `PATCH /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// 403, 404, 409, 422.
    pub async fn update_credential(
        &self,
        caller: Principal,
        id: UserId,
        email: Option<&str>,
        forced_reset: Option<bool>,
    ) -> Result<CredentialView, AdminError> {
        let user = self.administered(caller, id).await?;
        let email = email.map(Email::parse).transpose().map_err(|_| invalid_email())?;
        let c = self.write_credential(self.ctx.ports.credentials.update(id, email, forced_reset).await)?;
        Ok(self.view(c, &user, None))
    }

    /// `DELETE /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// 403, 404.
    pub async fn delete_credential(&self, caller: Principal, id: UserId) -> Result<(), AdminError> {
        self.administered(caller, id).await?;
        if self.ctx.ports.credentials.delete(id).await.map_err(unexpected("deleting a credential"))? {
            Ok(())
        } else {
            Err(AdminError::NotFound)
        }
    }

    async fn issue(
        &self,
        caller: Principal,
        id: UserId,
        kind: Option<ResetTokenKind>,
        lifetime: TokenLifetime,
    ) -> Result<(User, CredentialView, SecretString, ResetTokenKind), AdminError> {
        let user = self.administered(caller, id).await?;
        self.limit(crate::limit_keys::links_by(caller.user_id), self.ctx.settings.reset_per_caller).await?;
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
            .map_err(unexpected("issuing a reset token"))?
            .ok_or(AdminError::NotFound)?;
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
    /// 403, 404 (no user or no email credential), 429.
    #[tracing::instrument(name = "admin.password_reset", skip_all, fields(user_id = %id), err(level = "info", Display))]
    pub async fn create_password_reset(
        &self,
        caller: Principal,
        id: UserId,
        expires: bool,
    ) -> Result<CredentialView, AdminError> {
        let (_, view, _, _) =
            self.issue(caller, id, Some(ResetTokenKind::PasswordReset), TokenLifetime::from_expires(expires)).await?;
        Ok(view)
    }

    /// `POST /users/{id}/credentials_email/send_password_reset`: an expiring link by email
    /// (an account-setup link for a user who never set a password).
    ///
    /// # Errors
    /// 403, 404, 429; 409 when email is switched off (`mail.enabled = false`); a delivery
    /// failure is [`AdminError::Unexpected`].
    #[tracing::instrument(name = "admin.send_password_reset", skip_all, fields(user_id = %id), err(level = "info", Display))]
    pub async fn send_password_reset(&self, caller: Principal, id: UserId) -> Result<CredentialView, AdminError> {
        if !self.ctx.settings.email_enabled {
            self.administered(caller, id).await?;
            return Err(AdminError::Conflict("Email delivery is switched off on this server."));
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
        self.ctx.ports.notifier.send(notification).await.map_err(unexpected("sending a reset link"))?;
        self.ctx
            .ports
            .audit(AuditKind::ResetLinkSent, Some(id), format!("api-user:{}", caller.user_id), kind.as_str().to_owned())
            .await?;
        Ok(view)
    }
}
