//! The CIAM dialect's words: every outcome of `/otp/send` and `/reset_user_password` as
//! `{"error", "error_description"?}` with `application/json;charset=UTF-8`, one exhaustive
//! match per operation.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use resetd_app::ciam::{BadRequest, BlockedStatus, ResetPasswordError, SendOtpError};
use resetd_app::Fault;
use resetd_domain::locale::Language;
use resetd_domain::otp::Channel;
use serde::Serialize;
use utoipa::ToSchema;

use crate::body::BodyError;
use crate::guard::Failure;
use crate::redeem::words::violation;

const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// A CIAM error answer.
#[derive(Debug)]
pub(crate) struct CiamReply {
    pub(super) status: StatusCode,
    pub(super) error: &'static str,
    description: Option<String>,
    retry_after: Option<u64>,
    /// The one documented `error_uri` (`unsupported_grant_type`).
    error_uri: Option<&'static str>,
}

impl CiamReply {
    pub(super) fn new(status: StatusCode, error: &'static str, description: Option<String>) -> Self {
        Self { status, error, description, retry_after: None, error_uri: None }
    }

    /// With the one `error_uri` the contract documents (on `unsupported_grant_type`).
    pub(super) fn with_uri(self, uri: &'static str) -> Self {
        Self { error_uri: Some(uri), ..self }
    }

    pub(super) fn bad(error: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, None)
    }

    pub(super) fn invalid_request(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", Some(description.to_owned()))
    }
}

/// A CIAM error body.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CiamErrorBody {
    /// The error code, e.g. `bad_email_otp`.
    pub(super) error: String,
    /// Omitted when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error_description: Option<String>,
    /// Only on `unsupported_grant_type`, as the contract documents it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error_uri: Option<String>,
}

impl IntoResponse for CiamReply {
    fn into_response(self) -> Response {
        metrics::counter!("resetd_ciam_errors_total", "error" => self.error).increment(1);
        let body = CiamErrorBody {
            error: self.error.to_owned(),
            error_description: self.description,
            error_uri: self.error_uri.map(str::to_owned),
        };
        // A body of two strings always serialises; should it not, the answer is a plain 500.
        let (status, body) = match serde_json::to_string(&body) {
            Ok(text) => (self.status, text),
            Err(e) => {
                tracing::error!(error = %e, "a CIAM error answer could not be serialised");
                (StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"server_error"}"#.to_owned())
            }
        };
        let mut r = (status, [(header::CONTENT_TYPE, JSON_UTF8)], body).into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"resetd\""));
        }
        r
    }
}

/// A panic or a timeout, in this dialect (see [`crate::guard`]).
/// The CIAM routes' answers to a panic or the deadline.
pub(crate) fn responder() -> crate::guard::Responder {
    std::sync::Arc::new(|_: &crate::guard::Asked, f: Failure| failure(f))
}

fn failure(failure: Failure) -> Response {
    match failure {
        Failure::Panicked => {
            CiamReply::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", Some("Internal server error.".into()))
        }
        Failure::TimedOut => CiamReply::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            Some("The request took too long. Please try again later.".into()),
        ),
    }
    .into_response()
}

fn otp_token_error(c: Channel) -> &'static str {
    match c {
        Channel::Email => "bad_email_otp_token",
        Channel::Sms => "bad_phone_number_otp_token",
    }
}

fn otp_error(c: Channel) -> &'static str {
    match c {
        Channel::Email => "bad_email_otp",
        Channel::Sms => "bad_phone_number_otp",
    }
}

