//! The Looker API 4.0 admin side: API login and sessions, users, email credentials, reset
//! tokens and the password configuration.
//!
//! One service, one file per Looker resource: `session` (login, logout), `users`,
//! `credentials` (email credentials and reset links), `config` (`password_config`).

mod config;
mod credentials;
mod session;
mod users;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use resetd_domain::access::{Principal, Role, SessionToken};
use resetd_domain::policy::PasswordPolicy;
use resetd_domain::user::UserId;
use resetd_ports::credentials::EmailCredential;
use resetd_ports::rate_limit::RateDecision;
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
    pub access_token: SessionToken,
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

/// A Looker user with its email credential (`None` when it has none), read together so that
/// an answer never needs a second use case, and a page of users costs two store reads.
#[derive(Debug, Clone)]
pub struct UserView {
    pub user: User,
    pub credential: Option<CredentialView>,
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
pub struct LookerService {
    ctx: Arc<Context>,
}

/// The user's text fields hold no control characters (a NUL cannot even be stored): a 422
/// naming the first field that does.
fn check_text(body: &WriteUser) -> Result<(), AdminError> {
    let fields = [("first_name", &body.first_name), ("last_name", &body.last_name), ("locale", &body.locale)];
    for (field, value) in fields {
        if value.as_ref().and_then(Option::as_deref).is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(AdminError::Validation(vec![FieldError {
                field,
                code: "invalid",
                message: format!("{field} may not contain control characters"),
            }]));
        }
    }
    Ok(())
}

fn invalid_email() -> AdminError {
    AdminError::Validation(vec![FieldError {
        field: "email",
        code: "invalid",
        message: "email is not a valid address".into(),
    }])
}

impl LookerService {
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

    async fn user(&self, caller: Principal, id: UserId) -> Result<User, AdminError> {
        if !caller.may_manage(id) {
            return Err(AdminError::Forbidden);
        }
        self.ctx.ports.users.find(id).await.map_err(unexpected("loading a user"))?.ok_or(AdminError::NotFound)
    }

    /// A user an administrator acts on: admins only (the `user` role administers nothing,
    /// itself included), then the user (404).
    async fn administered(&self, caller: Principal, id: UserId) -> Result<User, AdminError> {
        Self::admin_only(caller)?;
        self.user(caller, id).await
    }

    fn admin_only(caller: Principal) -> Result<(), AdminError> {
        if caller.role == Role::Admin {
            Ok(())
        } else {
            Err(AdminError::Forbidden)
        }
    }
}
