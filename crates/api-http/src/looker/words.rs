//! The Looker dialect's words: every use-case outcome, panic, timeout and body error as a
//! [`LookerError`], one exhaustive match per operation, so a new outcome does not compile
//! until it is worded here.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use resetd_app::looker::config::{ForceResetAllError, GetPasswordConfigError, UpdatePasswordConfigError};
use resetd_app::looker::credentials::{
    CreateCredentialError, CreatePasswordResetError, DeleteCredentialError, GetCredentialError, SendPasswordResetError,
    UpdateCredentialError,
};
use resetd_app::looker::session::{AuthenticateError, LoginError, LogoutError};
use resetd_app::looker::users::{CreateUserError, DeleteUserError, GetUserError, ListUsersError, UpdateUserError};
use resetd_app::looker::{InvalidInput, UserField};
use resetd_app::Fault;
use resetd_domain::policy::PolicyConfigError;

use super::error::{FieldError, LookerError};
use crate::body::BodyError;
use crate::guard::Failure;

/// The answer while a backend is down or hung.
pub(crate) const UNAVAILABLE: &str = "The service is temporarily unavailable. Please try again later.";

/// A panic or a timeout, in this dialect (see [`crate::guard`]).
/// The Looker routers' answers to a panic or the deadline.
pub(crate) fn responder(docs_base: std::sync::Arc<str>) -> crate::guard::Responder {
    std::sync::Arc::new(move |_: &crate::guard::Asked, f: Failure| failure(&docs_base, f))
}

pub(crate) fn failure(docs_base: &str, failure: Failure) -> Response {
    match failure {
        Failure::Panicked => LookerError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        Failure::TimedOut => {
            LookerError::new(StatusCode::SERVICE_UNAVAILABLE, "The request took too long. Please try again later.")
        }
    }
    .render(docs_base)
}

impl LookerError {
    fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Requires authentication.")
    }

    fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden: the caller may not do this.")
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found")
    }

    fn conflict(message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    fn email_taken() -> Self {
        Self::conflict("The email is already in use.")
    }

    fn phone_taken() -> Self {
        Self::conflict("The phone number is already in use.")
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after.as_secs().max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests: try again later.")
        }
    }

    /// A backend did not answer in time: 503, try again; the cause goes to the log only.
    pub fn unavailable(f: &Fault) -> Self {
        tracing::warn!(error = %f, cause = ?f.source, "a backend is unavailable");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
    }

    /// A bug: 500; the cause goes to the log only.
    pub fn unexpected(f: &Fault) -> Self {
        tracing::error!(error = %f, cause = ?f.source, "a Looker request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    fn invalid(input: InvalidInput) -> Self {
        let (field, message) = match input {
            InvalidInput::ControlCharacters(field) => {
                let name = match field {
                    UserField::FirstName => "first_name",
                    UserField::LastName => "last_name",
                    UserField::Locale => "locale",
                };
                (name, format!("{name} may not contain control characters"))
            }
            InvalidInput::Email => ("email", "email is not a valid address".to_owned()),
        };
        Self::validation(vec![FieldError { field: field.into(), code: "invalid", message }])
    }

    fn invalid_policy(errors: &[PolicyConfigError]) -> Self {
        let item = |e: &PolicyConfigError| {
            let (field, message) = match e {
                PolicyConfigError::MinLength { min, max } => {
                    ("min_length", format!("min_length must be between {min} and {max}"))
                }
                PolicyConfigError::MaxLength => ("max_length", "max_length must be between min_length and 1024".into()),
                PolicyConfigError::HistoryCount => ("history_count", "history_count must be between 0 and 128".into()),
                PolicyConfigError::ExpirationDays => {
                    ("expiration_duration_days", "expiration_duration_days must be between 30 and 365".into())
                }
            };
            FieldError { field: field.into(), code: "invalid", message }
        };
        Self::validation(errors.iter().map(item).collect())
    }
}