impl CiamReply {
    pub(super) fn rate_limited(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after.as_secs().max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", Some("Too many requests.".into()))
        }
    }

    /// An answer that could not be serialised: a bug, a 500.
    pub(super) fn unserialisable(e: &serde_json::Error) -> Self {
        tracing::error!(error = %e, "a CIAM answer could not be serialised");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", Some("Internal server error.".into()))
    }

    /// `abnormal_user_status` with the status's words (reset and change alike).
    pub(super) fn abnormal_user_status(status: BlockedStatus) -> Self {
        let d = match status {
            BlockedStatus::Frozen => "User is frozen.",
            BlockedStatus::Locked => "User is locked.",
            BlockedStatus::Disabled => "User is disabled.",
        };
        Self::new(StatusCode::BAD_REQUEST, "abnormal_user_status", Some(d.into()))
    }

    /// `invalid_new_password` with the broken rules in words (none when it is unusable at all).
    pub(super) fn invalid_new_password(violations: &[resetd_domain::policy::PolicyViolation]) -> Self {
        let d = violations.iter().map(|v| violation(Language::English, v)).collect::<Vec<_>>().join(" ");
        Self::new(StatusCode::BAD_REQUEST, "invalid_new_password", (!d.is_empty()).then_some(d))
    }

    pub(super) fn invalid_client() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", None)
    }

    fn misconfigured() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "misconfigured",
            Some("Reset password flow of the application is not enabled.".into()),
        )
    }

    fn bad_request(problem: BadRequest) -> Self {
        Self::invalid_request(match problem {
            BadRequest::UsageUnknown => "Unknown usage.",
            BadRequest::UsageUnsupported => "This service supports usage=reset_password only.",
            BadRequest::NotOneRecipient => "Exactly one of email and phone_number is required.",
            BadRequest::MissingParameters => "Missing required parameter(s).",
        })
    }

    /// A backend did not answer in time: 503, try again; the cause goes to the log only.
    pub(super) fn unavailable(f: &Fault) -> Self {
        tracing::warn!(error = %f, cause = ?f.source, "a backend is unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            Some("The service is temporarily unavailable. Please try again later.".into()),
        )
    }

    /// A bug: 500; the cause goes to the log only.
    pub(super) fn unexpected(f: &Fault) -> Self {
        tracing::error!(error = %f, cause = ?f.source, "a CIAM request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", Some("Internal server error.".into()))
    }
}

impl From<SendOtpError> for CiamReply {
    fn from(e: SendOtpError) -> Self {
        match e {
            SendOtpError::InvalidClient => Self::invalid_client(),
            SendOtpError::PublicClientMayNotSend => Self::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                Some("This application type may not send OTPs.".into()),
            ),
            SendOtpError::Misconfigured => Self::misconfigured(),
            SendOtpError::BadRequest(problem) => Self::bad_request(problem),
            SendOtpError::MalformedEmail => Self::bad("malformed_email"),
            SendOtpError::MalformedPhoneNumber => Self::bad("malformed_phone_number"),
            SendOtpError::ChannelOff(channel) => match channel {
                Channel::Sms => Self::new(
                    StatusCode::BAD_REQUEST,
                    "insufficient_sms_quota",
                    Some("SMS delivery is not available for this tenant.".into()),
                ),
                Channel::Email => Self::new(
                    StatusCode::BAD_REQUEST,
                    "insufficient_email_quota",
                    Some("Email delivery is not available for this tenant.".into()),
                ),
            },
            SendOtpError::DestinationRateLimited { channel, retry_after } => {
                let (error, d) = match channel {
                    Channel::Sms => ("sms_rate_limit_exceeded", "SMS rate limit exceeded for same phone number"),
                    Channel::Email => ("email_rate_limit_exceeded", "Email rate limit exceeded for same email address"),
                };
                Self {
                    retry_after: Some(retry_after.as_secs().max(1)),
                    ..Self::new(StatusCode::BAD_REQUEST, error, Some(d.into()))
                }
            }
            SendOtpError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            SendOtpError::DeliveryFailed => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("Failed to send OTP. Please try again later.".into()),
            ),
            SendOtpError::Unavailable(f) => Self::unavailable(&f),
            SendOtpError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<ResetPasswordError> for CiamReply {
    fn from(e: ResetPasswordError) -> Self {
        match e {
            ResetPasswordError::InvalidClient => Self::invalid_client(),
            ResetPasswordError::UnauthorizedClient => Self::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                Some("This application type may not reset passwords.".into()),
            ),
            ResetPasswordError::Misconfigured => Self::misconfigured(),
            ResetPasswordError::BadRequest(problem) => Self::bad_request(problem),
            ResetPasswordError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            ResetPasswordError::BadOtpToken(c) => Self::bad(otp_token_error(c)),
            ResetPasswordError::BadOtp(c) => Self::bad(otp_error(c)),
            ResetPasswordError::UserNotFound => Self::bad("user_not_found"),
            ResetPasswordError::AbnormalUserStatus(status) => Self::abnormal_user_status(status),
            ResetPasswordError::InvalidNewPassword(v) => Self::invalid_new_password(&v),
            ResetPasswordError::RecurrentPassword => Self::bad("recurrent_password"),
            ResetPasswordError::Unavailable(f) => Self::unavailable(&f),
            ResetPasswordError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<BodyError> for CiamReply {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                Some("The request body is too large.".into()),
            ),
            BodyError::UnsupportedMediaType => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                Some("The request body must be application/json.".into()),
            ),
            BodyError::Malformed(m) => Self::new(StatusCode::BAD_REQUEST, "invalid_request", Some(m)),
        }
    }
}
