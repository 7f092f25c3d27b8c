//! The Looker API 4.0 admin side: API login and sessions, users, email credentials, reset
//! tokens and the password configuration.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use resetd_domain::access::{AccessToken, ApiSecret, Principal, Role};
use resetd_domain::client::ClientId;
use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;
use resetd_domain::policy::{PasswordPolicy, PolicyConfigError};
use resetd_domain::reset_token::{is_live, ResetToken, ResetTokenKind, TokenLifetime};
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::{CredentialWriteError, EmailCredential};
use resetd_ports::notify::{Notice, Notification};
use resetd_ports::rate_limit::RateDecision;
use resetd_ports::users::{NewUser, UserPatch, UserWriteError};
use secrecy::SecretString;

use crate::{unexpected, Context, RateLimit, Unexpected};

pub use resetd_ports::users::User;

/// Errors of the admin API, one per Looker status.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 401: no or a bad access token.
    #[error("Requires authentication.")]
    Unauthenticated,
    /// 403.
    #[error("Forbidden")]
    Forbidden,
    /// 404 (also bad login credentials, as Looker answers).
    #[error("Not found")]
    NotFound,
    /// 409.
    #[error("{0}")]
    Conflict(&'static str),
    /// 422 with field errors.
    #[error("Validation Failed")]
    Validation(Vec<FieldError>),
    /// 429.
    #[error("Too many requests")]
    RateLimited { retry_after: std::time::Duration },
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// One field error of a 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// A new access token, shown once.
#[derive(Debug)]
pub struct Session {
    pub access_token: AccessToken,
    pub expires_in: std::time::Duration,
}

/// An email credential with the link just issued, if any, and what a Looker answer needs.
#[derive(Debug, Clone)]
pub struct CredentialView {
    pub credential: EmailCredential,
    pub user_disabled: bool,
    /// The link created by this call (later reads cannot show it: only its digest is kept).
    pub password_reset_url: Option<SecretString>,
    pub account_setup_url: Option<SecretString>,
    pub password_reset_url_expired: bool,
    pub account_setup_url_expired: bool,
}

/// The writable fields of a Looker user.
#[derive(Debug, Clone, Default)]
pub struct WriteUser {
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub is_disabled: Option<bool>,
    pub email: Option<String>,
}

/// The Looker `password_config`.
#[derive(Debug, Clone)]
pub struct PasswordConfig {
    pub policy: PasswordPolicy,
    pub policy_enabled_at: Option<DateTime<Utc>>,
}

/// A partial `password_config` update.
#[derive(Debug, Clone, Default)]
pub struct PasswordConfigPatch {
    pub min_length: Option<i64>,
    pub require_numeric: Option<bool>,
    pub require_upperlower: Option<bool>,
    pub require_special: Option<bool>,
    pub expiration_enabled: Option<bool>,
    pub expiration_duration_days: Option<Option<i64>>,
}

#[derive(Debug, Clone)]
pub struct AdminService {
    ctx: Arc<Context>,
}

fn invalid_email() -> AdminError {
    AdminError::Validation(vec![FieldError {
        field: "email",
        code: "invalid",
        message: "email is not a valid address".into(),
    }])
}

impl AdminService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// The public base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.ctx.settings.public_base_url.clone()
    }

    async fn limit(&self, key: String, limit: RateLimit) -> Result<(), AdminError> {
        match self
            .ctx
            .ports
            .rate_limiter
            .hit(&key, limit.limit, limit.window)
            .await
            .map_err(unexpected("rate limiting"))?
        {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited { retry_after } => Err(AdminError::RateLimited { retry_after }),
        }
    }

    /// `POST /login`: client id and secret to an access token.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for bad credentials, [`AdminError::RateLimited`].
    #[tracing::instrument(name = "admin.login", skip_all, err(level = "info", Display))]
    pub async fn login(
        &self,
        client_id: &str,
        client_secret: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Session, AdminError> {
        let s = &self.ctx.settings;
        if let Some(ip) = ip {
            self.limit(format!("login:ip:{ip}"), s.login_per_ip).await?;
        }
        let id = ClientId::parse(client_id).map_err(|_| AdminError::NotFound)?;
        self.limit(format!("login:client:{id}"), s.login_per_client).await?;
        let ports = &self.ctx.ports;
        let cred = ports.api_credentials.find(&id).await.map_err(unexpected("loading an API credential"))?;
        let presented = ApiSecret::parse(client_secret).ok().map(|secret| secret.digest(&s.token_key));
        let Some(cred) = cred.filter(|c| presented.is_some_and(|p| p == c.secret)) else {
            ports.audit(AuditKind::ApiLoginFailed, None, format!("api:{id}"), String::new()).await;
            return Err(AdminError::NotFound);
        };
        let token = AccessToken::generate(&mut rand::rngs::OsRng);
        let principal = Principal { user_id: cred.user_id, role: cred.role };
        ports
            .access_tokens
            .issue(&token.digest(&s.token_key), principal, s.access_token_ttl)
            .await
            .map_err(unexpected("storing a session"))?;
        ports.audit(AuditKind::ApiLogin, Some(cred.user_id), format!("api:{id}"), String::new()).await;
        Ok(Session { access_token: token, expires_in: s.access_token_ttl })
    }

    /// Resolves an access token.
    ///
    /// # Errors
    /// [`AdminError::Unauthenticated`] for unknown, revoked or expired tokens.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AdminError> {
        let token = AccessToken::parse(token).map_err(|_| AdminError::Unauthenticated)?;
        let digest = token.digest(&self.ctx.settings.token_key);
        self.ctx
            .ports
            .access_tokens
            .resolve(&digest)
            .await
            .map_err(unexpected("resolving a session"))?
            .ok_or(AdminError::Unauthenticated)
    }

    /// Ends the session of `token`.
    ///
    /// # Errors
    /// [`AdminError::Unauthenticated`] when it is not a live session.
    pub async fn logout(&self, token: &str) -> Result<(), AdminError> {
        self.authenticate(token).await?;
        let digest =
            AccessToken::parse(token).map_err(|_| AdminError::Unauthenticated)?.digest(&self.ctx.settings.token_key);
        self.ctx.ports.access_tokens.revoke(&digest).await.map_err(unexpected("revoking a session"))?;
        Ok(())
    }

    async fn user(&self, caller: Principal, id: UserId) -> Result<User, AdminError> {
        if !caller.may_manage(id) {
            return Err(AdminError::Forbidden);
        }
        self.ctx.ports.users.find(id).await.map_err(unexpected("loading a user"))?.ok_or(AdminError::NotFound)
    }

    fn admin_only(caller: Principal) -> Result<(), AdminError> {
        if caller.role == Role::Admin {
            Ok(())
        } else {
            Err(AdminError::Forbidden)
        }
    }

    /// `GET /users/{id}` (and `GET /user` with the caller's id).
    ///
    /// # Errors
    /// 403 for another user without admin rights, 404.
    pub async fn get_user(&self, caller: Principal, id: UserId) -> Result<User, AdminError> {
        self.user(caller, id).await
    }

    /// `GET /users`: everyone for admins, only themselves for others.
    ///
    /// # Errors
    /// [`AdminError::Unexpected`].
    pub async fn list_users(&self, caller: Principal, offset: u64, limit: u64) -> Result<Vec<User>, AdminError> {
        if caller.role != Role::Admin {
            return Ok(self.user(caller, caller.user_id).await.into_iter().collect());
        }
        Ok(self.ctx.ports.users.list(offset, limit.min(1000)).await.map_err(unexpected("listing users"))?)
    }

    /// `POST /users` (admins), with an optional email credential.
    ///
    /// # Errors
    /// 403, 422 for a bad email, 409 for a taken email.
    pub async fn create_user(&self, caller: Principal, body: WriteUser) -> Result<User, AdminError> {
        Self::admin_only(caller)?;
        let email = body.email.as_deref().map(Email::parse).transpose().map_err(|_| invalid_email())?;
        let ports = &self.ctx.ports;
        if let Some(e) = &email {
            if ports.users.find_by_email(e).await.map_err(unexpected("looking up an email"))?.is_some() {
                return Err(AdminError::Conflict("The email is already in use."));
            }
        }
        let new = NewUser {
            first_name: body.first_name.flatten(),
            last_name: body.last_name.flatten(),
            locale: body.locale.flatten(),
            phone: None,
            disabled: body.is_disabled.unwrap_or(false),
        };
        let now = ports.clock.now();
        let user = ports.users.create(new, now).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => AdminError::Conflict("The phone number is already in use."),
            UserWriteError::Store(e) => Unexpected::new("creating a user", e).into(),
        })?;
        if let Some(e) = email {
            self.write_credential(ports.credentials.create(user.id, &e, now).await)?;
        }
        ports.audit(AuditKind::UserCreated, Some(user.id), format!("api-user:{}", caller.user_id), String::new()).await;
        self.user(caller, user.id).await
    }

    /// `PATCH /users/{id}`.
    ///
    /// # Errors
    /// 403, 404.
    pub async fn update_user(&self, caller: Principal, id: UserId, body: WriteUser) -> Result<User, AdminError> {
        self.user(caller, id).await?;
        if body.is_disabled.is_some() && caller.role != Role::Admin {
            return Err(AdminError::Forbidden);
        }
        let patch = UserPatch {
            first_name: body.first_name,
            last_name: body.last_name,
            locale: body.locale,
            phone: None,
            status: body.is_disabled.map(|d| if d { UserStatus::Disabled } else { UserStatus::Active }),
        };
        let updated = self.ctx.ports.users.update(id, patch).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => AdminError::Conflict("The phone number is already in use."),
            UserWriteError::Store(e) => Unexpected::new("updating a user", e).into(),
        })?;
        updated.ok_or(AdminError::NotFound)
    }

    /// `DELETE /users/{id}` (admins).
    ///
    /// # Errors
    /// 403, 404.
    pub async fn delete_user(&self, caller: Principal, id: UserId) -> Result<(), AdminError> {
        Self::admin_only(caller)?;
        let ports = &self.ctx.ports;
        if !ports.users.delete(id).await.map_err(unexpected("deleting a user"))? {
            return Err(AdminError::NotFound);
        }
        let _ = ports.access_tokens.revoke_all(id).await;
        ports.audit(AuditKind::UserDeleted, Some(id), format!("api-user:{}", caller.user_id), String::new()).await;
        Ok(())
    }

    fn write_credential(
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

    fn view(
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
        let user = self.user(caller, id).await?;
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
        let user = self.user(caller, id).await?;
        let email = email.map(Email::parse).transpose().map_err(|_| invalid_email())?;
        let c = self.write_credential(self.ctx.ports.credentials.update(id, email, forced_reset).await)?;
        Ok(self.view(c, &user, None))
    }

    /// `DELETE /users/{id}/credentials_email`.
    ///
    /// # Errors
    /// 403, 404.
    pub async fn delete_credential(&self, caller: Principal, id: UserId) -> Result<(), AdminError> {
        self.user(caller, id).await?;
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
        let user = self.user(caller, id).await?;
        self.limit(format!("reset:caller:{}", caller.user_id), self.ctx.settings.reset_per_caller).await?;
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
            .issue_reset_token(id, &token.digest(&s.token_key), kind, lifetime.expires_at(now), now)
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
            .await;
        let url = SecretString::from(format!("{}{}/{}", s.public_base_url, kind.path(), token.expose()));
        let view = self.view(credential, &user, Some((kind, url.clone())));
        Ok((user, view, url, kind))
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
    /// 403, 404, 429; a delivery failure is [`AdminError::Unexpected`].
    #[tracing::instrument(name = "admin.send_password_reset", skip_all, fields(user_id = %id), err(level = "info", Display))]
    pub async fn send_password_reset(&self, caller: Principal, id: UserId) -> Result<CredentialView, AdminError> {
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
            .await;
        Ok(view)
    }

    /// `GET /password_config` (admins).
    ///
    /// # Errors
    /// 403.
    pub async fn password_config(&self, caller: Principal) -> Result<PasswordConfig, AdminError> {
        Self::admin_only(caller)?;
        let stored = self.ctx.ports.policies.default_policy().await.map_err(unexpected("reading the policy"))?;
        Ok(match stored {
            Some(s) => PasswordConfig { policy: s.policy, policy_enabled_at: Some(s.updated_at) },
            None => PasswordConfig { policy: self.ctx.settings.default_policy.clone(), policy_enabled_at: None },
        })
    }

    /// `PATCH /password_config` (admins): `min_length` 7–100, `expiration_duration_days` 30–365.
    ///
    /// # Errors
    /// 403, 422.
    pub async fn update_password_config(
        &self,
        caller: Principal,
        patch: PasswordConfigPatch,
    ) -> Result<PasswordConfig, AdminError> {
        let mut policy = self.password_config(caller).await?.policy;
        let mut errors = Vec::new();
        let range = |v: i64, lo: i64, hi: i64| (lo..=hi).contains(&v).then(|| u32::try_from(v).ok()).flatten();
        if let Some(v) = patch.min_length {
            match range(v, 7, 100) {
                Some(v) => policy.min_length = v,
                None => errors.push(PolicyConfigError::MinLength { min: 7, max: 100 }),
            }
        }
        if let Some(v) = patch.expiration_duration_days {
            match v.map(|d| range(d, 30, 365)) {
                None => policy.expiration_duration_days = None,
                Some(Some(d)) => policy.expiration_duration_days = Some(d),
                Some(None) => errors.push(PolicyConfigError::ExpirationDays),
            }
        }
        policy.require_numeric = patch.require_numeric.unwrap_or(policy.require_numeric);
        policy.require_upperlower = patch.require_upperlower.unwrap_or(policy.require_upperlower);
        policy.require_special = patch.require_special.unwrap_or(policy.require_special);
        policy.expiration_enabled = patch.expiration_enabled.unwrap_or(policy.expiration_enabled);
        policy.max_length = policy.max_length.max(policy.min_length);
        if errors.is_empty() {
            if let Err(e) = policy.validate(7) {
                errors = e;
            }
        }
        if !errors.is_empty() {
            let fields = errors
                .iter()
                .map(|e| FieldError { field: e.field(), code: "invalid", message: e.to_string() })
                .collect();
            return Err(AdminError::Validation(fields));
        }
        let now = self.ctx.ports.clock.now();
        self.ctx.ports.policies.set_default_policy(&policy, now).await.map_err(unexpected("storing the policy"))?;
        self.ctx
            .ports
            .audit(AuditKind::PolicyChanged, None, format!("api-user:{}", caller.user_id), String::new())
            .await;
        Ok(PasswordConfig { policy, policy_enabled_at: Some(now) })
    }

    /// `PUT /password_config/force_password_reset_at_next_login_for_all_users` (admins).
    ///
    /// # Errors
    /// 403.
    pub async fn force_reset_all(&self, caller: Principal) -> Result<u64, AdminError> {
        Self::admin_only(caller)?;
        let n = self.ctx.ports.credentials.force_reset_all().await.map_err(unexpected("forcing resets"))?;
        self.ctx
            .ports
            .audit(AuditKind::ForcedResetAll, None, format!("api-user:{}", caller.user_id), n.to_string())
            .await;
        Ok(n)
    }
}
