//! The Looker API 4.0 admin side: API login and sessions, users, email credentials, reset
//! tokens and the password configuration.
//!
//! One service, one file per Looker resource: `session` (login, logout), `users`,
//! `credentials` (email credentials and reset links), `config` (`password_config`).

pub mod config;
pub mod credentials;
pub mod session;
pub mod users;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use resetd_domain::access::{Principal, Role, SessionToken};
use resetd_domain::policy::PasswordPolicy;
use resetd_domain::user::{Email, UserId};
use resetd_ports::credentials::EmailCredential;
use secrecy::SecretString;

use crate::{fault, Context, Fault, RateLimit};

pub use resetd_ports::users::User;

/// What the shared checks answer before an operation acts on a user: the caller may not
/// (`Forbidden`), or the user is not there (`NotFound`). Every operation that runs them has
/// both variants in its own error enum.
#[derive(Debug)]
pub(crate) enum Access {
    Forbidden,
    NotFound,
    Fault(Fault),
}

impl From<Fault> for Access {
    fn from(f: Fault) -> Self {
        Self::Fault(f)
    }
}

/// `From<Access>` for the error enums of operations that act on one user.
macro_rules! access_into {
    ($($error:ty),+ $(,)?) => {$(
        impl From<$crate::looker::Access> for $error {
            fn from(a: $crate::looker::Access) -> Self {
                match a {
                    $crate::looker::Access::Forbidden => Self::Forbidden,
                    $crate::looker::Access::NotFound => Self::NotFound,
                    $crate::looker::Access::Fault(f) => f.into(),
                }
            }
        }
    )+};
}
use access_into;

/// A text field of a Looker user that a write checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    /// `first_name`.
    FirstName,
    /// `last_name`.
    LastName,
    /// `locale`.
    Locale,
}

/// Why a write was refused before anything was written (the HTTP layer words it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// The field holds a control character (a NUL cannot even be stored).
    #[error("{0:?} holds a control character")]
    ControlCharacters(UserField),
    /// The email is not an address.
    #[error("the email is not an address")]
    Email,
}

/// A new access token, shown once.
#[derive(Debug)]
pub struct Session {
    /// The bearer token the client sends from now on.
    pub access_token: SessionToken,
    /// How long the token lives (`Settings::access_token_ttl`).
    pub expires_in: std::time::Duration,
}

/// An email credential with the link just issued, if any, and what a Looker answer needs.
#[derive(Debug, Clone)]
pub struct CredentialView {
    /// The credential as stored.
    pub credential: EmailCredential,
    /// Whether the credential's user is disabled.
    pub user_disabled: bool,
    /// The link created by this call (later reads cannot show it: only its digest is kept).
    pub password_reset_url: Option<SecretString>,
    /// The account setup link created by this call, likewise.
    pub account_setup_url: Option<SecretString>,
    /// Whether the credential holds no live password reset link (none, another kind, or past
    /// its expiry).
    pub password_reset_url_expired: bool,
    /// Whether the credential holds no live account setup link.
    pub account_setup_url_expired: bool,
}

/// A Looker user with its email credential (`None` when it has none), read together so that
/// an answer never needs a second use case, and a page of users costs two store reads.
#[derive(Debug, Clone)]
pub struct UserView {
    /// The user.
    pub user: User,
    /// The user's email credential; `None` when it has none.
    pub credential: Option<CredentialView>,
}

/// The writable fields of a Looker user.
#[derive(Debug, Clone, Default)]
pub struct WriteUser {
    /// The new first name: `None` leaves it, `Some(None)` clears it.
    pub first_name: Option<Option<String>>,
    /// The new last name, likewise.
    pub last_name: Option<Option<String>>,
    /// The new locale (`es`, `zh-CN`: the language of its messages), likewise.
    pub locale: Option<Option<String>>,
    /// Disables (`true`) or re-activates (`false`) the user; `None` leaves it. A caller cannot
    /// switch itself.
    pub is_disabled: Option<bool>,
    /// The email credential's address (`credentials_email.email`): replaced, or created when
    /// the user has none; `None` leaves it.
    pub email: Option<String>,
}

/// The Looker `password_config`.
#[derive(Debug, Clone)]
pub struct PasswordConfig {
    /// The default policy in force.
    pub policy: PasswordPolicy,
    /// When it was last set through `password_config`; `None` while the configured default
    /// (`Settings::default_policy`) applies.
    pub policy_enabled_at: Option<DateTime<Utc>>,
}

/// A partial `password_config` update: a `None` field is left as it is.
#[derive(Debug, Clone, Default)]
pub struct PasswordConfigPatch {
    /// The shortest password, 7–100 characters.
    pub min_length: Option<i64>,
    /// Whether a password needs a digit.
    pub require_numeric: Option<bool>,
    /// Whether a password needs an upper- and a lower-case letter.
    pub require_upperlower: Option<bool>,
    /// Whether a password needs a character that is neither a letter nor a digit.
    pub require_special: Option<bool>,
    /// Looker `expiration_enabled` (recorded; resetd does not expire passwords itself).
    pub expiration_enabled: Option<bool>,
    /// Looker `expiration_duration_days`, 30–365; `Some(None)` clears it.
    pub expiration_duration_days: Option<Option<i64>>,
}

/// The Looker API 4.0 use cases: `login` turns an API credential into a session; every other
/// operation takes the caller that session authenticated ([`Principal`]) and checks first what
/// it may do.
#[derive(Debug, Clone)]
pub struct LookerService {
    ctx: Arc<Context>,
}

/// The user's text fields hold no control characters: the first field that does.
fn check_text(body: &WriteUser) -> Result<(), InvalidInput> {
    let fields = [
        (UserField::FirstName, &body.first_name),
        (UserField::LastName, &body.last_name),
        (UserField::Locale, &body.locale),
    ];
    for (field, value) in fields {
        if value.as_ref().and_then(Option::as_deref).is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(InvalidInput::ControlCharacters(field));
        }
    }
    Ok(())
}

/// An optional email, parsed.
fn parse_email(email: Option<&str>) -> Result<Option<Email>, InvalidInput> {
    email.map(Email::parse).transpose().map_err(|_| InvalidInput::Email)
}

impl LookerService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// The public base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        self.ctx.settings.public_base_url.clone()
    }

    /// Counts a hit against `limit`: `Some(retry_after)` when it refuses.
    async fn limited(&self, key: String, limit: RateLimit) -> Result<Option<std::time::Duration>, Fault> {
        self.ctx.limited(&key, limit).await
    }

    /// The user `caller` may see: itself, or anyone for admins.
    async fn user(&self, caller: Principal, id: UserId) -> Result<User, Access> {
        if !caller.may_manage(id) {
            return Err(Access::Forbidden);
        }
        self.ctx.ports.users.find(id).await.map_err(fault("loading a user"))?.ok_or(Access::NotFound)
    }

    /// A user an administrator acts on: admins only (the `user` role administers nothing,
    /// itself included), then the user (404).
    async fn administered(&self, caller: Principal, id: UserId) -> Result<User, Access> {
        if !is_admin(caller) {
            return Err(Access::Forbidden);
        }
        self.user(caller, id).await
    }
}

fn is_admin(caller: Principal) -> bool {
    caller.role == Role::Admin
}