impl From<LoginError> for LookerError {
    fn from(e: LoginError) -> Self {
        match e {
            // Looker answers bad API credentials with 404.
            LoginError::BadCredentials => Self::not_found(),
            LoginError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            LoginError::Unavailable(f) => Self::unavailable(&f),
            LoginError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<AuthenticateError> for LookerError {
    fn from(e: AuthenticateError) -> Self {
        match e {
            AuthenticateError::Unauthenticated => Self::unauthenticated(),
            AuthenticateError::Unavailable(f) => Self::unavailable(&f),
            AuthenticateError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<LogoutError> for LookerError {
    fn from(e: LogoutError) -> Self {
        match e {
            LogoutError::Unauthenticated => Self::unauthenticated(),
            LogoutError::Unavailable(f) => Self::unavailable(&f),
            LogoutError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<GetUserError> for LookerError {
    fn from(e: GetUserError) -> Self {
        match e {
            GetUserError::Forbidden => Self::forbidden(),
            GetUserError::NotFound => Self::not_found(),
            GetUserError::Unavailable(f) => Self::unavailable(&f),
            GetUserError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<ListUsersError> for LookerError {
    fn from(e: ListUsersError) -> Self {
        match e {
            ListUsersError::Unavailable(f) => Self::unavailable(&f),
            ListUsersError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<CreateUserError> for LookerError {
    fn from(e: CreateUserError) -> Self {
        match e {
            CreateUserError::Forbidden => Self::forbidden(),
            CreateUserError::Invalid(i) => Self::invalid(i),
            CreateUserError::EmailTaken => Self::email_taken(),
            CreateUserError::PhoneTaken => Self::phone_taken(),
            CreateUserError::Unavailable(f) => Self::unavailable(&f),
            CreateUserError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<UpdateUserError> for LookerError {
    fn from(e: UpdateUserError) -> Self {
        match e {
            UpdateUserError::Forbidden => Self::forbidden(),
            UpdateUserError::NotFound => Self::not_found(),
            UpdateUserError::Invalid(i) => Self::invalid(i),
            UpdateUserError::EmailTaken => Self::email_taken(),
            UpdateUserError::PhoneTaken => Self::phone_taken(),
            UpdateUserError::Unavailable(f) => Self::unavailable(&f),
            UpdateUserError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<DeleteUserError> for LookerError {
    fn from(e: DeleteUserError) -> Self {
        match e {
            DeleteUserError::Forbidden => Self::forbidden(),
            DeleteUserError::NotFound => Self::not_found(),
            DeleteUserError::Unavailable(f) => Self::unavailable(&f),
            DeleteUserError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<GetCredentialError> for LookerError {
    fn from(e: GetCredentialError) -> Self {
        match e {
            GetCredentialError::Forbidden => Self::forbidden(),
            GetCredentialError::NotFound => Self::not_found(),
            GetCredentialError::Unavailable(f) => Self::unavailable(&f),
            GetCredentialError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<CreateCredentialError> for LookerError {
    fn from(e: CreateCredentialError) -> Self {
        match e {
            CreateCredentialError::Forbidden => Self::forbidden(),
            CreateCredentialError::NotFound => Self::not_found(),
            CreateCredentialError::Invalid(i) => Self::invalid(i),
            CreateCredentialError::EmailTaken => Self::email_taken(),
            CreateCredentialError::AlreadyExists => Self::conflict("The user already has an email credential."),
            CreateCredentialError::Unavailable(f) => Self::unavailable(&f),
            CreateCredentialError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<UpdateCredentialError> for LookerError {
    fn from(e: UpdateCredentialError) -> Self {
        match e {
            UpdateCredentialError::Forbidden => Self::forbidden(),
            UpdateCredentialError::NotFound => Self::not_found(),
            UpdateCredentialError::Invalid(i) => Self::invalid(i),
            UpdateCredentialError::EmailTaken => Self::email_taken(),
            UpdateCredentialError::Unavailable(f) => Self::unavailable(&f),
            UpdateCredentialError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<DeleteCredentialError> for LookerError {
    fn from(e: DeleteCredentialError) -> Self {
        match e {
            DeleteCredentialError::Forbidden => Self::forbidden(),
            DeleteCredentialError::NotFound => Self::not_found(),
            DeleteCredentialError::Unavailable(f) => Self::unavailable(&f),
            DeleteCredentialError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<CreatePasswordResetError> for LookerError {
    fn from(e: CreatePasswordResetError) -> Self {
        match e {
            CreatePasswordResetError::Forbidden => Self::forbidden(),
            CreatePasswordResetError::NotFound => Self::not_found(),
            CreatePasswordResetError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            CreatePasswordResetError::Unavailable(f) => Self::unavailable(&f),
            CreatePasswordResetError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<SendPasswordResetError> for LookerError {
    fn from(e: SendPasswordResetError) -> Self {
        match e {
            SendPasswordResetError::Forbidden => Self::forbidden(),
            SendPasswordResetError::NotFound => Self::not_found(),
            SendPasswordResetError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            SendPasswordResetError::EmailOff => Self::conflict("Email delivery is switched off on this server."),
            SendPasswordResetError::DeliveryFailed(f) => {
                tracing::warn!(error = %f, cause = ?f.source, "a reset link could not be delivered");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "The email could not be sent. Please try again later.")
            }
            SendPasswordResetError::Unavailable(f) => Self::unavailable(&f),
            SendPasswordResetError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<GetPasswordConfigError> for LookerError {
    fn from(e: GetPasswordConfigError) -> Self {
        match e {
            GetPasswordConfigError::Forbidden => Self::forbidden(),
            GetPasswordConfigError::Unavailable(f) => Self::unavailable(&f),
            GetPasswordConfigError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<UpdatePasswordConfigError> for LookerError {
    fn from(e: UpdatePasswordConfigError) -> Self {
        match e {
            UpdatePasswordConfigError::Forbidden => Self::forbidden(),
            UpdatePasswordConfigError::Invalid(errors) => Self::invalid_policy(&errors),
            UpdatePasswordConfigError::Unavailable(f) => Self::unavailable(&f),
            UpdatePasswordConfigError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<ForceResetAllError> for LookerError {
    fn from(e: ForceResetAllError) -> Self {
        match e {
            ForceResetAllError::Forbidden => Self::forbidden(),
            ForceResetAllError::Unavailable(f) => Self::unavailable(&f),
            ForceResetAllError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<BodyError> for LookerError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."),
            BodyError::UnsupportedMediaType => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "The request body must be application/json.")
            }
            BodyError::Malformed(m) => Self::bad_request(m),
        }
    }
}
